/**
 * The key/value store's binary wire format: commands (what goes into the log, or to query())
 * and results (what apply()/query() hand back). Little-endian; no JSON on the data path.
 *
 * Command: [op u8][key: u16 length + bytes] then, by op:
 *   Get     -                                  (also a query)
 *   Put     [value: u32 length + bytes]
 *   Delete  -
 *   Cas     [flags u8: bit0 expected present, bit1 new value present]
 *           [expected: u32 + bytes, if bit0][new value: u32 + bytes, if bit1]
 *           (expected absent = "only if the key is absent"; new value absent = delete)
 *   Append  [value: u32 length + bytes]
 *   Scan    [limit u32][flags u8: bit0 has `after`][after: u16 + bytes, if bit0]
 *           (the key field is the prefix, may be empty; `after` resumes past that key)  (also a query)
 *
 * Result: [status u8] then, by status:
 *   Ok        Get: [value: u32 + bytes]; Put: -; Delete: -; Cas: -; Append: [new length u32];
 *             Scan: [more u8][count u32] count * ([key: u16 + bytes][value: u32 + bytes])
 *   NotFound  (Get, Delete: the key was absent)
 *   CasFailed [current present u8][current: u32 + bytes, if present]
 *   Error     [code u8][message: u16 length + UTF-8]
 */

export enum KvOp { Get = 1, Put = 2, Delete = 3, Cas = 4, Append = 5, Scan = 6 }
export enum KvStatus { Ok = 0, NotFound = 1, CasFailed = 2, Error = 0xff }

/** Why the state machine refused a command (the code of an Error result). */
export enum KvErrorCode {
  Malformed = 1,
  UnknownOp = 2,
  KeyTooLarge = 3,
  ValueTooLarge = 4,
  EmptyKey = 5,
  NotAQuery = 6,
  Internal = 7,
}

/** Largest key, in bytes (UTF-8 for string keys). */
export const MAX_KEY_BYTES = 1024;
/** Largest value, in bytes; also the most an append may grow a value to. */
export const MAX_VALUE_BYTES = 256 * 1024;
/** A scan stops adding entries once its result would pass this many bytes (and says `more`). */
export const MAX_SCAN_RESULT_BYTES = 1024 * 1024;

/** A frame (command, result or snapshot) that cannot be decoded; the message names the problem. */
export class KvFrameError extends Error {
  override name = 'KvFrameError';
  constructor(readonly code: KvErrorCode, message: string) {
    super(message);
  }
}

export type KvCommand =
  | { op: KvOp.Get; key: Uint8Array }
  | { op: KvOp.Put; key: Uint8Array; value: Uint8Array }
  | { op: KvOp.Delete; key: Uint8Array }
  | { op: KvOp.Cas; key: Uint8Array; expected: Uint8Array | null; value: Uint8Array | null }
  | { op: KvOp.Append; key: Uint8Array; value: Uint8Array }
  | { op: KvOp.Scan; key: Uint8Array; limit: number; after: Uint8Array | null };

export type KvResult =
  | { status: KvStatus.Ok; value?: Uint8Array; length?: number; entries?: KvEntry[]; more?: boolean }
  | { status: KvStatus.NotFound }
  | { status: KvStatus.CasFailed; current: Uint8Array | null }
  | { status: KvStatus.Error; code: KvErrorCode; message: string };

export interface KvEntry { key: Uint8Array; value: Uint8Array }

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Appends little-endian fields to a growing buffer. */
export class FrameWriter {
  private buf: Uint8Array;
  private view: DataView;
  private n = 0;
  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this { this.room(1); this.buf[this.n++] = v; return this; }
  u16(v: number): this { this.room(2); this.view.setUint16(this.n, v, true); this.n += 2; return this; }
  u32(v: number): this { this.room(4); this.view.setUint32(this.n, v, true); this.n += 4; return this; }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.n); this.n += b.length; return this; }
  short(b: Uint8Array): this { return this.u16(b.length).bytes(b); }
  long(b: Uint8Array): this { return this.u32(b.length).bytes(b); }
  get length(): number { return this.n; }
  /** The bytes written (a view of the internal buffer). */
  finish(): Uint8Array { return this.buf.subarray(0, this.n); }
}

/** Reads little-endian fields, failing with a KvFrameError that names the field that ran short. */
export class FrameReader {
  private readonly view: DataView;
  private pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly what: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(k: number, field: string): void {
    if (this.pos + k > this.buf.length) {
      throw new KvFrameError(KvErrorCode.Malformed, `${this.what} of ${this.buf.length} bytes is truncated: ${field} needs ${k} bytes at offset ${this.pos}`);
    }
  }
  u8(field: string): number { this.need(1, field); return this.buf[this.pos++]; }
  u16(field: string): number { this.need(2, field); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(field: string): number { this.need(4, field); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  /** A copy, so what is stored never aliases a command buffer the runtime may reuse. */
  bytes(k: number, field: string): Uint8Array { this.need(k, field); const b = this.buf.slice(this.pos, this.pos + k); this.pos += k; return b; }
  short(field: string): Uint8Array { return this.bytes(this.u16(`${field} length`), field); }
  long(field: string): Uint8Array { return this.bytes(this.u32(`${field} length`), field); }
  get offset(): number { return this.pos; }
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new KvFrameError(KvErrorCode.Malformed, `${this.what} has ${this.buf.length - this.pos} unexpected trailing bytes after offset ${this.pos}`);
    }
  }
}

// ---- commands ----

export function encodeCommand(c: KvCommand): Uint8Array {
  const w = new FrameWriter(16 + c.key.length + ('value' in c && c.value ? c.value.length : 0) + (c.op === KvOp.Cas && c.expected ? c.expected.length : 0));
  w.u8(c.op).short(c.key);
  switch (c.op) {
    case KvOp.Get: case KvOp.Delete: break;
    case KvOp.Put: case KvOp.Append: w.long(c.value); break;
    case KvOp.Cas:
      w.u8((c.expected ? 1 : 0) | (c.value ? 2 : 0));
      if (c.expected) w.long(c.expected);
      if (c.value) w.long(c.value);
      break;
    case KvOp.Scan:
      w.u32(c.limit).u8(c.after ? 1 : 0);
      if (c.after) w.short(c.after);
      break;
  }
  return w.finish();
}

/** Decodes and validates a command against the size limits; throws KvFrameError. */
export function decodeCommand(bytes: Uint8Array, limits: KvLimits = DEFAULT_LIMITS): KvCommand {
  if (bytes.length === 0) throw new KvFrameError(KvErrorCode.Malformed, 'empty key/value command');
  const r = new FrameReader(bytes, 'key/value command');
  const op = r.u8('op code');
  if (op < KvOp.Get || op > KvOp.Scan) throw new KvFrameError(KvErrorCode.UnknownOp, `unknown key/value op code ${op}`);
  const keyLen = r.u16('key length');
  if (keyLen > limits.maxKeyBytes) throw new KvFrameError(KvErrorCode.KeyTooLarge, `key of ${keyLen} bytes exceeds the limit of ${limits.maxKeyBytes}`);
  const key = r.bytes(keyLen, 'key');
  if (op !== KvOp.Scan && keyLen === 0) throw new KvFrameError(KvErrorCode.EmptyKey, 'the key must not be empty (only a scan prefix may be)');
  const value = (field: string): Uint8Array => {
    const len = r.u32(`${field} length`);
    if (len > limits.maxValueBytes) throw new KvFrameError(KvErrorCode.ValueTooLarge, `${field} of ${len} bytes exceeds the limit of ${limits.maxValueBytes}`);
    return r.bytes(len, field);
  };
  let c: KvCommand;
  switch (op as KvOp) {
    case KvOp.Get: c = { op: KvOp.Get, key }; break;
    case KvOp.Delete: c = { op: KvOp.Delete, key }; break;
    case KvOp.Put: c = { op: KvOp.Put, key, value: value('value') }; break;
    case KvOp.Append: c = { op: KvOp.Append, key, value: value('value') }; break;
    case KvOp.Cas: {
      const flags = r.u8('cas flags');
      if (flags & ~3) throw new KvFrameError(KvErrorCode.Malformed, `cas flags 0x${flags.toString(16)} has unknown bits`);
      const expected = flags & 1 ? value('expected value') : null;
      c = { op: KvOp.Cas, key, expected, value: flags & 2 ? value('new value') : null };
      break;
    }
    case KvOp.Scan: {
      const limit = r.u32('scan limit');
      if (limit === 0) throw new KvFrameError(KvErrorCode.Malformed, 'scan limit must be at least 1');
      const flags = r.u8('scan flags');
      if (flags & ~1) throw new KvFrameError(KvErrorCode.Malformed, `scan flags 0x${flags.toString(16)} has unknown bits`);
      let after: Uint8Array | null = null;
      if (flags & 1) {
        const len = r.u16('scan after length');
        if (len > limits.maxKeyBytes) throw new KvFrameError(KvErrorCode.KeyTooLarge, `scan 'after' key of ${len} bytes exceeds the limit of ${limits.maxKeyBytes}`);
        after = r.bytes(len, 'scan after key');
      }
      c = { op: KvOp.Scan, key, limit, after };
      break;
    }
  }
  r.end();
  return c;
}

export interface KvLimits { maxKeyBytes: number; maxValueBytes: number; maxScanResultBytes: number }
export const DEFAULT_LIMITS: KvLimits = { maxKeyBytes: MAX_KEY_BYTES, maxValueBytes: MAX_VALUE_BYTES, maxScanResultBytes: MAX_SCAN_RESULT_BYTES };

// ---- results ----

export function encodeOk(): Uint8Array { return new Uint8Array([KvStatus.Ok]); }
export function encodeNotFound(): Uint8Array { return new Uint8Array([KvStatus.NotFound]); }
export function encodeValue(value: Uint8Array): Uint8Array { return new FrameWriter(5 + value.length).u8(KvStatus.Ok).long(value).finish(); }
export function encodeLength(length: number): Uint8Array { return new FrameWriter(5).u8(KvStatus.Ok).u32(length).finish(); }
export function encodeCasFailed(current: Uint8Array | undefined): Uint8Array {
  const w = new FrameWriter(6 + (current?.length ?? 0)).u8(KvStatus.CasFailed).u8(current ? 1 : 0);
  if (current) w.long(current);
  return w.finish();
}
export function encodeError(code: KvErrorCode, message: string): Uint8Array {
  let m = utf8.encode(message);
  if (m.length > 0xffff) m = m.subarray(0, 0xffff);
  return new FrameWriter(4 + m.length).u8(KvStatus.Error).u8(code).short(m).finish();
}
/** A scan result: the entries in key order, and whether more matched than were returned. */
export function encodeScan(entries: readonly KvEntry[], more: boolean): Uint8Array {
  const w = new FrameWriter(6 + entries.reduce((n, e) => n + 6 + e.key.length + e.value.length, 0));
  w.u8(KvStatus.Ok).u8(more ? 1 : 0).u32(entries.length);
  for (const e of entries) w.short(e.key).long(e.value);
  return w.finish();
}
/** Bytes one scan entry adds to a scan result. */
export const scanEntryBytes = (key: Uint8Array, value: Uint8Array): number => 6 + key.length + value.length;

/** Decodes the result of a command with op `op`; throws KvFrameError on a malformed result. */
export function decodeResult(op: KvOp, bytes: Uint8Array): KvResult {
  const r = new FrameReader(bytes, 'key/value result');
  const status = r.u8('status');
  let out: KvResult;
  switch (status) {
    case KvStatus.Ok:
      switch (op) {
        case KvOp.Get: out = { status, value: r.long('value') }; break;
        case KvOp.Append: out = { status, length: r.u32('new length') }; break;
        case KvOp.Scan: {
          const more = r.u8('more') === 1;
          const count = r.u32('entry count');
          const entries: KvEntry[] = [];
          for (let i = 0; i < count; i++) entries.push({ key: r.short('entry key'), value: r.long('entry value') });
          out = { status, entries, more };
          break;
        }
        default: out = { status };
      }
      break;
    case KvStatus.NotFound: out = { status }; break;
    case KvStatus.CasFailed: out = { status, current: r.u8('current present') ? r.long('current value') : null }; break;
    case KvStatus.Error: {
      const code = r.u8('error code');
      out = { status, code, message: utf8Decoder.decode(r.short('error message')) };
      break;
    }
    default: throw new KvFrameError(KvErrorCode.Malformed, `key/value result has unknown status ${status}`);
  }
  r.end();
  return out;
}
