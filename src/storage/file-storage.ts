/**
 * FileStorage: a durable RaftStorage in a directory of its own.
 *
 * Directory layout
 *   meta.json                         cluster id, peer id, membership, format version (written atomically)
 *   wal-<seq, 16 digits>.log          segments of the write-ahead log, seq = 1, 2, ...
 *   snap-<index>-<term>.snap          snapshot files (16 digits each), written atomically
 *   lock                              held while open: the holder's pid (see dir-lock.ts)
 *
 * Every segment starts with a SegmentHeader record carrying the state as it stood when the
 * segment began (hard state, snapshot, last log index), so that segments wholly covered by a
 * snapshot can be deleted without losing the hard state. Then, per save(), in this order:
 * a HardState record (if any), a Snapshot marker (if any; the snapshot file itself is made
 * durable before the marker is written), an Entries record (if any) holding a whole
 * EntryBatch. One save() is one write() and so at most one torn tail. A Snapshot marker drops
 * the entries through its index only; an Entries record replaces the log from its first index
 * on, and an empty one is how the core's truncations (an empty batch) are recorded.
 * The hard state goes first so that a torn save can leave a new term without its entries
 * but never entries of a term the peer has not recorded.
 *
 * Sync marks. A save that follows a completed fdatasync begins with a SyncMark record saying
 * how many bytes of the segment that sync made durable (and a clean close writes and syncs
 * one), so that recovery can tell a power loss, which only takes unsynced bytes, from
 * damage to bytes that were synced (see wal-reader.ts for the rule). open() syncs the
 * recovered last segment, so that nothing read back at open is acted upon unsynced.
 *
 * fsync policy
 *   always  save() writes and fdatasyncs before returning (returns void)
 *   batch   save() writes and returns a promise; one fdatasync (on the libuv pool, so the
 *           Raft thread keeps working) covers every save written before it started; saves
 *           made while it runs share the next one. Nothing resolves before its sync.
 *   none    save() writes and returns void; nothing is synced (benchmarks only)
 *
 * Memory: FileStorage keeps no copy of the log, only its bounds, the terms as runs (one
 * pair per term change) and one (seq, startLast) pair per segment. load() rebuilds the
 * state from disk (the first call returns what open() already read).
 *
 * See wal-format.ts for the record layouts and wal-reader.ts for recovery.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EntryBatch } from '../core/entry-batch.js';
import type { HardState, PersistedState, Snapshot } from '../core/types.js';
import type { RaftStorage } from './storage.js';
import { crc32c, crc32cUpdate } from './crc32c.js';
import {
  FORMAT_VERSION, FRAME_BYTES, HARD_STATE_PAYLOAD, META_FILE, OLDEST_READABLE_VERSION, SEGMENT_HEADER_PAYLOAD, SNAPSHOT_MARKER_PAYLOAD,
  SYNC_MARK_BYTES, RecordType, encodeHardState, encodeSegmentHeader, encodeSnapshotHeader, encodeSnapshotMarker, encodeSyncMark, snapshotBody,
  entriesPayloadBytes, identityTag, segmentName, setU64, snapshotName, writeFrame,
} from './wal-format.js';
import { DirectoryLock } from './dir-lock.js';
import { SegmentInfo, SnapshotRef, StorageCorruptionError, fsyncDir, listDir, readWal } from './wal-reader.js';

export { StorageCorruptionError } from './wal-reader.js';

export type FsyncPolicy = 'always' | 'batch' | 'none';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batch', 'none'];

export interface FileStorageOptions {
  /** Directory of this peer alone; created if missing. */
  dir: string;
  clusterId: string;
  peerId: number;
  /**
   * The ordered ids of every peer of the cluster, this one included. Recorded in the
   * directory at its first open; a directory that records another membership (another peer
   * count) is refused, so that a peer never runs with a majority of another size than the
   * log it holds was written under. Omitted: not checked, and not recorded.
   */
  peers?: readonly number[];
  fsync: FsyncPolicy;
  /** A segment is closed and a new one begun once a save would take it past this size. Default 64 MiB. */
  segmentBytes?: number;
}

export interface FileStorageStats {
  policy: FsyncPolicy;
  /** fdatasync calls on log segments (each covers one or more saves). */
  syncs: number;
  syncMsTotal: number;
  syncMsMean: number;
  syncMsMax: number;
  /** fsync calls on the directory (new segments, snapshots). */
  dirSyncs: number;
  /** save() calls that wrote something. */
  saves: number;
  records: number;
  /** Log entries (commands) written. */
  entries: number;
  bytes: number;
  savesPerSync: number;
  entriesPerSync: number;
  segments: number;
  segmentsCreated: number;
  segmentsDeleted: number;
  snapshotsWritten: number;
  /** Files that could not be deleted after compaction (left for the next compaction / open). */
  deleteErrors: number;
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const MIN_SEGMENT_BYTES = 1024;

const SEGMENT_HEADER_BYTES = FRAME_BYTES + SEGMENT_HEADER_PAYLOAD;
const HARD_STATE_BYTES = FRAME_BYTES + HARD_STATE_PAYLOAD;
const SNAPSHOT_MARKER_BYTES = FRAME_BYTES + SNAPSHOT_MARKER_PAYLOAD;
const SCRATCH_KEEP_BYTES = 16 * 1024 * 1024;

interface Meta {
  format: string;
  version: number;
  clusterId: string;
  peerId: number;
  /** Absent in directories written before membership was recorded. */
  peers?: number[];
}
const META_FORMAT = 'raft-threads-file-storage';

/** What becomes deletable once a snapshot marker is durable. */
interface CompactionPlan {
  /** Segments with a lower sequence number are no longer needed. */
  deleteBefore: number;
  /** Snapshot files created before this one are no longer needed. */
  keepSnapshot: string;
}

interface SyncGroup {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
  plan: CompactionPlan | null;
  saves: number;
  entries: number;
}

export type ResolvedFileStorageOptions = Required<Omit<FileStorageOptions, 'peers'>> & { peers: number[] | null };

function describePeers(peers: readonly number[]): string {
  return `${peers.length} peer${peers.length === 1 ? '' : 's'} [${peers.join(', ')}]`;
}

function samePeers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, k) => x === b[k]);
}

export function validateFileStorageOptions(opts: FileStorageOptions): ResolvedFileStorageOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('FileStorage options must be an object');
  if (typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError(`FileStorage option "dir" must be a non-empty string, got ${JSON.stringify(opts.dir)}`);
  if (typeof opts.clusterId !== 'string' || opts.clusterId === '' || opts.clusterId.includes('\0')) {
    throw new TypeError(`FileStorage option "clusterId" must be a non-empty string without NUL, got ${JSON.stringify(opts.clusterId)}`);
  }
  if (!Number.isSafeInteger(opts.peerId) || opts.peerId < 0) throw new TypeError(`FileStorage option "peerId" must be a non-negative integer, got ${String(opts.peerId)}`);
  if (!FSYNC_POLICIES.includes(opts.fsync)) {
    throw new TypeError(`FileStorage option "fsync" must be one of ${FSYNC_POLICIES.map((p) => `'${p}'`).join(', ')}; got ${JSON.stringify(opts.fsync)}`);
  }
  let peers: number[] | null = null;
  if (opts.peers !== undefined) {
    const p = opts.peers;
    if (!Array.isArray(p) || p.length === 0 || !p.every((x) => Number.isSafeInteger(x) && x >= 0) || new Set(p).size !== p.length) {
      throw new TypeError(`FileStorage option "peers" must be a non-empty array of distinct non-negative integer peer ids, got ${JSON.stringify(p)}`);
    }
    if (!p.includes(opts.peerId)) throw new RangeError(`FileStorage option "peers" (${JSON.stringify(p)}) must include this peer's id ${opts.peerId}`);
    peers = [...p];
  }
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > 0xffffffff) {
    throw new RangeError(`FileStorage option "segmentBytes" must be an integer from ${MIN_SEGMENT_BYTES} to ${0xffffffff}, got ${String(opts.segmentBytes)}`);
  }
  return { dir: path.resolve(opts.dir), clusterId: opts.clusterId, peerId: opts.peerId, peers, fsync: opts.fsync, segmentBytes };
}

function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e && e.code ? `${e.code}: ${e.message}` : String((err as Error)?.message ?? err);
}

function writeAll(fd: number, buf: Uint8Array, len: number, pos: number): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, buf, done, len - done, pos + done);
}

function writeFileAtomic(dir: string, name: string, parts: Uint8Array[], sync: boolean): void {
  const tmp = path.join(dir, `${name}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    let pos = 0;
    for (const p of parts) { writeAll(fd, p, p.byteLength, pos); pos += p.byteLength; }
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, name));
  if (sync) fsyncDir(dir);
}

export class FileStorage implements RaftStorage {
  readonly dir: string;
  readonly clusterId: string;
  readonly peerId: number;
  /** The membership this directory records (null: none recorded, none given). */
  readonly peers: readonly number[] | null;
  readonly policy: FsyncPolicy;
  readonly segmentBytes: number;
  private readonly identity: number;

  private lock: DirectoryLock | null = null;
  private fd = -1;
  private seq = 0;
  private pos = 0;
  /** Bytes of the current segment that a completed sync made durable. */
  private syncedPos = 0;
  /** The synced-bytes figure of the last sync mark written in the current segment. */
  private markedPos = 0;
  private readonly segs: SegmentInfo[] = [];
  /** Segment fds retired while an fdatasync on them was in flight; closed when it ends. */
  private retired: number[] = [];

  private term = 0;
  private votedFor = -1;
  private snap: SnapshotRef | null = null;
  private lastIndex = 0;
  private runStart: number[] = [];
  private runTerm: number[] = [];
  /** Snapshot files in the order they were written; the last is the newest. */
  private snapFiles: string[] = [];

  private scratch = new Uint8Array(64 * 1024);
  private scratchView = new DataView(this.scratch.buffer);
  private cached: PersistedState | null = null;

  private group: SyncGroup | null = null;
  private inflight: SyncGroup | null = null;
  private inflightFd = -1;
  private flushScheduled = false;
  private failed: Error | null = null;
  private closed = false;

  private st = {
    syncs: 0, syncMsTotal: 0, syncMsMax: 0, dirSyncs: 0, saves: 0, records: 0, entries: 0, bytes: 0,
    syncedSaves: 0, syncedEntries: 0, segmentsCreated: 0, segmentsDeleted: 0, snapshotsWritten: 0, deleteErrors: 0,
  };

  /** Opens (creating if needed) the storage directory and recovers its state. */
  static async open(opts: FileStorageOptions): Promise<FileStorage> {
    return FileStorage.openSync(opts);
  }

  static openSync(opts: FileStorageOptions): FileStorage {
    return new FileStorage(validateFileStorageOptions(opts));
  }

  private constructor(o: ResolvedFileStorageOptions) {
    this.dir = o.dir;
    this.clusterId = o.clusterId;
    this.peerId = o.peerId;
    this.policy = o.fsync;
    this.segmentBytes = o.segmentBytes;
    this.identity = identityTag(o.clusterId, o.peerId);

    try {
      this.peers = this.recover(o.peers);
    } catch (err) {
      this.closeFds(); // and the lock
      throw err;
    }
  }

  /** Opens the directory and reads its state back; returns the membership it records. */
  private recover(given: number[] | null): number[] | null {
    const { fresh, peers } = this.prepareDirectory(given);
    if (fresh) {
      this.createSegment(1, true);
      fs.closeSync(this.fd);
      this.fd = -1;
      this.segs.length = 0;
    }

    const rec = readWal({ dir: this.dir, identity: this.identity, repair: true });
    for (const name of rec.strayFiles) fs.rmSync(path.join(this.dir, name), { force: true });
    this.term = rec.hardState.term;
    this.votedFor = rec.hardState.votedFor;
    this.snap = rec.snapshot;
    this.lastIndex = rec.lastIndex;
    if (rec.snapshot) this.snapFiles.push(snapshotName(rec.snapshot.index, rec.snapshot.term));
    const e = rec.state.entries;
    if (e) this.appendRuns(e.firstIndex, e.terms, 0, e.count);
    this.segs.push(...rec.segments);
    this.cached = rec.state;

    if (this.segs.length === 0) {
      // The only segment was a torn, header-less new one: begin again.
      this.createSegment(1, true);
    } else {
      const last = this.segs[this.segs.length - 1];
      this.seq = last.seq;
      try {
        this.fd = fs.openSync(path.join(this.dir, segmentName(last.seq)), 'r+');
      } catch (err) {
        throw new Error(`cannot open WAL segment ${path.join(this.dir, segmentName(last.seq))} for writing (${errCode(err)})`);
      }
      this.pos = rec.lastSegmentBytes;
      this.markedPos = rec.lastSegmentSynced;
      this.syncedPos = rec.lastSegmentSynced;
      if (this.policy !== 'none') {
        // What recovery read may sit only in the page cache (a crashed process, not a power
        // cut): make it durable before the peer acts on it (a vote it read must stay cast).
        fs.fdatasyncSync(this.fd);
        this.syncedPos = this.pos;
      }
    }
    return peers;
  }

  // ---------------------------------------------------------------- RaftStorage

  load(): PersistedState {
    this.checkOpen();
    if (this.cached) {
      const s = this.cached;
      this.cached = null;
      return s;
    }
    return readWal({ dir: this.dir, identity: this.identity, repair: false }).state;
  }

  save(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void | Promise<void> {
    this.checkOpen();
    this.cached = null;

    // ---- decide (nothing changes until the write succeeded)
    if (hardState) {
      if (!Number.isSafeInteger(hardState.term) || hardState.term < 0) throw new RangeError(`hard state term must be a non-negative integer, got ${hardState.term}`);
      if (!Number.isInteger(hardState.votedFor) || hardState.votedFor < -1 || hardState.votedFor > 0x7fffffff) {
        throw new RangeError(`hard state votedFor must be -1 or a peer id, got ${hardState.votedFor}`);
      }
    }
    let snapIndex = this.snap ? this.snap.index : 0;
    let last = this.lastIndex;
    let useSnap: Snapshot | null = null;
    if (snapshot && snapshot.index > snapIndex) {
      if (!Number.isSafeInteger(snapshot.index) || !Number.isSafeInteger(snapshot.term) || snapshot.term < 0) {
        throw new RangeError(`snapshot index and term must be integers, got (${snapshot.index}, ${snapshot.term})`);
      }
      if (!(snapshot.data instanceof Uint8Array)) throw new TypeError('snapshot data must be a Uint8Array');
      useSnap = snapshot;
      snapIndex = snapshot.index;
      if (last < snapIndex) last = snapIndex; // entries after the snapshot stay; none if it is beyond them
    }
    // Entries replace the log from `first` on; `count` may be 0: then they only truncate there.
    let from = 0, count = 0, first = 0, d0 = 0, d1 = 0, writeEntries = false;
    if (entries) {
      from = Math.max(0, snapIndex + 1 - entries.firstIndex); // already in the snapshot
      first = entries.firstIndex + from;
      count = Math.max(0, entries.count - from);
      if (count > 0) {
        if (first > last + 1) throw new RangeError(`storage gap: entries start at ${first}, the stored log ends at ${last}`);
        d0 = from === 0 ? 0 : entries.ends[from - 1];
        d1 = entries.ends[entries.count - 1];
        if (d1 > entries.data.byteLength || d0 > d1) throw new RangeError(`malformed entry batch: ends reach ${d1} but data has ${entries.data.byteLength} bytes`);
      }
      writeEntries = count > 0 || first <= last; // an empty batch past the end truncates nothing
    }
    const entriesPayload = writeEntries ? entriesPayloadBytes(count, d1 - d0) : 0;
    let n = (hardState ? HARD_STATE_BYTES : 0) + (useSnap ? SNAPSHOT_MARKER_BYTES : 0) + (writeEntries ? FRAME_BYTES + entriesPayload : 0);
    if (n === 0) return this.emptySaveResult();

    // ---- write
    let markBytes = this.syncedPos > this.markedPos ? SYNC_MARK_BYTES : 0;
    if (this.pos > SEGMENT_HEADER_BYTES && this.pos + n + markBytes > this.segmentBytes) {
      this.rotate();
      markBytes = 0; // nothing of the new segment is synced yet
    }
    const markFor = this.syncedPos;
    n += markBytes;
    let snapRef: SnapshotRef | null = null;
    if (useSnap) snapRef = this.writeSnapshotFile(useSnap);

    const buf = n <= this.scratch.length ? this.scratch : this.growScratch(n);
    const dv = buf === this.scratch ? this.scratchView : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0, records = 0;
    if (markBytes > 0) at += encodeSyncMark(buf, dv, at, markFor); // not counted in stats.records: bookkeeping, not a caller's record
    if (hardState) { at += encodeHardState(buf, dv, at, hardState.term, hardState.votedFor); records++; }
    if (snapRef) { at += encodeSnapshotMarker(buf, dv, at, { ...snapRef, retained: useSnap!.index < this.lastIndex }); records++; }
    if (writeEntries) {
      const e = entries!;
      const p = at + FRAME_BYTES;
      setU64(dv, p, first);
      dv.setUint32(p + 8, count, true);
      if (count > 0) { // an empty record (a truncation) has nothing more
        buf.set(new Uint8Array(e.terms.buffer, e.terms.byteOffset + 4 * from, 4 * count), p + 12);
        const endsAt = p + 12 + 4 * count;
        if (d0 === 0) {
          buf.set(new Uint8Array(e.ends.buffer, e.ends.byteOffset + 4 * from, 4 * count), endsAt);
        } else {
          for (let k = 0; k < count; k++) dv.setUint32(endsAt + 4 * k, e.ends[from + k] - d0, true);
        }
        buf.set(e.data.subarray(d0, d1), endsAt + 4 * count);
      }
      writeFrame(buf, dv, at, RecordType.Entries, entriesPayload);
      at += FRAME_BYTES + entriesPayload;
      records++;
    }
    try {
      writeAll(this.fd, buf, n, this.pos);
    } catch (err) {
      this.failed = new Error(`write to ${this.segmentPath(this.seq)} failed (${errCode(err)}); the storage refuses further writes`);
      throw this.failed;
    }
    if (buf.length > SCRATCH_KEEP_BYTES && buf === this.scratch) this.shrinkScratch();
    this.pos += n;
    if (markBytes > 0) this.markedPos = markFor;

    // ---- the write landed: update what we track
    if (hardState) { this.term = hardState.term; this.votedFor = hardState.votedFor; }
    let plan: CompactionPlan | null = null;
    if (useSnap && snapRef) {
      this.snap = snapRef;
      this.compactRuns(useSnap.index);
      if (this.lastIndex < useSnap.index) this.lastIndex = useSnap.index;
    }
    if (writeEntries) {
      this.truncateRuns(first);
      if (count > 0) this.appendRuns(first, entries!.terms, from, count);
      this.lastIndex = first + count - 1;
    }
    if (useSnap) {
      // Segments before the last one that began at or below the snapshot hold nothing still
      // needed; none before the current one do when no entry follows the snapshot.
      const coverage = this.lastIndex === useSnap.index ? Infinity : useSnap.index;
      let deleteBefore = 0;
      for (const s of this.segs) if (s.startLast <= coverage) deleteBefore = s.seq;
      plan = { deleteBefore, keepSnapshot: snapshotName(useSnap.index, useSnap.term) };
    }
    this.st.saves++;
    this.st.records += records;
    this.st.entries += count;
    this.st.bytes += n;

    // ---- durability
    switch (this.policy) {
      case 'always':
        this.syncNow(1, count);
        if (plan) this.applyPlan(plan);
        return;
      case 'none':
        if (plan) this.applyPlan(plan);
        return;
      case 'batch': {
        const g = this.group ?? (this.group = this.newGroup());
        g.saves++;
        g.entries += count;
        if (plan) g.plan = plan; // a later marker supersedes an earlier one of the same group
        this.scheduleFlush();
        return g.promise;
      }
    }
  }

  close(): void | Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.policy === 'batch' && (this.group || this.inflight)) return this.drainAndClose();
    try {
      this.writeCloseMark();
    } finally {
      this.closeFds();
    }
  }

  /** A clean close marks everything durable, so that recovery refuses any later damage to it. */
  private writeCloseMark(): void {
    if (this.policy === 'none' || this.failed || this.fd < 0 || this.syncedPos <= this.markedPos) return;
    const buf = new Uint8Array(SYNC_MARK_BYTES);
    encodeSyncMark(buf, new DataView(buf.buffer), 0, this.syncedPos);
    try {
      writeAll(this.fd, buf, buf.length, this.pos);
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw new Error(`writing the closing sync mark to ${this.segmentPath(this.seq)} failed (${errCode(err)})`);
    }
    this.pos += buf.length;
    this.markedPos = this.syncedPos;
  }

  stats(): FileStorageStats {
    const s = this.st;
    return {
      policy: this.policy,
      syncs: s.syncs,
      syncMsTotal: s.syncMsTotal,
      syncMsMean: s.syncs === 0 ? 0 : s.syncMsTotal / s.syncs,
      syncMsMax: s.syncMsMax,
      dirSyncs: s.dirSyncs,
      saves: s.saves,
      records: s.records,
      entries: s.entries,
      bytes: s.bytes,
      savesPerSync: s.syncs === 0 ? 0 : s.syncedSaves / s.syncs,
      entriesPerSync: s.syncs === 0 ? 0 : s.syncedEntries / s.syncs,
      segments: this.segs.length,
      segmentsCreated: s.segmentsCreated,
      segmentsDeleted: s.segmentsDeleted,
      snapshotsWritten: s.snapshotsWritten,
      deleteErrors: s.deleteErrors,
    };
  }

  /** Sequence numbers of the segments on disk, oldest first (for tests and tools). */
  segmentSeqs(): number[] {
    return this.segs.map((s) => s.seq);
  }

  // ---------------------------------------------------------------- opening

  /** Checks or initialises the directory and its meta file; says whether it is new and the membership it records. */
  private prepareDirectory(given: number[] | null): { fresh: boolean; peers: number[] | null } {
    const dir = this.dir;
    let created: string | undefined;
    try {
      created = fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create storage directory ${dir} (${errCode(err)})`);
    }
    if (!fs.statSync(dir).isDirectory()) throw new Error(`storage path ${dir} is not a directory`);
    // Taken first (it is also how a directory we cannot write is reported now, not at the first append).
    this.lock = DirectoryLock.acquire(dir);
    if (created !== undefined) {
      // Make every directory level we created durable in its parent.
      for (let d = dir; ; d = path.dirname(d)) {
        fsyncDir(path.dirname(d));
        if (d === created || path.dirname(d) === d) break;
      }
    }

    const metaPath = path.join(dir, META_FILE);
    let meta: Meta | null = null;
    let text: string | null = null;
    try {
      text = fs.readFileSync(metaPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${metaPath} (${errCode(err)})`);
    }
    if (text !== null) {
      try {
        meta = JSON.parse(text) as Meta;
      } catch (err) {
        throw new StorageCorruptionError(metaPath, 0, `meta file is not valid JSON (${(err as Error).message})`);
      }
      if (!meta || meta.format !== META_FORMAT || typeof meta.clusterId !== 'string' || typeof meta.peerId !== 'number') {
        throw new StorageCorruptionError(metaPath, 0, `not a ${META_FORMAT} meta file`);
      }
      if (!(meta.version >= OLDEST_READABLE_VERSION && meta.version <= FORMAT_VERSION)) {
        throw new Error(`${metaPath}: format version ${meta.version}, this build reads versions ${OLDEST_READABLE_VERSION} to ${FORMAT_VERSION}`);
      }
      if (meta.clusterId !== this.clusterId || meta.peerId !== this.peerId) {
        throw new Error(`storage directory ${dir} belongs to cluster ${JSON.stringify(meta.clusterId)} peer ${meta.peerId}; ` +
          `refusing to open it as cluster ${JSON.stringify(this.clusterId)} peer ${this.peerId}`);
      }
      if (meta.peers !== undefined && (!Array.isArray(meta.peers) || !meta.peers.every((x) => Number.isSafeInteger(x)))) {
        throw new StorageCorruptionError(metaPath, 0, `"peers" is not a list of peer ids: ${JSON.stringify(meta.peers)}`);
      }
      if (meta.peers && given && !samePeers(meta.peers, given)) {
        throw new Error(`storage directory ${dir} belongs to a cluster of ${describePeers(meta.peers)}; refusing to open it for a cluster of ` +
          `${describePeers(given)} (a log written under one majority must not be used under another)`);
      }
    } else {
      const l = listDir(dir);
      const foreign = [...l.segments.map(segmentName), ...l.snapshots, ...l.others];
      if (foreign.length > 0) {
        throw new Error(`storage directory ${dir} has no ${META_FILE} but is not empty (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); refusing to use it`);
      }
    }

    const peers = meta?.peers ?? given;
    if (meta && (meta.peers || !peers) && meta.version === FORMAT_VERSION) return { fresh: false, peers };
    // A new directory, one from before membership was recorded, or one of an older format
    // (its segments stay readable; new ones hold sync marks): record it now.
    const m: Meta = { format: META_FORMAT, version: FORMAT_VERSION, clusterId: this.clusterId, peerId: this.peerId, ...(peers ? { peers } : {}) };
    writeFileAtomic(dir, META_FILE, [new TextEncoder().encode(JSON.stringify(m, null, 2) + '\n')], true);
    return { fresh: !meta, peers };
  }

  // ---------------------------------------------------------------- segments

  private segmentPath(seq: number): string {
    return path.join(this.dir, segmentName(seq));
  }

  /** Creates segment `seq` whose header records the current state, and makes it current. */
  private createSegment(seq: number, syncData: boolean): void {
    const file = this.segmentPath(seq);
    const buf = new Uint8Array(SEGMENT_HEADER_BYTES);
    const s = this.snap;
    encodeSegmentHeader(buf, new DataView(buf.buffer), 0, {
      seq, identity: this.identity, term: this.term, votedFor: this.votedFor,
      snapIndex: s ? s.index : 0, snapTerm: s ? s.term : 0, snapBytes: s ? s.bytes : 0, snapCrc: s ? s.crc : 0,
      startLast: this.lastIndex,
    });
    const fd = fs.openSync(file, 'wx');
    try {
      writeAll(fd, buf, buf.length, 0);
      if (syncData) fs.fdatasyncSync(fd);
      if (this.policy !== 'none' || syncData) { fsyncDir(this.dir); this.st.dirSyncs++; }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    this.fd = fd;
    this.seq = seq;
    this.pos = buf.length;
    this.syncedPos = syncData ? buf.length : 0;
    this.markedPos = 0;
    this.segs.push({ seq, startLast: this.lastIndex });
    this.st.segmentsCreated++;
  }

  private rotate(): void {
    const old = this.fd;
    // Everything in the old segment must be durable before the new one exists, or a crash
    // could leave a torn record in a segment that is not the last.
    if (this.policy === 'batch' && (this.group || this.inflight)) this.syncNow(0, 0, old);
    if (this.inflight && this.inflightFd === old) this.retired.push(old);
    else fs.closeSync(old);
    this.fd = -1;
    this.createSegment(this.seq + 1, false);
  }

  private syncNow(saves: number, entries: number, fd = this.fd): void {
    const t0 = performance.now();
    try {
      fs.fdatasyncSync(fd);
    } catch (err) {
      this.fail(err);
      throw this.failed;
    }
    if (fd === this.fd) this.syncedPos = this.pos;
    this.noteSync(performance.now() - t0, saves, entries);
  }

  private noteSync(ms: number, saves: number, entries: number): void {
    this.st.syncs++;
    this.st.syncMsTotal += ms;
    if (ms > this.st.syncMsMax) this.st.syncMsMax = ms;
    this.st.syncedSaves += saves;
    this.st.syncedEntries += entries;
  }

  // ---------------------------------------------------------------- snapshots and compaction

  private writeSnapshotFile(s: Snapshot): SnapshotRef {
    const name = snapshotName(s.index, s.term);
    const body = snapshotBody(s);
    let crc = 0, bytes = 0;
    for (const b of body) { crc = crc32cUpdate(crc, b); bytes += b.byteLength; }
    const sync = this.policy !== 'none';
    try {
      writeFileAtomic(this.dir, name, [encodeSnapshotHeader(s.index, s.term, bytes, crc, s.membership !== undefined), ...body], sync);
    } catch (err) {
      throw new Error(`cannot write snapshot file ${path.join(this.dir, name)} (${errCode(err)})`);
    }
    if (sync) this.st.dirSyncs++;
    const i = this.snapFiles.indexOf(name);
    if (i >= 0) this.snapFiles.splice(i, 1);
    this.snapFiles.push(name);
    this.st.snapshotsWritten++;
    return { index: s.index, term: s.term, bytes, crc };
  }

  /** Called once the marker of `plan` is durable. */
  private applyPlan(plan: CompactionPlan): void {
    while (this.segs.length > 1 && this.segs[0].seq < plan.deleteBefore) {
      const s = this.segs.shift()!;
      this.unlink(this.segmentPath(s.seq));
      this.st.segmentsDeleted++;
    }
    const i = this.snapFiles.indexOf(plan.keepSnapshot);
    if (i > 0) for (const name of this.snapFiles.splice(0, i)) this.unlink(path.join(this.dir, name));
  }

  private unlink(file: string): void {
    try {
      fs.rmSync(file, { force: true });
    } catch {
      this.st.deleteErrors++;
    }
  }

  // ---------------------------------------------------------------- group commit

  private newGroup(): SyncGroup {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {}); // callers get the rejection; never an unhandled one here
    return { promise, resolve, reject, plan: null, saves: 0, entries: 0 };
  }

  private emptySaveResult(): void | Promise<void> {
    // Nothing of its own to make durable, but it must not resolve before earlier saves.
    if (this.group) return this.group.promise;
    if (this.inflight) return this.inflight.promise;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inflight) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.inflight || !this.group || this.failed) return;
    const g = this.group;
    this.group = null;
    this.inflight = g;
    const fd = this.fd;
    this.inflightFd = fd;
    const upTo = this.pos, seq = this.seq;
    const t0 = performance.now();
    fs.fdatasync(fd, (err) => {
      this.inflight = null;
      this.inflightFd = -1;
      for (const r of this.retired) fs.closeSync(r);
      this.retired = [];
      if (err) {
        this.fail(err);
        g.reject(this.failed!);
        return;
      }
      this.noteSync(performance.now() - t0, g.saves, g.entries);
      if (this.seq === seq && upTo > this.syncedPos) this.syncedPos = upTo;
      if (g.plan) this.applyPlan(g.plan);
      g.resolve();
      if (this.group) this.scheduleFlush();
    });
  };

  private fail(err: unknown): void {
    if (!this.failed) {
      this.failed = new Error(`fdatasync of ${this.segmentPath(this.seq)} failed (${errCode(err)}); ` +
        'data written since the last good sync may be lost, so the storage refuses further writes');
    }
    if (this.group) { this.group.reject(this.failed); this.group = null; }
  }

  private async drainAndClose(): Promise<void> {
    try {
      while (this.inflight || (this.group && !this.failed)) {
        if (this.inflight) await this.inflight.promise.catch(() => {});
        else this.flush();
      }
      this.writeCloseMark();
    } finally {
      this.closeFds();
    }
    if (this.failed) throw this.failed;
  }

  private closeFds(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    for (const r of this.retired) fs.closeSync(r);
    this.retired = [];
    this.lock?.release(); // last: the directory is free once nothing of ours is open in it
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`FileStorage ${this.dir} is closed`);
    if (this.failed) throw this.failed;
  }

  // ---------------------------------------------------------------- term runs

  private truncateRuns(from: number): void {
    while (this.runStart.length > 0 && this.runStart[this.runStart.length - 1] >= from) {
      this.runStart.pop();
      this.runTerm.pop();
    }
  }

  private appendRuns(first: number, terms: Uint32Array, from: number, count: number): void {
    let lastTerm = this.runTerm.length > 0 ? this.runTerm[this.runTerm.length - 1] : -1;
    for (let k = 0; k < count; k++) {
      const t = terms[from + k];
      if (t !== lastTerm) {
        this.runStart.push(first + k);
        this.runTerm.push(t);
        lastTerm = t;
      }
    }
  }

  /** Entries through `index` are gone (the snapshot covers them). */
  private compactRuns(index: number): void {
    if (index >= this.lastIndex) { this.runStart = []; this.runTerm = []; return; }
    let drop = 0;
    while (drop + 1 < this.runStart.length && this.runStart[drop + 1] <= index + 1) drop++;
    if (drop > 0) { this.runStart.splice(0, drop); this.runTerm.splice(0, drop); }
    if (this.runStart.length > 0 && this.runStart[0] <= index) this.runStart[0] = index + 1;
  }

  // ---------------------------------------------------------------- scratch buffer

  private growScratch(n: number): Uint8Array {
    if (n > SCRATCH_KEEP_BYTES) return new Uint8Array(n); // one-off: do not keep it
    let cap = this.scratch.length;
    while (cap < n) cap *= 2;
    this.scratch = new Uint8Array(cap);
    this.scratchView = new DataView(this.scratch.buffer);
    return this.scratch;
  }

  private shrinkScratch(): void {
    this.scratch = new Uint8Array(64 * 1024);
    this.scratchView = new DataView(this.scratch.buffer);
  }
}
