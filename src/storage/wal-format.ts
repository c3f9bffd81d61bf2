/**
 * The on-disk format of FileStorage: segment and snapshot file names, record framing, and
 * the encoders/decoders of each record payload. No I/O here.
 *
 * Record frame (all integers little-endian), 16 bytes then the payload:
 *
 *   offset 0  u32 payload length
 *   offset 4  u32 CRC-32C of the payload
 *   offset 8  u8  record type
 *   offset 9  3 bytes, zero
 *   offset 12 u32 CRC-32C of bytes 0..11 (the header checksum)
 *
 * Records: SegmentHeader (first of every segment), HardState, Snapshot (marker), Entries,
 * SyncMark (u64: bytes of this segment durable when it was written; see wal-reader.ts).
 *
 * The header checksum is there so that a damaged length field is never mistaken for a torn
 * tail: without it, a flipped bit that makes a record in the middle of the last segment
 * claim to run past the end of the file would look exactly like a partial last record, and
 * recovery would silently cut every record after it.
 *
 * u64 fields hold integers below 2^53 (lo u32 then hi u32).
 */
import os from 'node:os';
import { crc32c } from './crc32c.js';
import type { Membership } from '../core/membership.js';
import { decodeMembership, encodeMembership, encodedMembershipLength } from '../core/membership-entry.js';
import type { Snapshot } from '../core/types.js';

if (os.endianness() !== 'LE') {
  // Entry terms and ends are copied between Uint32Arrays and file bytes without swapping.
  throw new Error('FileStorage supports little-endian hosts only');
}

export const FRAME_BYTES = 16;

export enum RecordType {
  /** First record of every segment: the state as it stood when the segment began. */
  SegmentHeader = 1,
  HardState = 2,
  /** A snapshot was made durable in its own file; entries through its index are dropped. */
  Snapshot = 3,
  /** An EntryBatch; replaces the log from its first index on. */
  Entries = 4,
  /**
   * A sync mark: how many bytes of this segment were known durable (an fdatasync over them
   * had completed) when the mark was written. Recovery uses it to tell bytes that were
   * synced, and so could have been acknowledged, from bytes a power loss may take.
   */
  SyncMark = 5,
}

export const SEGMENT_MAGIC = 'raftwal1';
export const SNAPSHOT_MAGIC = 'raftsnp1';
/** Version 2 added the sync mark; version 1 directories are read and upgraded. */
export const FORMAT_VERSION = 2;
export const OLDEST_READABLE_VERSION = 1;
/** A snapshot file whose body is the snapshot's membership encoding, then its data. */
export const SNAPSHOT_MEMBERSHIP_MAGIC = 'raftsnp2';

// ----------------------------------------------------------------- file names

const SEGMENT_RE = /^wal-(\d{16})\.log$/;
const SNAPSHOT_RE = /^snap-(\d{16})-(\d{16})\.snap$/;

export const META_FILE = 'meta.json';

export function segmentName(seq: number): string {
  return `wal-${String(seq).padStart(16, '0')}.log`;
}

export function parseSegmentName(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

export function snapshotName(index: number, term: number): string {
  return `snap-${String(index).padStart(16, '0')}-${String(term).padStart(16, '0')}.snap`;
}

export function parseSnapshotName(name: string): { index: number; term: number } | null {
  const m = SNAPSHOT_RE.exec(name);
  return m ? { index: Number(m[1]), term: Number(m[2]) } : null;
}

/** Files ending in .tmp are half-written atomic writes, deleted at open. */
export function isTempName(name: string): boolean {
  return name.endsWith('.tmp');
}

// ----------------------------------------------------------------- helpers

const TWO32 = 0x100000000;

export function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v >>> 0, true);
  dv.setUint32(at + 4, Math.floor(v / TWO32), true);
}

export function getU64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at + 4, true);
  if (hi >= 0x200000) throw new RangeError('u64 field above 2^53');
  return hi * TWO32 + dv.getUint32(at, true);
}

export function identityTag(clusterId: string, peerId: number): number {
  return crc32c(new TextEncoder().encode(`${clusterId}\0${peerId}`));
}

/** Writes the 16-byte frame for a payload already placed at `at + FRAME_BYTES`. */
export function writeFrame(buf: Uint8Array, dv: DataView, at: number, type: RecordType, payloadLen: number): void {
  dv.setUint32(at, payloadLen, true);
  dv.setUint32(at + 4, crc32c(buf, at + FRAME_BYTES, at + FRAME_BYTES + payloadLen), true);
  buf[at + 8] = type;
  buf[at + 9] = 0; buf[at + 10] = 0; buf[at + 11] = 0;
  dv.setUint32(at + 12, crc32c(buf, at, at + 12), true);
}

// ----------------------------------------------------------------- payloads

export interface SegmentHeader {
  seq: number;
  identity: number;
  term: number;
  votedFor: number;
  snapIndex: number;
  snapTerm: number;
  snapBytes: number;
  snapCrc: number;
  /** Last log index when the segment began: entries through it live in earlier segments. */
  startLast: number;
}

export const SEGMENT_HEADER_PAYLOAD = 8 + 4 + 4 + 8 + 8 + 4 + 4 + 8 + 8 + 8 + 4 + 8; // 76

export function encodeSegmentHeader(buf: Uint8Array, dv: DataView, at: number, h: SegmentHeader): number {
  const p = at + FRAME_BYTES;
  for (let i = 0; i < 8; i++) buf[p + i] = SEGMENT_MAGIC.charCodeAt(i);
  dv.setUint32(p + 8, FORMAT_VERSION, true);
  dv.setUint32(p + 12, h.identity, true);
  setU64(dv, p + 16, h.seq);
  setU64(dv, p + 24, h.term);
  dv.setInt32(p + 32, h.votedFor, true);
  dv.setUint32(p + 36, 0, true);
  setU64(dv, p + 40, h.snapIndex);
  setU64(dv, p + 48, h.snapTerm);
  setU64(dv, p + 56, h.snapBytes);
  dv.setUint32(p + 64, h.snapCrc, true);
  setU64(dv, p + 68, h.startLast);
  writeFrame(buf, dv, at, RecordType.SegmentHeader, SEGMENT_HEADER_PAYLOAD);
  return FRAME_BYTES + SEGMENT_HEADER_PAYLOAD;
}

/** Throws a plain Error describing what is wrong; the caller adds file and offset. */
export function decodeSegmentHeader(dv: DataView, p: number, len: number): SegmentHeader & { version: number } {
  if (len !== SEGMENT_HEADER_PAYLOAD) throw new Error(`segment header of ${len} bytes, expected ${SEGMENT_HEADER_PAYLOAD}`);
  let magic = '';
  for (let i = 0; i < 8; i++) magic += String.fromCharCode(dv.getUint8(p + i));
  if (magic !== SEGMENT_MAGIC) throw new Error(`bad segment magic ${JSON.stringify(magic)}`);
  const version = dv.getUint32(p + 8, true);
  if (version < OLDEST_READABLE_VERSION || version > FORMAT_VERSION) throw new Error(`unsupported WAL format version ${version} (this build reads ${OLDEST_READABLE_VERSION} to ${FORMAT_VERSION})`);
  return {
    version,
    identity: dv.getUint32(p + 12, true),
    seq: getU64(dv, p + 16),
    term: getU64(dv, p + 24),
    votedFor: dv.getInt32(p + 32, true),
    snapIndex: getU64(dv, p + 40),
    snapTerm: getU64(dv, p + 48),
    snapBytes: getU64(dv, p + 56),
    snapCrc: dv.getUint32(p + 64, true),
    startLast: getU64(dv, p + 68),
  };
}

export const HARD_STATE_PAYLOAD = 12;

export function encodeHardState(buf: Uint8Array, dv: DataView, at: number, term: number, votedFor: number): number {
  const p = at + FRAME_BYTES;
  setU64(dv, p, term);
  dv.setInt32(p + 8, votedFor, true);
  writeFrame(buf, dv, at, RecordType.HardState, HARD_STATE_PAYLOAD);
  return FRAME_BYTES + HARD_STATE_PAYLOAD;
}

export function decodeHardState(dv: DataView, p: number, len: number): { term: number; votedFor: number } {
  if (len !== HARD_STATE_PAYLOAD) throw new Error(`hard state record of ${len} bytes, expected ${HARD_STATE_PAYLOAD}`);
  return { term: getU64(dv, p), votedFor: dv.getInt32(p + 8, true) };
}

export interface SnapshotMarker {
  index: number;
  term: number;
  bytes: number;
  crc: number;
  /**
   * Whether stored entries followed `index` (they are kept: only an Entries record drops
   * them). Recorded so that replay can check it without the entries of deleted segments.
   * Directories written before the core decided truncation hold 0 here where every entry
   * was dropped, which replay still honours.
   */
  retained: boolean;
}

export const SNAPSHOT_MARKER_PAYLOAD = 8 + 8 + 8 + 4 + 4; // 32

export function encodeSnapshotMarker(buf: Uint8Array, dv: DataView, at: number, m: SnapshotMarker): number {
  const p = at + FRAME_BYTES;
  setU64(dv, p, m.index);
  setU64(dv, p + 8, m.term);
  setU64(dv, p + 16, m.bytes);
  dv.setUint32(p + 24, m.crc, true);
  dv.setUint32(p + 28, m.retained ? 1 : 0, true);
  writeFrame(buf, dv, at, RecordType.Snapshot, SNAPSHOT_MARKER_PAYLOAD);
  return FRAME_BYTES + SNAPSHOT_MARKER_PAYLOAD;
}

export function decodeSnapshotMarker(dv: DataView, p: number, len: number): SnapshotMarker {
  if (len !== SNAPSHOT_MARKER_PAYLOAD) throw new Error(`snapshot record of ${len} bytes, expected ${SNAPSHOT_MARKER_PAYLOAD}`);
  const flag = dv.getUint32(p + 28, true);
  if (flag > 1) throw new Error(`snapshot record with retained flag ${flag}`);
  return { index: getU64(dv, p), term: getU64(dv, p + 8), bytes: getU64(dv, p + 16), crc: dv.getUint32(p + 24, true), retained: flag === 1 };
}

export const SYNC_MARK_PAYLOAD = 8;
export const SYNC_MARK_BYTES = FRAME_BYTES + SYNC_MARK_PAYLOAD;

export function encodeSyncMark(buf: Uint8Array, dv: DataView, at: number, syncedBytes: number): number {
  setU64(dv, at + FRAME_BYTES, syncedBytes);
  writeFrame(buf, dv, at, RecordType.SyncMark, SYNC_MARK_PAYLOAD);
  return SYNC_MARK_BYTES;
}

export function decodeSyncMark(dv: DataView, p: number, len: number): number {
  if (len !== SYNC_MARK_PAYLOAD) throw new Error(`sync mark of ${len} bytes, expected ${SYNC_MARK_PAYLOAD}`);
  return getU64(dv, p);
}

/**
 * The largest synced-bytes figure of any intact sync mark that starts at or after `from` in
 * `buf` (0 if none). Used past a damaged record, whose length cannot be trusted, so every
 * offset is tried; cheap tests on the type and length bytes come before any checksum.
 */
export function scanSyncMarks(buf: Uint8Array, from: number): { syncedBytes: number; at: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let best = { syncedBytes: 0, at: -1 };
  for (let q = from; q + SYNC_MARK_BYTES <= buf.length; q++) {
    if (buf[q + 8] !== RecordType.SyncMark || buf[q] !== SYNC_MARK_PAYLOAD || buf[q + 1] !== 0 || buf[q + 2] !== 0 || buf[q + 3] !== 0) continue;
    if (buf[q + 9] !== 0 || buf[q + 10] !== 0 || buf[q + 11] !== 0) continue;
    if (dv.getUint32(q + 12, true) !== crc32c(buf, q, q + 12)) continue;
    if (dv.getUint32(q + 4, true) !== crc32c(buf, q + FRAME_BYTES, q + SYNC_MARK_BYTES)) continue;
    let n: number;
    try { n = decodeSyncMark(dv, q + FRAME_BYTES, SYNC_MARK_PAYLOAD); } catch { continue; }
    if (n > best.syncedBytes) best = { syncedBytes: n, at: q };
  }
  return best;
}

/** Entries payload: u64 firstIndex, u32 count, u32 terms[count], u32 ends[count], data. */
export function entriesPayloadBytes(count: number, dataBytes: number): number {
  return 12 + 8 * count + dataBytes;
}

export interface DecodedEntries {
  firstIndex: number;
  count: number;
  terms: Uint32Array;
  ends: Uint32Array;
  /** A view into the segment buffer (no copy). */
  data: Uint8Array;
}

export function decodeEntries(buf: Uint8Array, dv: DataView, p: number, len: number): DecodedEntries {
  if (len < 12) throw new Error(`entries record of ${len} bytes, shorter than its fixed part`);
  const firstIndex = getU64(dv, p);
  const count = dv.getUint32(p + 8, true);
  if (firstIndex < 1) throw new Error(`entries record with first index ${firstIndex}`);
  if (12 + 8 * count > len) throw new Error(`entries record of ${len} bytes cannot hold ${count} entries`);
  const terms = new Uint32Array(count);
  const ends = new Uint32Array(count);
  new Uint8Array(terms.buffer).set(buf.subarray(p + 12, p + 12 + 4 * count));
  new Uint8Array(ends.buffer).set(buf.subarray(p + 12 + 4 * count, p + 12 + 8 * count));
  const dataBytes = count === 0 ? 0 : ends[count - 1];
  if (12 + 8 * count + dataBytes !== len) throw new Error(`entries record of ${len} bytes, but its ${count} entries need ${12 + 8 * count + dataBytes}`);
  let prev = 0;
  for (let k = 0; k < count; k++) {
    if (ends[k] < prev) throw new Error(`entries record with decreasing end offsets at entry ${k}`);
    prev = ends[k];
  }
  const d0 = p + 12 + 8 * count;
  return { firstIndex, count, terms, ends, data: buf.subarray(d0, d0 + dataBytes) };
}

// ----------------------------------------------------------------- snapshot files

/**
 * Snapshot file: 40-byte header then the body: the data ("raftsnp1"), or, for a snapshot that
 * carries a membership, its encoding (core/membership-entry.ts, self-delimiting) then the
 * data ("raftsnp2").
 *   0 magic, 8 u64 index, 16 u64 term, 24 u64 body length, 32 u32 CRC-32C of the body,
 *   36 u32 CRC-32C of bytes 0..35.
 */
export const SNAPSHOT_HEADER_BYTES = 40;

/** The body of a snapshot's file: the data, after the membership encoding if it carries one. */
export function snapshotBody(s: Snapshot): Uint8Array[] {
  return s.membership ? [encodeMembership(s.membership), s.data] : [s.data];
}

export function encodeSnapshotHeader(index: number, term: number, bodyBytes: number, bodyCrc: number, withMembership: boolean): Uint8Array {
  const h = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const dv = new DataView(h.buffer);
  const magic = withMembership ? SNAPSHOT_MEMBERSHIP_MAGIC : SNAPSHOT_MAGIC;
  for (let i = 0; i < 8; i++) h[i] = magic.charCodeAt(i);
  setU64(dv, 8, index);
  setU64(dv, 16, term);
  setU64(dv, 24, bodyBytes);
  dv.setUint32(32, bodyCrc, true);
  dv.setUint32(36, crc32c(h, 0, 36), true);
  return h;
}

/** Validates a whole snapshot file; throws a plain Error naming what is wrong. `bytes` and `crc` are the body's. */
export function decodeSnapshotFile(file: Uint8Array): { index: number; term: number; data: Uint8Array; membership?: Membership; bytes: number; crc: number } {
  if (file.byteLength < SNAPSHOT_HEADER_BYTES) throw new Error(`snapshot file of ${file.byteLength} bytes is shorter than its header`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let magic = '';
  for (let i = 0; i < 8; i++) magic += String.fromCharCode(file[i]);
  if (magic !== SNAPSHOT_MAGIC && magic !== SNAPSHOT_MEMBERSHIP_MAGIC) throw new Error(`bad snapshot magic ${JSON.stringify(magic)}`);
  if (dv.getUint32(36, true) !== crc32c(file, 0, 36)) throw new Error('snapshot header checksum mismatch');
  const index = getU64(dv, 8);
  const term = getU64(dv, 16);
  const len = getU64(dv, 24);
  const crc = dv.getUint32(32, true);
  if (SNAPSHOT_HEADER_BYTES + len !== file.byteLength) throw new Error(`snapshot file of ${file.byteLength} bytes, header says ${SNAPSHOT_HEADER_BYTES + len}`);
  if (crc32c(file, SNAPSHOT_HEADER_BYTES) !== crc) throw new Error('snapshot data checksum mismatch');
  const body = file.subarray(SNAPSHOT_HEADER_BYTES);
  if (magic === SNAPSHOT_MAGIC) return { index, term, data: body, bytes: len, crc };
  const m = encodedMembershipLength(body);
  return { index, term, data: body.subarray(m), membership: decodeMembership(body.subarray(0, m)), bytes: len, crc };
}
