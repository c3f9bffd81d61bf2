import type { EntryBatch } from '../core/entry-batch.js';
import { BackpressureError } from '../core/types.js';
import type { RaftNode } from '../node/raft-node.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { ACK_BYTES, AckKind, writeAck } from './client-protocol.js';

interface Outstanding { firstSeq: number; firstIndex: number; count: number; term: number }

/**
 * The worker's side of the main thread's client: proposals arrive as raw command records on
 * a ring; they are appended in arrival order and answered in ranges (accepted with their
 * indexes, or refused), and once applied, acknowledged as committed. An entry counts as
 * committed only if the applied entry at its index has the term it was accepted in;
 * otherwise another leader overwrote it and it is reported lost.
 */
export class ClientEndpoint {
  private readonly link: RingLink;
  private seq = 0;
  private readonly outstanding: Outstanding[] = [];
  private readonly scratch = new Uint8Array(ACK_BYTES);
  // the run of proposals being answered in this drain
  private runKind = 0;
  private runFirstSeq = 0;
  private runCount = 0;
  private runIndex = 0;
  private runTerm = 0;

  constructor(ends: RingLinkEnds, private readonly node: RaftNode) {
    this.link = new RingLink(ends, (link) => {
      link.in.drain((buf, off, len) => this.onProposal(buf.subarray(off, off + len)));
      this.endRun();
      link.flush();
    });
  }

  close(): void {
    this.link.close();
  }

  /** Committed entries were applied on this peer: settle the proposals they cover. */
  onApplied(b: EntryBatch): void {
    const lo = b.firstIndex, hi = b.firstIndex + b.count - 1;
    let wrote = false;
    while (this.outstanding.length > 0) {
      const o = this.outstanding[0];
      if (o.firstIndex > hi) break;
      if (o.firstIndex < lo) { // covered by a snapshot we never saw as entries: outcome unknown to us
        const skip = Math.min(o.count, lo - o.firstIndex);
        this.ack(AckKind.Lost, o.firstSeq, skip, o.firstIndex, o.term);
        this.consume(o, skip);
        wrote = true;
        if (o.count === 0) this.outstanding.shift();
        continue;
      }
      const end = Math.min(hi, o.firstIndex + o.count - 1);
      let k = o.firstIndex;
      while (k <= end) {
        const ok = b.terms[k - lo] === o.term;
        let j = k;
        while (j + 1 <= end && (b.terms[j + 1 - lo] === o.term) === ok) j++;
        this.ack(ok ? AckKind.Committed : AckKind.Lost, o.firstSeq, j - k + 1, o.firstIndex, o.term);
        this.consume(o, j - k + 1);
        k = j + 1;
      }
      wrote = true;
      if (o.count === 0) this.outstanding.shift(); else break;
    }
    if (wrote) this.link.flush();
  }

  /** A snapshot replaced the state: proposals at or below it can no longer be checked. */
  onSnapshot(index: number): void {
    while (this.outstanding.length > 0 && this.outstanding[0].firstIndex <= index) {
      const o = this.outstanding[0];
      const n = Math.min(o.count, index - o.firstIndex + 1);
      this.ack(AckKind.Lost, o.firstSeq, n, o.firstIndex, o.term);
      this.consume(o, n);
      if (o.count === 0) this.outstanding.shift(); else break;
    }
    this.link.flush();
  }

  private consume(o: Outstanding, n: number): void {
    o.firstSeq += n;
    o.firstIndex += n;
    o.count -= n;
  }

  private onProposal(command: Uint8Array): void {
    const seq = this.seq++;
    let kind: AckKind;
    let index = 0, term = 0;
    try {
      const r = this.node.propose(command);
      if (r.isLeader) { kind = AckKind.Accepted; index = r.index; term = r.term; } else kind = AckKind.NotLeader;
    } catch (e) {
      kind = e instanceof BackpressureError ? AckKind.Backpressure : AckKind.Invalid;
    }
    if (kind === this.runKind && kind === AckKind.Accepted && term === this.runTerm && index === this.runIndex + this.runCount) {
      this.runCount++;
      return;
    }
    if (kind === this.runKind && kind !== AckKind.Accepted) { this.runCount++; return; }
    this.endRun();
    this.runKind = kind; this.runFirstSeq = seq; this.runCount = 1; this.runIndex = index; this.runTerm = term;
  }

  private endRun(): void {
    if (this.runCount === 0) return;
    if (this.runKind === AckKind.Accepted) {
      this.outstanding.push({ firstSeq: this.runFirstSeq, firstIndex: this.runIndex, count: this.runCount, term: this.runTerm });
    }
    this.ack(this.runKind, this.runFirstSeq, this.runCount, this.runIndex, this.runTerm);
    this.runCount = 0;
    this.runKind = 0;
  }

  private ack(kind: AckKind, firstSeq: number, count: number, index: number, term: number): void {
    writeAck(this.scratch, 0, kind, firstSeq, count, index, term, this.node.core.leaderId);
    this.link.write(this.scratch);
  }
}
