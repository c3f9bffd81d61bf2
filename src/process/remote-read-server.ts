/**
 * A peer process's side of remote reads (remote-read-protocol.ts): the reads of one frame are
 * queued on the RaftNode under tags of their own and asked of the core together (one read
 * index, one heartbeat round); each outcome, as the node's onRead reports it, is collected per
 * connection and the answers of one turn leave in one frame.
 */
import type { RaftNode } from '../node/raft-node.js';
import type { ReadError } from '../node/read-tracker.js';
import type { ClientConnection } from '../transport/tcp-inbound.js';
import { decodeBatchRequest } from './remote-batch-protocol.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../transport/tcp-frame.js';
import { READ_ANSWERS_HEADER_BYTES, READ_ANSWER_BYTES, READ_LEADER_OP, ReadAnswerBatch, ReadOutcome } from './remote-read-protocol.js';
import { TagWaiters } from './tag-waiters.js';

const text = new TextEncoder();
/** A connection's answers leave early once they reach this many bytes (frames are at most 4 MiB). */
const MAX_ANSWER_FRAME_BYTES = 1024 * 1024;
/** The most an answer frame's body may hold (the kind byte aside): a client refuses a larger frame and drops the connection. */
const MAX_ANSWER_BODY_BYTES = DEFAULT_MAX_FRAME_BYTES - 1;
/** The largest result one answer can carry. */
const MAX_RESULT_BYTES = MAX_ANSWER_BODY_BYTES - READ_ANSWERS_HEADER_BYTES - READ_ANSWER_BYTES;

export class RemoteReadServer {
  /** Reads queued on the node, by read tag, until their outcome is known. */
  private readonly waiting = new TagWaiters();
  private readonly got: { conn: ClientConnection | null; reqId: number; batched: boolean } = { conn: null, reqId: 0, batched: false };
  /** Answers of this turn, by connection. */
  private pending = new Map<ClientConnection, ReadAnswerBatch>();
  private flushQueued = false;
  private readonly flushBound = () => this.flush();

  /** `node()`: the running node, or null before it started; `canQuery`: the state machine has query(). */
  constructor(private readonly node: () => RaftNode | null, private readonly peerId: number, private readonly canQuery: boolean) {}

  /** A read batch frame (op READ_LEADER_OP or READ_ANY_OP) from `conn`. */
  onBatch(conn: ClientConnection, body: Uint8Array): void {
    const op = body[0];
    let b;
    try { b = decodeBatchRequest(body, op); } catch (e) { conn.close((e as Error).message); return; }
    const node = this.node();
    const refuseAll = (outcome: ReadOutcome, message: string) => {
      const m = text.encode(message);
      for (let k = 0; k < b.count; k++) this.answer(conn, (b.firstReqId + k) >>> 0, outcome, m);
    };
    if (!node || node.isStopped) { refuseAll(ReadOutcome.Stopped, `peer ${this.peerId} is not running`); return; }
    if (!this.canQuery) { refuseAll(ReadOutcome.NoQuery, `peer ${this.peerId} cannot serve reads: its state machine has no query(query) method`); return; }
    if (op === READ_LEADER_OP && !node.core.isLeader) { refuseAll(ReadOutcome.NotLeader, `peer ${this.peerId} is not the leader`); return; }
    let queued = 0;
    for (let k = 0; k < b.count; k++) {
      const reqId = (b.firstReqId + k) >>> 0;
      const tag = this.waiting.add(conn, reqId, true);
      try {
        // A copy: the read keeps its query until it is served, the frame's bytes do not last.
        node.queueRead(b.body.slice(b.starts[k], b.starts[k + 1]), tag);
        queued++;
      } catch (e) {
        this.waiting.drop(tag);
        this.answer(conn, reqId, node.isStopped ? ReadOutcome.Stopped : ReadOutcome.Invalid, text.encode((e as Error).message));
      }
    }
    if (queued > 0) node.submitQueuedReads();
  }

  /** The node's onRead. */
  onRead(tag: number, ok: boolean, v: Uint8Array | ReadError): void {
    if (!this.waiting.take(tag, this.got)) return;
    const conn = this.got.conn!;
    if (ok && (v as Uint8Array).byteLength > MAX_RESULT_BYTES) {
      const message = `the state machine of peer ${this.peerId} answered the query with a result of ${(v as Uint8Array).byteLength} bytes, which exceeds the ${MAX_RESULT_BYTES} bytes a read answer frame can carry`;
      this.answer(conn, this.got.reqId, ReadOutcome.QueryFailed, text.encode(message));
      return;
    }
    if (ok) { this.answer(conn, this.got.reqId, ReadOutcome.Ok, v as Uint8Array); return; }
    const e = v as ReadError;
    const outcome = e.reason === 'leader-lost' ? ReadOutcome.LeaderLost : e.reason === 'stopped' ? ReadOutcome.Stopped : ReadOutcome.QueryFailed;
    this.answer(conn, this.got.reqId, outcome, text.encode(e.message));
  }

  private answer(conn: ClientConnection, reqId: number, outcome: ReadOutcome, bytes: Uint8Array): void {
    if (conn.closed) return;
    let batch = this.pending.get(conn);
    // What is collected leaves first if this answer would take the frame past the client's limit.
    if (batch && batch.byteLength + READ_ANSWER_BYTES + bytes.byteLength > MAX_ANSWER_BODY_BYTES) { conn.reply(batch.encode(this.node()?.core.leaderId ?? -1)); batch = undefined; }
    if (!batch) this.pending.set(conn, batch = new ReadAnswerBatch());
    batch.add(reqId, outcome, bytes);
    if (batch.byteLength >= MAX_ANSWER_FRAME_BYTES) { this.pending.delete(conn); conn.reply(batch.encode(this.node()?.core.leaderId ?? -1)); return; }
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushBound); }
  }

  private flush(): void {
    this.flushQueued = false;
    const pending = this.pending;
    this.pending = new Map();
    const hint = this.node()?.core.leaderId ?? -1;
    for (const [conn, batch] of pending) if (!conn.closed) conn.reply(batch.encode(hint));
  }
}
