/**
 * Records a peer sends back to the main thread's client over the acknowledgement ring. Seqs
 * count the proposal records the peer received on this link, from 0, in order.
 *
 * Ack:    [u8 kind][u8 reason][2 pad][u32 count][f64 firstSeq][f64 index][u32 term][i32 leaderHint]  (32 bytes)
 * Result: [u8 kind = Result][3 pad][u32 length][f64 seq] + `length` bytes: the apply result of
 *         one proposal, written just before the Committed ack that covers it.
 * CommittedBytes: an Ack (kind CommittedBytes) + `count` bytes: a Committed run whose every
 *         result is one byte (a session's status-only answer), byte k for firstSeq + k: one
 *         record for the run instead of a Result record per proposal.
 * CommittedUniform: an Ack (kind CommittedUniform) whose every proposal's result is the same
 *         one byte, carried in `reason` (a session's run of plain Applied answers): 32 bytes
 *         for the whole run, nothing per proposal.
 */
export const enum AckKind {
  /** Not leader (`leaderHint` = the leader it knows, or -1): nothing was appended. */
  NotLeader = 2,
  /** The leader's uncommitted log is full: nothing was appended; retry later. */
  Backpressure = 3,
  /** Accepted proposals are now committed (and applied on that peer) at consecutive indexes from `index`. */
  Committed = 4,
  /** Accepted proposals were overwritten by another leader's entries: certainly not in the log. */
  Overwritten = 5,
  /** Refused by the peer (`reason` says why): nothing was appended. */
  Invalid = 6,
  /** Accepted, but the peer can no longer tell whether they committed (a snapshot of a later term covered them, or it stopped). */
  Unknown = 7,
  /** The apply result of one proposal (variable length, see above). */
  Result = 8,
  /** The peer stopped on a fatal error; the bytes are JSON { message, stateMachine? }. Unknown acks follow. */
  Fatal = 9,
  /** Committed, with a one-byte result per proposal after the ack (see above). */
  CommittedBytes = 10,
  /** Committed, every proposal's result being the one byte in `reason` (see above). */
  CommittedUniform = 11,
}

/** Why the peer refused a command (AckKind.Invalid). */
export const enum InvalidReason { NotBytes = 1, TooLarge = 2, Empty = 3, Other = 4 }

export const INVALID_REASON_TEXT: Record<number, string> = {
  1: 'the command is not a Uint8Array',
  2: "the command exceeds the peer's maxCommandBytes",
  3: 'a 0-byte command is reserved for the no-op entry (noopOnElection)',
  4: 'the peer refused the command',
};

export const ACK_BYTES = 32;
export const RESULT_HEADER_BYTES = 16;

export interface Ack {
  kind: AckKind;
  reason: number;
  count: number;
  firstSeq: number;
  index: number;
  term: number;
  leaderHint: number;
  /** For a Fatal record (and a Result record read with readAck): its bytes (a copy). */
  result: Uint8Array | null;
  /** For a Result or Fatal record: where its bytes are in the ring's buffer (readAckAt). */
  bodyOffset: number;
  bodyLength: number;
}

/**
 * The byte every one of results[from, from + count) consists of (a CommittedUniform run
 * carries it), or -1 when they are not all that same single byte. The session layer answers
 * with one shared frame, so the identity test settles most entries.
 */
export function uniformByte(results: ReadonlyArray<Uint8Array | undefined>, from: number, count: number): number {
  const first = results[from];
  if (first === undefined || first.byteLength !== 1) return -1;
  const b = first[0];
  for (let k = 1; k < count; k++) {
    const r = results[from + k];
    if (r !== first && (r === undefined || r.byteLength !== 1 || r[0] !== b)) return -1;
  }
  return b;
}

/** Whether results[from, from + count) are all one byte long (a CommittedBytes run can carry them). */
export function allOneByte(results: ReadonlyArray<Uint8Array | undefined>, from: number, count: number): boolean {
  for (let k = 0; k < count; k++) {
    const r = results[from + k];
    if (r === undefined || r.byteLength !== 1) return false;
  }
  return true;
}

export function writeAck(buf: Uint8Array, off: number, kind: AckKind, firstSeq: number, count: number, index: number, term: number, leaderHint: number, reason = 0): void {
  const v = new DataView(buf.buffer, buf.byteOffset + off, ACK_BYTES);
  v.setUint8(0, kind);
  v.setUint8(1, reason);
  v.setUint32(4, count, true);
  v.setFloat64(8, firstSeq, true);
  v.setFloat64(16, index, true);
  v.setUint32(24, term, true);
  v.setInt32(28, leaderHint, true);
}

/**
 * Writes a Result record for `seq` at `buf[off, off + RESULT_HEADER_BYTES + result.byteLength)`
 * through `dv`, a DataView over all of `buf`: the worker writes one per applied proposal
 * straight into the ring, allocating nothing.
 */
export function writeResultAt(dv: DataView, buf: Uint8Array, off: number, seq: number, result: Uint8Array): void {
  dv.setUint32(off, AckKind.Result, true); // kind and 3 bytes of padding
  dv.setUint32(off + 4, result.byteLength, true);
  dv.setFloat64(off + 8, seq, true);
  buf.set(result, off + RESULT_HEADER_BYTES);
}

export function encodeResult(seq: number, result: Uint8Array): Uint8Array {
  return encodeVariableRecord(AckKind.Result, seq, result);
}

/** A Result or Fatal record: the 16-byte header, then `bytes`. */
export function encodeVariableRecord(kind: AckKind.Result | AckKind.Fatal, seq: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(RESULT_HEADER_BYTES + bytes.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, kind);
  v.setUint32(4, bytes.byteLength, true);
  v.setFloat64(8, seq, true);
  out.set(bytes, RESULT_HEADER_BYTES);
  return out;
}

export function readAck(buf: Uint8Array, off: number, len: number, into: Ack): Ack {
  readAckAt(new DataView(buf.buffer, buf.byteOffset), buf, off, len, into);
  if (into.kind === AckKind.Result) into.result = buf.slice(into.bodyOffset, into.bodyOffset + into.bodyLength);
  return into;
}

/**
 * Decodes the record at `buf[off, off + len)` through `dv`, a DataView over all of `buf` (kept
 * by the caller, so that reading an ack allocates nothing). A Result's bytes are not copied:
 * they are at `buf[bodyOffset, bodyOffset + bodyLength)` and valid only until the ring moves
 * on. A Fatal record's bytes are copied into `result`.
 */
export function readAckAt(dv: DataView, buf: Uint8Array, off: number, len: number, into: Ack): Ack {
  into.kind = dv.getUint8(off);
  if (into.kind === AckKind.Result || into.kind === AckKind.Fatal) {
    const n = dv.getUint32(off + 4, true);
    if (len !== RESULT_HEADER_BYTES + n) throw new Error(`client result record of ${len} bytes, expected ${RESULT_HEADER_BYTES + n}`);
    into.firstSeq = dv.getFloat64(off + 8, true);
    into.count = 1;
    into.bodyOffset = off + RESULT_HEADER_BYTES;
    into.bodyLength = n;
    into.result = into.kind === AckKind.Fatal ? buf.slice(off + RESULT_HEADER_BYTES, off + len) : null;
    return into;
  }
  into.count = dv.getUint32(off + 4, true);
  if (into.kind === AckKind.CommittedBytes) {
    if (len !== ACK_BYTES + into.count) throw new Error(`client ack record of ${len} bytes, expected ${ACK_BYTES + into.count}`);
    into.bodyOffset = off + ACK_BYTES;
    into.bodyLength = into.count;
  } else if (len !== ACK_BYTES) throw new Error(`client ack record of ${len} bytes, expected ${ACK_BYTES}`);
  into.reason = dv.getUint8(off + 1);
  into.firstSeq = dv.getFloat64(off + 8, true);
  into.index = dv.getFloat64(off + 16, true);
  into.term = dv.getUint32(off + 24, true);
  into.leaderHint = dv.getInt32(off + 28, true);
  into.result = null;
  return into;
}
