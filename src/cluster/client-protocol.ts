/**
 * Records a peer sends back to the main thread's client over the acknowledgement ring. Seqs
 * count the proposal records the peer received on this link, from 0, in order.
 *
 * [u8 kind][3 pad][u32 count][f64 firstSeq][f64 index][u32 term][i32 leaderHint]  (32 bytes)
 */
export const enum AckKind {
  /** Proposals firstSeq.. got consecutive log indexes from `index` in `term`. */
  Accepted = 1,
  /** Not leader (`leaderHint` = the leader it knows, or -1): nothing was appended. */
  NotLeader = 2,
  /** The leader's uncommitted log is full: nothing was appended; retry later. */
  Backpressure = 3,
  /** Accepted proposals are now committed (and applied on that peer). */
  Committed = 4,
  /** Accepted proposals were overwritten by another leader's entries: never committed. */
  Lost = 5,
  /** Refused as malformed (too large for the peer's maxCommandBytes). */
  Invalid = 6,
}

export const ACK_BYTES = 32;

export interface Ack {
  kind: AckKind;
  count: number;
  firstSeq: number;
  index: number;
  term: number;
  leaderHint: number;
}

export function writeAck(buf: Uint8Array, off: number, kind: AckKind, firstSeq: number, count: number, index: number, term: number, leaderHint: number): void {
  const v = new DataView(buf.buffer, buf.byteOffset + off, ACK_BYTES);
  v.setUint8(0, kind);
  v.setUint32(4, count, true);
  v.setFloat64(8, firstSeq, true);
  v.setFloat64(16, index, true);
  v.setUint32(24, term, true);
  v.setInt32(28, leaderHint, true);
}

export function readAck(buf: Uint8Array, off: number, len: number, into: Ack): Ack {
  if (len !== ACK_BYTES) throw new Error(`client ack record of ${len} bytes, expected ${ACK_BYTES}`);
  const v = new DataView(buf.buffer, buf.byteOffset + off, ACK_BYTES);
  into.kind = v.getUint8(0);
  into.count = v.getUint32(4, true);
  into.firstSeq = v.getFloat64(8, true);
  into.index = v.getFloat64(16, true);
  into.term = v.getUint32(24, true);
  into.leaderHint = v.getInt32(28, true);
  return into;
}
