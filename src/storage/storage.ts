import type { EntryBatch } from '../core/entry-batch.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';

/**
 * Where one peer keeps what Raft must not forget. `save` applies, in order:
 * 1. `snapshot`: entries through `snapshot.index` are dropped, those after it are kept
 *    (the storage never decides from its own log: the core says what goes, in 2);
 * 2. `entries`: they replace the stored log from `entries.firstIndex` on (from just after
 *    the snapshot, when they start at or below it: the snapshot covers that part); an empty
 *    batch (count 0) truncates the stored log there and adds nothing;
 * 3. `hardState`.
 * A returned promise resolves once the update is durable under the storage's policy; the
 * runtime sends nothing that depends on it before then.
 */
export interface RaftStorage {
  load(): PersistedState | Promise<PersistedState>;
  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void | PromiseLike<void>;
  close(): void | Promise<void>;
}

export const EMPTY_STATE: PersistedState = { hardState: { term: 0, votedFor: -1 }, snapshot: null, entries: null };
