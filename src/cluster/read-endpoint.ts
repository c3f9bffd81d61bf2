import type { RaftNode } from '../node/raft-node.js';
import { ReadError } from '../node/read-tracker.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { ReadFailReason, ReadRoute, decodeRead, encodeAnswer } from './read-protocol.js';

const text = new TextEncoder();

/**
 * The worker's side of the read link: each Read record becomes a RaftNode.read tagged with the
 * read's id, and its outcome goes back as one answer record. A leader-only read that reaches a
 * follower is refused at once with the leader it knows (the client follows it).
 */
export class ReadEndpoint {
  private readonly link: RingLink;
  private wrote = false;
  private readonly flushBound = () => { this.wrote = false; this.link.flush(); };

  constructor(ends: RingLinkEnds, private readonly node: RaftNode, private readonly canQuery: boolean) {
    this.link = new RingLink(ends, (link) => {
      link.in.drain((buf, off, len) => this.onRead(buf, off, len));
      link.flush();
    });
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
    const r = decodeRead(buf, off, len);
    if (!this.canQuery) {
      this.answer(r.readId, false, ReadFailReason.NoQuery, text.encode(`peer ${this.node.id} cannot serve reads: its state machine has no query(query) method`));
      return;
    }
    if (r.route === ReadRoute.Leader && !this.node.core.isLeader) {
      this.answer(r.readId, false, ReadFailReason.NotLeader, text.encode(`peer ${this.node.id} is not the leader`));
      return;
    }
    try {
      this.node.read(r.query, r.readId);
    } catch (e) {
      this.answer(r.readId, false, this.node.isStopped ? ReadFailReason.Stopped : ReadFailReason.Invalid, text.encode((e as Error).message));
    }
  }

  private answer(readId: number, ok: boolean, reason: number, bytes: Uint8Array): void {
    this.link.write(encodeAnswer(readId, ok, reason, this.node.core.leaderId, bytes));
  }
}
