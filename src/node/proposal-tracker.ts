import type { EntryBatch } from '../core/entry-batch.js';

/**
 * What became of an accepted proposal, as far as the peer that accepted it can know:
 * - Committed: the entry applied at its index has the term it was accepted in (by Log
 *   Matching, that is the same entry);
 * - Overwritten: another entry was applied at its index, so it is certainly not in the log;
 * - Unknown: this peer can no longer tell (it stopped or crashed, or a snapshot of a later
 *   term replaced its state past the index before the entry was applied here). It may or
 *   may not be committed: only a retry that the state machine deduplicates is safe.
 */
export const enum Outcome { Committed = 1, Overwritten = 2, Unknown = 3 }

export const OUTCOME_NAMES = ['', 'committed', 'overwritten', 'unknown'] as const;

/**
 * Receives outcomes in runs: proposals with tags firstTag..firstTag+count-1 were accepted at
 * indexes firstIndex..firstIndex+count-1 in `term`. For Committed, `results` holds the state
 * machine's result per entry (null when no entry of the run returned one); `resultOffset` is
 * the position of firstIndex in it. `results` is valid only during the call (the runtime reuses
 * the array for the next batch): copy out what must outlive it.
 */
export type OutcomeListener = (outcome: Outcome, firstTag: number, count: number, firstIndex: number, term: number,
  results: ReadonlyArray<Uint8Array | undefined> | null, resultOffset: number) => void;

/** A run of proposals accepted in one term at consecutive indexes with consecutive tags. */
interface Run { firstTag: number; firstIndex: number; count: number }

/** The runs accepted in one term, in index order (a leader appends in order within a term). */
interface TermQueue { term: number; runs: Run[]; head: number }

/**
 * Follows every proposal a peer accepted until its outcome is known, and reports each
 * exactly once. Runs are kept per term: after losing and regaining leadership a peer accepts
 * at indexes below those of runs it still tracks from an older term, so one index-ordered
 * list would not do; within a term the indexes only grow. Tracking goes on after the peer
 * loses leadership: its applies still settle what it accepted.
 */
export class ProposalTracker {
  private readonly queues: TermQueue[] = [];
  private tracked = 0;

  constructor(private readonly listener: OutcomeListener) {}

  /** Proposals waiting for their outcome. */
  get size(): number {
    return this.tracked;
  }

  /** A proposal with `tag` was accepted at (index, term). */
  track(tag: number, index: number, term: number): void {
    let q = this.queues.length > 0 ? this.queues[this.queues.length - 1] : undefined;
    if (!q || q.term !== term) {
      q = this.queues.find((x) => x.term === term);
      if (!q) {
        q = { term, runs: [], head: 0 };
        this.queues.push(q);
        this.queues.sort((a, b) => a.term - b.term);
      }
    }
    const last = q.runs.length > q.head ? q.runs[q.runs.length - 1] : undefined;
    if (last && last.firstIndex + last.count === index && last.firstTag + last.count === tag) last.count++;
    else {
      if (last && index < last.firstIndex + last.count) throw new Error(`proposal tracker: index ${index} in term ${term} is below a tracked one (${last.firstIndex + last.count - 1})`);
      q.runs.push({ firstTag: tag, firstIndex: index, count: 1 });
    }
    this.tracked++;
  }

  /** Committed entries `b` were applied here; `results[k]` is entry k's result (or null: none). */
  applied(b: EntryBatch, results: ReadonlyArray<Uint8Array | undefined> | null): void {
    if (this.tracked === 0) return;
    const lo = b.firstIndex, hi = b.firstIndex + b.count - 1;
    for (const q of this.queues) {
      while (q.head < q.runs.length) {
        const r = q.runs[q.head];
        if (r.firstIndex > hi) break;
        if (r.firstIndex < lo) { // applied through a snapshot we never saw as entries
          this.settle(r, Outcome.Unknown, Math.min(r.count, lo - r.firstIndex), q.term, null, 0);
          if (r.count === 0) q.head++;
          continue;
        } else {
          const end = Math.min(hi, r.firstIndex + r.count - 1);
          while (r.firstIndex <= end) {
            const ok = b.terms[r.firstIndex - lo] === q.term;
            let j = r.firstIndex;
            while (j + 1 <= end && (b.terms[j + 1 - lo] === q.term) === ok) j++;
            this.settle(r, ok ? Outcome.Committed : Outcome.Overwritten, j - r.firstIndex + 1, q.term, ok ? results : null, r.firstIndex - lo);
          }
        }
        if (r.count === 0) q.head++; else break;
      }
    }
    this.prune();
  }

  /**
   * A snapshot through (index, term) replaced the state. Terms never decrease along a log, so
   * for an entry of term T at or below `index`: T = term means it is in the snapshot's log
   * (Log Matching), T > term means it cannot be, and T < term cannot be told from here.
   */
  restored(index: number, term: number): void {
    if (this.tracked === 0) return;
    for (const q of this.queues) {
      const outcome = q.term === term ? Outcome.Committed : q.term > term ? Outcome.Overwritten : Outcome.Unknown;
      while (q.head < q.runs.length) {
        const r = q.runs[q.head];
        if (r.firstIndex > index) break;
        this.settle(r, outcome, Math.min(r.count, index - r.firstIndex + 1), q.term, null, 0);
        if (r.count === 0) q.head++; else break;
      }
    }
    this.prune();
  }

  /** The peer stops (or crashed): nothing it tracks can be decided here any more. */
  abandon(): void {
    for (const q of this.queues) {
      while (q.head < q.runs.length) {
        const r = q.runs[q.head++];
        this.settle(r, Outcome.Unknown, r.count, q.term, null, 0);
      }
    }
    this.queues.length = 0;
  }

  private settle(r: Run, outcome: Outcome, n: number, term: number, results: ReadonlyArray<Uint8Array | undefined> | null, resultOffset: number): void {
    const firstTag = r.firstTag, firstIndex = r.firstIndex;
    r.firstTag += n;
    r.firstIndex += n;
    r.count -= n;
    this.tracked -= n;
    this.listener(outcome, firstTag, n, firstIndex, term, results, resultOffset);
  }

  /** Drops settled runs and empty terms, so that memory follows what is outstanding. */
  private prune(): void {
    for (let k = this.queues.length - 1; k >= 0; k--) {
      const q = this.queues[k];
      if (q.head >= q.runs.length) this.queues.splice(k, 1);
      else if (q.head > 64 && q.head * 2 > q.runs.length) { q.runs.splice(0, q.head); q.head = 0; }
    }
  }
}
