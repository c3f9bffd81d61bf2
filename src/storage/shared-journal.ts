import type { EntryBatch } from '../core/entry-batch.js';
import { RaftLog } from '../core/log.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';
import { applyEntriesToLog, applySnapshotToLog } from './memory-storage.js';
import { decodeMembership, encodeMembership, encodedMembershipBytes, encodedMembershipLength } from '../core/membership-entry.js';
import type { RaftStorage } from './storage.js';

/**
 * A peer's persisted state in shared memory owned by the main thread, so that it outlives the
 * peer's worker: the fault-injection harness "crashes" a peer by terminating its worker and
 * restarts it from this journal.
 *
 * Two growable SharedArrayBuffer "slots" hold records [u32 length][u8 type][payload]; one is
 * active. A control word (BigInt64) holds `epoch | active slot | published length`:
 * - the writer copies records past the published end (invisible), then publishes them with
 *   one compare-and-swap that also checks its epoch and slot;
 * - `fence()` (main thread, at a crash) bumps the epoch: after it, nothing the old writer does
 *   becomes visible, and the writer learns it was fenced at its next save and stops;
 * - to stay small, the writer rewrites the live state (snapshot, entries after it, hard state)
 *   into the inactive slot and switches slots with the same compare-and-swap. The two slots
 *   are reused for the journal's whole life: handing out fresh buffers would leak, because a
 *   SharedArrayBuffer's memory is only freed once every thread's garbage collector dropped it.
 */
const REC_HARD_STATE = 1;
const REC_ENTRIES = 2;
const REC_SNAPSHOT = 3;
/** A snapshot that carries a membership: its encoding (self-delimiting) comes before the data. */
const REC_SNAPSHOT_MEMBERSHIP = 4;

const LEN_BITS = 2n ** 40n;
const SLOT_BITS = 2n;
export const JOURNAL_MAX_BYTES = 1 << 30;
const INITIAL_SLOT_BYTES = 64 * 1024;
/** Below this a journal is not worth compacting (and reading back on every snapshot). */
const COMPACT_MIN_BYTES = 1 << 20;

function pack(epoch: number, slot: number, len: number): bigint {
  return (BigInt(epoch) * SLOT_BITS + BigInt(slot)) * LEN_BITS + BigInt(len);
}
function unpack(w: bigint): { epoch: number; slot: number; len: number } {
  const u = BigInt.asUintN(64, w);
  const len = Number(u % LEN_BITS);
  const rest = u / LEN_BITS;
  return { epoch: Number(rest / SLOT_BITS), slot: Number(rest % SLOT_BITS), len };
}

function newSlot(bytes = INITIAL_SLOT_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes, { maxByteLength: JOURNAL_MAX_BYTES });
}

/** Main thread's side: owns the control word and both slots; fences, reads, compacts. */
export class SharedJournalHost {
  private readonly word: BigInt64Array;
  constructor(readonly control: SharedArrayBuffer, readonly slots: [SharedArrayBuffer, SharedArrayBuffer]) {
    this.word = new BigInt64Array(control, 0, 1);
  }

  static create(): SharedJournalHost {
    return new SharedJournalHost(new SharedArrayBuffer(8), [newSlot(), newSlot()]);
  }

  get currentEpoch(): number { return unpack(Atomics.load(this.word, 0)).epoch; }

  /** Stops the current writer; returns the epoch for the next one. */
  fence(): number {
    for (;;) {
      const w = Atomics.load(this.word, 0);
      const { epoch, slot, len } = unpack(w);
      if (Atomics.compareExchange(this.word, 0, w, pack(epoch + 1, slot, len)) === w) return epoch + 1;
    }
  }

  load(): PersistedState {
    const { slot, len } = unpack(Atomics.load(this.word, 0));
    return readRecords(this.slots[slot]!, len);
  }

  /** A fresh journal holding only the live state of this one (after fence()). */
  compacted(): SharedJournalHost {
    const s = this.load();
    const host = SharedJournalHost.create();
    const writer = new SharedJournal(host.control, host.slots, 0);
    writer.save(s.hardState, s.snapshot, s.entries);
    return host;
  }

}

/** Thrown by save() once the main thread has fenced this writer off (the peer has crashed). */
export class FencedError extends Error {
  constructor() { super('shared journal: this peer was crashed (fenced off); its writes are discarded'); this.name = 'FencedError'; }
}

/** The worker's side: appends records and publishes them atomically. */
export class SharedJournal implements RaftStorage {
  private readonly word: BigInt64Array;
  private slot: SharedArrayBuffer;
  private bytes: Uint8Array;
  private view: DataView;
  /**
   * Where the active slot's records are, kept as they are written: compacting after a
   * snapshot then reads only the live tail. A scan of every record header touches the whole
   * slot (12 MiB and 20,000 records per 500,000 16-byte entries) and took 8-30 ms per peer,
   * on every peer at about the same moment.
   */
  private readonly index = new RecordIndex();
  private readonly compactMinBytes: number;

  constructor(control: SharedArrayBuffer, private readonly slots: [SharedArrayBuffer, SharedArrayBuffer], readonly epoch: number, opts: { compactMinBytes?: number } = {}) {
    this.word = new BigInt64Array(control, 0, 1);
    const { slot, len } = unpack(Atomics.load(this.word, 0));
    this.slot = slots[slot];
    this.bytes = new Uint8Array(this.slot);
    this.view = new DataView(this.slot);
    this.compactMinBytes = opts.compactMinBytes ?? COMPACT_MIN_BYTES;
    this.index.scan(this.bytes, this.view, len); // a restart: what an earlier writer left
  }

  load(): PersistedState {
    return readRecords(this.slot, unpack(Atomics.load(this.word, 0)).len);
  }

  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void {
    const size = recordsSize(hardState, snapshot, entries);
    if (size === 0) return;
    const w = Atomics.load(this.word, 0);
    const cur = unpack(w);
    if (cur.epoch !== this.epoch) throw new FencedError();
    this.ensure(cur.len + size);
    const end = writeRecords(this.bytes, this.view, cur.len, hardState, snapshot, entries, this.index);
    if (Atomics.compareExchange(this.word, 0, w, pack(this.epoch, cur.slot, end)) !== w) throw new FencedError();
    if (snapshot && end >= this.compactMinBytes) this.maybeCompact(cur.slot, end);
  }

  close(): void {}

  /** After a snapshot, move the live state to a fresh slot once the journal is mostly garbage. */
  private maybeCompact(slot: number, end: number): void {
    const s = this.index.live(this.bytes, this.view);
    const live = recordsSize(s.hardState, s.snapshot, s.entries);
    if (end < 4 * live) return;
    const spare = this.slots[1 - slot]; // inactive: nobody reads it until the switch below
    if (spare.byteLength < live) spare.grow(Math.min(JOURNAL_MAX_BYTES, 2 ** Math.ceil(Math.log2(live))));
    const bytes = new Uint8Array(spare), view = new DataView(spare);
    const fresh = new RecordIndex();
    const len = writeRecords(bytes, view, 0, s.hardState, s.snapshot, s.entries, fresh);
    const w = pack(this.epoch, slot, end);
    if (Atomics.compareExchange(this.word, 0, w, pack(this.epoch, 1 - slot, len)) !== w) throw new FencedError();
    this.slot = spare;
    this.bytes = bytes;
    this.view = view;
    this.index.replaceWith(fresh);
  }

  private ensure(size: number): void {
    if (size <= this.slot.byteLength) return;
    if (size > JOURNAL_MAX_BYTES) throw new RangeError(`shared journal full: ${size} bytes exceed ${JOURNAL_MAX_BYTES}`);
    let cap = Math.max(this.slot.byteLength * 2, INITIAL_SLOT_BYTES);
    while (cap < size) cap *= 2;
    this.slot.grow(Math.min(cap, JOURNAL_MAX_BYTES));
    this.bytes = new Uint8Array(this.slot);
    this.view = new DataView(this.slot);
  }
}

/**
 * The writer's record of one slot: the latest hard state, the offset of the snapshot record
 * with the highest index, and the offset and first index of every entries record, in order.
 */
class RecordIndex {
  hardState: HardState = { term: 0, votedFor: -1 };
  snapshotAt = -1;
  snapshotIndex = 0;
  private entriesAt: number[] = [];
  private entriesFirst: number[] = [];

  noteHardState(h: HardState): void { this.hardState = { term: h.term, votedFor: h.votedFor }; }

  noteSnapshot(at: number, index: number): void {
    if (index > this.snapshotIndex) { this.snapshotIndex = index; this.snapshotAt = at; }
  }

  noteEntries(at: number, firstIndex: number): void {
    this.entriesAt.push(at);
    this.entriesFirst.push(firstIndex);
  }

  replaceWith(o: RecordIndex): void {
    this.hardState = o.hardState;
    this.snapshotAt = o.snapshotAt;
    this.snapshotIndex = o.snapshotIndex;
    this.entriesAt = o.entriesAt;
    this.entriesFirst = o.entriesFirst;
  }

  /** Indexes the records of a slot written by someone else (a restart), one header at a time. */
  scan(bytes: Uint8Array, view: DataView, end: number): void {
    for (let at = 0; at < end; at = at + 5 + view.getUint32(at, true)) {
      const type = bytes[at + 4];
      if (type === REC_SNAPSHOT || type === REC_SNAPSHOT_MEMBERSHIP) this.noteSnapshot(at, view.getFloat64(at + 5, true));
      else if (type === REC_HARD_STATE) this.hardState = { term: view.getFloat64(at + 5, true), votedFor: view.getInt32(at + 13, true) };
      else if (type === REC_ENTRIES) this.noteEntries(at, view.getFloat64(at + 5, true));
      else throw new Error(`shared journal corrupt: record type ${type} at offset ${at}`);
    }
  }

  /**
   * The state the slot's records replay to, as readRecords() gives it. An entries record that
   * starts at or before the entry after the snapshot replaces everything after the snapshot,
   * so the replay starts at the last such record: the records before it are not read at all.
   */
  live(bytes: Uint8Array, view: DataView): PersistedState {
    const snapshot = this.snapshotAt >= 0 ? decodeSnapshot(bytes, view, this.snapshotAt) : null;
    const log = new RaftLog();
    if (snapshot) applySnapshotToLog(log, snapshot);
    let k = this.entriesAt.length - 1;
    while (k > 0 && this.entriesFirst[k] > this.snapshotIndex + 1) k--;
    for (k = Math.max(0, k); k < this.entriesAt.length; k++) replayEntries(bytes, view, this.entriesAt[k], log);
    return { hardState: { ...this.hardState }, snapshot, entries: log.length > 0 ? log.slice(log.firstIndex, log.lastIndex) : null };
  }
}

function recordsSize(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): number {
  let size = 0;
  if (snapshot) size += 5 + 12 + snapshotBodyBytes(snapshot);
  if (entries) size += 5 + 12 + entries.count * 8 + batchDataBytes(entries); // an empty batch is a truncation
  if (hardState) size += 5 + 12;
  return size;
}

function snapshotBodyBytes(s: Snapshot): number {
  return s.data.byteLength + (s.membership ? encodedMembershipBytes(s.membership) : 0);
}

function batchDataBytes(e: EntryBatch): number {
  return e.count === 0 ? 0 : e.ends[e.count - 1];
}

function header(bytes: Uint8Array, view: DataView, at: number, type: number, len: number): number {
  view.setUint32(at, len, true);
  bytes[at + 4] = type;
  return at + 5;
}

function writeRecords(bytes: Uint8Array, view: DataView, at: number, hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null, index: RecordIndex): number {
  if (snapshot) {
    index.noteSnapshot(at, snapshot.index);
    const m = snapshot.membership ? encodeMembership(snapshot.membership) : null;
    at = header(bytes, view, at, m ? REC_SNAPSHOT_MEMBERSHIP : REC_SNAPSHOT, 12 + snapshotBodyBytes(snapshot));
    view.setFloat64(at, snapshot.index, true);
    view.setUint32(at + 8, snapshot.term, true);
    at += 12;
    if (m) { bytes.set(m, at); at += m.byteLength; }
    bytes.set(snapshot.data, at);
    at += snapshot.data.byteLength;
  }
  if (entries) {
    const n = entries.count;
    const dataLen = batchDataBytes(entries);
    index.noteEntries(at, entries.firstIndex);
    at = header(bytes, view, at, REC_ENTRIES, 12 + n * 8 + dataLen);
    view.setFloat64(at, entries.firstIndex, true);
    view.setUint32(at + 8, n, true);
    at += 12;
    // terms then ends, as raw host-order bytes: one bulk copy each (this journal never leaves the process)
    bytes.set(new Uint8Array(entries.terms.buffer, entries.terms.byteOffset, n * 4), at);
    bytes.set(new Uint8Array(entries.ends.buffer, entries.ends.byteOffset, n * 4), at + n * 4);
    at += n * 8;
    bytes.set(entries.data.subarray(0, dataLen), at);
    at += dataLen;
  }
  if (hardState) {
    index.noteHardState(hardState);
    at = header(bytes, view, at, REC_HARD_STATE, 12);
    view.setFloat64(at, hardState.term, true);
    view.setInt32(at + 8, hardState.votedFor, true);
    at += 12;
  }
  return at;
}

/**
 * Replays the records. Entries at or below the last snapshot in the journal end up dropped
 * whatever their order, so a first pass over the record headers finds that snapshot and the
 * second copies only what follows it. The writer compacts from its own RecordIndex instead;
 * this full read serves load() (a restart), which is rare.
 */
function readRecords(slot: SharedArrayBuffer, end: number): PersistedState {
  const bytes = new Uint8Array(slot), view = new DataView(slot);
  const index = new RecordIndex();
  index.scan(bytes, view, end);
  return index.live(bytes, view);
}

/** The snapshot record at `at`. */
function decodeSnapshot(bytes: Uint8Array, view: DataView, at: number): Snapshot {
  const len = view.getUint32(at, true), p = at + 5;
  const index = view.getFloat64(p, true);
  const term = view.getUint32(p + 8, true);
  if (bytes[at + 4] === REC_SNAPSHOT) return { index, term, data: bytes.slice(p + 12, p + len) };
  // the membership encoding, then the data
  const m = encodedMembershipLength(bytes.subarray(p + 12, p + len));
  return { index, term, data: bytes.slice(p + 12 + m, p + len), membership: decodeMembership(bytes.subarray(p + 12, p + 12 + m)) };
}

/** Applies the entries record at `at` to `log` (which starts after the journal's last snapshot), as storage rule 2 says. */
function replayEntries(bytes: Uint8Array, view: DataView, at: number, log: RaftLog): void {
  const p = at + 5;
  const firstIndex = view.getFloat64(p, true);
  const count = view.getUint32(p + 8, true);
  if (firstIndex + count - 1 <= log.snapshotIndex) {
    // all covered by the snapshot: all that is left of it is the truncation after them
    applyEntriesToLog(log, { firstIndex: log.snapshotIndex + 1, count: 0, terms: EMPTY_U32, ends: EMPTY_U32, data: EMPTY_U8 });
    return;
  }
  const q0 = p + 12;
  const terms = new Uint32Array(bytes.slice(q0, q0 + count * 4).buffer);
  const ends = new Uint32Array(bytes.slice(q0 + count * 4, q0 + count * 8).buffer);
  const q = q0 + count * 8;
  const dataLen = count === 0 ? 0 : ends[count - 1];
  applyEntriesToLog(log, { firstIndex, count, terms, ends, data: bytes.subarray(q, q + dataLen) });
}

const EMPTY_U32 = new Uint32Array(0);
const EMPTY_U8 = new Uint8Array(0);
