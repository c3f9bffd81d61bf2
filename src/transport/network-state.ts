/**
 * The fault-injection switchboard, in a SharedArrayBuffer that the main thread writes and
 * every peer's FaultyTransport reads on each send and delivery. Keeping it shared (instead of
 * telling each worker) makes a disconnect take effect everywhere at the same instant.
 *
 * Int32 words: [0] flags, [1] healthy (1 while no fault of any kind is on, so the transport
 * can skip every per-message check with one read), then per peer: connected, alive.
 * Float64 slots: per peer: requests delivered to it, bytes delivered to it. Each slot has a
 * single writer (the peer's own worker), so plain stores suffice.
 */
const FLAG_UNRELIABLE = 1;
const FLAG_LONG_REORDER = 2;
const FLAGS = 0;
const HEALTHY = 1;
const PEER_WORDS = 2;

function counterOffset(peers: number): number {
  return Math.ceil(((PEER_WORDS + 2 * peers) * 4) / 8) * 8;
}

export class NetworkState {
  private readonly words: Int32Array;
  private readonly counters: Float64Array;

  constructor(readonly sab: SharedArrayBuffer, readonly peers: number) {
    this.words = new Int32Array(sab, 0, PEER_WORDS + 2 * peers);
    this.counters = new Float64Array(sab, counterOffset(peers), 2 * peers);
  }

  static create(peers: number): NetworkState {
    const n = new NetworkState(new SharedArrayBuffer(counterOffset(peers) + 16 * peers), peers);
    for (let i = 0; i < peers; i++) { n.setConnected(i, true); n.setAlive(i, true); }
    return n;
  }

  setConnected(i: number, on: boolean): void { Atomics.store(this.words, PEER_WORDS + i, on ? 1 : 0); this.updateHealthy(); }
  setAlive(i: number, on: boolean): void { Atomics.store(this.words, PEER_WORDS + this.peers + i, on ? 1 : 0); this.updateHealthy(); }
  isConnected(i: number): boolean { return Atomics.load(this.words, PEER_WORDS + i) === 1; }
  isAlive(i: number): boolean { return Atomics.load(this.words, PEER_WORDS + this.peers + i) === 1; }

  /** Whether a message from `a` to `b` gets through right now. */
  canTalk(a: number, b: number): boolean {
    const w = this.words, n = this.peers;
    return w[PEER_WORDS + a] === 1 && w[PEER_WORDS + b] === 1 && w[PEER_WORDS + n + a] === 1 && w[PEER_WORDS + n + b] === 1;
  }

  setUnreliable(on: boolean): void { this.setFlag(FLAG_UNRELIABLE, on); }
  setLongReordering(on: boolean): void { this.setFlag(FLAG_LONG_REORDER, on); }
  get unreliable(): boolean { return (Atomics.load(this.words, FLAGS) & FLAG_UNRELIABLE) !== 0; }
  get longReordering(): boolean { return (Atomics.load(this.words, FLAGS) & FLAG_LONG_REORDER) !== 0; }
  /** No fault on: every peer connected and alive, no drops or delays (a plain read: this is the hot path). */
  get healthy(): boolean { return this.words[HEALTHY] === 1; }

  countDelivery(to: number, isRequest: boolean, bytes: number): void {
    if (isRequest) this.counters[2 * to]++;
    this.counters[2 * to + 1] += bytes;
  }

  rpcCount(i: number): number { return this.counters[2 * i]; }
  bytesReceived(i: number): number { return this.counters[2 * i + 1]; }

  private setFlag(flag: number, on: boolean): void {
    if (on) Atomics.or(this.words, FLAGS, flag); else Atomics.and(this.words, FLAGS, ~flag);
    this.updateHealthy();
  }

  /** Only the main thread writes the switchboard, so recomputing after each change is race-free. */
  private updateHealthy(): void {
    let ok = Atomics.load(this.words, FLAGS) === 0;
    for (let k = PEER_WORDS; ok && k < PEER_WORDS + 2 * this.peers; k++) ok = Atomics.load(this.words, k) === 1;
    Atomics.store(this.words, HEALTHY, ok ? 1 : 0);
  }
}
