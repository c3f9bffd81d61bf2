import type { RaftNode } from '../node/raft-node.js';
import { ReadError } from '../node/read-tracker.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { ANSWER_HEADER_BYTES, ReadFailReason, ReadRoute, encodeAnswer, readIdAt, readQueryAt, readRouteAt, writeAnswerAt } from './read-protocol.js';

const text = new TextEncoder();

/**
 * The worker's side of the read link. The Read records of one ring drain are queued on the
 * RaftNode (tagged with their read ids) and asked of the core together, so one read index
 * and one heartbeat round serve the whole drain; each outcome goes back as one answer record
 * written in place, and the main thread is woken once per turn. A leader-only read that
 * reaches a follower is refused at once with the leader it knows (the client follows it).
 */
export class ReadEndpoint {
  private readonly link: RingLink;
  private readonly inView: DataView;
  private readonly outView: DataView;
  private wrote = false;
  private readonly flushBound = () => { this.wrote = false; this.link.flush(); };
  private readonly onReadBound = (buf: Uint8Array, off: number, len: number) => this.onRead(buf, off, len);

  constructor(ends: RingLinkEnds, private readonly node: RaftNode, private readonly canQuery: boolean) {
    this.link = new RingLink(ends, (link) => {
      let n = 0;
      try {
        n = link.in.drain(this.onReadBound);
      } finally {
        if (n > 0) this.node.submitQueuedReads();
      }
      link.flush();
    });
    const inBytes = this.link.in.bytes, outBytes = this.link.out.bytes;
    this.inView = new DataView(inBytes.buffer, 0);
    this.outView = new DataView(outBytes.buffer, 0);
  }

  close(): void {
    this.link.close();
  }

  /** RaftNode's onRead for this link. */
  onOutcome(readId: number, ok: boolean, v: Uint8Array | ReadError): void {
    if (ok) this.answer(readId, true, 0, v as Uint8Array);
    else {
      const e = v as ReadError;
      const reason = e.reason === 'leader-lost' ? ReadFailReason.LeaderLost : e.reason === 'stopped' ? ReadFailReason.Stopped : ReadFailReason.QueryFailed;
      this.answer(readId, false, reason, text.encode(e.message));
    }
    if (!this.wrote) { this.wrote = true; queueMicrotask(this.flushBound); }
  }

  private onRead(buf: Uint8Array, off: number, len: number): void {
    const readId = readIdAt(this.inView, buf, off, len);
    if (!this.canQuery) {
      this.answer(readId, false, ReadFailReason.NoQuery, text.encode(`peer ${this.node.id} cannot serve reads: its state machine has no query(query) method`));
      return;
    }
    if (readRouteAt(buf, off) === ReadRoute.Leader && !this.node.core.isLeader) {
      this.answer(readId, false, ReadFailReason.NotLeader, text.encode(`peer ${this.node.id} is not the leader`));
      return;
    }
    try {
      this.node.queueRead(readQueryAt(buf, off, len), readId);
    } catch (e) {
      this.answer(readId, false, this.node.isStopped ? ReadFailReason.Stopped : ReadFailReason.Invalid, text.encode((e as Error).message));
    }
  }

  private answer(readId: number, ok: boolean, reason: number, bytes: Uint8Array): void {
    const out = this.link.out;
    const off = this.link.canWriteInPlace ? out.tryReserve(ANSWER_HEADER_BYTES + bytes.byteLength) : -1;
    if (off < 0) { this.link.write(encodeAnswer(readId, ok, reason, this.node.core.leaderId, bytes)); return; }
    writeAnswerAt(this.outView, out.bytes, off, readId, ok, reason, this.node.core.leaderId, bytes);
    out.commit();
  }
}
