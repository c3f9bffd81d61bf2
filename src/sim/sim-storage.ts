import type { EntryBatch } from '../core/entry-batch.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { RaftStorage } from '../storage/storage.js';

/** A write handed to the storage that has not landed yet. */
interface PendingWrite {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: EntryBatch | null;
  done: (() => void) | null;
}

/** A thenable that never settles: the write of a peer that crashes before it lands. */
const NEVER: PromiseLike<void> = { then: () => NEVER as never };

/**
 * What a simulated peer has on disk, and when its writes land. The durable part is a
 * MemoryStorage (the one in-memory model of the storage rules) that outlives the peer's
 * RaftNode; a crash keeps it and loses the write under way. The simulation decides when a
 * write lands: at once (`save` returns nothing, the Ready loop goes on synchronously), or
 * later (`save` returns a thenable that the simulation settles, synchronously, by land()).
 */
export class SimStorage implements RaftStorage {
  private readonly durable = new MemoryStorage();
  private pending: PendingWrite | null = null;
  /** Set by the simulation for each life: how this life's writes land. */
  mode: 'at-once' | 'later' = 'at-once';
  /** Called when a write is handed over in 'later' mode (the simulation schedules its landing). */
  onWriteStarted: () => void = () => {};
  /** A crash is due inside the next write: 'after-send' loses it, 'after-persist' lands it and stops there. */
  tearNext: 'after-send' | 'after-persist' | null = null;
  /** A tear happened: the simulation must crash the peer now. */
  torn = false;
  /** Called with each write as it lands. */
  onLanded: (hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null) => void = () => {};

  load(): PersistedState {
    return this.durable.load();
  }

  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void | PromiseLike<void> {
    if (this.pending) throw new Error('sim storage: a second write started before the first landed (the runtime broke the Ready order)');
    // Copies: later changes to the node's buffers must not reach "disk".
    const w: PendingWrite = {
      hardState: hardState ? { ...hardState } : null,
      snapshot: snapshot ? { ...snapshot, data: snapshot.data.slice() } : null,
      entries: entries ? { firstIndex: entries.firstIndex, count: entries.count, terms: entries.terms.slice(), ends: entries.ends.slice(), data: entries.data.slice() } : null,
      done: null,
    };
    if (this.mode === 'at-once' && !this.tearNext) {
      this.write(w);
      return;
    }
    this.pending = w;
    if (this.mode === 'at-once') { this.land(); return NEVER; } // torn at once
    this.onWriteStarted();
    const later: PromiseLike<void> = { then: (ok) => { w.done = ok as () => void; return NEVER as never; } };
    return later;
  }

  /** Whether a write waits to land. */
  get writing(): boolean {
    return this.pending !== null;
  }

  /** The pending write lands now (or, with a tear due, the crash happens around it). */
  land(): void {
    const w = this.pending;
    if (!w) return;
    this.pending = null;
    const tear = this.tearNext;
    if (tear) {
      this.tearNext = null;
      this.torn = true;
      if (tear === 'after-persist') this.write(w);
      return; // the node never hears back: it is about to crash
    }
    this.write(w);
    w.done?.();
  }

  /** The peer crashed: the write under way is lost. */
  crashed(): void {
    this.pending = null;
    this.tearNext = null;
    this.torn = false;
  }

  close(): void {}

  private write(w: PendingWrite): void {
    this.durable.save(w.hardState, w.snapshot, w.entries);
    this.onLanded(w.hardState, w.snapshot, w.entries);
  }

  // What a down peer shows in descriptions and stats.
  describe(): { term: number; snapshotIndex: number; lastIndex: number } {
    const s = this.durable.load();
    const snapshotIndex = s.snapshot?.index ?? 0;
    return { term: s.hardState.term, snapshotIndex, lastIndex: s.entries && s.entries.count > 0 ? s.entries.firstIndex + s.entries.count - 1 : snapshotIndex };
  }
}
