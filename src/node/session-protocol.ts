/**
 * The binary framing of log commands and apply results in session mode (Raft dissertation,
 * section 6.3). Little-endian, fixed layouts, no JSON. Integers that can exceed 32 bits (log
 * indexes, client ids, sequence numbers) are written as u64 and must be safe integers.
 *
 * Log command frames (byte 0 is the kind; a future layout gets a new kind, never a new meaning
 * for an old one):
 *
 *   RegisterSession    [u8 1]                                           1 byte
 *   Command            [u8 2][u64 clientId][u64 seq][u64 ackedThrough][payload...]   25 + n bytes
 *   UnregisterSession  [u8 3][u64 clientId]                             9 bytes
 *   CompactCommand     [u8 4][uvarint clientId][uvarint seq][uvarint seq - ackedThrough][payload...]
 *                      a Command with its numbers as LEB128 varints (7 bits a byte, at most 8
 *                      bytes each): 6-10 header bytes in practice instead of 25. Every client
 *                      (ClientSession, SessionClient: RemoteSession and the simulation) sends
 *                      this form; the fixed Command is still decoded, for logs written before,
 *                      and both are applied alike.
 *
 * The client id of a session is the log index of its RegisterSession entry, so ids are unique
 * and every peer agrees on them without coordination. seq starts at 1 and grows by 1 per command
 * of that client; ackedThrough says the client has received the results of every seq <= it, so
 * the state machine may discard them (0 = none yet); ackedThrough < seq always.
 *
 * There is no time field: entries do not carry a leader-assigned timestamp yet, so sessions
 * expire by log position only (see session-state-machine.ts), which every peer evaluates
 * identically. A timestamped command would be a new kind.
 *
 * Result frames (what SessionStateMachine.apply returns, handed to the proposing client):
 *
 *   [u8 status][body...]
 *
 * with the body per status given at SessionStatus.
 */

export enum FrameKind {
  Register = 1,
  Command = 2,
  Unregister = 3,
  CompactCommand = 4,
}

/** What happened to a log entry in session mode; byte 0 of a result frame. */
export enum SessionStatus {
  /** The command was applied now. Body: the user's result (empty when apply returned nothing). */
  Applied = 0,
  /** The seq was applied before; not applied again. Body: the result stored then. */
  Duplicate = 1,
  /** The seq was applied and its result acknowledged and discarded: the client already has it. Empty body. */
  Stale = 2,
  /** No such session (never registered, evicted, expired or unregistered); not applied. Register again. Empty body. */
  SessionExpired = 3,
  /** seq skips past the next expected seq (an earlier command is missing); not applied. Resend in seq order. Empty body. */
  OutOfOrder = 4,
  /** The entry is not a valid session frame; nothing changed. Body: the reason, UTF-8. */
  Invalid = 5,
  /** A session was registered. Body: u64 clientId (the entry's log index). */
  Registered = 6,
  /** The session was removed. Empty body. */
  Unregistered = 7,
}

const STATUS_NAMES = ['Applied', 'Duplicate', 'Stale', 'SessionExpired', 'OutOfOrder', 'Invalid', 'Registered', 'Unregistered'];

export function statusName(s: number): string {
  return STATUS_NAMES[s] ?? `unknown status ${s}`;
}

/** A byte sequence that is not a well-formed session frame. */
export class SessionFrameError extends Error {
  override name = 'SessionFrameError';
}

/** The longest Command header (also the bound of a CompactCommand's). */
export const COMMAND_HEADER_BYTES = 25;
const U32 = 2 ** 32;
/** High word of the largest safe integer (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1fffff;

/**
 * A decoded log command frame. One shape for every kind (fields a kind lacks are 0 or empty), so
 * that the apply path reads it monomorphically.
 */
export interface SessionFrame {
  kind: FrameKind;
  /** Command, Unregister. */
  clientId: number;
  /** Command only. */
  seq: number;
  ackedThrough: number;
  payload: Uint8Array;
}

/**
 * A frame as the apply path decodes it: numbers only. The payload is `data[payloadAt, end)`
 * and no view of it is made here: the apply path makes one only for the user's apply, and
 * keeps none (a young view stored in this long-lived object would cost a GC write barrier
 * and a remembered-set entry per entry).
 */
export interface FrameFields {
  kind: FrameKind;
  clientId: number;
  seq: number;
  ackedThrough: number;
  /** Offset of a Command's payload in the decoded bytes; the frame's end for other kinds. */
  payloadAt: number;
}

export function newFrameFields(): FrameFields {
  return { kind: FrameKind.Register, clientId: 0, seq: 0, ackedThrough: 0, payloadAt: 0 };
}

const NO_PAYLOAD = new Uint8Array(0);

export interface SessionResult {
  status: SessionStatus;
  body: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function writeU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v >>> 0, true);
  dv.setUint32(at + 4, Math.floor(v / U32), true);
}

/** Reads a u64 that must be a safe integer; `what` names the field in the error. */
export function readU64(dv: DataView, at: number, what: string, ErrorType: new (m: string) => Error = SessionFrameError): number {
  const hi = dv.getUint32(at + 4, true);
  if (hi > MAX_SAFE_HIGH) throw new ErrorType(`${what} at offset ${at} exceeds 2^53 - 1`);
  return hi * U32 + dv.getUint32(at, true);
}

/**
 * readU64 straight from the bytes: the apply path decodes one frame per entry, and allocating a
 * DataView for it costs more (about 10x here) than the rest of the decode.
 */
function getU64(b: Uint8Array, at: number, what: string, frameStart = 0): number {
  const hi = (b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) | (b[at + 7] << 24)) >>> 0;
  if (hi > MAX_SAFE_HIGH) throw new SessionFrameError(`${what} at offset ${at - frameStart} exceeds 2^53 - 1`);
  return hi * U32 + ((b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0);
}

function checkId(v: number, what: string, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what} must be a safe integer >= ${min}, got ${v}`);
}

export function encodeRegister(): Uint8Array {
  return Uint8Array.of(FrameKind.Register);
}

export function encodeUnregister(clientId: number): Uint8Array {
  checkId(clientId, 'clientId', 1);
  const out = new Uint8Array(9);
  out[0] = FrameKind.Unregister;
  writeU64(view(out), 1, clientId);
  return out;
}

export function encodeCommand(clientId: number, seq: number, ackedThrough: number, payload: Uint8Array): Uint8Array {
  checkId(clientId, 'clientId', 1);
  checkId(seq, 'seq', 1);
  checkId(ackedThrough, 'ackedThrough', 0);
  if (ackedThrough >= seq) throw new RangeError(`ackedThrough (${ackedThrough}) must be below seq (${seq})`);
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const out = new Uint8Array(COMMAND_HEADER_BYTES + payload.byteLength);
  out[0] = FrameKind.Command;
  putU64(out, 1, clientId);
  putU64(out, 9, seq);
  putU64(out, 17, ackedThrough);
  out.set(payload, COMMAND_HEADER_BYTES);
  return out;
}

/** writeU64 straight into the bytes: one frame per command, and a DataView per frame costs more than the rest. */
export function putU64(b: Uint8Array, at: number, v: number): void {
  const lo = v >>> 0, hi = Math.floor(v / U32);
  b[at] = lo; b[at + 1] = lo >>> 8; b[at + 2] = lo >>> 16; b[at + 3] = lo >>> 24;
  b[at + 4] = hi; b[at + 5] = hi >>> 8; b[at + 6] = hi >>> 16; b[at + 7] = hi >>> 24;
}

/**
 * Decodes a log command frame; throws SessionFrameError naming the problem. The payload of a
 * Command is a view into `frame`, not a copy.
 */
export function decodeFrame(frame: Uint8Array): SessionFrame {
  const f = decodeFrameAt(frame, 0, frame.byteLength, newFrameFields());
  const payload = f.kind === FrameKind.Command ? viewOf(frame, f.payloadAt, frame.byteLength) : NO_PAYLOAD;
  return { kind: f.kind, clientId: f.clientId, seq: f.seq, ackedThrough: f.ackedThrough, payload };
}

/** decodeFrame of `data[start, end)` into `into` (the apply path reuses one), which it returns; CompactCommand decodes as Command. */
export function decodeFrameAt(data: Uint8Array, start: number, end: number, into: FrameFields): FrameFields {
  const n = end - start;
  if (n <= 0) throw new SessionFrameError('empty session frame');
  const kind = data[start];
  switch (kind) {
    case FrameKind.Register:
      if (n !== 1) throw new SessionFrameError(`RegisterSession frame must be 1 byte, got ${n}`);
      into.kind = kind; into.clientId = 0; into.seq = 0; into.ackedThrough = 0; into.payloadAt = end;
      return into;
    case FrameKind.Unregister: {
      if (n !== 9) throw new SessionFrameError(`UnregisterSession frame must be 9 bytes, got ${n}`);
      const clientId = getU64(data, start + 1, 'clientId', start);
      if (clientId === 0) throw new SessionFrameError('clientId 0 is not a session');
      into.kind = kind; into.clientId = clientId; into.seq = 0; into.ackedThrough = 0; into.payloadAt = end;
      return into;
    }
    case FrameKind.Command:
      if (n < COMMAND_HEADER_BYTES) {
        throw new SessionFrameError(`Command frame of ${n} bytes is shorter than its ${COMMAND_HEADER_BYTES}-byte header`);
      }
      return decodeCommandAt(data, start, into);
    case FrameKind.CompactCommand:
      return decodeCompactChecked(data, start, end, into);
    default:
      throw new SessionFrameError(`unknown session frame kind ${kind} (expected 1 Register, 2 Command, 3 Unregister or 4 CompactCommand)`);
  }
}

/** Decodes the Command frame at `data[start...]` (kind byte and length checked by the caller) into `into`. */
function decodeCommandAt(data: Uint8Array, start: number, into: FrameFields): FrameFields {
  const clientId = getU64(data, start + 1, 'clientId', start);
  const seq = getU64(data, start + 9, 'seq', start);
  const ackedThrough = getU64(data, start + 17, 'ackedThrough', start);
  if (clientId === 0) throw new SessionFrameError('clientId 0 is not a session');
  if (seq === 0) throw new SessionFrameError('seq 0 is invalid (sequence numbers start at 1)');
  if (ackedThrough >= seq) throw new SessionFrameError(`ackedThrough (${ackedThrough}) must be below seq (${seq})`);
  into.kind = FrameKind.Command; into.clientId = clientId; into.seq = seq; into.ackedThrough = ackedThrough;
  into.payloadAt = start + COMMAND_HEADER_BYTES;
  return into;
}

/**
 * `data[from, end)` as a new view. The view constructor costs less than subarray(), which
 * looks up a species constructor; the apply path makes one per entry.
 */
export function viewOf(data: Uint8Array, from: number, end: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + from, end - from);
}

// ---- compact commands

/** Bytes of `v` (a safe integer >= 0) as an unsigned LEB128 varint. */
export function uvarintLength(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  for (v = Math.floor(v / 0x10000000); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** Writes `v` as an unsigned LEB128 varint at `b[at...]`; returns the offset after it. */
export function putUvarint(b: Uint8Array, at: number, v: number): number {
  while (v >= 0x80000000) { // above 31 bits: no bit operators
    b[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  while (v >= 128) {
    b[at++] = (v & 127) | 128;
    v >>>= 7;
  }
  b[at++] = v;
  return at;
}

/** Header bytes of a CompactCommand (kind byte included). */
export function compactHeaderLength(clientId: number, seq: number, ackedThrough: number): number {
  return 1 + uvarintLength(clientId) + uvarintLength(seq) + uvarintLength(seq - ackedThrough);
}

/** Writes a CompactCommand's header at `b[at...]` (checked by the caller); returns where the payload goes. */
export function putCompactHeader(b: Uint8Array, at: number, clientId: number, seq: number, ackedThrough: number): number {
  b[at] = FrameKind.CompactCommand;
  return putUvarint(b, putUvarint(b, putUvarint(b, at + 1, clientId), seq), seq - ackedThrough);
}

export function encodeCompactCommand(clientId: number, seq: number, ackedThrough: number, payload: Uint8Array): Uint8Array {
  checkId(clientId, 'clientId', 1);
  checkId(seq, 'seq', 1);
  checkId(ackedThrough, 'ackedThrough', 0);
  if (ackedThrough >= seq) throw new RangeError(`ackedThrough (${ackedThrough}) must be below seq (${seq})`);
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const h = compactHeaderLength(clientId, seq, ackedThrough);
  const out = new Uint8Array(h + payload.byteLength);
  putCompactHeader(out, 0, clientId, seq, ackedThrough);
  out.set(payload, h);
  return out;
}

/** Where the last getUvarint stopped (a module-level result, so that decoding allocates nothing). */
let varintEnd = 0;

function getUvarint(b: Uint8Array, at: number, end: number, what: string, frameStart: number): number {
  let v = 0, scale = 1;
  for (let i = 0; i < 8; i++) {
    if (at >= end) throw new SessionFrameError(`CompactCommand: ${what} at offset ${at - frameStart} runs past the end of the frame`);
    const byte = b[at++];
    v += (byte & 127) * scale;
    if (byte < 128) {
      if (v > Number.MAX_SAFE_INTEGER) throw new SessionFrameError(`CompactCommand: ${what} exceeds 2^53 - 1`);
      varintEnd = at;
      return v;
    }
    scale *= 128;
  }
  throw new SessionFrameError(`CompactCommand: ${what} is longer than 8 bytes`);
}

/**
 * Decodes the CompactCommand frame at `data[start, end)` (kind byte checked by the caller) into
 * `into`, as a Command, when its numbers are below 2^28 and it is well formed (every frame the
 * client sends for a long while); false otherwise, with `into` unchanged: decodeFrameAt then
 * decodes it or says what is wrong. Nothing here throws, so that it inlines into the apply path.
 */
export function decodeCompactFast(data: Uint8Array, start: number, end: number, into: FrameFields): boolean {
  // Three varints of at most 4 bytes each, read with locals only (a module-level position, as
  // getUvarint keeps, costs a context load and store per byte).
  let p = start + 1, byte = 0, shift = 0;
  let id = 0;
  do {
    if (p >= end || shift > 21) return false;
    byte = data[p++];
    id |= (byte & 127) << shift;
    shift += 7;
  } while (byte >= 128);
  let seq = 0;
  shift = 0;
  do {
    if (p >= end || shift > 21) return false;
    byte = data[p++];
    seq |= (byte & 127) << shift;
    shift += 7;
  } while (byte >= 128);
  let delta = 0;
  shift = 0;
  do {
    if (p >= end || shift > 21) return false;
    byte = data[p++];
    delta |= (byte & 127) << shift;
    shift += 7;
  } while (byte >= 128);
  if (id === 0 || delta === 0 || delta > seq) return false;
  into.kind = FrameKind.Command; into.clientId = id; into.seq = seq; into.ackedThrough = seq - delta;
  into.payloadAt = p;
  return true;
}

function decodeCompactChecked(data: Uint8Array, start: number, end: number, into: FrameFields): FrameFields {
  const clientId = getUvarint(data, start + 1, end, 'clientId', start);
  const seq = getUvarint(data, varintEnd, end, 'seq', start);
  const delta = getUvarint(data, varintEnd, end, 'seq - ackedThrough', start);
  if (clientId === 0) throw new SessionFrameError('clientId 0 is not a session');
  if (seq === 0) throw new SessionFrameError('seq 0 is invalid (sequence numbers start at 1)');
  if (delta === 0 || delta > seq) throw new SessionFrameError(`seq - ackedThrough (${delta}) must be in 1..seq (${seq})`);
  into.kind = FrameKind.Command; into.clientId = clientId; into.seq = seq; into.ackedThrough = seq - delta;
  into.payloadAt = varintEnd;
  return into;
}

// ---- result frames

export function encodeResult(status: SessionStatus, body?: Uint8Array): Uint8Array {
  const n = body ? body.byteLength : 0;
  const out = new Uint8Array(1 + n);
  out[0] = status;
  if (body && n > 0) out.set(body, 1);
  return out;
}

export function encodeRegistered(clientId: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = SessionStatus.Registered;
  writeU64(view(out), 1, clientId);
  return out;
}

export function encodeInvalid(reason: string): Uint8Array {
  return encodeResult(SessionStatus.Invalid, new TextEncoder().encode(reason));
}

/** Decodes a result frame; the body is a view into `frame`. Throws SessionFrameError. */
export function decodeResult(frame: Uint8Array): SessionResult {
  if (!(frame instanceof Uint8Array)) throw new SessionFrameError('a session result must be a Uint8Array');
  if (frame.byteLength === 0) throw new SessionFrameError('empty session result frame');
  const status = frame[0];
  if (status > SessionStatus.Unregistered) throw new SessionFrameError(`unknown session result status ${status}`);
  const body = frame.subarray(1);
  const emptyBody = status === SessionStatus.Stale || status === SessionStatus.SessionExpired ||
    status === SessionStatus.OutOfOrder || status === SessionStatus.Unregistered;
  if (emptyBody && body.byteLength !== 0) {
    throw new SessionFrameError(`${statusName(status)} result carries ${body.byteLength} unexpected bytes`);
  }
  if (status === SessionStatus.Registered && body.byteLength !== 8) {
    throw new SessionFrameError(`Registered result must carry an 8-byte clientId, got ${body.byteLength} bytes`);
  }
  return { status, body };
}

/** The clientId in a Registered result's body. */
export function registeredClientId(r: SessionResult): number {
  if (r.status !== SessionStatus.Registered) throw new SessionFrameError(`expected a Registered result, got ${statusName(r.status)}`);
  return readU64(view(r.body), 0, 'clientId');
}

export function invalidReason(r: SessionResult): string {
  return new TextDecoder().decode(r.body);
}
