/**
 * The fault-injection switchboard, in a SharedArrayBuffer that the main thread writes and
 * every peer's worker reads on each send and delivery. Keeping it shared (instead of telling
 * each worker) makes a disconnect take effect everywhere at the same instant.
 *
 * Int32 words: [0] flags, then per peer: connected, alive.
 * Float64 slots: per peer: requests delivered to it, bytes delivered to it. Each slot has a
 * single writer (the peer's own worker), so plain stores suffice.
 */
const FLAG_UNRELIABLE = 1;
const FLAG_LONG_REORDER = 2;

export class NetworkState {
  private readonly words: Int32Array;
  private readonly counters: Float64Array;

  constructor(readonly sab: SharedArrayBuffer, readonly peers: number) {
    this.words = new Int32Array(sab, 0, 1 + 2 * peers);
    const counterOffset = Math.ceil(((1 + 2 * peers) * 4) / 8) * 8;
    this.counters = new Float64Array(sab, counterOffset, 2 * peers);
  }

  static create(peers: number): NetworkState {
    const counterOffset = Math.ceil(((1 + 2 * peers) * 4) / 8) * 8;
    const n = new NetworkState(new SharedArrayBuffer(counterOffset + 16 * peers), peers);
    for (let i = 0; i < peers; i++) { n.setConnected(i, true); n.setAlive(i, true); }
    return n;
  }

  setConnected(i: number, on: boolean): void { Atomics.store(this.words, 1 + i, on ? 1 : 0); }
  setAlive(i: number, on: boolean): void { Atomics.store(this.words, 1 + this.peers + i, on ? 1 : 0); }
  isConnected(i: number): boolean { return Atomics.load(this.words, 1 + i) === 1; }
  isAlive(i: number): boolean { return Atomics.load(this.words, 1 + this.peers + i) === 1; }

  /** Whether a message from `a` to `b` gets through right now. */
  canTalk(a: number, b: number): boolean {
    const w = this.words, n = this.peers;
    return w[1 + a] === 1 && w[1 + b] === 1 && w[1 + n + a] === 1 && w[1 + n + b] === 1;
  }

  setUnreliable(on: boolean): void { this.setFlag(FLAG_UNRELIABLE, on); }
  setLongReordering(on: boolean): void { this.setFlag(FLAG_LONG_REORDER, on); }
  get unreliable(): boolean { return (Atomics.load(this.words, 0) & FLAG_UNRELIABLE) !== 0; }
  get longReordering(): boolean { return (Atomics.load(this.words, 0) & FLAG_LONG_REORDER) !== 0; }
  /** True when any fault other than disconnection is on (the fast path skips the dice). */
  get faulty(): boolean { return this.words[0] !== 0; }

  countDelivery(to: number, isRequest: boolean, bytes: number): void {
    if (isRequest) this.counters[2 * to]++;
    this.counters[2 * to + 1] += bytes;
  }

  rpcCount(i: number): number { return this.counters[2 * i]; }
  bytesReceived(i: number): number { return this.counters[2 * i + 1]; }

  private setFlag(flag: number, on: boolean): void {
    if (on) Atomics.or(this.words, 0, flag); else Atomics.and(this.words, 0, ~flag);
  }
}
