/** Longest payload copyPayload moves in 4-byte words; a longer one goes through set(). */
const WORD_COPY_MAX = 256;

/**
 * The commands of one client session whose results the client does not all hold yet, in
 * typed arrays: seqs ackedThrough + 1 .. next - 1, each with whether it is applied, how many
 * transmissions of it are still in flight, its deadline, and a copy of its payload (to resend
 * it byte for byte). Payloads live in one byte ring, allocated and freed in seq order, so a
 * command costs no object of its own; both rings double when full.
 */
export class SessionWindow {
  /** Every seq <= ackedThrough is applied and its result delivered. */
  ackedThrough = 0;
  /** The seq the next add() takes. */
  next = 1;
  private mask = 1023;
  private applied = new Uint8Array(1024);
  private inFlight = new Int32Array(1024);
  private deadlines = new Float64Array(1024);
  /** When the last transmission of each seq was sent (performance.now() ms). */
  private sentAt = new Float64Array(1024);
  private payStart = new Float64Array(1024);
  private payLen = new Int32Array(1024);
  private arena = new Uint8Array(1 << 16);
  private arenaView = new DataView(this.arena.buffer);
  private arenaMask = (1 << 16) - 1;
  /** Absolute byte counters of the payload ring: live payloads are [arenaTail, arenaHead). */
  private arenaHead = 0;
  private arenaTail = 0;

  /** Commands added and not yet applied-and-delivered below every other (next - 1 - ackedThrough). */
  get size(): number {
    return this.next - 1 - this.ackedThrough;
  }

  /** Numbers a new command, copying its payload; returns its seq. */
  add(payload: Uint8Array, deadline: number): number {
    if (this.next - 1 - this.ackedThrough > this.mask) this.growSlots();
    const len = payload.byteLength;
    if (this.arenaHead - this.arenaTail + len > this.arena.length) this.growArena(len);
    const seq = this.next++;
    const k = seq & this.mask;
    this.applied[k] = 0;
    this.inFlight[k] = 0;
    this.deadlines[k] = deadline;
    this.payStart[k] = this.arenaHead;
    this.payLen[k] = len;
    const at = this.arenaHead & this.arenaMask;
    if (at + len <= this.arena.length) this.arena.set(payload, at);
    else {
      const first = this.arena.length - at;
      this.arena.set(payload.subarray(0, first), at);
      this.arena.set(payload.subarray(first), 0);
    }
    this.arenaHead += len;
    return seq;
  }

  /** How many seqs are outstanding (added, not applied, not cleared). */
  outstanding(): number {
    let n = 0;
    for (let s = this.ackedThrough + 1; s < this.next; s++) if (this.applied[s & this.mask] === 0) n++;
    return n;
  }

  /** Whether `seq` is outstanding: added, and not applied. */
  isOpen(seq: number): boolean {
    return seq > this.ackedThrough && seq < this.next && this.applied[seq & this.mask] === 0;
  }

  payloadLength(seq: number): number {
    return this.payLen[seq & this.mask];
  }

  /**
   * Copies the payload of an outstanding `seq` to `buf[off...]`; `view` is a DataView over
   * all of `buf`. Every transmission is copied from here: four bytes at a time through the two
   * DataViews costs a fraction of a set() call (or a byte loop) for the short commands that
   * dominate, and it allocates nothing.
   */
  copyPayload(seq: number, buf: Uint8Array, view: DataView, off: number): void {
    const k = seq & this.mask;
    const len = this.payLen[k];
    const at = this.payStart[k] & this.arenaMask;
    const arena = this.arena;
    if (len <= WORD_COPY_MAX && at + len <= arena.length) {
      const from = this.arenaView;
      let i = 0;
      for (; i + 4 <= len; i += 4) view.setUint32(off + i, from.getUint32(at + i, true), true);
      for (; i < len; i++) buf[off + i] = arena[at + i];
    } else if (len <= 64) { // byte by byte: a subarray to copy from would be the only allocation of a resend
      for (let i = 0, p = at; i < len; i++, p = (p + 1) & this.arenaMask) buf[off + i] = arena[p];
    } else if (at + len <= arena.length) buf.set(arena.subarray(at, at + len), off);
    else {
      const first = arena.length - at;
      buf.set(arena.subarray(at), off);
      buf.set(arena.subarray(0, len - first), off + first);
    }
  }

  deadline(seq: number): number {
    return this.deadlines[seq & this.mask];
  }

  inFlightOf(seq: number): number {
    return this.inFlight[seq & this.mask];
  }

  sent(seq: number, now: number): void {
    const k = seq & this.mask;
    this.inFlight[k]++;
    this.sentAt[k] = now;
  }

  /** When the last transmission of `seq` was sent. */
  sentTime(seq: number): number {
    return this.sentAt[seq & this.mask];
  }

  /**
   * Stops counting the transmissions of `seq` in flight: they are presumed lost (held by a
   * peer that will not answer soon), so that `seq` can be sent again. Should one of them
   * answer after all, it counts against a later transmission, which at worst costs a
   * redundant resend: the session table answers a duplicate with the stored result.
   */
  abandon(seq: number): void {
    this.inFlight[seq & this.mask] = 0;
  }

  /**
   * A transmission of `seq` got its outcome; returns whether `seq` is still outstanding (open).
   * Seqs that left the window (applied and delivered, or closed) count nothing.
   */
  returned(seq: number): boolean {
    if (seq <= this.ackedThrough || seq >= this.next) return false;
    const k = seq & this.mask;
    if (this.inFlight[k] > 0) this.inFlight[k]--; // (an abandoned transmission may still answer)
    return this.applied[k] === 0;
  }

  /** `seq` (outstanding) was applied: ackedThrough moves over every applied seq above it, freeing payloads. */
  markApplied(seq: number): void {
    this.applied[seq & this.mask] = 1;
    let a = this.ackedThrough;
    while (a + 1 < this.next && this.applied[(a + 1) & this.mask] === 1) a++;
    if (a === this.ackedThrough) return;
    const k = a & this.mask;
    this.arenaTail = this.payStart[k] + this.payLen[k];
    this.ackedThrough = a;
  }

  /** The earliest deadline of an outstanding command (Infinity: none). */
  earliestDeadline(): number {
    let min = Infinity;
    for (let s = this.ackedThrough + 1; s < this.next; s++) {
      const k = s & this.mask;
      if (this.applied[k] === 0 && this.deadlines[k] < min) min = this.deadlines[k];
    }
    return min;
  }

  /** Forgets every outstanding command (the session is closed). */
  clear(): void {
    this.ackedThrough = this.next - 1;
    this.arenaTail = this.arenaHead;
  }

  private growSlots(): void {
    const n = (this.mask + 1) * 2, mask = n - 1;
    const applied = new Uint8Array(n), inFlight = new Int32Array(n), deadlines = new Float64Array(n), sentAt = new Float64Array(n);
    const payStart = new Float64Array(n), payLen = new Int32Array(n);
    for (let s = this.ackedThrough + 1; s < this.next; s++) {
      const o = s & this.mask, k = s & mask;
      applied[k] = this.applied[o]; inFlight[k] = this.inFlight[o]; deadlines[k] = this.deadlines[o]; sentAt[k] = this.sentAt[o];
      payStart[k] = this.payStart[o]; payLen[k] = this.payLen[o];
    }
    this.mask = mask;
    this.applied = applied; this.inFlight = inFlight; this.deadlines = deadlines; this.sentAt = sentAt;
    this.payStart = payStart; this.payLen = payLen;
  }

  private growArena(extra: number): void {
    const live = this.arenaHead - this.arenaTail;
    let n = this.arena.length * 2;
    while (n < live + extra) n *= 2;
    const next = new Uint8Array(n), mask = n - 1;
    for (let p = this.arenaTail; p < this.arenaHead;) {
      // copy in runs that wrap in neither ring
      const from = p & this.arenaMask, to = p & mask;
      const run = Math.min(this.arenaHead - p, this.arena.length - from, n - to);
      next.set(this.arena.subarray(from, from + run), to);
      p += run;
    }
    this.arena = next;
    this.arenaView = new DataView(next.buffer);
    this.arenaMask = mask;
  }
}
