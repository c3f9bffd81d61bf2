/**
 * The client requests a peer process waits to answer, by proposal tag. Tags are handed out
 * in increasing order and mostly settle in that order (commits are), so they live in arrays
 * indexed from the oldest unsettled tag: no map entry per command.
 */
import type { ClientConnection } from '../transport/tcp-inbound.js';

export class TagWaiters {
  private conns: Array<ClientConnection | null> = [];
  private reqIds: number[] = [];
  /** Whether the request came in a batch (answered in runs) or alone (answered alone). */
  private batched: boolean[] = [];
  private head = 0;
  /** Tag of conns[0]. */
  private base = 1;
  private next = 1;

  /** A new tag for a request of `conn`; settle it with take() or drop(). */
  add(conn: ClientConnection, reqId: number, batched: boolean): number {
    this.conns.push(conn);
    this.reqIds.push(reqId);
    this.batched.push(batched);
    return this.next++;
  }

  /** The proposal of `tag` was refused at once: forget it. */
  drop(tag: number): void {
    const i = tag - this.base;
    if (i >= this.head && i < this.conns.length) this.conns[i] = null;
    this.trim();
  }

  /** The waiter of `tag` (then forgotten), or null if none. Fills `out`. */
  take(tag: number, out: { conn: ClientConnection | null; reqId: number; batched: boolean }): boolean {
    const i = tag - this.base;
    if (i < this.head || i >= this.conns.length) return false;
    const c = this.conns[i];
    if (!c) return false;
    out.conn = c;
    out.reqId = this.reqIds[i];
    out.batched = this.batched[i];
    this.conns[i] = null;
    if (i === this.head) this.trim();
    return true;
  }

  get size(): number {
    return this.conns.length - this.head;
  }

  private trim(): void {
    while (this.head < this.conns.length && this.conns[this.head] === null) this.head++;
    if (this.head === this.conns.length) {
      this.base += this.head;
      this.head = 0;
      this.conns.length = this.reqIds.length = this.batched.length = 0;
    } else if (this.head > 4096 && this.head * 2 > this.conns.length) {
      this.base += this.head;
      this.conns = this.conns.slice(this.head);
      this.reqIds = this.reqIds.slice(this.head);
      this.batched = this.batched.slice(this.head);
      this.head = 0;
    }
  }
}
