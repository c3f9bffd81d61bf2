/**
 * The store's snapshot format: the same state always gives the same bytes (keys in byte
 * order), versioned, and checksummed so a damaged snapshot is refused rather than restored.
 *
 * Layout (little-endian): "RTKV" magic, version u8 (= 1), entry count u32, then per entry
 * [key: u16 length + bytes][value: u32 length + bytes], then CRC-32C u32 of everything before.
 */
import { crc32c } from '../storage/crc32c.js';
import { FrameReader, FrameWriter, KvFrameError, type KvLimits } from './kv-codec.js';

const MAGIC = [0x52, 0x54, 0x4b, 0x56]; // "RTKV"
export const KV_SNAPSHOT_VERSION = 1;
const HEADER_BYTES = 9;
const TRAILER_BYTES = 4;

/** A snapshot that cannot be restored; the message says what is wrong with it. */
export class KvSnapshotError extends Error {
  override name = 'KvSnapshotError';
}

/** `entries` must come in strictly increasing key order. */
export function encodeSnapshot(count: number, entries: Iterable<[Uint8Array, Uint8Array]>): Uint8Array {
  const w = new FrameWriter(1024);
  for (const b of MAGIC) w.u8(b);
  w.u8(KV_SNAPSHOT_VERSION).u32(count);
  let n = 0;
  for (const [k, v] of entries) { w.short(k).long(v); n++; }
  if (n !== count) throw new Error(`snapshot: ${n} entries written but ${count} announced`);
  const body = w.finish();
  w.u32(crc32c(body));
  return w.finish().slice();
}

/** Decodes a whole snapshot (nothing is restored until all of it checks out). */
export function decodeSnapshot(bytes: Uint8Array, limits: KvLimits): [Uint8Array, Uint8Array][] {
  if (!(bytes instanceof Uint8Array)) throw new KvSnapshotError(`key/value snapshot must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) throw new KvSnapshotError(`key/value snapshot of ${bytes.length} bytes is too short to be one (at least ${HEADER_BYTES + TRAILER_BYTES})`);
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw new KvSnapshotError('not a key/value snapshot (bad magic bytes; expected "RTKV")');
  if (bytes[4] !== KV_SNAPSHOT_VERSION) throw new KvSnapshotError(`key/value snapshot version ${bytes[4]} is not supported (this build reads version ${KV_SNAPSHOT_VERSION})`);
  const end = bytes.length - TRAILER_BYTES;
  const stored = new DataView(bytes.buffer, bytes.byteOffset + end, 4).getUint32(0, true);
  const actual = crc32c(bytes, 0, end);
  if (stored !== actual) throw new KvSnapshotError(`key/value snapshot checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}): the snapshot is corrupt`);
  try {
    const r = new FrameReader(bytes.subarray(5, end), 'key/value snapshot');
    const count = r.u32('entry count');
    const out: [Uint8Array, Uint8Array][] = [];
    let prev: Uint8Array | null = null;
    for (let i = 0; i < count; i++) {
      const k = r.short(`entry ${i} key`);
      const v = r.long(`entry ${i} value`);
      if (k.length === 0) throw new KvSnapshotError(`key/value snapshot entry ${i} has an empty key`);
      if (k.length > limits.maxKeyBytes) throw new KvSnapshotError(`key/value snapshot entry ${i}: key of ${k.length} bytes exceeds the limit of ${limits.maxKeyBytes}`);
      if (v.length > limits.maxValueBytes) throw new KvSnapshotError(`key/value snapshot entry ${i}: value of ${v.length} bytes exceeds the limit of ${limits.maxValueBytes}`);
      if (prev && compareBytes(prev, k) >= 0) throw new KvSnapshotError(`key/value snapshot entry ${i}: keys are not in strictly increasing order`);
      out.push([k, v]);
      prev = k;
    }
    r.end();
    return out;
  } catch (e) {
    if (e instanceof KvFrameError) throw new KvSnapshotError(e.message);
    throw e;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
