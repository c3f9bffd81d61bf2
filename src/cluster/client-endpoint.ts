import type { WireCause } from '../node/state-machine-error.js';
import { BackpressureError } from '../core/types.js';
import { TransferInProgressError } from '../core/leader-transfer.js';
import type { RaftNode } from '../node/raft-node.js';
import { Outcome } from '../node/proposal-tracker.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import type { BusyPoller } from '../transport/busy-poller.js';
import { ACK_BYTES, AckKind, InvalidReason, RESULT_HEADER_BYTES, allOneByte, uniformByte, encodeResult, encodeVariableRecord, writeAck, writeResultAt } from './client-protocol.js';

/** Longest run sent as one CommittedBytes record; a longer one goes as Result records. */
const MAX_BYTES_RUN = 1 << 16;

/**
 * The worker's side of the main thread's client: proposals arrive as raw command records on
 * a ring and are proposed in arrival order, tagged with their sequence number on the link.
 * Refusals are answered in runs at once; the outcome of each accepted proposal is decided
 * by the node's ProposalTracker and forwarded as it arrives (results first, then the
 * Committed run that covers them). Accepted proposals get no acknowledgement of their own:
 * the client has nothing to do until the outcome.
 */
export class ClientEndpoint {
  private readonly link: RingLink;
  private seq = 0;
  private readonly scratch = new Uint8Array(ACK_BYTES);
  private readonly outView: DataView;
  private wrote = false;
  // the run of refusals being answered in this drain
  private runKind = 0;
  private runReason = 0;
  private runFirstSeq = 0;
  private runCount = 0;
  /** Refusals were written during this drain: only then does the drain wake the client (never for nothing). */
  private refused = false;

  constructor(ends: RingLinkEnds, private readonly node: RaftNode, private readonly poller: BusyPoller | null = null) {
    this.link = new RingLink(ends, (link) => {
      link.in.drain(this.onProposalBound);
      this.endRun();
      if (this.refused) { this.refused = false; link.flush(); }
    });
    poller?.watch(this.link.in);
    this.outView = new DataView(this.link.out.bytes.buffer, this.link.out.bytes.byteOffset);
  }

  close(): void {
    this.poller?.unwatch(this.link.in);
    this.link.close();
  }

  /** The node's OutcomeListener for proposals of this link. */
  onOutcome(outcome: Outcome, firstTag: number, count: number, firstIndex: number, term: number,
    results: ReadonlyArray<Uint8Array | undefined> | null, resultOffset: number): void {
    const uniform = outcome === Outcome.Committed && results ? uniformByte(results, resultOffset, count) : -1;
    if (uniform >= 0) {
      this.ack(AckKind.CommittedUniform, firstTag, count, firstIndex, term, uniform);
      if (!this.wrote) { this.wrote = true; queueMicrotask(this.flushBound); }
      return;
    }
    if (outcome === Outcome.Committed && results && count <= MAX_BYTES_RUN && allOneByte(results, resultOffset, count)) {
      this.committedBytes(firstTag, count, firstIndex, term, results, resultOffset);
      if (!this.wrote) { this.wrote = true; queueMicrotask(this.flushBound); }
      return;
    }
    if (outcome === Outcome.Committed && results) {
      for (let k = 0; k < count; k++) {
        const r = results[resultOffset + k];
        if (r !== undefined) this.writeResult(firstTag + k, r);
      }
    }
    const kind = outcome === Outcome.Committed ? AckKind.Committed : outcome === Outcome.Overwritten ? AckKind.Overwritten : AckKind.Unknown;
    this.ack(kind, firstTag, count, firstIndex, term, 0);
    // Outcomes arrive while the node applies a batch; wake the client once per turn.
    if (!this.wrote) { this.wrote = true; queueMicrotask(this.flushBound); }
  }

  // A client told of its outcomes usually sends again at once (a closed loop): stay awake for it.
  private readonly flushBound = () => { this.wrote = false; this.link.flush(); this.poller?.expectAnswer(); };

  /** A Committed run whose results are one byte each, as one CommittedBytes record. */
  private committedBytes(firstTag: number, count: number, firstIndex: number, term: number,
    results: ReadonlyArray<Uint8Array | undefined>, resultOffset: number): void {
    const out = this.link.out;
    const len = ACK_BYTES + count;
    const off = this.link.canWriteInPlace ? out.tryReserve(len) : -1;
    const buf = off >= 0 ? out.bytes : new Uint8Array(len);
    const at = off >= 0 ? off : 0;
    writeAck(buf, at, AckKind.CommittedBytes, firstTag, count, firstIndex, term, this.node.core.leaderId);
    for (let k = 0; k < count; k++) buf[at + ACK_BYTES + k] = results[resultOffset + k]![0];
    if (off >= 0) out.commit();
    else this.link.write(buf);
  }

  /** A Result record, straight into the ring when it fits (one per applied proposal: no allocation). */
  private writeResult(seq: number, r: Uint8Array): void {
    const out = this.link.out;
    const off = this.link.canWriteInPlace ? out.tryReserve(RESULT_HEADER_BYTES + r.byteLength) : -1;
    if (off < 0) { this.link.write(encodeResult(seq, r)); return; }
    writeResultAt(this.outView, out.bytes, off, seq, r);
    out.commit();
  }

  /** The node stops on a fatal error: say why before the unknown outcomes that follow. */
  fatal(report: { message: string; stateMachine: { index: number; term: number; cause: WireCause } | null }): void {
    this.link.write(encodeVariableRecord(AckKind.Fatal, 0, new TextEncoder().encode(JSON.stringify(report))));
    this.link.flush();
  }

  private readonly onProposalBound = (buf: Uint8Array, off: number, len: number) => this.onProposal(buf, off, len);

  private onProposal(buf: Uint8Array, off: number, len: number): void {
    const seq = this.seq++;
    let kind = 0, reason = 0;
    try {
      if (this.node.proposeFrom(buf, off, len, seq)) return; // the outcome comes later
      kind = AckKind.NotLeader;
    } catch (e) {
      // A leader transfer refuses proposals for a moment: to the client it is back-pressure (retry soon).
      if (e instanceof BackpressureError || e instanceof TransferInProgressError) kind = AckKind.Backpressure;
      else {
        kind = AckKind.Invalid;
        const msg = (e as Error).message ?? '';
        reason = e instanceof TypeError ? InvalidReason.NotBytes : msg.includes('0-byte') ? InvalidReason.Empty : msg.includes('maxCommandBytes') ? InvalidReason.TooLarge : InvalidReason.Other;
      }
    }
    if (kind === this.runKind && reason === this.runReason && seq === this.runFirstSeq + this.runCount) { this.runCount++; return; }
    this.endRun();
    this.runKind = kind; this.runReason = reason; this.runFirstSeq = seq; this.runCount = 1;
  }

  private endRun(): void {
    if (this.runCount === 0) return;
    this.refused = true;
    this.ack(this.runKind, this.runFirstSeq, this.runCount, 0, this.node.core.term, this.runReason);
    this.runCount = 0;
    this.runKind = 0;
  }

  private ack(kind: AckKind, firstSeq: number, count: number, index: number, term: number, reason: number): void {
    writeAck(this.scratch, 0, kind, firstSeq, count, index, term, this.node.core.leaderId, reason);
    this.link.write(this.scratch);
  }
}
