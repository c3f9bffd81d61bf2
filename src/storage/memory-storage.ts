import type { EntryBatch } from '../core/entry-batch.js';
import { RaftLog } from '../core/log.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';
import type { RaftStorage } from './storage.js';

/**
 * Keeps a peer's persisted state in the memory of the thread that runs it: for tests and
 * benchmarks. Lost when the thread ends.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, votedFor: -1 };
  private snapshot: Snapshot | null = null;
  private readonly log = new RaftLog();

  load(): PersistedState {
    const entries = this.log.length > 0 ? this.log.slice(this.log.firstIndex, this.log.lastIndex) : null;
    return { hardState: { ...this.hardState }, snapshot: this.snapshot, entries };
  }

  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void {
    if (snapshot && snapshot.index > this.log.snapshotIndex) applySnapshotToLog(this.log, snapshot), (this.snapshot = snapshot);
    if (entries) applyEntriesToLog(this.log, entries);
    if (hardState) this.hardState = { term: hardState.term, votedFor: hardState.votedFor };
  }

  close(): void {}
}

/** Storage rule 1 (see RaftStorage): drop the entries through the snapshot, keep those after it. */
export function applySnapshotToLog(log: RaftLog, s: Snapshot): void {
  if (s.index <= log.snapshotIndex) return;
  log.compact(s.index, s.term);
}

/**
 * Storage rule 2: entries replace the log from their first index on (from just after the
 * snapshot, when they start at or below it); an empty batch only truncates there.
 */
export function applyEntriesToLog(log: RaftLog, e: EntryBatch): void {
  const from = Math.max(0, log.snapshotIndex + 1 - e.firstIndex); // entries the snapshot already covers
  const first = e.firstIndex + from;
  if (from >= e.count) { // nothing to add: truncation only
    if (first <= log.lastIndex) log.truncateFrom(first);
    return;
  }
  if (first > log.lastIndex + 1) throw new Error(`storage gap: entries start at ${first}, log ends at ${log.lastIndex}`);
  log.truncateFrom(first);
  log.appendBatch(e, from);
}
