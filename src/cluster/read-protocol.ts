/**
 * The records of the read link, one per peer beside the proposal link (see client-protocol.ts):
 * reads have no place in the log, so they get their own ring pair and the proposal ring keeps
 * carrying raw commands.
 *
 * Read (main thread -> peer):   [u8 kind = Read][u8 mode][2 pad][u32 length][f64 readId] + `length` query bytes
 * Answer (peer -> main thread): [u8 kind][u8 reason][2 pad][u32 length][i32 leaderHint][4 pad][f64 readId] + `length` bytes
 *   kind ReadOk: the bytes are the query's result; ReadFailed: a UTF-8 message, `reason` says why.
 */
export const enum ReadRecordKind { Read = 1, ReadOk = 2, ReadFailed = 3 }

/** Where a read may run: on the leader only, or on whichever peer gets it (a follower asks the leader for the index). */
export const enum ReadRoute { Leader = 0, AnyPeer = 1 }

/** Why a read failed. Retryable: NotLeader, LeaderLost, Stopped (the read changed nothing). */
export const enum ReadFailReason { NotLeader = 1, LeaderLost = 2, Stopped = 3, QueryFailed = 4, NoQuery = 5, Invalid = 6 }

export const READ_HEADER_BYTES = 16;
export const ANSWER_HEADER_BYTES = 24;

export function encodeRead(readId: number, route: ReadRoute, query: Uint8Array): Uint8Array {
  const out = new Uint8Array(READ_HEADER_BYTES + query.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, ReadRecordKind.Read);
  v.setUint8(1, route);
  v.setUint32(4, query.byteLength, true);
  v.setFloat64(8, readId, true);
  out.set(query, READ_HEADER_BYTES);
  return out;
}

export interface ReadRecord { readId: number; route: ReadRoute; query: Uint8Array }

/** Decodes a Read record; the query is a copy (the ring's bytes are reused). */
export function decodeRead(buf: Uint8Array, off: number, len: number): ReadRecord {
  if (len < READ_HEADER_BYTES) throw new Error(`read record of ${len} bytes, the header needs ${READ_HEADER_BYTES}`);
  const v = new DataView(buf.buffer, buf.byteOffset + off, len);
  if (v.getUint8(0) !== ReadRecordKind.Read) throw new Error(`read link: unknown record kind ${v.getUint8(0)}`);
  const n = v.getUint32(4, true);
  if (len !== READ_HEADER_BYTES + n) throw new Error(`read record of ${len} bytes, expected ${READ_HEADER_BYTES + n}`);
  return { readId: v.getFloat64(8, true), route: v.getUint8(1) as ReadRoute, query: buf.slice(off + READ_HEADER_BYTES, off + len) };
}

export function encodeAnswer(readId: number, ok: boolean, reason: number, leaderHint: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(ANSWER_HEADER_BYTES + bytes.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, ok ? ReadRecordKind.ReadOk : ReadRecordKind.ReadFailed);
  v.setUint8(1, reason);
  v.setUint32(4, bytes.byteLength, true);
  v.setInt32(8, leaderHint, true);
  v.setFloat64(16, readId, true);
  out.set(bytes, ANSWER_HEADER_BYTES);
  return out;
}

export interface Answer { readId: number; ok: boolean; reason: ReadFailReason; leaderHint: number; bytes: Uint8Array }

export function decodeAnswer(buf: Uint8Array, off: number, len: number): Answer {
  if (len < ANSWER_HEADER_BYTES) throw new Error(`read answer of ${len} bytes, the header needs ${ANSWER_HEADER_BYTES}`);
  const v = new DataView(buf.buffer, buf.byteOffset + off, len);
  const kind = v.getUint8(0);
  if (kind !== ReadRecordKind.ReadOk && kind !== ReadRecordKind.ReadFailed) throw new Error(`read link: unknown answer kind ${kind}`);
  const n = v.getUint32(4, true);
  if (len !== ANSWER_HEADER_BYTES + n) throw new Error(`read answer of ${len} bytes, expected ${ANSWER_HEADER_BYTES + n}`);
  return {
    readId: v.getFloat64(16, true), ok: kind === ReadRecordKind.ReadOk, reason: v.getUint8(1) as ReadFailReason,
    leaderHint: v.getInt32(8, true), bytes: buf.slice(off + ANSWER_HEADER_BYTES, off + len),
  };
}

/**
 * In-place forms for the hot path: the same records written straight into a ring's bytes and
 * read through a DataView made once per ring (`view` spans `buf`'s whole buffer from its start).
 */
export function writeReadAt(view: DataView, buf: Uint8Array, off: number, readId: number, route: ReadRoute, query: Uint8Array): void {
  const at = buf.byteOffset + off;
  view.setUint32(at, ReadRecordKind.Read | (route << 8), true);
  view.setUint32(at + 4, query.byteLength, true);
  view.setFloat64(at + 8, readId, true);
  if (query.byteLength > 0) buf.set(query, off + READ_HEADER_BYTES);
}

export function writeAnswerAt(view: DataView, buf: Uint8Array, off: number, readId: number, ok: boolean, reason: number, leaderHint: number, bytes: Uint8Array): void {
  const at = buf.byteOffset + off;
  view.setUint32(at, (ok ? ReadRecordKind.ReadOk : ReadRecordKind.ReadFailed) | (reason << 8), true);
  view.setUint32(at + 4, bytes.byteLength, true);
  view.setInt32(at + 8, leaderHint, true);
  view.setInt32(at + 12, 0, true);
  view.setFloat64(at + 16, readId, true);
  if (bytes.byteLength > 0) buf.set(bytes, off + ANSWER_HEADER_BYTES);
}

/** Checks a Read record in place and returns its id; its route and query are at readRouteAt/readQueryAt. */
export function readIdAt(view: DataView, buf: Uint8Array, off: number, len: number): number {
  if (len < READ_HEADER_BYTES) throw new Error(`read record of ${len} bytes, the header needs ${READ_HEADER_BYTES}`);
  const at = buf.byteOffset + off;
  if (view.getUint8(at) !== ReadRecordKind.Read) throw new Error(`read link: unknown record kind ${view.getUint8(at)}`);
  const n = view.getUint32(at + 4, true);
  if (len !== READ_HEADER_BYTES + n) throw new Error(`read record of ${len} bytes, expected ${READ_HEADER_BYTES + n}`);
  return view.getFloat64(at + 8, true);
}

export function readRouteAt(buf: Uint8Array, off: number): ReadRoute {
  return buf[off + 1] as ReadRoute;
}

/** The query of a checked Read record, copied (the ring's bytes are reused). */
export function readQueryAt(buf: Uint8Array, off: number, len: number): Uint8Array {
  return len === READ_HEADER_BYTES ? EMPTY : buf.slice(off + READ_HEADER_BYTES, off + len);
}

const EMPTY = new Uint8Array(0);
