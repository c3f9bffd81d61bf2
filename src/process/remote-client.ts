/**
 * A client of a cluster of peer processes, from any other process: it proposes commands and
 * gets the state machine's result, following the leader (every answer carries the peer's
 * leader hint). One connection per peer, opened when first needed.
 *
 * Without a session a command whose outcome is unknown (the connection or the leader was lost
 * after it was sent) is not retried: it may have been applied, and a retry could apply it
 * twice. RemoteSession retries such commands with the same sequence number, and the peers'
 * session layer applies each at most once.
 */
import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_MAX_FRAME_BYTES, FrameBatcher, FrameKind, FrameReader } from '../transport/tcp-frame.js';
import { CLIENT_PEER_ID, DEFAULT_CLUSTER_ID, HelloRole, checkClusterId, helloFrame } from '../transport/tcp-hello.js';
import type { PeerAddress } from '../transport/tcp-peer-link.js';
import { TlsFiles, checkTlsFiles, refusePeerCert } from '../transport/tcp-tls.js';
import type { FailReason } from '../cluster/client.js';
import { NO_READ_OPTIONS, checkReadOptions } from '../cluster/read-options-check.js';
import { RemoteAnswer, RemoteOp, RemoteStatus, decodeAnswer, requestBytes, writeRequest } from './remote-protocol.js';
import { BATCH_HEADER_BYTES, RUN_STATUS, batchRequestBytes, decodeRunHeader, emptyRunHeader, runResultLength, writeBatchHead, writeBatchRequest } from './remote-batch-protocol.js';
import { RemoteSession, type RemoteSessionOptions } from './remote-session.js';
import { ReqWaiters } from './req-waiters.js';
import {
  READ_ANSWERS_HEADER_BYTES, READ_ANSWERS_STATUS, READ_ANSWER_BYTES, READ_ANY_OP, READ_LEADER_OP, ReadOutcome, checkReadAnswers, readAnswerLength, readAnswerOutcome,
  readAnswerReqId,
} from './remote-read-protocol.js';
import { RemoteReader, type ReadDoneListener, type ReadFailedListener, type ReadRouter } from './remote-reader.js';
import { checkCallOptionNames } from '../cluster/call-options.js';

export interface RemoteClientOptions {
  peers: ReadonlyMap<number, PeerAddress> | Record<number, PeerAddress>;
  clusterId?: string;
  /** Client certificate signed by the cluster's CA, or false for a cluster run with --insecure. */
  tls: TlsFiles | false;
  connectTimeoutMs?: number;
  /** Streaming form: submit() refuses with reason 'backpressure' beyond this many commands unsettled. Default 2^20. */
  maxInFlight?: number;
}

const REMOTE_CLIENT_OPTION_NAMES = ['peers', 'clusterId', 'tls', 'connectTimeoutMs', 'maxInFlight'];

/** A peer's address in the peers option: a refusal here names the peer, not a failed connect later. */
function checkPeerAddress(id: number, a: unknown): void {
  if (!Number.isInteger(id) || id < 0) throw new TypeError(`option peers: peer id must be a non-negative integer, got ${JSON.stringify(id)}`);
  const addr = a as { host?: unknown; port?: unknown } | null;
  if (typeof addr?.host !== 'string' || addr.host === '') throw new TypeError(`option peers: peer ${id} needs a host (a non-empty string), got ${JSON.stringify(addr?.host)}`);
  if (typeof addr.port !== 'number' || !Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) {
    throw new RangeError(`option peers: peer ${id} needs a port (an integer 1-65535), got ${JSON.stringify(addr.port)}`);
  }
}

export type { FailReason } from '../cluster/client.js';
export { RemoteSession, RemoteSessionError, type RemoteSessionCommitted, type RemoteSessionOptions } from './remote-session.js';

export type RemoteFailReason = 'unknown' | 'invalid' | 'timeout' | 'closed' | 'refused' | 'backpressure';

export class RemoteProposalError extends Error {
  constructor(readonly reason: RemoteFailReason, message: string) {
    super(message);
    this.name = 'RemoteProposalError';
  }
}

/**
 * Why a read was not answered; none of them changed anything. 'query-failed': the state
 * machine's query() threw (the message is its error); 'no-query': the peers' state machine
 * has no query(); 'crashed' / 'stopped': the one peer named by `peer` could not be reached or
 * is stopping; 'closed': this client was closed.
 */
export type RemoteReadFailure = 'timeout' | 'closed' | 'refused' | 'query-failed' | 'no-query' | 'invalid' | 'crashed' | 'stopped';

export class RemoteReadError extends Error {
  constructor(readonly reason: RemoteReadFailure, message: string) {
    super(message);
    this.name = 'RemoteReadError';
  }
}

export interface RemoteReadOptions {
  /** Give up after this long, retrying meanwhile whatever left the read unserved. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * 'leader' (default): the read runs on the leader (ReadIndex, or a lease read on peers run
   * with --read-mode lease). 'follower': on any peer, round-robin; a follower asks the leader
   * for the read index and answers once it has applied that far.
   */
  mode?: 'leader' | 'follower';
  /** Send the read to this peer only (as a follower read where it does not lead): it fails rather than go elsewhere. */
  peer?: number;
  /** An attempt unanswered this long is sent again (to the next peer, unless `peer`). Default 1000 ms. */
  attemptTimeoutMs?: number;
}

export const DEFAULT_READ_TIMEOUT_MS = 5000;
export const DEFAULT_READ_ATTEMPT_TIMEOUT_MS = 1000;
/** The largest query: one read alone in a frame (kind byte, batch header, its length) at the peers' default frame limit. */
const MAX_READ_QUERY_BYTES = DEFAULT_MAX_FRAME_BYTES - 1 - BATCH_HEADER_BYTES - 4;
const REMOTE_READ_OPTION_NAMES: readonly string[] = ['timeoutMs', 'mode', 'peer', 'attemptTimeoutMs'];

/** A read's arguments, checked (TypeError, RangeError), with the defaults filled in: read() and submitRead() share them. */
export function checkReadArgs(query: unknown, options: RemoteReadOptions, peers: { has(peer: number): boolean }, ids: readonly number[]):
  { timeoutMs: number; attemptMs: number; mode: 'leader' | 'follower'; fixed: number | undefined } {
  if (!(query instanceof Uint8Array)) throw new TypeError(`a read query must be a Uint8Array, got ${query === null ? 'null' : typeof query}`);
  if (query.byteLength > MAX_READ_QUERY_BYTES) throw new RangeError(`a read query of ${query.byteLength} bytes exceeds the ${MAX_READ_QUERY_BYTES} bytes a read frame carries`);
  checkReadOptions(options, REMOTE_READ_OPTION_NAMES);
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  const attemptMs = options.attemptTimeoutMs ?? DEFAULT_READ_ATTEMPT_TIMEOUT_MS;
  if (typeof attemptMs !== 'number' || !(attemptMs > 0)) throw new RangeError(`option attemptTimeoutMs must be a positive number, got ${String(attemptMs)}`);
  const mode = options.mode ?? 'leader';
  if (mode !== 'leader' && mode !== 'follower') throw new RangeError(`option mode must be 'leader' or 'follower', got ${String(mode)}`);
  const fixed = options.peer;
  if (fixed !== undefined && !peers.has(fixed)) throw new RangeError(`option peer: ${String(fixed)} is not one of this client's peers (${ids.join(', ')})`);
  return { timeoutMs, attemptMs, mode, fixed };
}

export interface RemoteCommitted { index: number; term: number; result: Uint8Array | undefined }

export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;
/** With retryUnknown: how long one attempt waits for its answer before the command is sent again. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 2_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** An answer that never came: the connection went away with the request on it. */
const LOST = Symbol('lost');
/** No answer by the request's deadline. */
const TIMED_OUT = Symbol('timed out');
type Reply = RemoteAnswer | typeof LOST | typeof TIMED_OUT;
/** How often requests past their deadline are looked for (one timer per connection, not one per request). */
const SWEEP_MS = 20;

/** A proposal awaited as a promise (resolve), or a submitted one (seq, reported through the client's callbacks). */
interface Waiter { resolve: (r: Reply) => void; deadline: number }

/** A read's answer, with the answering peer's idea of the leader. */
interface ReadReply { outcome: ReadOutcome; bytes: Uint8Array; leaderHint: number }
interface ReadWaiter { resolve: (r: ReadReply | typeof LOST | typeof TIMED_OUT) => void; deadline: number }

/**
 * @internal What a RemoteSession gives its client: the length and bytes of each command's frame,
 * written straight into the batch frame when it leaves (no frame object per command), and
 * where its outcomes go. Each transmission of a seq gets exactly one of committed() or failed().
 */
export interface RemoteFrameOwner {
  /** A transmission unanswered this long (its connection silent meanwhile) is given up on: failed('unknown', -1). */
  readonly attemptTimeoutMs: number;
  frameLength(seq: number): number;
  /** Writes the frame of `seq` at buf[off, off + frameLength(seq)); `view` is a DataView over all of `buf`. */
  writeFrame(seq: number, buf: Uint8Array, view: DataView, off: number): void;
  /** `bytes[off, off + len)` is the apply result (bytes null: none). */
  committed(seq: number, index: number, term: number, bytes: Uint8Array | null, off: number, len: number): void;
  /** `detail`: an invalid command's reason, or the peer's refusal of this client. */
  failed(seq: number, reason: FailReason, leaderHint: number, detail: { refused: boolean; message: string } | null): void;
  /** The client was closed. */
  clientClosed(): void;
}

/**
 * A session's transmission waits in a connection's ReqWaiters as a negative number that
 * encodes its owner and seq (a raw submit() waits as its sequence number, >= 0): no object per
 * command. Owners are numbered below OWNER_SLOTS; seqs stay below 2^53 / OWNER_SLOTS.
 */
const OWNER_SLOTS = 1024;
const ownedSlot = (owner: number, seq: number) => -1 - (seq * OWNER_SLOTS + owner);
const slotOwner = (slot: number) => (-1 - slot) % OWNER_SLOTS;
const slotSeq = (slot: number) => Math.floor((-1 - slot) / OWNER_SLOTS);

/** Where a connection reports the outcomes of submitted (streaming) commands: raw ones by seq, owned ones by slot. */
interface StreamSink {
  committed(seq: number, index: number, term: number, result: Uint8Array | undefined): void;
  failed(seq: number, reason: FailReason, leaderHint: number): void;
  owner(slot: number): RemoteFrameOwner;
  /** Streamed reads (RemoteClient.submitRead), which wait in `reading` as their seq. */
  readonly reader: RemoteReader;
  /** The shortest attempt timeout of any owner or streamed read (a silence shorter than it gives nothing up: no scan). */
  minAttemptMs(): number;
}

/** Commands in one batch frame at most (its bytes are bounded too: BATCH_MAX_BYTES). */
const BATCH_MAX_COMMANDS = 16_384;
const BATCH_MAX_BYTES = 1024 * 1024;

class PeerConnection {
  /** Awaited proposals (Waiter) and submitted ones (their sequence number), by request id. */
  private readonly waiting = new ReqWaiters<Waiter>();
  /** Reads, by read request id (ids of their own: read answers come in frames of their own). */
  private readonly reading = new ReqWaiters<ReadWaiter>();
  /** Reads of this turn not sent yet, all of one op (READ_LEADER_OP or READ_ANY_OP), ids from queuedReadsFirstId. */
  private queuedReads: Uint8Array[] = [];
  private queuedReadsOp = READ_LEADER_OP;
  private queuedReadsFirstId = 0;
  /** Awaited requests and reads, which the sweeper times out. */
  private timed = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private isClosed = false;
  /** Hello sent: requests may go. */
  isReady = false;
  /** Why the peer refused this client (another cluster, a certificate it does not take), once it said so. */
  refusal: string | null = null;
  readonly ready: Promise<void>;
  /** Requests made in one turn of the event loop leave in one write. */
  private readonly out: FrameBatcher;
  /** Proposals of this turn, sent as batch frames at its end (or once the connection is ready); null: an owned frame, whose slot is in queuedSlots. */
  private queued: Array<Uint8Array | null> = [];
  private queuedSlots: number[] = [];
  /** Lengths of the commands of the batch frame being written (reused). */
  private readonly lengths: number[] = [];
  /** Owned (session) transmissions and streamed reads waiting here, and since when no answer came while there were some. */
  private ownedLive = 0;
  private readsLive = 0;
  private quietSince = 0;
  private readonly run = emptyRunHeader();
  private queuedFirstReqId = 0;
  private batchScheduled = false;
  /** Some proposal left on this connection (so a lost connection leaves their outcome unknown). */
  private sentAny = false;

  constructor(private readonly socket: net.Socket, peerId: number, clusterId: string, secure: boolean, timeoutMs: number, private readonly sink: StreamSink) {
    socket.setNoDelay(true);
    this.out = new FrameBatcher((b) => { if (!this.isClosed) socket.write(b); });
    const reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES, (kind, body) => {
      if (kind === FrameKind.Refused) { this.refusal = Buffer.from(body).toString(); socket.destroy(); return; }
      if (kind !== FrameKind.ClientResponse) throw new Error(`peer sent frame kind ${kind} to a client`);
      if (body[0] === RUN_STATUS) { this.onRun(body); return; }
      if (body[0] === READ_ANSWERS_STATUS) { this.onReadAnswers(body); return; }
      const a = decodeAnswer(body);
      const w = this.waiting.take(a.reqId);
      if (w !== undefined) this.settle(w, a);
    });
    this.ready = new Promise<void>((resolve, reject) => {
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`connect timed out after ${timeoutMs} ms`)));
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        socket.setTimeout(0);
        if (secure) {
          const why = refusePeerCert(socket as tls.TLSSocket, peerId);
          if (why) { socket.destroy(new Error(why)); return; }
        }
        socket.write(helloFrame({ role: HelloRole.Client, peerId: CLIENT_PEER_ID, clusterId }));
        this.isReady = true;
        this.sendBatches();
        resolve();
      });
      socket.once('close', () => reject(new Error('connection closed')));
    });
    this.ready.catch(() => {});
    socket.on('data', (chunk: Buffer) => {
      this.quietSince = performance.now();
      try { reader.push(chunk); } catch (e) { socket.destroy(e as Error); }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.isClosed = true;
      if (this.sweeper) clearInterval(this.sweeper);
      this.queued = [];
      this.queuedSlots = [];
      this.queuedReads = [];
      this.timed = 0;
      this.ownedLive = 0;
      this.readsLive = 0;
      const reason = this.sentAny ? 'unknown' : 'crashed';
      const refusal = this.refusal === null ? null : { refused: true, message: this.refusal };
      for (const w of this.waiting.takeAll()) {
        if (typeof w !== 'number') w.resolve(LOST);
        else if (w >= 0) this.sink.failed(w, reason, -1);
        else this.sink.owner(w).failed(slotSeq(w), reason, -1, refusal);
      }
      for (const w of this.reading.takeAll()) {
        if (typeof w !== 'number') w.resolve(LOST);
        else this.sink.reader.lost(w, this.refusal);
      }
    });
  }

  /** Commands waiting for their outcome on this connection (sent or about to be). */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** A run of answers to batched proposals, read in place (an owned command's result is handed over as a view). */
  private onRun(body: Uint8Array): void {
    const r = decodeRunHeader(body, this.run);
    const { count, firstReqId, firstIndex, term, outcome, leaderHint } = r;
    let data = r.resultsAt;
    for (let k = 0; k < count; k++) {
      let off = -1, len = 0;
      if (data >= 0) {
        const n = runResultLength(body, k);
        if (n >= 0) { off = data; len = n; data += n; }
      }
      const reqId = (firstReqId + k) >>> 0;
      const w = this.waiting.take(reqId);
      if (w === undefined) continue;
      if (typeof w !== 'number') {
        this.timed--;
        w.resolve({ status: outcome, reqId, leaderHint, index: firstIndex + k, term, result: off >= 0 ? body.slice(off, off + len) : undefined });
      } else if (w >= 0) {
        if (outcome === RemoteStatus.Committed) this.sink.committed(w, firstIndex + k, term, off >= 0 ? body.slice(off, off + len) : undefined);
        else this.sink.failed(w, streamFailReason(outcome), leaderHint);
      } else {
        this.ownedLive--;
        const owner = this.sink.owner(w);
        if (outcome === RemoteStatus.Committed) owner.committed(slotSeq(w), firstIndex + k, term, off >= 0 ? body : null, off, len);
        else owner.failed(slotSeq(w), streamFailReason(outcome), leaderHint, outcome === RemoteStatus.Invalid && off >= 0 ? { refused: false, message: Buffer.from(body.subarray(off, off + len)).toString() } : null);
      }
    }
  }

  /** A frame of read answers, walked in place (a streamed read's result is copied by the reader). */
  private onReadAnswers(body: Uint8Array): void {
    const { count, leaderHint } = checkReadAnswers(body);
    for (let k = 0, at = READ_ANSWERS_HEADER_BYTES; k < count; k++) {
      const n = readAnswerLength(body, at), from = at + READ_ANSWER_BYTES;
      const w = this.reading.take(readAnswerReqId(body, at));
      const outcome = readAnswerOutcome(body, at);
      at = from + n;
      if (w === undefined) continue; // an attempt given up on
      if (typeof w === 'number') { this.readsLive--; this.sink.reader.answered(w, outcome, body, from, n, leaderHint); continue; }
      this.timed--;
      w.resolve({ outcome, bytes: body.slice(from, from + n), leaderHint });
    }
  }

  /**
   * Queues a read for this turn's read frame: `anyPeer` false, the peer serves it only while it
   * leads; true, a follower asks the leader for the read index. Its answer settles `w`.
   */
  read(query: Uint8Array, anyPeer: boolean, w: ReadWaiter | number): void {
    if (this.isClosed) { if (typeof w === 'number') this.sink.reader.lost(w, this.refusal); else w.resolve(LOST); return; }
    const op = anyPeer ? READ_ANY_OP : READ_LEADER_OP;
    // One frame holds reads of one op with consecutive ids: another op starts the next frame.
    if (this.queuedReads.length > 0 && op !== this.queuedReadsOp) this.sendReads();
    const id = this.reading.add(w);
    if (this.queuedReads.length === 0) { this.queuedReadsFirstId = id; this.queuedReadsOp = op; }
    this.queuedReads.push(query);
    if (typeof w !== 'number') this.timed++;
    else if (this.readsLive++ + this.ownedLive === 0) this.quietSince = performance.now();
    this.sweeper ??= setInterval(this.sweepBound, SWEEP_MS).unref();
    if (!this.batchScheduled && this.isReady) { this.batchScheduled = true; process.nextTick(this.sendBatchesBound); }
  }

  /** Sends the queued reads as read frames, each within BATCH_MAX_COMMANDS and BATCH_MAX_BYTES. */
  private sendReads(): void {
    if (this.isClosed || !this.isReady || this.queuedReads.length === 0) return;
    const q = this.queuedReads, op = this.queuedReadsOp;
    let first = this.queuedReadsFirstId;
    this.queuedReads = [];
    for (let from = 0; from < q.length;) {
      let to = from, bytes = 0;
      while (to < q.length && to - from < BATCH_MAX_COMMANDS && (to === from || bytes + q[to].byteLength <= BATCH_MAX_BYTES)) bytes += q[to++].byteLength;
      const id = first, a = from, b = to;
      this.out.addEncoded(FrameKind.ClientRequest, batchRequestBytes(q, a, b), (buf, at) => writeBatchRequest(buf, at, id, q, a, b, op));
      first = (first + (to - from)) >>> 0;
      from = to;
    }
  }

  private settle(w: Waiter | number, a: RemoteAnswer): void {
    if (typeof w !== 'number') { this.timed--; w.resolve(a); }
    else if (w < 0) {
      this.ownedLive--;
      const owner = this.sink.owner(w);
      if (a.status === RemoteStatus.Committed) owner.committed(slotSeq(w), a.index, a.term, a.result ?? null, 0, a.result?.byteLength ?? 0);
      else owner.failed(slotSeq(w), streamFailReason(a.status), a.leaderHint, null);
    } else if (a.status === RemoteStatus.Committed) this.sink.committed(w, a.index, a.term, a.result);
    else this.sink.failed(w, streamFailReason(a.status), a.leaderHint);
  }

  /** Queues a proposal for this turn's batch frame; its answer settles `w` (a Waiter, or a submitted command's sequence number). */
  propose(command: Uint8Array, w: Waiter | number): void {
    const reqId = this.waiting.add(w);
    if (this.queued.length === 0) this.queuedFirstReqId = reqId;
    this.queued.push(command);
    this.queuedSlots.push(0);
    if (typeof w !== 'number') { this.timed++; this.sweeper ??= setInterval(this.sweepBound, SWEEP_MS).unref(); }
    if (!this.batchScheduled && this.isReady) { this.batchScheduled = true; process.nextTick(this.sendBatchesBound); }
  }

  /** Queues an owned command (`slot` from ownedSlot) for this turn's batch frame; its owner writes the frame when it leaves. */
  proposeOwned(slot: number): void {
    const reqId = this.waiting.add(slot);
    if (this.queued.length === 0) this.queuedFirstReqId = reqId;
    this.queued.push(null);
    this.queuedSlots.push(slot);
    // The silence an attempt timeout measures starts with the first transmission waiting here.
    if (this.ownedLive++ + this.readsLive === 0) this.quietSince = performance.now();
    this.sweeper ??= setInterval(this.sweepBound, SWEEP_MS).unref();
    if (!this.batchScheduled && this.isReady) { this.batchScheduled = true; process.nextTick(this.sendBatchesBound); }
  }

  private readonly sendBatchesBound = () => this.sendBatches();

  /** Sends what was queued as batch frames, each within BATCH_MAX_COMMANDS and BATCH_MAX_BYTES. */
  private sendBatches(): void {
    this.batchScheduled = false;
    this.sendReads();
    if (this.isClosed || !this.isReady || this.queued.length === 0) return;
    const q = this.queued, slots = this.queuedSlots, lengths = this.lengths, sink = this.sink;
    let first = this.queuedFirstReqId;
    this.queued = [];
    this.queuedSlots = [];
    this.sentAny = true;
    for (let from = 0; from < q.length;) {
      // An owned frame's length is taken here, as it is written: its header carries the session's current ack.
      let to = from, bytes = 0;
      while (to < q.length && to - from < BATCH_MAX_COMMANDS) {
        const c = q[to];
        const n = c !== null ? c.byteLength : sink.owner(slots[to]).frameLength(slotSeq(slots[to]));
        if (to > from && bytes + n > BATCH_MAX_BYTES) break;
        lengths[to - from] = n;
        bytes += n;
        to++;
      }
      const id = first, a = from, count = to - from;
      this.out.addEncoded(FrameKind.ClientRequest, BATCH_HEADER_BYTES + 4 * count + bytes, (buf, at) => {
        let data = writeBatchHead(buf, at, id, lengths, count);
        let view: DataView | null = null;
        for (let k = 0; k < count; k++) {
          const c = q[a + k];
          if (c !== null) buf.set(c, data);
          else {
            view ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
            const slot = slots[a + k];
            sink.owner(slot).writeFrame(slotSeq(slot), buf, view, data);
          }
          data += lengths[k];
        }
      });
      first = (first + count) >>> 0;
      from = to;
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  request(op: RemoteOp, payload: Uint8Array | undefined, deadline: number): Promise<Reply> {
    if (this.isClosed) return Promise.resolve(LOST);
    this.sweeper ??= setInterval(this.sweepBound, SWEEP_MS).unref();
    return new Promise((resolve) => {
      const reqId = this.waiting.add({ resolve, deadline });
      this.timed++;
      this.out.addEncoded(FrameKind.ClientRequest, requestBytes(payload), (b, at) => writeRequest(b, at, op, reqId, payload));
    });
  }

  private readonly sweepBound = () => this.sweep();

  private sweep(): void {
    const now = Date.now();
    for (const w of this.waiting.takeIf((x) => x.deadline <= now)) { this.timed--; w.resolve(TIMED_OUT); }
    for (const w of this.reading.takeIf((x) => x.deadline <= now)) { this.timed--; w.resolve(TIMED_OUT); }
    if (this.ownedLive > 0 || this.readsLive > 0) this.giveUpIfQuiet();
    if (this.timed === 0 && this.ownedLive === 0 && this.readsLive === 0 && this.sweeper) { clearInterval(this.sweeper); this.sweeper = null; }
  }

  /**
   * Owned transmissions and streamed reads on a connection that stayed silent past their
   * attempt timeout (a leader cut off from the others keeps proposals and reads pending) are
   * given up on: a session resends its commands elsewhere ('unknown'), the reader its reads;
   * an answer that comes later for one is ignored. Not connected yet by then: the peer is
   * given up on altogether.
   */
  private giveUpIfQuiet(): void {
    const quiet = performance.now() - this.quietSince;
    if (quiet <= this.sink.minAttemptMs()) return; // the usual case: answers keep coming
    const overdue = (n: number) => n < 0 && quiet > this.sink.owner(n).attemptTimeoutMs;
    const readOverdue = (n: number) => quiet > this.sink.reader.attemptTimeoutOf(n);
    if (!this.isReady) {
      // Closing reports everything waiting here ('crashed': nothing was sent).
      if (this.waiting.someNumber(overdue) || this.reading.someNumber(readOverdue)) this.socket.destroy();
      return;
    }
    const given = this.waiting.takeNumbersIf(overdue);
    const reads = this.reading.takeNumbersIf(readOverdue);
    if (given.length === 0 && reads.length === 0) return;
    this.ownedLive -= given.length;
    this.readsLive -= reads.length;
    this.quietSince = performance.now();
    for (const slot of given) this.sink.owner(slot).failed(slotSeq(slot), 'unknown', -1, null);
    for (const seq of reads) this.sink.reader.givenUp(seq);
  }

  close(): void {
    this.socket.destroy();
  }
}

export class RemoteClient {
  private readonly peers: Map<number, PeerAddress>;
  private readonly ids: number[];
  private readonly conns = new Map<number, PeerConnection>();
  private leaderGuess: number;
  private readonly clusterId: string;
  private isClosed = false;
  private nextSeq = 0;
  private streaming = 0;
  private readonly maxInFlight: number;
  /** Follower reads: the index in `ids` of the peer the next one goes to. */
  private nextReader = 0;
  /** Streamed reads (submitRead); declared before the sink, which hands them their answers. */
  private readonly reader: RemoteReader = new RemoteReader(this.readRouter());
  private readonly sink: StreamSink = {
    committed: (seq, index, _term, result) => { this.streaming--; this.onCommitted?.(seq, index, result); },
    failed: (seq, reason, hint) => {
      this.streaming--;
      if (reason === 'not-leader' && hint >= 0 && this.peers.has(hint)) this.leaderGuess = hint;
      this.onFailed?.(seq, reason, hint);
    },
    owner: (slot) => this.owners[slotOwner(slot)],
    reader: this.reader,
    minAttemptMs: () => Math.min(this.minOwnerAttemptMs, this.reader.minAttemptMs),
  };
  private minOwnerAttemptMs = Infinity;
  /** Sessions streaming through this client, by owner number. */
  private readonly owners: RemoteFrameOwner[] = [];
  /** Streaming form: called once for each submitted command that committed, with the apply result if there was one. */
  onCommitted: ((seq: number, index: number, result?: Uint8Array) => void) | null = null;
  /**
   * Streaming form: called once for each submitted command that did not commit: 'not-leader',
   * 'backpressure' (the leader is busy), 'invalid', 'crashed' (no connection: nothing was
   * sent), 'overwritten' (certainly not applied) and 'unknown' (it may or may not be
   * applied); `leaderHint` is the peer's idea of the leader (-1: none).
   */
  onFailed: ((seq: number, reason: FailReason, leaderHint: number) => void) | null = null;

  constructor(private readonly o: RemoteClientOptions) {
    checkCallOptionNames(o, REMOTE_CLIENT_OPTION_NAMES, 'new RemoteClient');
    this.peers = o.peers instanceof Map ? new Map(o.peers) : new Map(Object.entries(o.peers ?? {}).map(([k, v]) => [Number(k), v as PeerAddress]));
    if (this.peers.size === 0) throw new TypeError('option peers must name at least one peer');
    for (const [id, a] of this.peers) checkPeerAddress(id, a);
    if (o.connectTimeoutMs !== undefined && (typeof o.connectTimeoutMs !== 'number' || !(o.connectTimeoutMs > 0))) {
      throw new RangeError(`option connectTimeoutMs must be a positive number, got ${String(o.connectTimeoutMs)}`);
    }
    this.clusterId = o.clusterId ?? DEFAULT_CLUSTER_ID;
    checkClusterId(this.clusterId);
    if (o.tls !== false) checkTlsFiles(o.tls);
    this.ids = [...this.peers.keys()].sort((a, b) => a - b);
    this.leaderGuess = this.ids[0];
    this.maxInFlight = o.maxInFlight ?? 1 << 20;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError(`option maxInFlight must be a positive integer, got ${String(o.maxInFlight)}`);
  }

  private readRouter(): ReadRouter {
    const client = this;
    return {
      get ids() { return client.ids; },
      has: (peer) => this.peers.has(peer),
      leader: () => this.leaderGuess,
      followHint: (hint) => this.followHint(hint),
      rotateFrom: (peer) => this.tryNext(peer),
      send: (peer, query, anyPeer, seq) => this.openConnection(peer).read(query, anyPeer, seq),
    };
  }

  /**
   * The streaming form of read(): sends the read and returns its sequence number (a counter of
   * its own, apart from submit's); onReadDone(seq, result) or onReadFailed(seq, error) is
   * called with it exactly once, later (never inside this call), with what read() would
   * resolve or reject with, after the same retries. No promise per read. Bad arguments throw
   * here as for read() (TypeError, RangeError); a closed client throws RemoteReadError 'closed'.
   */
  submitRead(query: Uint8Array, options?: RemoteReadOptions): number {
    return this.reader.submitRead(query, options);
  }

  /** Called with each streamed read's result (submitRead). */
  get onReadDone(): ReadDoneListener | null { return this.reader.onReadDone; }
  set onReadDone(f: ReadDoneListener | null) { this.reader.onReadDone = f; }

  /** Called with each streamed read's failure (submitRead): a RemoteReadError, as read() rejects with. */
  get onReadFailed(): ReadFailedListener | null { return this.reader.onReadFailed; }
  set onReadFailed(f: ReadFailedListener | null) { this.reader.onReadFailed = f; }

  /** Streamed reads submitted and not settled yet. */
  get readsPending(): number {
    return this.reader.pending;
  }

  /** The peer the next proposal goes to first. */
  get leaderHint(): number {
    return this.leaderGuess;
  }

  /** The peer submit() sends to by default; follows 'not-leader' hints, and may be set. */
  get leader(): number {
    return this.leaderGuess;
  }

  set leader(id: number) {
    if (!this.peers.has(id)) throw new RangeError(`peer ${id} is not one of this client's peers (${this.ids.join(', ')})`);
    this.leaderGuess = id;
  }

  /** Submitted commands not yet reported through onCommitted or onFailed. */
  get pending(): number {
    return this.streaming;
  }

  /**
   * The streaming form: sends `command` to peer `to` (default: the believed leader) and
   * returns its sequence number; onCommitted or onFailed is called with it exactly once.
   * Nothing is retried. The commands submitted in one turn of the event loop leave in one
   * frame (and the peer answers them in runs). Throws RemoteProposalError 'backpressure'
   * beyond maxInFlight unsettled commands, and 'closed' once the client is closed.
   */
  submit(command: Uint8Array, to = this.leaderGuess): number {
    if (this.isClosed) throw new RemoteProposalError('closed', 'the client is closed');
    if (!(command instanceof Uint8Array)) throw new TypeError(`command must be a Uint8Array, got ${command === null ? 'null' : typeof command}`);
    if (!this.peers.has(to)) throw new RangeError(`peer ${to} is not one of this client's peers (${this.ids.join(', ')})`);
    if (this.streaming >= this.maxInFlight) throw new RemoteProposalError('backpressure', `${this.streaming} submitted commands unsettled (maxInFlight ${this.maxInFlight})`);
    const seq = this.nextSeq++;
    this.streaming++;
    this.openConnection(to).propose(command, seq);
    return seq;
  }

  /**
   * Proposes `command` and resolves with its index, term and apply result once committed.
   * Refusals that leave the command unapplied (not the leader, overwritten, busy, no
   * connection) are retried on the leader until the deadline; an unknown outcome rejects with
   * reason 'unknown' unless `retryUnknown` (only safe for commands the state machine
   * deduplicates, as RemoteSession's are); then an attempt unanswered for `attemptTimeoutMs`
   * (default 2 s) is sent again, to the next peer.
   */
  async propose(command: Uint8Array, options: { timeoutMs?: number; retryUnknown?: boolean; attemptTimeoutMs?: number } = {}): Promise<RemoteCommitted> {
    if (!(command instanceof Uint8Array)) throw new TypeError(`command must be a Uint8Array, got ${command === null ? 'null' : typeof command}`);
    checkCallOptionNames(options, ['timeoutMs', 'retryUnknown', 'attemptTimeoutMs'], 'propose');
    const timeoutMs = options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.isClosed) throw new RemoteProposalError('closed', 'the client is closed');
      if (Date.now() >= deadline) throw new RemoteProposalError('timeout', `not committed within ${timeoutMs} ms`);
      const target = this.leaderGuess;
      // An open connection is used at once: no promise per proposal for it.
      const open = this.conns.get(target);
      const conn = open && open.isReady && !open.closed ? open : await this.connection(target);
      if (!conn) { this.tryNext(target); await sleep(Math.min(50, 5 * 2 ** Math.min(attempt, 4))); continue; }
      // A retried command need not wait for a peer that went quiet (an isolated leader keeps
      // its proposals pending until it hears the new leader): after attemptTimeoutMs, try again.
      const attemptDeadline = options.retryUnknown ? Math.min(deadline, Date.now() + (options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS)) : deadline;
      const a = await new Promise<Reply>((resolve) => conn.propose(command, { resolve, deadline: attemptDeadline }));
      if (a === TIMED_OUT && attemptDeadline < deadline) { this.tryNext(target); continue; }
      if (a === TIMED_OUT) throw new RemoteProposalError('timeout', `not committed within ${timeoutMs} ms (the outcome is unknown)`);
      if (a === LOST && conn.refusal !== null) throw new RemoteProposalError('refused', `peer ${target} refused this client: ${conn.refusal}`);
      if (a === LOST) {
        this.tryNext(target);
        if (options.retryUnknown) continue;
        throw new RemoteProposalError('unknown', `connection to peer ${target} lost with the command in flight: it may or may not be applied`);
      }
      switch (a.status) {
        case RemoteStatus.Committed:
          return { index: a.index, term: a.term, result: a.result };
        case RemoteStatus.NotLeader:
        case RemoteStatus.Overwritten:
          if (a.leaderHint >= 0 && a.leaderHint !== target && this.peers.has(a.leaderHint)) this.leaderGuess = a.leaderHint;
          else { this.tryNext(target); await sleep(10); } // no leader known yet: an election is under way
          continue;
        case RemoteStatus.Busy:
          await sleep(Math.min(50, 2 ** Math.min(attempt, 5)));
          continue;
        case RemoteStatus.Unknown:
          if (options.retryUnknown) continue;
          throw new RemoteProposalError('unknown', `peer ${target} lost track of the command (leader change or crash): it may or may not be applied`);
        case RemoteStatus.Invalid:
          throw new RemoteProposalError('invalid', `peer ${target} refused the command: ${new TextDecoder().decode(a.result ?? new Uint8Array(0))}`);
        default:
          throw new RemoteProposalError('invalid', `unexpected answer status ${a.status} to a proposal`);
      }
    }
  }

  /**
   * A linearizable read: runs `query` against the state machine (its query() method) once the
   * peer has confirmed a read index and applied that far, and resolves with the result. The
   * reads of one turn to one peer leave in one frame and share one read index. Whatever left
   * the read unserved (not the leader, the leader lost or deposed before it confirmed the read,
   * a lost connection, an attempt unanswered for attemptTimeoutMs) is retried, following the
   * leader, until timeoutMs; never is a read answered from a deposed leader's state. Rejects
   * with RemoteReadError (see RemoteReadFailure).
   */
  async read(query: Uint8Array, options: RemoteReadOptions = NO_READ_OPTIONS): Promise<Uint8Array> {
    if (this.isClosed) throw new RemoteReadError('closed', 'the client is closed');
    const { timeoutMs, attemptMs, mode, fixed } = checkReadArgs(query, options, this.peers, this.ids);
    const anyPeer = mode === 'follower' || fixed !== undefined;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.isClosed) throw new RemoteReadError('closed', 'the client is closed');
      const now = Date.now();
      if (now >= deadline) throw new RemoteReadError('timeout', `read not answered within ${timeoutMs} ms`);
      const target = fixed ?? (mode === 'follower' ? this.ids[this.nextReader++ % this.ids.length] : this.leaderGuess);
      const open = this.conns.get(target);
      const conn = open && open.isReady && !open.closed ? open : await this.connection(target);
      if (!conn) {
        if (fixed !== undefined) throw new RemoteReadError('crashed', `peer ${target} cannot be reached`);
        this.tryNext(target);
        await sleep(Math.min(50, 5 * 2 ** Math.min(attempt, 4)));
        continue;
      }
      const attemptDeadline = Math.min(deadline, now + attemptMs);
      const r = await new Promise<ReadReply | typeof LOST | typeof TIMED_OUT>((resolve) => conn.read(query, anyPeer, { resolve, deadline: attemptDeadline }));
      if (r === TIMED_OUT) { if (fixed === undefined) this.tryNext(target); continue; }
      if (r === LOST) {
        if (conn.refusal !== null) throw new RemoteReadError('refused', `peer ${target} refused this client: ${conn.refusal}`);
        if (fixed !== undefined && !this.isClosed) throw new RemoteReadError('crashed', `connection to peer ${target} lost with the read in flight`);
        this.tryNext(target);
        continue;
      }
      const message = () => new TextDecoder().decode(r.bytes);
      switch (r.outcome) {
        case ReadOutcome.Ok:
          return r.bytes;
        case ReadOutcome.NotLeader:
        case ReadOutcome.LeaderLost:
          // Not served: follow the hint, or give an election under way a moment.
          if (fixed === undefined && r.leaderHint >= 0 && r.leaderHint !== target && this.peers.has(r.leaderHint)) this.leaderGuess = r.leaderHint;
          else { if (fixed === undefined) this.tryNext(target); await sleep(10); }
          continue;
        case ReadOutcome.Stopped:
          if (fixed !== undefined) throw new RemoteReadError('stopped', `peer ${target}: ${message()}`);
          this.tryNext(target);
          continue;
        case ReadOutcome.QueryFailed:
          throw new RemoteReadError('query-failed', message());
        case ReadOutcome.NoQuery:
          throw new RemoteReadError('no-query', message());
        default:
          throw new RemoteReadError('invalid', `peer ${target} refused the read: ${message()}`);
      }
    }
  }

  /** Asks one peer what it knows: its term, its leader, its commit index. */
  async status(peerId: number): Promise<{ term: number; leaderId: number; commitIndex: number } | null> {
    const conn = await this.connection(peerId);
    if (!conn) return null;
    const a = await conn.request(RemoteOp.Status, undefined, Date.now() + 5000);
    if (a === LOST || a === TIMED_OUT) return null;
    return { term: a.term, leaderId: a.leaderHint, commitIndex: a.index };
  }

  /** Opens an exactly-once session (the peers must run with --sessions); see RemoteSession. */
  session(options: RemoteSessionOptions = {}): Promise<RemoteSession> {
    return RemoteSession.open(this, options);
  }

  /** Closes every connection; what is in flight fails with reason 'closed' (sessions' commands through onFailed). */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    for (const o of this.owners) o.clientClosed();
    this.reader.close('the client is closed');
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** @internal Registers a session streaming through this client; returns its owner number. */
  addOwner(owner: RemoteFrameOwner): number {
    if (this.owners.length >= OWNER_SLOTS) throw new RangeError(`a RemoteClient carries at most ${OWNER_SLOTS} sessions; use another client`);
    this.owners.push(owner);
    this.minOwnerAttemptMs = Math.min(this.minOwnerAttemptMs, owner.attemptTimeoutMs);
    return this.owners.length - 1;
  }

  /**
   * @internal Sends owner `owner`'s command `seq` to the believed leader, in this turn's batch
   * frame (the owner writes its frame then); its outcome goes to the owner, once per call.
   * Throws RemoteProposalError 'closed' once the client is closed.
   */
  submitOwned(owner: number, seq: number): void {
    if (this.isClosed) throw new RemoteProposalError('closed', 'the client is closed');
    this.openConnection(this.leaderGuess).proposeOwned(ownedSlot(owner, seq));
  }

  /** @internal Follows a peer's leader hint (ignored when it names no peer of this client); returns whether it did. */
  followHint(hint: number): boolean {
    if (hint < 0 || !this.peers.has(hint)) return false;
    this.leaderGuess = hint;
    return true;
  }

  /** @internal The believed leader did not answer: try the next peer. */
  rotateLeader(): void {
    this.tryNext(this.leaderGuess);
  }

  private tryNext(failed: number): void {
    if (this.leaderGuess !== failed) return;
    this.leaderGuess = this.ids[(this.ids.indexOf(failed) + 1) % this.ids.length];
  }

  /** The connection to `id`, dialing it if there is none (it may not be ready yet). */
  private openConnection(id: number): PeerConnection {
    let c = this.conns.get(id);
    if (!c || c.closed) {
      const { host, port } = this.peers.get(id)!;
      const t = this.o.tls;
      const socket = t ? tls.connect({ host, port, cert: t.cert, key: t.key, ca: t.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined }) : net.connect({ host, port });
      c = new PeerConnection(socket, id, this.clusterId, !!t, this.o.connectTimeoutMs ?? 1000, this.sink);
      this.conns.set(id, c);
    }
    return c;
  }

  private async connection(id: number): Promise<PeerConnection | null> {
    const c = this.openConnection(id);
    try {
      await c.ready;
      return c;
    } catch {
      if (this.conns.get(id) === c) this.conns.delete(id);
      return null;
    }
  }
}

function streamFailReason(s: RemoteStatus): FailReason {
  switch (s) {
    case RemoteStatus.NotLeader: return 'not-leader';
    case RemoteStatus.Busy: return 'backpressure';
    case RemoteStatus.Overwritten: return 'overwritten';
    case RemoteStatus.Invalid: return 'invalid';
    default: return 'unknown';
  }
}
