/**
 * Binary codec for {@link Message}: one flat little-endian record, written with DataView.
 *
 * Layout (byte offsets; all multi-byte fields little-endian):
 *
 * ```
 *  header (56 bytes, always present)
 *   0  u8   type        MsgType (one of MSG_TYPE_NAMES: 1..11, 20, 21)
 *   1  u8   flags       bit0 reject, bit1 done, bit2 entries present, bit3 data present; others must be 0
 *   2  u16  reserved    must be 0 (a cheap corruption check, room for a version later)
 *   4  u32  from
 *   8  u32  to
 *  12  u32  term
 *  16  f64  index
 *  24  f64  logTerm
 *  32  f64  commit
 *  40  f64  hint
 *  48  f64  offset
 *  entries section (iff flag bit2): 16 + 8*count + dataLen bytes
 *   +0  f64  firstIndex
 *   +8  u32  count
 *  +12  u32  dataLen     must equal ends[count-1] (0 when count is 0)
 *  +16  u32  terms[count]
 *       u32  ends[count] non-decreasing, each <= dataLen
 *       u8   data[dataLen]
 *  data section (iff flag bit3): 4 + len bytes
 *   +0  u32  len
 *   +4  u8   bytes[len]
 * ```
 *
 * Why float64 for index/logTerm/commit/hint/offset: a JS number is a float64, so every
 * index up to 2^53 (Number.MAX_SAFE_INTEGER) round-trips exactly with one aligned read and no
 * hi/lo split-and-recombine arithmetic, and the -1 sentinels that core may put in logTerm
 * survive. The codec requires safe integers there (encode and decode both check), so a
 * NaN or a fraction can never cross the wire. from/to/term are u32 like the log's term array.
 *
 * Entries travel on AppendEntries and data on InstallSnapshot, but the codec does not tie
 * sections to types: whatever `entries`/`data` a message carries is encoded, and decode
 * gives back exactly that (null stays null; an empty batch stays an empty batch).
 *
 * Decoding copies: the entries section (terms, ends, data are contiguous on the wire) is copied
 * with ONE memcpy into ONE fresh ArrayBuffer, and `terms`, `ends`, `data` are aligned views into
 * it (so `batch.data.byteOffset` is 8*count, not 0, and the three share a `.buffer`). The
 * snapshot data is copied into its own Uint8Array. Nothing aliases the input buffer, which may
 * be a reused ring.
 *
 * Decode validates everything it reads and throws an Error whose message starts with
 * "codec:" on an unknown type, unknown flag bits, a truncated buffer, inconsistent lengths,
 * or non-integer scalars; it never reads past `offset + length`.
 */
import { Buffer } from 'node:buffer';
import { MSG_TYPE_NAMES, type Message } from '../core/message.js';
import type { EntryBatch } from '../core/entry-batch.js';

export const HEADER_BYTES = 56;
export const BATCH_HEADER_BYTES = 16;
export const DATA_HEADER_BYTES = 4;

const FLAG_REJECT = 1;
const FLAG_DONE = 2;
const FLAG_ENTRIES = 4;
const FLAG_DATA = 8;
const KNOWN_FLAGS = FLAG_REJECT | FLAG_DONE | FLAG_ENTRIES | FLAG_DATA;

/** Known message types, by value (the codec refuses others). */
const KNOWN_TYPES = new Uint8Array(256);
for (const t of Object.keys(MSG_TYPE_NAMES)) KNOWN_TYPES[Number(t)] = 1;

/** Typed arrays share the host's byte order; on a little-endian host they can be memcpy'd to/from the wire. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// A small view cache: encoding into / decoding from the same few buffers (a node's rings, a
// socket buffer) again and again allocates no DataView. A thread typically decodes from an
// inbound ring and encodes into an outbound ring, so one entry would thrash; CACHE_SLOTS entries
// are checked linearly and replaced round-robin. The cache keeps the last CACHE_SLOTS buffers
// alive. `u32s[i]` is a Uint32Array over the same bytes when they start 4-aligned (made on
// demand; used to memcpy terms/ends on little-endian hosts).
const CACHE_SLOTS = 4;
const bufs: (Uint8Array | null)[] = [null, null, null, null];
const views: DataView[] = [];
const u32s: (Uint32Array | null)[] = [null, null, null, null];
for (let i = 0; i < CACHE_SLOTS; i++) views.push(new DataView(new ArrayBuffer(0)));
let nextSlot = 0;
let slot = 0; // slot of the buffer last returned by viewOf

function viewOf(buf: Uint8Array): DataView {
  for (let i = 0; i < CACHE_SLOTS; i++) {
    if (bufs[i] === buf) {
      slot = i;
      return views[i];
    }
  }
  const i = nextSlot;
  nextSlot = (i + 1) % CACHE_SLOTS;
  bufs[i] = buf;
  views[i] = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  u32s[i] = null;
  slot = i;
  return views[i];
}

function u32Of(buf: Uint8Array): Uint32Array | null {
  // call right after viewOf(buf)
  let u = u32s[slot];
  if (u === null && (buf.byteOffset & 3) === 0) {
    u = u32s[slot] = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  }
  return u;
}

/**
 * A fresh, exclusively owned ArrayBuffer of `n` bytes that is NOT zero-filled (the caller
 * overwrites every byte). Buffer.allocUnsafeSlow skips both the zeroing and Node's shared
 * 8 KiB pool, so the result may be transferred or kept alive without dragging other data along.
 */
function allocUninit(n: number): ArrayBuffer {
  return n === 0 ? new ArrayBuffer(0) : (Buffer.allocUnsafeSlow(n).buffer as ArrayBuffer);
}

function entriesBytes(b: EntryBatch): number {
  return b.count === 0 ? 0 : b.ends[b.count - 1];
}

/** Bytes `encodeInto` will write for `m`. */
export function encodedSize(m: Message): number {
  let n = HEADER_BYTES;
  const b = m.entries;
  if (b !== null) {
    const count = b.count;
    if (!(count >= 0 && count <= b.terms.length && count <= b.ends.length && (count >>> 0) === count)) {
      throw new RangeError(`codec: batch count ${count} exceeds terms (${b.terms.length}) or ends (${b.ends.length})`);
    }
    n += BATCH_HEADER_BYTES + 8 * count + entriesBytes(b);
  }
  const d = m.data;
  if (d !== null) n += DATA_HEADER_BYTES + d.byteLength;
  return n;
}

function checkU32(name: string, v: number): void {
  if ((v >>> 0) !== v) throw new RangeError(`codec: ${name} = ${v} is not a u32`);
}

function checkSafe(name: string, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`codec: ${name} = ${v} is not a safe integer`);
}

/**
 * Encodes `m` into `buf` at `offset`; returns the bytes written (= encodedSize(m)).
 * Throws a RangeError if the buffer is too small or a field is out of range (nothing is
 * guaranteed about the buffer's contents after a throw). Allocation-free when the batch's
 * `data` is exactly its used bytes and `buf` is one of the last 4 buffers used (view cache).
 */
export function encodeInto(m: Message, buf: Uint8Array, offset: number): number {
  const size = encodedSize(m);
  if (!(offset >= 0 && offset + size <= buf.byteLength) || (offset | 0) !== offset) {
    throw new RangeError(`codec: need ${size} bytes at offset ${offset}, buffer has ${buf.byteLength}`);
  }
  const t = m.type;
  if ((t | 0) !== t || !(t >= 0 && t < 256) || KNOWN_TYPES[t] === 0) throw new RangeError(`codec: unknown message type ${t}`);
  checkU32('from', m.from);
  checkU32('to', m.to);
  checkU32('term', m.term);
  checkSafe('index', m.index);
  checkSafe('logTerm', m.logTerm);
  checkSafe('commit', m.commit);
  checkSafe('hint', m.hint);
  checkSafe('offset', m.offset);

  const dv = viewOf(buf);
  const b = m.entries;
  const d = m.data;
  let flags = 0;
  if (m.reject) flags |= FLAG_REJECT;
  if (m.done) flags |= FLAG_DONE;
  if (b !== null) flags |= FLAG_ENTRIES;
  if (d !== null) flags |= FLAG_DATA;

  let p = offset;
  dv.setUint8(p, t);
  dv.setUint8(p + 1, flags);
  dv.setUint16(p + 2, 0, true);
  dv.setUint32(p + 4, m.from, true);
  dv.setUint32(p + 8, m.to, true);
  dv.setUint32(p + 12, m.term, true);
  dv.setFloat64(p + 16, m.index, true);
  dv.setFloat64(p + 24, m.logTerm, true);
  dv.setFloat64(p + 32, m.commit, true);
  dv.setFloat64(p + 40, m.hint, true);
  dv.setFloat64(p + 48, m.offset, true);
  p += HEADER_BYTES;

  if (b !== null) {
    const count = b.count;
    checkSafe('entries.firstIndex', b.firstIndex);
    const bytes = entriesBytes(b);
    if (bytes > b.data.byteLength) {
      throw new RangeError(`codec: batch ends at byte ${bytes} but its data holds ${b.data.byteLength}`);
    }
    dv.setFloat64(p, b.firstIndex, true);
    dv.setUint32(p + 8, count, true);
    dv.setUint32(p + 12, bytes, true);
    p += BATCH_HEADER_BYTES;
    const terms = b.terms, ends = b.ends;
    const u32 = HOST_LE && (p & 3) === 0 && count > 8 ? u32Of(buf) : null;
    if (u32 !== null && terms.length === count) u32.set(terms, p >> 2);
    else for (let k = 0; k < count; k++) dv.setUint32(p + 4 * k, terms[k], true);
    p += 4 * count;
    if (u32 !== null && ends.length === count) u32.set(ends, p >> 2);
    else for (let k = 0; k < count; k++) dv.setUint32(p + 4 * k, ends[k], true);
    p += 4 * count;
    if (bytes > 0) buf.set(bytes === b.data.byteLength ? b.data : b.data.subarray(0, bytes), p);
    p += bytes;
  }
  if (d !== null) {
    dv.setUint32(p, d.byteLength, true);
    p += DATA_HEADER_BYTES;
    buf.set(d, p);
    p += d.byteLength;
  }
  return p - offset;
}

/** Encodes `m` into a new, exactly-sized Uint8Array. */
export function encode(m: Message): Uint8Array {
  const out = new Uint8Array(allocUninit(encodedSize(m)));
  encodeInto(m, out, 0);
  return out;
}

function fail(msg: string): never {
  throw new Error(`codec: ${msg}`);
}

function readSafe(dv: DataView, p: number, name: string): number {
  const v = dv.getFloat64(p, true);
  if (!Number.isSafeInteger(v)) fail(`${name} is not a safe integer (${v})`);
  return v;
}

/**
 * Decodes one message from `buf[offset, offset + length)`. With `length` given the record must
 * fill it exactly (trailing bytes are an error); without it the record may be followed by
 * other bytes up to the end of `buf`. The result never aliases `buf`.
 */
export function decode(buf: Uint8Array, offset = 0, length?: number): Message {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.byteLength) {
    fail(`offset ${offset} outside buffer of ${buf.byteLength} bytes`);
  }
  const exact = length !== undefined;
  const avail = exact ? length : buf.byteLength - offset;
  if (!Number.isInteger(avail) || avail < 0 || offset + avail > buf.byteLength) {
    fail(`length ${length} at offset ${offset} exceeds buffer of ${buf.byteLength} bytes`);
  }
  const end = offset + avail;
  if (avail < HEADER_BYTES) fail(`truncated: ${avail} bytes, header needs ${HEADER_BYTES}`);
  const dv = viewOf(buf);
  let p = offset;
  const type = dv.getUint8(p);
  if (KNOWN_TYPES[type] === 0) fail(`unknown message type ${type}`);
  const flags = dv.getUint8(p + 1);
  if ((flags & ~KNOWN_FLAGS) !== 0) fail(`unknown flag bits 0x${flags.toString(16)}`);
  const reserved = dv.getUint16(p + 2, true);
  if (reserved !== 0) fail(`reserved header field is ${reserved}, expected 0`);
  const m: Message = {
    type,
    from: dv.getUint32(p + 4, true),
    to: dv.getUint32(p + 8, true),
    term: dv.getUint32(p + 12, true),
    index: readSafe(dv, p + 16, 'index'),
    logTerm: readSafe(dv, p + 24, 'logTerm'),
    commit: readSafe(dv, p + 32, 'commit'),
    hint: readSafe(dv, p + 40, 'hint'),
    offset: readSafe(dv, p + 48, 'offset'),
    reject: (flags & FLAG_REJECT) !== 0,
    done: (flags & FLAG_DONE) !== 0,
    entries: null,
    data: null,
  };
  p += HEADER_BYTES;

  if ((flags & FLAG_ENTRIES) !== 0) {
    if (end - p < BATCH_HEADER_BYTES) fail(`truncated: entries header needs ${BATCH_HEADER_BYTES} bytes, ${end - p} left`);
    const firstIndex = readSafe(dv, p, 'entries.firstIndex');
    const count = dv.getUint32(p + 8, true);
    const dataLen = dv.getUint32(p + 12, true);
    p += BATCH_HEADER_BYTES;
    const body = 8 * count + dataLen; // < 2^36: exact in float64
    if (body > end - p) fail(`truncated: ${count} entries with ${dataLen} data bytes need ${body} bytes, ${end - p} left`);
    if (count === 0 && dataLen !== 0) fail(`empty batch claims ${dataLen} data bytes`);
    const ab = allocUninit(body);
    const terms = new Uint32Array(ab, 0, count);
    const ends = new Uint32Array(ab, 4 * count, count);
    const data = new Uint8Array(ab, 8 * count, dataLen);
    if (HOST_LE) {
      new Uint8Array(ab).set(buf.subarray(p, p + body));
    } else {
      for (let k = 0; k < count; k++) terms[k] = dv.getUint32(p + 4 * k, true);
      for (let k = 0; k < count; k++) ends[k] = dv.getUint32(p + 4 * (count + k), true);
      data.set(buf.subarray(p + 8 * count, p + body));
    }
    let prev = 0;
    for (let k = 0; k < count; k++) {
      const e = ends[k];
      if (e < prev) fail(`entry ${k} ends at ${e}, before the previous end ${prev}`);
      prev = e;
    }
    if (prev !== dataLen) fail(`entries end at byte ${prev} but the batch carries ${dataLen} data bytes`);
    p += body;
    m.entries = { firstIndex, count, terms, ends, data };
  }

  if ((flags & FLAG_DATA) !== 0) {
    if (end - p < DATA_HEADER_BYTES) fail(`truncated: data length needs ${DATA_HEADER_BYTES} bytes, ${end - p} left`);
    const len = dv.getUint32(p, true);
    p += DATA_HEADER_BYTES;
    if (len > end - p) fail(`truncated: data claims ${len} bytes, ${end - p} left`);
    const data = new Uint8Array(allocUninit(len));
    data.set(buf.subarray(p, p + len));
    m.data = data;
    p += len;
  }

  if (exact && p !== end) fail(`${end - p} trailing bytes after a ${p - offset}-byte message`);
  return m;
}

