/**
 * Requests and answers between a RemoteClient and a peer process, inside ClientRequest and
 * ClientResponse frames (tcp-frame.ts). Little-endian.
 *
 *   request  [u8 op][u32 reqId][payload]        op 1 Propose (payload: the command), 2 Status (no payload)
 *   answer   [u8 status][u32 reqId][i32 leaderHint][f64 index][u32 term][u8 hasResult][payload]
 *
 * (Op 3 is a batch of proposals, remote-batch-protocol.ts; ops 4 and 5 batches of reads,
 * remote-read-protocol.ts.)
 *
 * Committed carries the apply result (hasResult 0: apply returned nothing); Invalid carries
 * the reason (UTF-8); NotLeader, and every answer, carries the peer's idea of the leader
 * (-1: none known).
 */
export enum RemoteOp { Propose = 1, Status = 2 }

export enum RemoteStatus {
  Committed = 0,
  NotLeader = 1,
  Overwritten = 2,
  /** The peer can no longer tell (it lost the entry's fate: crash, snapshot). Retry only with a session. */
  Unknown = 3,
  /** The leader holds too many uncommitted entries; retry later. */
  Busy = 4,
  /** The command was refused (too large, empty, ...): payload is the reason. */
  Invalid = 5,
  /** Answer to Status. */
  Status = 6,
}

export const REQUEST_HEADER_BYTES = 5;
export const ANSWER_HEADER_BYTES = 22;

export interface RemoteAnswer {
  status: RemoteStatus;
  reqId: number;
  leaderHint: number;
  index: number;
  term: number;
  result: Uint8Array | undefined;
}

export function requestBytes(payload?: Uint8Array): number {
  return REQUEST_HEADER_BYTES + (payload?.byteLength ?? 0);
}

/** Writes a request at b[at, at + requestBytes(payload)). */
export function writeRequest(b: Buffer, at: number, op: RemoteOp, reqId: number, payload?: Uint8Array): void {
  b[at] = op;
  b.writeUInt32LE(reqId >>> 0, at + 1);
  if (payload) b.set(payload, at + REQUEST_HEADER_BYTES);
}

export function encodeRequest(op: RemoteOp, reqId: number, payload?: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(requestBytes(payload));
  writeRequest(b, 0, op, reqId, payload);
  return b;
}

export function decodeRequest(body: Uint8Array): { op: RemoteOp; reqId: number; payload: Uint8Array } {
  if (body.byteLength < REQUEST_HEADER_BYTES) throw new Error(`client request of ${body.byteLength} bytes is shorter than its ${REQUEST_HEADER_BYTES}-byte header`);
  const op = body[0];
  if (op !== RemoteOp.Propose && op !== RemoteOp.Status) throw new Error(`unknown client request op ${op}`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return { op, reqId: dv.getUint32(1, true), payload: body.subarray(REQUEST_HEADER_BYTES) };
}

export function encodeAnswer(a: RemoteAnswer): Buffer {
  const n = a.result?.byteLength ?? 0;
  const b = Buffer.allocUnsafe(ANSWER_HEADER_BYTES + n);
  b[0] = a.status;
  b.writeUInt32LE(a.reqId >>> 0, 1);
  b.writeInt32LE(a.leaderHint, 5);
  b.writeDoubleLE(a.index, 9);
  b.writeUInt32LE(a.term >>> 0, 17);
  b[21] = a.result ? 1 : 0;
  if (a.result) b.set(a.result, ANSWER_HEADER_BYTES);
  return b;
}

export function decodeAnswer(body: Uint8Array): RemoteAnswer {
  if (body.byteLength < ANSWER_HEADER_BYTES) throw new Error(`answer of ${body.byteLength} bytes is shorter than its ${ANSWER_HEADER_BYTES}-byte header`);
  const status = body[0];
  if (status > RemoteStatus.Status) throw new Error(`unknown answer status ${status}`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return {
    status, reqId: dv.getUint32(1, true), leaderHint: dv.getInt32(5, true), index: dv.getFloat64(9, true), term: dv.getUint32(17, true),
    result: body[21] ? body.slice(ANSWER_HEADER_BYTES) : undefined,
  };
}
