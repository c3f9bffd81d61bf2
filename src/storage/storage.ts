import type { EntryBatch } from '../core/entry-batch.js';
import type { HardState, PersistedState, Snapshot } from '../core/raft.js';

/**
 * Where one peer keeps what Raft must not forget. `save` applies, in order:
 * 1. `snapshot`: entries through `snapshot.index` are dropped; if the stored entry at
 *    `snapshot.index` is missing or has another term, every entry is dropped;
 * 2. `entries`: they replace the stored log from `entries.firstIndex` on;
 * 3. `hardState`.
 * A returned promise resolves once the update is durable under the storage's policy; the
 * runtime sends nothing that depends on it before then.
 */
export interface RaftStorage {
  load(): PersistedState | Promise<PersistedState>;
  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void | Promise<void>;
  close(): void | Promise<void>;
}

export const EMPTY_STATE: PersistedState = { hardState: { term: 0, votedFor: -1 }, snapshot: null, entries: null };
