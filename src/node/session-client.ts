/**
 * The client side of a session (pure logic: no I/O, no timers). It numbers commands, builds
 * their frames, remembers each command until its outcome is known so that it can be resent
 * with the same (seq, payload), and tracks ackedThrough: the highest seq such that the client
 * holds the outcome of it and of every seq below it, which each new frame carries so that the
 * state machine can discard those results.
 *
 * Use: propose registerFrame(); build a SessionClient from the result frame; for each command
 * call command(payload) and propose the frame; pass each result frame to onResult(seq, frame);
 * when an outcome is unknown (lost reply, leader change), propose retry(seq) - the state machine
 * applies a seq at most once and answers a resend with the stored result.
 */
import {
  SessionStatus, decodeFrame, decodeResult, encodeCompactCommand, encodeRegister, encodeUnregister, invalidReason,
  registeredClientId, statusName,
} from './session-protocol.js';

export type SessionOutcome =
  /** Applied (now, or before when `duplicate`); `result` is the user's result (empty for none). */
  | { kind: 'applied'; seq: number; result: Uint8Array; duplicate: boolean }
  /** The state machine had already discarded the result because this client acknowledged it. */
  | { kind: 'stale'; seq: number }
  /** Not applied: an earlier seq has not been applied yet. Resend the pending seqs in order. */
  | { kind: 'out-of-order'; seq: number }
  /** Not applied by this entry: the session is gone. Register again; earlier unknown outcomes stay unknown. */
  | { kind: 'expired'; seq: number }
  /** The state machine could not decode the frame (a bug, not a transient fault). */
  | { kind: 'invalid'; seq: number; reason: string };

export class SessionClient {
  private seqCounter = 0;
  private acked = 0;
  private isExpired = false;
  /** Frames of the commands whose outcome is not known yet, by seq (a retry takes the payload from it). */
  private readonly pending = new Map<number, Uint8Array>();
  /** Seqs above ackedThrough whose outcome is known (waiting for the gap below them to close). */
  private readonly received = new Set<number>();

  /** The frame that registers a new session; its result frame gives the client id. */
  static registerFrame(): Uint8Array {
    return encodeRegister();
  }

  /** A client for the session that a RegisterSession entry created, from that entry's result frame. */
  static fromRegistration(resultFrame: Uint8Array): SessionClient {
    return new SessionClient(registeredClientId(decodeResult(resultFrame)));
  }

  constructor(readonly clientId: number) {
    if (!Number.isSafeInteger(clientId) || clientId < 1) throw new RangeError(`clientId must be a safe integer >= 1, got ${clientId}`);
  }

  /** The seq the next command() will take. */
  get nextSeq(): number {
    return this.seqCounter + 1;
  }

  get ackedThrough(): number {
    return this.acked;
  }

  /** True once the state machine answered SessionExpired; the session cannot be used again. */
  get expired(): boolean {
    return this.isExpired;
  }

  /** Seqs whose outcome is not known yet, ascending (resend them in this order). */
  pendingSeqs(): number[] {
    return [...this.pending.keys()].sort((a, b) => a - b);
  }

  /**
   * Numbers a new command and returns its frame, a CompactCommand (varint header); the payload
   * is copied, so the caller may reuse its buffer.
   */
  command(payload: Uint8Array): { seq: number; frame: Uint8Array } {
    if (this.isExpired) throw new Error(`session ${this.clientId} has expired; register a new one`);
    const seq = this.seqCounter + 1;
    const frame = encodeCompactCommand(this.clientId, seq, this.acked, payload);
    this.seqCounter = seq;
    this.pending.set(seq, frame);
    return { seq, frame };
  }

  /**
   * A fresh frame for a pending seq: the same seq and payload, with the current ackedThrough
   * (< seq: acks only pass known outcomes). Encoded anew, since a varint header's length
   * changes with the ack.
   */
  retry(seq: number): Uint8Array {
    const kept = this.pending.get(seq);
    if (!kept) throw new RangeError(`seq ${seq} of session ${this.clientId} is not pending (its outcome is known, or it was never sent)`);
    return encodeCompactCommand(this.clientId, seq, this.acked, decodeFrame(kept).payload);
  }

  /** The frame that ends this session on the state machine. */
  unregisterFrame(): Uint8Array {
    return encodeUnregister(this.clientId);
  }

  /** Interprets the result frame of the entry that carried `seq`; throws SessionFrameError on a malformed frame. */
  onResult(seq: number, resultFrame: Uint8Array): SessionOutcome {
    const r = decodeResult(resultFrame);
    switch (r.status) {
      case SessionStatus.Applied:
      case SessionStatus.Duplicate:
        this.settle(seq);
        return { kind: 'applied', seq, result: r.body, duplicate: r.status === SessionStatus.Duplicate };
      case SessionStatus.Stale:
        this.settle(seq);
        return { kind: 'stale', seq };
      case SessionStatus.OutOfOrder:
        return { kind: 'out-of-order', seq };
      case SessionStatus.SessionExpired:
        this.isExpired = true;
        return { kind: 'expired', seq };
      case SessionStatus.Invalid:
        return { kind: 'invalid', seq, reason: invalidReason(r) };
      default:
        throw new RangeError(`a command's result cannot be ${statusName(r.status)}`);
    }
  }

  private settle(seq: number): void {
    if (!this.pending.delete(seq)) return; // a second answer for a seq already settled
    this.received.add(seq);
    while (this.received.delete(this.acked + 1)) this.acked++;
  }
}
