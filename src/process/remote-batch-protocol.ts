/**
 * Many commands per frame between a RemoteClient and a peer process (see remote-protocol.ts
 * for single requests). Little-endian, inside ClientRequest / ClientResponse frames.
 *
 *   batch request  [u8 op=3][u32 firstReqId][u32 count][u32 length per command][commands]
 *                  request ids firstReqId, firstReqId+1, ... in order
 *   answer run     [u8 status=7][u32 firstReqId][u32 count][i32 leaderHint][f64 firstIndex][u32 term]
 *                  [u8 outcome][u8 hasResults][if hasResults: u32 length per request, 0xffffffff
 *                  for none][result bytes]
 *                  requests firstReqId.. +count-1 share `outcome` (a RemoteStatus); committed ones
 *                  have indexes firstIndex, firstIndex+1, ...; Invalid carries each reason as its result
 *
 * A peer answers the commands of a batch in runs as their outcomes become known: one run for
 * every stretch of consecutive requests of one connection that one commit (or refusal) settles.
 */
import { RemoteStatus } from './remote-protocol.js';

export const BATCH_OP = 3;
export const RUN_STATUS = 7;
export const BATCH_HEADER_BYTES = 9;
export const RUN_HEADER_BYTES = 27;
const NO_RESULT = 0xffffffff;

export function batchRequestBytes(commands: readonly Uint8Array[], from = 0, to = commands.length): number {
  let n = BATCH_HEADER_BYTES + 4 * (to - from);
  for (let k = from; k < to; k++) n += commands[k].byteLength;
  return n;
}

/**
 * Writes commands[from, to) as one batch request at b[at, at + batchRequestBytes(...)); `op`
 * other than BATCH_OP: a batch of reads in the same layout (remote-read-protocol.ts).
 */
export function writeBatchRequest(b: Buffer, at: number, firstReqId: number, commands: readonly Uint8Array[], from = 0, to = commands.length, op = BATCH_OP): void {
  const count = to - from;
  b[at] = op;
  b.writeUInt32LE(firstReqId >>> 0, at + 1);
  b.writeUInt32LE(count, at + 5);
  let len = at + BATCH_HEADER_BYTES;
  let data = len + 4 * count;
  for (let k = from; k < to; k++) {
    const c = commands[k];
    b.writeUInt32LE(c.byteLength, len);
    len += 4;
    b.set(c, data);
    data += c.byteLength;
  }
}

/**
 * Writes a batch request's header and its command lengths at b[at...]; returns where the first
 * command's bytes go (the caller writes the commands there, back to back, in order).
 */
export function writeBatchHead(b: Buffer, at: number, firstReqId: number, lengths: ArrayLike<number>, count: number, op = BATCH_OP): number {
  b[at] = op;
  b.writeUInt32LE(firstReqId >>> 0, at + 1);
  b.writeUInt32LE(count, at + 5);
  let len = at + BATCH_HEADER_BYTES;
  for (let k = 0; k < count; k++, len += 4) b.writeUInt32LE(lengths[k], len);
  return len;
}

export interface BatchRequest {
  firstReqId: number;
  count: number;
  /** Command k is body[starts[k], starts[k+1]) (a view of the frame). */
  body: Uint8Array;
  starts: Uint32Array;
}

/** Decodes a batch request of op `op` (BATCH_OP, or a read op of remote-read-protocol.ts). */
export function decodeBatchRequest(body: Uint8Array, op = BATCH_OP): BatchRequest {
  if (body.byteLength < BATCH_HEADER_BYTES) throw new Error(`batch request of ${body.byteLength} bytes is shorter than its ${BATCH_HEADER_BYTES}-byte header`);
  if (body[0] !== op) throw new Error(`not a batch request of op ${op} (op ${body[0]})`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const firstReqId = dv.getUint32(1, true);
  const count = dv.getUint32(5, true);
  if (count === 0) throw new Error('batch request of no commands');
  if (BATCH_HEADER_BYTES + 4 * count > body.byteLength) throw new Error(`batch request of ${body.byteLength} bytes cannot hold ${count} command lengths`);
  const starts = new Uint32Array(count + 1);
  let at = BATCH_HEADER_BYTES + 4 * count;
  for (let k = 0; k < count; k++) {
    starts[k] = at;
    at += dv.getUint32(BATCH_HEADER_BYTES + 4 * k, true);
    if (at > body.byteLength) throw new Error(`batch request: command ${k} runs past the end of the ${body.byteLength}-byte frame`);
  }
  if (at !== body.byteLength) throw new Error(`batch request: its commands end at byte ${at} of ${body.byteLength}`);
  starts[count] = at;
  return { firstReqId, count, body, starts };
}

export interface AnswerRun {
  firstReqId: number;
  count: number;
  leaderHint: number;
  firstIndex: number;
  term: number;
  outcome: RemoteStatus;
  /** Per request (undefined: none), or null when no request of the run has one. */
  results: Array<Uint8Array | undefined> | null;
}

/** results[resultFrom + k] for request k, or no results at all. */
export function encodeRun(r: Omit<AnswerRun, 'results'>, results?: ReadonlyArray<Uint8Array | undefined> | null, resultFrom = 0): Buffer {
  let has = false, bytes = 0;
  if (results) {
    for (let k = 0; k < r.count; k++) {
      const x = results[resultFrom + k];
      if (x) { has = true; bytes += x.byteLength; }
    }
  }
  const b = Buffer.allocUnsafe(RUN_HEADER_BYTES + (has ? 4 * r.count + bytes : 0));
  b[0] = RUN_STATUS;
  b.writeUInt32LE(r.firstReqId >>> 0, 1);
  b.writeUInt32LE(r.count, 5);
  b.writeInt32LE(r.leaderHint, 9);
  b.writeDoubleLE(r.firstIndex, 13);
  b.writeUInt32LE(r.term >>> 0, 21);
  b[25] = r.outcome;
  b[26] = has ? 1 : 0;
  if (has) {
    let len = RUN_HEADER_BYTES, data = RUN_HEADER_BYTES + 4 * r.count;
    for (let k = 0; k < r.count; k++) {
      const x = results![resultFrom + k];
      b.writeUInt32LE(x ? x.byteLength : NO_RESULT, len);
      len += 4;
      if (x) { b.set(x, data); data += x.byteLength; }
    }
  }
  return b;
}

/** An answer run with its results copied out (decodeRunHeader reads them in place instead). */
export function decodeRun(body: Uint8Array): AnswerRun {
  const h = decodeRunHeader(body, emptyRunHeader());
  let results: Array<Uint8Array | undefined> | null = null;
  if (h.resultsAt >= 0) {
    results = new Array(h.count);
    for (let k = 0, at = h.resultsAt; k < h.count; k++) {
      const n = runResultLength(body, k);
      if (n < 0) continue;
      results[k] = body.slice(at, at + n);
      at += n;
    }
  }
  return { firstReqId: h.firstReqId, count: h.count, leaderHint: h.leaderHint, firstIndex: h.firstIndex, term: h.term, outcome: h.outcome, results };
}

/**
 * An answer run's fixed part, decoded into a reused object; its results are read in place
 * (runResultLength, from resultsAt on) so that a run costs no array and no copy per request.
 */
export interface RunHeader {
  firstReqId: number;
  count: number;
  leaderHint: number;
  firstIndex: number;
  term: number;
  outcome: RemoteStatus;
  /** Where request 0's result bytes start (the others follow, in order), or -1: the run carries none. */
  resultsAt: number;
}

export function emptyRunHeader(): RunHeader {
  return { firstReqId: 0, count: 0, leaderHint: -1, firstIndex: 0, term: 0, outcome: RemoteStatus.Committed, resultsAt: -1 };
}

const u32At = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** Decodes an answer run's header into `into`, checking that every result it announces fits the frame. */
export function decodeRunHeader(body: Uint8Array, into: RunHeader): RunHeader {
  if (body.byteLength < RUN_HEADER_BYTES) throw new Error(`answer run of ${body.byteLength} bytes is shorter than its ${RUN_HEADER_BYTES}-byte header`);
  if (body[0] !== RUN_STATUS) throw new Error(`not an answer run (status ${body[0]})`);
  const count = u32At(body, 5);
  const outcome = body[25];
  if (outcome > RemoteStatus.Invalid) throw new Error(`answer run with outcome ${outcome}`);
  into.resultsAt = -1;
  if (body[26]) {
    if (RUN_HEADER_BYTES + 4 * count > body.byteLength) throw new Error(`answer run of ${body.byteLength} bytes cannot hold ${count} result lengths`);
    let data = RUN_HEADER_BYTES + 4 * count;
    into.resultsAt = data;
    for (let k = 0; k < count; k++) {
      const n = u32At(body, RUN_HEADER_BYTES + 4 * k);
      if (n === NO_RESULT) continue;
      data += n;
      if (data > body.byteLength) throw new Error(`answer run: result ${k} runs past the end of the ${body.byteLength}-byte frame`);
    }
  }
  const dv = new DataView(body.buffer, body.byteOffset, RUN_HEADER_BYTES);
  into.firstReqId = u32At(body, 1);
  into.count = count;
  into.leaderHint = dv.getInt32(9, true);
  into.firstIndex = dv.getFloat64(13, true);
  into.term = u32At(body, 21);
  into.outcome = outcome;
  return into;
}

/** The length of request k's result in a run decoded by decodeRunHeader (resultsAt >= 0), or -1 for none. */
export function runResultLength(body: Uint8Array, k: number): number {
  const n = u32At(body, RUN_HEADER_BYTES + 4 * k);
  return n === NO_RESULT ? -1 : n;
}
