import type { ReadRoute } from './read-protocol.js';

/** The promise form's settlers (ClusterReader.read); streamed reads have none. */
export interface ReadWaiter {
  resolve: (r: Uint8Array) => void;
  reject: (e: Error) => void;
}

const INITIAL_SLOTS = 1024;

/**
 * The main thread's unsettled reads, by sequence number: one slot per read in parallel typed
 * arrays (slot = seq & mask), so a read in flight costs no object and no Map entry. Sequence
 * numbers grow, so the reads in flight at once fall in distinct slots unless more than the
 * table's size are outstanding; then it doubles. A read keeps its slot from submit to its
 * outcome, retries included.
 */
export class ReadTable {
  private mask = INITIAL_SLOTS - 1;
  /** The seq in each slot; -1: free. */
  private seqs = new Float64Array(INITIAL_SLOTS).fill(-1);
  routes = new Uint8Array(INITIAL_SLOTS);
  /** The only peer the read may go to; -1: any (following the leader or round-robin). */
  fixedPeers = new Int32Array(INITIAL_SLOTS);
  deadlines = new Float64Array(INITIAL_SLOTS);
  tries = new Int32Array(INITIAL_SLOTS);
  /** The peer the read was last sent to; -1: not in flight (waiting to be sent again). */
  at = new Int32Array(INITIAL_SLOTS);
  queries: Array<Uint8Array | null> = new Array<Uint8Array | null>(INITIAL_SLOTS).fill(null);
  waiters: Array<ReadWaiter | null> = new Array<ReadWaiter | null>(INITIAL_SLOTS).fill(null);
  lastErrors: string[] = new Array<string>(INITIAL_SLOTS).fill('');
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The slot of read `seq`, or -1 if it is not (any longer) here. */
  slotOf(seq: number): number {
    const s = seq & this.mask;
    return this.seqs[s] === seq ? s : -1;
  }

  /** Adds read `seq` (a non-negative integer not here yet); returns its slot. */
  add(seq: number, query: Uint8Array, route: ReadRoute, fixedPeer: number, deadline: number, waiter: ReadWaiter | null): number {
    while (this.seqs[seq & this.mask] !== -1) this.grow();
    const s = seq & this.mask;
    this.seqs[s] = seq;
    this.queries[s] = query;
    this.routes[s] = route;
    this.fixedPeers[s] = fixedPeer;
    this.deadlines[s] = deadline;
    this.tries[s] = 0;
    this.at[s] = -1;
    this.waiters[s] = waiter;
    this.lastErrors[s] = 'none';
    this.count++;
    return s;
  }

  /** Frees slot `s` (its read settled). */
  remove(s: number): void {
    this.seqs[s] = -1;
    this.queries[s] = null;
    this.waiters[s] = null;
    this.count--;
  }

  /** The seqs of every read here (a copy: callers settle reads while going through them). */
  /** The seqs of the reads sent (at >= 0) whose deadline is at or before `now`, in seq order: one pass over the slots, no sort of the rest. */
  sentPast(now: number): number[] {
    const out: number[] = [];
    for (let s = 0; s <= this.mask; s++) if (this.seqs[s] !== -1 && this.at[s] >= 0 && this.deadlines[s] <= now) out.push(this.seqs[s]);
    return out.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  allSeqs(): number[] {
    const out: number[] = [];
    for (let s = 0; s <= this.mask; s++) if (this.seqs[s] !== -1) out.push(this.seqs[s]);
    return out.sort((a, b) => a - b);
  }

  private grow(): void {
    const old = { seqs: this.seqs, routes: this.routes, fixedPeers: this.fixedPeers, deadlines: this.deadlines, tries: this.tries, at: this.at, queries: this.queries, waiters: this.waiters, lastErrors: this.lastErrors };
    let n = (this.mask + 1) * 2;
    for (;;) {
      const mask = n - 1;
      const taken = new Set<number>();
      let clash = false;
      for (let s = 0; s < old.seqs.length && !clash; s++) {
        if (old.seqs[s] === -1) continue;
        const t = old.seqs[s] & mask;
        if (taken.has(t)) clash = true;
        taken.add(t);
      }
      if (!clash) break;
      n *= 2;
    }
    this.mask = n - 1;
    this.seqs = new Float64Array(n).fill(-1);
    this.routes = new Uint8Array(n);
    this.fixedPeers = new Int32Array(n);
    this.deadlines = new Float64Array(n);
    this.tries = new Int32Array(n);
    this.at = new Int32Array(n);
    this.queries = new Array<Uint8Array | null>(n).fill(null);
    this.waiters = new Array<ReadWaiter | null>(n).fill(null);
    this.lastErrors = new Array<string>(n).fill('');
    for (let s = 0; s < old.seqs.length; s++) {
      const seq = old.seqs[s];
      if (seq === -1) continue;
      const t = seq & this.mask;
      this.seqs[t] = seq;
      this.routes[t] = old.routes[s];
      this.fixedPeers[t] = old.fixedPeers[s];
      this.deadlines[t] = old.deadlines[s];
      this.tries[t] = old.tries[s];
      this.at[t] = old.at[s];
      this.queries[t] = old.queries[s];
      this.waiters[t] = old.waiters[s];
      this.lastErrors[t] = old.lastErrors[s];
    }
  }
}
