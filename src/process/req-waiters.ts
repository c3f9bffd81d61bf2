/**
 * A client connection's requests awaiting answers, by request id. Ids are handed out in
 * order and mostly answered in order, so they live in an array from the oldest unanswered id
 * (no map entry per command), and a streaming command is just its sequence number (no object).
 * Ids travel as u32 and wrap; here they are counted without wrapping.
 */
export class ReqWaiters<W extends object> {
  private slots: Array<W | number | null> = [];
  private head = 0;
  /** Id of slots[0] (unwrapped). */
  private base = 0;
  private live = 0;

  /** The next id (unwrapped), to be used by the next add(). */
  get nextId(): number {
    return this.base + this.slots.length;
  }

  get size(): number {
    return this.live;
  }

  /** Adds a waiter (an object, or a streaming command's sequence number) under the next id; returns that id as u32. */
  add(w: W | number): number {
    const id = this.nextId;
    this.slots.push(w);
    this.live++;
    return id >>> 0;
  }

  /** The waiter of the u32 id `reqId`, then forgotten; undefined if none. */
  take(reqId: number): W | number | undefined {
    const i = this.head + ((reqId - ((this.base + this.head) >>> 0)) >>> 0);
    if (i >= this.slots.length) return undefined;
    const w = this.slots[i];
    if (w === null) return undefined;
    this.slots[i] = null;
    this.live--;
    if (i === this.head) this.trim();
    return w;
  }

  /** Every waiter, removed (for a lost connection). */
  takeAll(): Array<W | number> {
    const out: Array<W | number> = [];
    for (let i = this.head; i < this.slots.length; i++) { const w = this.slots[i]; if (w !== null) out.push(w); }
    this.base += this.slots.length;
    this.slots = [];
    this.head = 0;
    this.live = 0;
    return out;
  }

  /** Removes and returns the object waiters for which `expired` holds (numbers are never expired). */
  takeIf(expired: (w: W) => boolean): W[] {
    const out: W[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const w = this.slots[i];
      if (w !== null && typeof w === 'object' && expired(w)) { out.push(w); this.slots[i] = null; this.live--; }
    }
    this.trim();
    return out;
  }

  /** Whether some number waiter satisfies `test`. */
  someNumber(test: (n: number) => boolean): boolean {
    for (let i = this.head; i < this.slots.length; i++) { const w = this.slots[i]; if (typeof w === 'number' && test(w)) return true; }
    return false;
  }

  /** Removes and returns the number waiters for which `expired` holds (objects are left alone). */
  takeNumbersIf(expired: (n: number) => boolean): number[] {
    const out: number[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const w = this.slots[i];
      if (typeof w === 'number' && expired(w)) { out.push(w); this.slots[i] = null; this.live--; }
    }
    this.trim();
    return out;
  }

  private trim(): void {
    while (this.head < this.slots.length && this.slots[this.head] === null) this.head++;
    if (this.head === this.slots.length) {
      this.base += this.head;
      this.slots = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.slots.length) {
      this.base += this.head;
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
