/**
 * The records of the read link, one per peer beside the proposal link (see client-protocol.ts):
 * reads have no place in the log, so they get their own ring pair and the proposal ring keeps
 * carrying raw commands.
 *
 * Read (main thread -> peer):   [u8 kind = Read][u8 mode][2 pad][u32 length][f64 readId] + `length` query bytes
 * Answer (peer -> main thread): [u8 kind][u8 reason][2 pad][u32 length][i32 leaderHint][4 pad][f64 readId] + `length` bytes
 *   kind ReadOk: the bytes are the query's result; ReadFailed: a UTF-8 message, `reason` says why.
 *
 * Batches carry the reads of one turn in one record (one ring commit and one header for all):
 * ReadBatch (main -> peer): [u8 kind = ReadBatch][u8 route][2 pad][u32 count] + count x ([f64 readId][u32 length] + query bytes)
 * OkBatch (peer -> main):   [u8 kind = OkBatch][3 pad][u32 count][i32 leaderHint][4 pad] + count x ([f64 readId][u32 length] + result bytes)
 */
export const enum ReadRecordKind { Read = 1, ReadOk = 2, ReadFailed = 3, ReadBatch = 4, OkBatch = 5 }

/** Where a read may run: on the leader only, or on whichever peer gets it (a follower asks the leader for the index). */
export const enum ReadRoute { Leader = 0, AnyPeer = 1 }

/** Why a read failed. Retryable: NotLeader, LeaderLost, Stopped (the read changed nothing). */
export const enum ReadFailReason { NotLeader = 1, LeaderLost = 2, Stopped = 3, QueryFailed = 4, NoQuery = 5, Invalid = 6 }

export const READ_HEADER_BYTES = 16;
export const ANSWER_HEADER_BYTES = 24;
export const READ_BATCH_HEADER_BYTES = 8;
export const OK_BATCH_HEADER_BYTES = 16;
/** Each read (query or result) in a batch: its id and its length before its bytes. */
export const BATCH_ITEM_HEADER_BYTES = 12;

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

/** Checks a Read record in place and returns its id; its route is at readRouteAt, its query after READ_HEADER_BYTES. */
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


/**
 * Walks a ReadBatch (main -> peer) or OkBatch (peer -> main) record in place, checking every
 * item's length against the record's, and calls `onItem(readId, bytesOffset, bytesLength)` for
 * each (offsets in `buf`; the bytes are only valid during the call). Returns the item count.
 */
export function forEachBatchItem(view: DataView, buf: Uint8Array, off: number, len: number, onItem: (readId: number, at: number, n: number) => void): number {
  const kind = buf[off];
  const header = kind === ReadRecordKind.ReadBatch ? READ_BATCH_HEADER_BYTES : kind === ReadRecordKind.OkBatch ? OK_BATCH_HEADER_BYTES : -1;
  if (header < 0) throw new Error(`read link: record kind ${kind} is not a batch`);
  if (len < header) throw new Error(`read batch of ${len} bytes, the header needs ${header}`);
  const base = buf.byteOffset;
  const count = view.getUint32(base + off + 4, true);
  const end = off + len;
  let at = off + header;
  for (let k = 0; k < count; k++) {
    if (end - at < BATCH_ITEM_HEADER_BYTES) throw new Error(`read batch of ${len} bytes ends inside item ${k} of ${count}`);
    const readId = view.getFloat64(base + at, true);
    const n = view.getUint32(base + at + 8, true);
    at += BATCH_ITEM_HEADER_BYTES;
    if (n > end - at) throw new Error(`read batch item ${k} of ${n} bytes runs past the ${len}-byte record`);
    onItem(readId, at, n);
    at += n;
  }
  if (at !== end) throw new Error(`read batch of ${len} bytes has ${end - at} bytes after its ${count} items`);
  return count;
}

/**
 * Drains made in one go by either end of a read link before it lets its event loop run (see
 * RingLink): each end answers the other's records at once, so under load the two can stream
 * without pause, and a leader that never yields never ticks (its lease is counted in ticks).
 */
export const READ_LINK_ROUNDS_PER_TURN = 4;

/**
 * Items after which either end of a read link publishes the batch it is writing (ReadBatch or
 * OkBatch) instead of waiting for the end of its turn, and wakes the other end if it sleeps.
 * A closed loop of ~1,000 reads otherwise travels as one batch: the main thread writes it
 * while the leader waits, then the leader answers it while the main thread waits, and the two
 * never run at once. Published in pieces, the other end starts on the first while the rest
 * are written. Large enough that a piece's wake-up (tens of microseconds on a VM) stays a small
 * part of the work of its reads.
 */
export const READ_PUBLISH_ITEMS = 256;
