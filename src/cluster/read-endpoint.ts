import type { RaftNode } from '../node/raft-node.js';
import { ReadError } from '../node/read-tracker.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { ReadBatchWriter } from './read-batch-writer.js';
import { ANSWER_HEADER_BYTES, READ_LINK_ROUNDS_PER_TURN, READ_PUBLISH_ITEMS, ReadFailReason, ReadRecordKind, ReadRoute, encodeAnswer, forEachBatchItem, READ_HEADER_BYTES, readIdAt, readRouteAt, writeAnswerAt } from './read-protocol.js';

const text = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * The worker's side of the read link. The reads of one ring drain (Read records and ReadBatch
 * records) are queued on the RaftNode (tagged with their read ids) and asked of the core
 * together, so one read index and one heartbeat round serve the whole drain. The results of
 * one turn go back as one OkBatch record written in place, failures as answer records of
 * their own, and the main thread is woken once per turn. A leader-only read that reaches a
 * follower is refused at once with the leader it knows (the client follows it).
 */
export class ReadEndpoint {
  private readonly link: RingLink;
  private readonly inView: DataView;
  private readonly outView: DataView;
  private readonly results: ReadBatchWriter;
  private flushQueued = false;
  /** Something was written since the last wake-up: only then is the main thread woken (never for nothing). */
  private unflushed = false;
  private readonly flushBound = () => { this.flushQueued = false; this.flush(); };
  private readonly onReadBound = (buf: Uint8Array, off: number, len: number) => this.onRecord(buf, off, len);
  /** The record a batch's items are in (forEachBatchItem hands out offsets in it). */
  private batchBuf: Uint8Array | null = null;
  private batchRoute = ReadRoute.Leader;
  private readonly onBatchItemBound = (readId: number, at: number, n: number) => this.onRead(readId, this.batchRoute, this.batchBuf!, at, n);

  constructor(ends: RingLinkEnds, private readonly node: RaftNode, private readonly canQuery: boolean) {
    this.link = new RingLink(ends, (link) => {
      let n = 0;
      try {
        n = link.in.drain(this.onReadBound);
      } finally {
        if (n > 0) this.node.submitQueuedReads();
      }
      this.flush();
    }, READ_LINK_ROUNDS_PER_TURN);
    const inBytes = this.link.in.bytes, outBytes = this.link.out.bytes;
    this.inView = new DataView(inBytes.buffer, 0);
    this.outView = new DataView(outBytes.buffer, 0);
    this.results = new ReadBatchWriter(this.link, ReadRecordKind.OkBatch);
  }

  close(): void {
    this.results.abandon();
    this.link.close();
  }

  /** Publishes this turn's results and wakes the main thread if it sleeps. */
  private flush(): void {
    if (!this.unflushed) return;
    this.unflushed = false;
    this.results.end(this.node.core.leaderId);
    this.link.flush();
  }

  /** RaftNode's onRead for this link. */
  onOutcome(readId: number, ok: boolean, v: Uint8Array | ReadError): void {
    if (ok && ANSWER_HEADER_BYTES + (v as Uint8Array).byteLength > this.link.out.maxRecordBytes) {
      // Writing it would throw out of the node's read callback; the read fails alone instead.
      const most = this.link.out.maxRecordBytes - ANSWER_HEADER_BYTES;
      const message = `the state machine of peer ${this.node.id} answered the query with a result of ${(v as Uint8Array).byteLength} bytes, which exceeds the ${most} bytes a read answer can carry (the read link's rings are sized from maxCommandBytes)`;
      this.answer(readId, false, ReadFailReason.QueryFailed, text.encode(message));
    } else if (ok) {
      if (this.results.add(readId, 0, v as Uint8Array)) {
        this.unflushed = true;
        if (this.results.size >= READ_PUBLISH_ITEMS) this.flush(); // the main thread starts on these while we serve the rest
      } else {
        this.answer(readId, true, 0, v as Uint8Array);
      }
    } else {
      const e = v as ReadError;
      const reason = e.reason === 'leader-lost' ? ReadFailReason.LeaderLost : e.reason === 'stopped' ? ReadFailReason.Stopped : ReadFailReason.QueryFailed;
      this.answer(readId, false, reason, text.encode(e.message));
    }
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushBound); }
  }

  private onRecord(buf: Uint8Array, off: number, len: number): void {
    if (buf[off] === ReadRecordKind.ReadBatch) {
      this.batchBuf = buf;
      this.batchRoute = buf[off + 1] as ReadRoute;
      forEachBatchItem(this.inView, buf, off, len, this.onBatchItemBound);
      this.batchBuf = null;
      return;
    }
    const readId = readIdAt(this.inView, buf, off, len);
    this.onRead(readId, readRouteAt(buf, off), buf, off + READ_HEADER_BYTES, len - READ_HEADER_BYTES);
  }

  /** One read, its query at `buf[at, at + n)`. */
  private onRead(readId: number, route: ReadRoute, buf: Uint8Array, at: number, n: number): void {
    if (!this.canQuery) {
      this.answer(readId, false, ReadFailReason.NoQuery, text.encode(`peer ${this.node.id} cannot serve reads: its state machine has no query(query) method`));
      return;
    }
    if (route === ReadRoute.Leader && !this.node.core.isLeader) {
      this.answer(readId, false, ReadFailReason.NotLeader, text.encode(`peer ${this.node.id} is not the leader`));
      return;
    }
    try {
      this.node.queueRead(n === 0 ? EMPTY : buf.slice(at, at + n), readId);
    } catch (e) {
      this.answer(readId, false, this.node.isStopped ? ReadFailReason.Stopped : ReadFailReason.Invalid, text.encode((e as Error).message));
    }
  }

  /** One answer record of its own (a failure, or a result too large for a batch), after the results before it. */
  private answer(readId: number, ok: boolean, reason: number, bytes: Uint8Array): void {
    this.results.end(this.node.core.leaderId);
    this.unflushed = true;
    const out = this.link.out;
    const off = this.link.canWriteInPlace ? out.tryReserve(ANSWER_HEADER_BYTES + bytes.byteLength) : -1;
    if (off < 0) { this.link.write(encodeAnswer(readId, ok, reason, this.node.core.leaderId, bytes)); return; }
    writeAnswerAt(this.outView, out.bytes, off, readId, ok, reason, this.node.core.leaderId, bytes);
    out.commit();
  }
}
