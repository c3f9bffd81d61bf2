/**
 * Linearizable reads between a RemoteClient and a peer process, inside ClientRequest and
 * ClientResponse frames beside proposals (remote-protocol.ts, remote-batch-protocol.ts).
 * Reads have no place in the log: a peer queues the reads of one frame on its RaftNode and
 * asks the core for one read index serving them all. Little-endian.
 *
 *   read batch   the batch request layout (remote-batch-protocol.ts), the queries as its
 *                commands, with op READ_LEADER_OP (run only on the leader: a follower
 *                refuses with NotLeader) or READ_ANY_OP (any peer: a follower asks the leader
 *                for the read index and answers once it has applied that far)
 *   read answers [u8 status=READ_ANSWERS_STATUS][u32 count][i32 leaderHint]
 *                then per read [u32 reqId][u8 outcome][u32 length][length bytes]
 *                outcome Ok: the bytes are the query's result; otherwise a UTF-8 message
 *
 * The answers of one turn for one connection leave in one frame, in whatever order the reads
 * settled (a failed read can overtake a served one), hence a request id per answer.
 */
export const READ_LEADER_OP = 4;
export const READ_ANY_OP = 5;
export const READ_ANSWERS_STATUS = 8;
export const READ_ANSWERS_HEADER_BYTES = 9;
export const READ_ANSWER_BYTES = 9;

/** A read's outcome. Retryable (the read ran nowhere): NotLeader, LeaderLost, Stopped. */
export enum ReadOutcome {
  Ok = 0,
  /** A leader-only read reached a follower. */
  NotLeader = 1,
  /** The leader was lost or unknown before the read was confirmed. */
  LeaderLost = 2,
  /** The peer is stopping. */
  Stopped = 3,
  /** The state machine's query() threw: the message is its error. Nothing changed. */
  QueryFailed = 4,
  /** The peer's state machine has no query() method. */
  NoQuery = 5,
  /** The peer refused the read itself (not a Uint8Array, ...). */
  Invalid = 6,
}

export interface ReadAnswer {
  reqId: number;
  outcome: ReadOutcome;
  bytes: Uint8Array;
}

export interface ReadAnswers {
  leaderHint: number;
  answers: ReadAnswer[];
}

/** The answers of one frame, as collected by a peer (parallel arrays: no object per read). */
export class ReadAnswerBatch {
  readonly reqIds: number[] = [];
  readonly outcomes: ReadOutcome[] = [];
  readonly payloads: Uint8Array[] = [];
  private bytes = READ_ANSWERS_HEADER_BYTES;

  get size(): number {
    return this.reqIds.length;
  }

  /** Bytes of the encoded frame body. */
  get byteLength(): number {
    return this.bytes;
  }

  add(reqId: number, outcome: ReadOutcome, payload: Uint8Array): void {
    this.reqIds.push(reqId);
    this.outcomes.push(outcome);
    this.payloads.push(payload);
    this.bytes += READ_ANSWER_BYTES + payload.byteLength;
  }

  encode(leaderHint: number): Buffer {
    const b = Buffer.allocUnsafe(this.bytes);
    b[0] = READ_ANSWERS_STATUS;
    b.writeUInt32LE(this.reqIds.length, 1);
    b.writeInt32LE(leaderHint, 5);
    let at = READ_ANSWERS_HEADER_BYTES;
    for (let k = 0; k < this.reqIds.length; k++) {
      const p = this.payloads[k];
      b.writeUInt32LE(this.reqIds[k] >>> 0, at);
      b[at + 4] = this.outcomes[k];
      b.writeUInt32LE(p.byteLength, at + 5);
      b.set(p, at + READ_ANSWER_BYTES);
      at += READ_ANSWER_BYTES + p.byteLength;
    }
    return b;
  }
}

/** Decodes a read answers frame; each answer's bytes are a copy. */
export function decodeReadAnswers(body: Uint8Array): ReadAnswers {
  if (body.byteLength < READ_ANSWERS_HEADER_BYTES) throw new Error(`read answers of ${body.byteLength} bytes are shorter than their ${READ_ANSWERS_HEADER_BYTES}-byte header`);
  if (body[0] !== READ_ANSWERS_STATUS) throw new Error(`not read answers (status ${body[0]})`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = dv.getUint32(1, true);
  const leaderHint = dv.getInt32(5, true);
  const answers: ReadAnswer[] = [];
  let at = READ_ANSWERS_HEADER_BYTES;
  for (let k = 0; k < count; k++) {
    if (at + READ_ANSWER_BYTES > body.byteLength) throw new Error(`read answers: answer ${k} of ${count} runs past the end of the ${body.byteLength}-byte frame`);
    const outcome = body[at + 4];
    if (outcome > ReadOutcome.Invalid) throw new Error(`read answers: answer ${k} has outcome ${outcome}`);
    const n = dv.getUint32(at + 5, true);
    const from = at + READ_ANSWER_BYTES;
    if (from + n > body.byteLength) throw new Error(`read answers: answer ${k} of ${count} runs past the end of the ${body.byteLength}-byte frame`);
    answers.push({ reqId: dv.getUint32(at, true), outcome, bytes: body.slice(from, from + n) });
    at = from + n;
  }
  if (at !== body.byteLength) throw new Error(`read answers end at byte ${at} of ${body.byteLength}`);
  return { leaderHint, answers };
}

const u32At = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/**
 * Checks a whole read answers frame; its answers are then walked in place with readAnswerReqId / readAnswerOutcome / readAnswerLength
 * from READ_ANSWERS_HEADER_BYTES on (no object and no copy per answer).
 */
export function checkReadAnswers(body: Uint8Array): { count: number; leaderHint: number } {
  if (body.byteLength < READ_ANSWERS_HEADER_BYTES) throw new Error(`read answers of ${body.byteLength} bytes are shorter than their ${READ_ANSWERS_HEADER_BYTES}-byte header`);
  if (body[0] !== READ_ANSWERS_STATUS) throw new Error(`not read answers (status ${body[0]})`);
  const count = u32At(body, 1);
  let at = READ_ANSWERS_HEADER_BYTES;
  for (let k = 0; k < count; k++) {
    if (at + READ_ANSWER_BYTES > body.byteLength) throw new Error(`read answers: answer ${k} of ${count} runs past the end of the ${body.byteLength}-byte frame`);
    if (body[at + 4] > ReadOutcome.Invalid) throw new Error(`read answers: answer ${k} has outcome ${body[at + 4]}`);
    at += READ_ANSWER_BYTES + u32At(body, at + 5);
    if (at > body.byteLength) throw new Error(`read answers: answer ${k} of ${count} runs past the end of the ${body.byteLength}-byte frame`);
  }
  if (at !== body.byteLength) throw new Error(`read answers end at byte ${at} of ${body.byteLength}`);
  return { count, leaderHint: (body[5] | (body[6] << 8) | (body[7] << 16) | (body[8] << 24)) };
}

/** The answer at `at` of a checked frame: its request id, outcome, and bytes body[at + READ_ANSWER_BYTES, + length). */
export function readAnswerReqId(body: Uint8Array, at: number): number { return u32At(body, at); }
export function readAnswerOutcome(body: Uint8Array, at: number): ReadOutcome { return body[at + 4]; }
export function readAnswerLength(body: Uint8Array, at: number): number { return u32At(body, at + 5); }
