import { EntryBatch, batchCommand, makeBatch } from '../core/entry-batch.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';

/** One stored log entry; commands are copied so that later changes to a core's arena cannot reach "disk". */
interface StoredEntry {
  term: number;
  command: Uint8Array;
}

/**
 * What a simulated peer has on disk: the effect of every Ready it fully processed, applied
 * with the semantics of RaftStorage.save (src/storage/storage.ts), and nothing else. A crash
 * keeps this and loses the rest, which is exactly what a real crash does to a runtime that
 * follows the Ready order.
 */
export class SimStore {
  hardState: HardState = { term: 0, votedFor: -1 };
  snapshot: Snapshot | null = null;
  /** entries[k] has index firstIndex + k; firstIndex is always snapshot index + 1. */
  private entries: StoredEntry[] = [];

  get firstIndex(): number {
    return (this.snapshot?.index ?? 0) + 1;
  }

  get lastIndex(): number {
    return this.firstIndex + this.entries.length - 1;
  }

  termAt(index: number): number {
    if (this.snapshot && index === this.snapshot.index) return this.snapshot.term;
    if (index === 0) return 0;
    const k = index - this.firstIndex;
    return k >= 0 && k < this.entries.length ? this.entries[k].term : -1;
  }

  /** RaftStorage.save: snapshot, then entries, then hard state. Throws on a write that no correct core asks for. */
  save(hardState: HardState | null, snapshot: Snapshot | null, batch: EntryBatch | null): void {
    if (snapshot) {
      // Entries through the snapshot go; if the entry at its index is missing or from another
      // term, the stored log is not a continuation of the snapshot and everything goes.
      const keep = this.termAt(snapshot.index) === snapshot.term;
      const oldFirst = this.firstIndex;
      this.entries = keep ? this.entries.slice(snapshot.index + 1 - oldFirst) : [];
      this.snapshot = { index: snapshot.index, term: snapshot.term, data: snapshot.data.slice() };
    }
    if (batch) {
      if (batch.firstIndex < this.firstIndex) {
        throw new Error(`store: entries from ${batch.firstIndex} overwrite the snapshot (first stored index ${this.firstIndex})`);
      }
      if (batch.firstIndex > this.lastIndex + 1) {
        throw new Error(`store: entries from ${batch.firstIndex} leave a gap after stored index ${this.lastIndex}`);
      }
      this.entries.length = batch.firstIndex - this.firstIndex;
      for (let k = 0; k < batch.count; k++) {
        this.entries.push({ term: batch.terms[k], command: batchCommand(batch, k).slice() });
      }
    }
    if (hardState) this.hardState = { term: hardState.term, votedFor: hardState.votedFor };
  }

  /** What a restarting peer reads back. Copies, so the new core shares nothing with the store. */
  load(): PersistedState {
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot ? { index: this.snapshot.index, term: this.snapshot.term, data: this.snapshot.data.slice() } : null,
      entries: this.entries.length > 0 ? makeBatch(this.firstIndex, this.entries) : null,
    };
  }
}
