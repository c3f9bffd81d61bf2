/**
 * Recovery: reads a FileStorage directory's segments in order, verifies every checksum,
 * finds a torn tail, and rebuilds hard state, snapshot and log.
 *
 * The power-loss rule. FileStorage acknowledges a save only once an fdatasync that began
 * after its write has completed, and every segment but the last was synced whole before the
 * next one was created. So what a power cut may take is confined to the bytes of the LAST
 * segment written since its last completed sync, and those may be lost in any subset and
 * order (blocks zeroed, stale, or the file extended without its data): the first damaged
 * record can be followed by intact ones. Recovery therefore cuts the last segment at its
 * first damaged record (a partial frame, a frame or payload failing its checksum, a record
 * running past the end of the file), whatever follows it, because nothing at or after an
 * unsynced byte can have been acknowledged: a sync covers everything written before it.
 *
 * Damage is refused instead (StorageCorruptionError naming file and offset) when it cannot
 * be a power loss:
 * - in any segment but the last (they were synced before the next one began);
 * - in the last segment at an offset that an intact sync mark (a record FileStorage writes
 *   with each save that follows a completed sync, and at a clean close) says was durable:
 *   acknowledged data is gone. Marks after the damage are found by trying every offset.
 * A record whose checksums hold but whose content is impossible (a gap in the log, a wrong
 * header) is always refused. Nothing is ever skipped: what is cut is the whole rest of the
 * last segment. Damage to synced bytes with no later mark (a crash right after the last
 * acknowledged sync) cannot be told from a power loss and is cut.
 *
 * Compaction deletes segments from the front without a directory sync, so after a power cut
 * some of those deletions may be undone in any subset: segments before the last gap in the
 * sequence numbers are leftovers when the segments after it hold the whole state (they are
 * then removed), and a missing segment otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EntryBatch } from '../core/entry-batch.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';
import {
  DecodedEntries, FRAME_BYTES, RecordType, SegmentHeader, decodeEntries, decodeHardState, decodeSegmentHeader,
  decodeSnapshotFile, decodeSnapshotMarker, decodeSyncMark, parseSegmentName, parseSnapshotName, isTempName, scanSyncMarks,
  segmentName, snapshotName, META_FILE,
} from './wal-format.js';
import { crc32c } from './crc32c.js';
import { isLockName } from './dir-lock.js';
import { StorageCorruptionError } from './storage-corruption-error.js';

export { StorageCorruptionError } from './storage-corruption-error.js';

export interface SegmentInfo {
  seq: number;
  /** Last log index when the segment began. */
  startLast: number;
}

export interface SnapshotRef {
  index: number;
  term: number;
  bytes: number;
  crc: number;
}

export interface TornTail {
  file: string;
  /** Offset of the first byte cut off; 0 means the whole segment goes. */
  offset: number;
  size: number;
  reason: string;
}

export interface Recovered {
  state: PersistedState;
  hardState: HardState;
  snapshot: SnapshotRef | null;
  lastIndex: number;
  segments: SegmentInfo[];
  /** Size of the last segment once its torn tail (if any) is cut. */
  lastSegmentBytes: number;
  torn: TornTail | null;
  /** Snapshot and temporary files, and leftover segments before a gap, that the recovered state does not use. */
  strayFiles: string[];
  /** Bytes of the last segment that its sync marks account for (0: none); a mark over all before it counts itself. */
  lastSegmentSynced: number;
}

interface Chunk { e: DecodedEntries; from: number; to: number } // entries k in [from, to)

/** The log as replayed: entries (snapIndex, unknownThrough] lived in deleted segments. */
class ReplayLog {
  snapIndex = 0;
  unknownThrough = 0;
  last = 0;
  chunks: Chunk[] = [];

  start(snapIndex: number, startLast: number): void {
    this.snapIndex = snapIndex;
    this.unknownThrough = startLast;
    this.last = startLast;
    this.chunks = [];
  }

  /** Returns an error message or null. */
  entries(e: DecodedEntries): string | null {
    const f = e.firstIndex;
    if (f <= this.snapIndex) return `entries from index ${f} at or below the snapshot index ${this.snapIndex}`;
    if (f > this.last + 1) return `entries from index ${f} leave a gap after the last index ${this.last}`;
    if (f <= this.unknownThrough) {
      this.chunks = [];
      this.unknownThrough = f - 1;
    } else {
      while (this.chunks.length > 0) {
        const c = this.chunks[this.chunks.length - 1];
        const cFirst = c.e.firstIndex + c.from;
        if (cFirst >= f) { this.chunks.pop(); continue; }
        c.to = Math.min(c.to, f - c.e.firstIndex);
        break;
      }
    }
    this.last = f - 1;
    if (e.count > 0) {
      this.chunks.push({ e, from: 0, to: e.count });
      this.last = f + e.count - 1;
    }
    return null;
  }

  /** Entries through `index` go; those after it stay (`retained`: the writer saw some after it). */
  snapshot(index: number, retained: boolean): string | null {
    if (index <= this.snapIndex) return `snapshot marker at index ${index} not above the previous snapshot index ${this.snapIndex}`;
    if (!retained) {
      this.snapIndex = this.unknownThrough = this.last = index;
      this.chunks = [];
      return null;
    }
    if (index >= this.last) return `snapshot marker at index ${index} keeps the entries after it, but the log ends at ${this.last}`;
    if (index > this.unknownThrough) {
      this.unknownThrough = index;
      while (this.chunks.length > 0) {
        const c = this.chunks[0];
        if (c.e.firstIndex + c.to - 1 <= index) { this.chunks.shift(); continue; }
        c.from = Math.max(c.from, index + 1 - c.e.firstIndex);
        break;
      }
    }
    this.snapIndex = index;
    return null;
  }

  toBatch(): EntryBatch | null {
    let count = 0, bytes = 0;
    for (const c of this.chunks) {
      count += c.to - c.from;
      bytes += chunkEnd(c, c.to) - chunkEnd(c, c.from);
    }
    if (count === 0) return null;
    const terms = new Uint32Array(count);
    const ends = new Uint32Array(count);
    const data = new Uint8Array(bytes);
    let n = 0, at = 0;
    for (const c of this.chunks) {
      const base = chunkEnd(c, c.from);
      const stop = chunkEnd(c, c.to);
      terms.set(c.e.terms.subarray(c.from, c.to), n);
      for (let k = c.from; k < c.to; k++) ends[n + k - c.from] = c.e.ends[k] - base + at;
      data.set(c.e.data.subarray(base, stop), at);
      n += c.to - c.from;
      at += stop - base;
    }
    return { firstIndex: this.unknownThrough + 1, count, terms, ends, data };
  }
}

/** Byte offset where entry k of the chunk's record starts (= where entry k-1 ends). */
function chunkEnd(c: Chunk, k: number): number {
  return k === 0 ? 0 : c.e.ends[k - 1];
}

function allZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

export interface ReadOptions {
  dir: string;
  identity: number;
  /** Cut a torn tail off the last segment (truncate or delete it) and make that durable. */
  repair: boolean;
}

/** Lists the directory: segment sequence numbers (ascending), snapshot and temporary files. */
export function listDir(dir: string): { segments: number[]; snapshots: string[]; temps: string[]; others: string[] } {
  const segments: number[] = [];
  const snapshots: string[] = [];
  const temps: string[] = [];
  const others: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const seq = parseSegmentName(name);
    if (seq !== null) segments.push(seq);
    else if (parseSnapshotName(name)) snapshots.push(name);
    else if (isTempName(name)) temps.push(name);
    else if (name !== META_FILE && !isLockName(name)) others.push(name);
  }
  segments.sort((a, b) => a - b);
  snapshots.sort();
  return { segments, snapshots, temps, others };
}

export function readWal(opts: ReadOptions): Recovered {
  const listing = listDir(opts.dir);
  const seqs = listing.segments;
  let gap = 0;
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1] + 1) gap = i;
  if (gap === 0) return replay(opts, listing, seqs, []);
  const rec = replay(opts, listing, seqs.slice(gap), seqs.slice(0, gap).map(segmentName));
  if (rec === null) {
    // The segments after the gap do not hold the whole log: one between is truly missing.
    throw new StorageCorruptionError(path.join(opts.dir, segmentName(seqs[gap - 1] + 1)), 0, `segment missing: found ${segmentName(seqs[gap - 1])} and ${segmentName(seqs[gap])} but nothing between`);
  }
  return rec;
}

function replay(opts: ReadOptions, listing: ReturnType<typeof listDir>, seqs: number[], stale: string[]): Recovered;
function replay(opts: ReadOptions, listing: ReturnType<typeof listDir>, seqs: number[], stale: string[]): Recovered | null;
/** Replays `seqs` (contiguous). With leftovers before a gap (`stale`), null when these segments miss part of the log. */
function replay(opts: ReadOptions, listing: ReturnType<typeof listDir>, seqs: number[], stale: string[]): Recovered | null {
  const { dir } = opts;
  const log = new ReplayLog();
  let hard: HardState = { term: 0, votedFor: -1 };
  let snap: SnapshotRef | null = null;
  const segments: SegmentInfo[] = [];
  let torn: TornTail | null = null;
  let lastSegmentBytes = 0;
  let lastSegmentSynced = 0;

  for (let si = 0; si < seqs.length; si++) {
    const seq = seqs[si];
    const file = path.join(dir, segmentName(seq));
    const isLast = si === seqs.length - 1;
    const buf: Uint8Array = fs.readFileSync(file);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const size = buf.byteLength;
    let off = 0;
    let sawHeader = false;
    let synced = 0;
    let cutReason: string | null = isLast && size === 0 ? 'empty segment' : null;
    /** Damage at `off`: a cut in the last segment if no sync mark shows it durable, else corruption. */
    const damaged = (reason: string, notLast: string): void => {
      if (!isLast) throw new StorageCorruptionError(file, off, notLast);
      const later = scanSyncMarks(buf, off + 1);
      if (later.syncedBytes > off) {
        throw new StorageCorruptionError(file, off, `${reason}, but the sync mark at offset ${later.at} records the segment durable through byte ${later.syncedBytes}: synced (possibly acknowledged) data is damaged`);
      }
      cutReason = allZero(buf, off) ? `zero-filled tail (${reason})` : reason;
    };

    while (off < size) {
      const left = size - off;
      if (left < FRAME_BYTES) {
        damaged(`partial record frame (${left} of ${FRAME_BYTES} bytes)`, `partial record frame (${left} bytes) at the end of a segment that is not the last`);
        break;
      }
      if (dv.getUint32(off + 12, true) !== crc32c(buf, off, off + 12)) {
        damaged('record frame checksum mismatch', 'record frame checksum mismatch');
        break;
      }
      const len = dv.getUint32(off, true);
      const type = buf[off + 8];
      const p = off + FRAME_BYTES;
      if (p + len > size) {
        damaged(`partial record (${size - p} of ${len} payload bytes)`, `record of ${len} bytes runs past the end of a segment that is not the last`);
        break;
      }
      if (dv.getUint32(off + 4, true) !== crc32c(buf, p, p + len)) {
        damaged('record payload checksum mismatch', 'record payload checksum mismatch');
        break;
      }
      let problem: string | null = null;
      try {
        if (!sawHeader) {
          if (type !== RecordType.SegmentHeader) throw new Error(`first record has type ${type}, expected a segment header`);
          const h = decodeSegmentHeader(dv, p, len);
          if (h.seq !== seq) throw new Error(`segment header says sequence ${h.seq}, file name says ${seq}`);
          if (h.identity !== opts.identity) throw new Error('segment belongs to another cluster or peer (identity tag mismatch)');
          if (si === 0) {
            hard = { term: h.term, votedFor: h.votedFor };
            snap = h.snapIndex > 0 ? { index: h.snapIndex, term: h.snapTerm, bytes: h.snapBytes, crc: h.snapCrc } : null;
            log.start(h.snapIndex, h.startLast);
          } else {
            problem = headerDisagreement(h, hard, snap, log.last);
          }
          segments.push({ seq, startLast: h.startLast });
          sawHeader = true;
        } else {
          switch (type) {
            case RecordType.HardState: hard = decodeHardState(dv, p, len); break;
            case RecordType.Snapshot: {
              const m = decodeSnapshotMarker(dv, p, len);
              problem = log.snapshot(m.index, m.retained);
              snap = { index: m.index, term: m.term, bytes: m.bytes, crc: m.crc };
              break;
            }
            case RecordType.Entries: problem = log.entries(decodeEntries(buf, dv, p, len)); break;
            case RecordType.SyncMark: {
              const n = decodeSyncMark(dv, p, len);
              if (n > off) problem = `sync mark says ${n} bytes were durable, more than precede it (${off})`;
              // A mark over every byte before it needs no successor until more is synced.
              else synced = Math.max(synced, n === off ? p + len : n);
              break;
            }
            case RecordType.SegmentHeader: throw new Error('a second segment header inside one segment');
            default: throw new Error(`unknown record type ${type}`);
          }
        }
      } catch (err) {
        problem = (err as Error).message;
      }
      if (problem !== null) throw new StorageCorruptionError(file, off, problem);
      off = p + len;
    }

    if (cutReason !== null) torn = { file, offset: off, size, reason: cutReason };
    if (isLast) { lastSegmentBytes = off; lastSegmentSynced = synced; }
    if (!sawHeader) {
      // Only a torn, brand-new last segment may lack its header: it holds nothing.
      if (!isLast || cutReason === null) throw new StorageCorruptionError(file, 0, 'segment without a header');
      if (si === 0 && seq !== 1) {
        if (stale.length > 0) return null;
        throw new StorageCorruptionError(file, 0, `segment ${seq} is the only one and has no complete header; earlier segments are gone`);
      }
      if (si > 0) lastSegmentBytes = -1; // the previous segment becomes the last; see below
    }
  }

  if (lastSegmentBytes === -1) {
    // The header-less last segment is dropped; the one before it is complete (it was synced
    // before the new one was created), so its size is its length on disk, all of it durable.
    lastSegmentBytes = lastSegmentSynced = fs.statSync(path.join(dir, segmentName(seqs[seqs.length - 2]))).size;
  }

  if (log.unknownThrough !== log.snapIndex) {
    if (stale.length > 0) return null;
    const first = segments.length > 0 ? path.join(dir, segmentName(segments[0].seq)) : dir;
    throw new StorageCorruptionError(first, 0, `entries ${log.snapIndex + 1}..${log.unknownThrough} are in no segment (a needed segment was deleted)`, { dir });
  }
  let snapshot: Snapshot | null = null;
  const used = new Set<string>();
  if (snap) {
    const s: SnapshotRef = snap;
    const name = snapshotName(s.index, s.term);
    const file = path.join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      throw new StorageCorruptionError(file, 0, `snapshot file referenced by the WAL cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    let dec;
    try {
      dec = decodeSnapshotFile(bytes);
    } catch (err) {
      throw new StorageCorruptionError(file, 0, (err as Error).message);
    }
    if (dec.index !== s.index || dec.term !== s.term || dec.bytes !== s.bytes || dec.crc !== s.crc) {
      throw new StorageCorruptionError(file, 0, `snapshot file holds (index ${dec.index}, term ${dec.term}, ${dec.bytes} bytes, crc ${dec.crc}) but the WAL expects (index ${s.index}, term ${s.term}, ${s.bytes} bytes, crc ${s.crc})`);
    }
    snapshot = dec.membership ? { index: s.index, term: s.term, data: dec.data, membership: dec.membership } : { index: s.index, term: s.term, data: dec.data };
    used.add(name);
  }

  const strayFiles = [...listing.snapshots.filter((n) => !used.has(n)), ...listing.temps, ...stale];
  const entries = log.toBatch();
  if (entries && entries.firstIndex !== log.snapIndex + 1) {
    throw new Error(`internal: replayed entries start at ${entries.firstIndex}, snapshot index ${log.snapIndex}`);
  }
  const tornTail = torn as TornTail | null;
  if (opts.repair && tornTail) repairTail(dir, tornTail);
  return {
    state: { hardState: { ...hard }, snapshot, entries },
    hardState: hard,
    snapshot: snap,
    lastIndex: log.last,
    segments,
    lastSegmentBytes: segments.length === 0 ? 0 : lastSegmentBytes,
    torn: tornTail,
    strayFiles,
    lastSegmentSynced,
  };
}

function headerDisagreement(h: SegmentHeader, hard: HardState, snap: SnapshotRef | null, last: number): string | null {
  const si = snap ? snap.index : 0;
  const st = snap ? snap.term : 0;
  if (h.term !== hard.term || h.votedFor !== hard.votedFor) return `segment header has term ${h.term} vote ${h.votedFor}, the records before it end with term ${hard.term} vote ${hard.votedFor}`;
  if (h.snapIndex !== si || h.snapTerm !== st) return `segment header has snapshot (${h.snapIndex}, ${h.snapTerm}), the records before it end with (${si}, ${st})`;
  if (h.startLast !== last) return `segment header says the log ended at ${h.startLast}, the records before it end at ${last}`;
  return null;
}

function repairTail(dir: string, t: TornTail): void {
  if (t.offset === 0) {
    fs.rmSync(t.file, { force: true });
  } else {
    const fd = fs.openSync(t.file, 'r+');
    try {
      fs.ftruncateSync(fd, t.offset);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
