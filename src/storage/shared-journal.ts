import type { EntryBatch } from '../core/entry-batch.js';
import { RaftLog } from '../core/log.js';
import type { HardState, PersistedState, Snapshot } from '../core/raft.js';
import { applyEntriesToLog, applySnapshotToLog } from './memory-storage.js';
import type { RaftStorage } from './storage.js';

/**
 * A peer's persisted state kept in a growable SharedArrayBuffer owned by the main thread, so
 * that it outlives the worker: the fault-injection harness "crashes" a peer by terminating
 * its worker and restarts it from this journal.
 *
 * Layout: a header word (BigInt64) holding `epoch * 2^40 + publishedLength`, then
 * records [u32 length][u8 type][payload]. A writer copies a record past the published end
 * (invisible) and then publishes it with one compare-and-swap that also checks its epoch.
 * `fence()` bumps the epoch: after it returns, nothing the old writer does becomes visible.
 */
const HEADER = 8;
const LENGTH_BITS = 2n ** 40n;
const REC_HARD_STATE = 1;
const REC_ENTRIES = 2;
const REC_SNAPSHOT = 3;

export const JOURNAL_MAX_BYTES = 1 << 30;

export class SharedJournal implements RaftStorage {
  private readonly word: BigInt64Array;
  private bytes: Uint8Array;
  private view: DataView;
  /** Set when the main thread fenced us off: the peer has crashed. */
  fenced = false;

  constructor(readonly sab: SharedArrayBuffer, readonly epoch: number) {
    this.word = new BigInt64Array(sab, 0, 1);
    this.bytes = new Uint8Array(sab);
    this.view = new DataView(sab);
  }

  static create(initialBytes = 64 * 1024): SharedJournal {
    const sab = new SharedArrayBuffer(initialBytes, { maxByteLength: JOURNAL_MAX_BYTES });
    Atomics.store(new BigInt64Array(sab, 0, 1), 0, BigInt(HEADER)); // epoch 0, records start after the header
    return new SharedJournal(sab, 0);
  }

  get publishedLength(): number {
    return Number(BigInt.asUintN(64, Atomics.load(this.word, 0)) % LENGTH_BITS);
  }

  get currentEpoch(): number {
    return Number(BigInt.asUintN(64, Atomics.load(this.word, 0)) / LENGTH_BITS);
  }

  /** Main thread: stop the current writer. Returns the new epoch for the next writer. */
  fence(): number {
    for (;;) {
      const w = Atomics.load(this.word, 0);
      const len = BigInt.asUintN(64, w) % LENGTH_BITS;
      const next = this.currentEpoch + 1;
      if (Atomics.compareExchange(this.word, 0, w, BigInt(next) * LENGTH_BITS + len) === w) return next;
    }
  }

  load(): PersistedState {
    const end = this.publishedLength;
    let hardState: HardState = { term: 0, votedFor: -1 };
    let snapshot: Snapshot | null = null;
    const log = new RaftLog();
    let at = HEADER;
    while (at < end) {
      const len = this.view.getUint32(at, true);
      const type = this.bytes[at + 4];
      const p = at + 5;
      if (type === REC_HARD_STATE) {
        hardState = { term: this.view.getFloat64(p, true), votedFor: this.view.getInt32(p + 8, true) };
      } else if (type === REC_SNAPSHOT) {
        const index = this.view.getFloat64(p, true);
        const term = this.view.getUint32(p + 8, true);
        const data = this.bytes.slice(p + 12, at + 5 + len);
        snapshot = { index, term, data };
        applySnapshotToLog(log, snapshot);
      } else if (type === REC_ENTRIES) {
        applyEntriesToLog(log, this.readBatch(p));
      } else {
        throw new Error(`journal corrupt: record type ${type} at offset ${at}`);
      }
      at += 5 + len;
    }
    const entries = log.length > 0 ? log.slice(log.firstIndex, log.lastIndex) : null;
    return { hardState, snapshot, entries };
  }

  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void {
    if (this.fenced) return;
    let size = 0;
    if (snapshot) size += 5 + 12 + snapshot.data.byteLength;
    if (entries && entries.count > 0) size += 5 + 12 + entries.count * 8 + entries.ends[entries.count - 1];
    if (hardState) size += 5 + 12;
    if (size === 0) return;
    const w = Atomics.load(this.word, 0);
    if (Number(BigInt.asUintN(64, w) / LENGTH_BITS) !== this.epoch) { this.fenced = true; return; }
    const start = Number(BigInt.asUintN(64, w) % LENGTH_BITS);
    this.ensure(start + size);
    let at = start;
    if (snapshot) {
      at = this.header(at, REC_SNAPSHOT, 12 + snapshot.data.byteLength);
      this.view.setFloat64(at, snapshot.index, true);
      this.view.setUint32(at + 8, snapshot.term, true);
      this.bytes.set(snapshot.data, at + 12);
      at += 12 + snapshot.data.byteLength;
    }
    if (entries && entries.count > 0) {
      const n = entries.count;
      const dataLen = entries.ends[n - 1];
      at = this.header(at, REC_ENTRIES, 12 + n * 8 + dataLen);
      this.view.setFloat64(at, entries.firstIndex, true);
      this.view.setUint32(at + 8, n, true);
      at += 12;
      for (let k = 0; k < n; k++) {
        this.view.setUint32(at, entries.terms[k], true);
        this.view.setUint32(at + 4, entries.ends[k], true);
        at += 8;
      }
      this.bytes.set(entries.data.subarray(0, dataLen), at);
      at += dataLen;
    }
    if (hardState) {
      at = this.header(at, REC_HARD_STATE, 12);
      this.view.setFloat64(at, hardState.term, true);
      this.view.setInt32(at + 8, hardState.votedFor, true);
      at += 12;
    }
    const next = BigInt(this.epoch) * LENGTH_BITS + BigInt(at);
    if (Atomics.compareExchange(this.word, 0, w, next) !== w) this.fenced = true;
  }

  close(): void {}

  /** Main thread: a fresh journal holding only the live state of this one (after fence()). */
  compacted(): SharedJournal {
    const state = this.load();
    const j = SharedJournal.create(Math.max(64 * 1024, this.publishedLength + HEADER));
    j.save(state.hardState, state.snapshot, state.entries);
    return j;
  }

  /** Bytes of Raft state (hard state and log entries, without the snapshot) a reload would hold. */
  raftStateBytes(): number {
    const s = this.load();
    let n = 12;
    if (s.entries && s.entries.count > 0) n += 12 + s.entries.count * 8 + s.entries.ends[s.entries.count - 1];
    return n;
  }

  private header(at: number, type: number, len: number): number {
    this.view.setUint32(at, len, true);
    this.bytes[at + 4] = type;
    return at + 5;
  }

  private ensure(size: number): void {
    if (size <= this.sab.byteLength) return;
    if (size > JOURNAL_MAX_BYTES) throw new RangeError(`shared journal full: ${size} bytes exceed ${JOURNAL_MAX_BYTES}`);
    let cap = this.sab.byteLength * 2;
    while (cap < size) cap *= 2;
    this.sab.grow(Math.min(cap, JOURNAL_MAX_BYTES));
    this.bytes = new Uint8Array(this.sab);
    this.view = new DataView(this.sab);
  }

  private readBatch(p: number): EntryBatch {
    const firstIndex = this.view.getFloat64(p, true);
    const count = this.view.getUint32(p + 8, true);
    const terms = new Uint32Array(count);
    const ends = new Uint32Array(count);
    let at = p + 12;
    for (let k = 0; k < count; k++) {
      terms[k] = this.view.getUint32(at, true);
      ends[k] = this.view.getUint32(at + 4, true);
      at += 8;
    }
    const dataLen = count === 0 ? 0 : ends[count - 1];
    return { firstIndex, count, terms, ends, data: this.bytes.slice(at, at + dataLen) };
  }
}
