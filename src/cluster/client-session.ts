import { COMMAND_HEADER_BYTES, compactHeaderLength, putCompactHeader } from '../node/session-protocol.js';
import { SessionClient } from '../node/session-client.js';
import { StateMachineError } from '../node/state-machine-error.js';
import { ClusterClient, DEFAULT_PROPOSE_TIMEOUT_MS, ProposalError, type FailReason, type FrameOwner, type ProposeOptions } from './client.js';
import { SessionBase, type SessionCommittedResult } from './session-base.js';
import { checkMaxOutstanding, checkSessionOptionNames } from './session-command-check.js';

export type SessionCommitted = SessionCommittedResult;

/**
 * Why a session command failed for good: 'timeout' (not applied by its deadline; it may still
 * be, exactly once), 'expired' (the cluster evicted the session), 'invalid' (the state machine
 * refused the frame), 'failed' (a peer's state machine threw applying it), 'stopped'. And
 * 'backpressure', thrown by submit only: the session holds maxOutstanding commands already;
 * nothing was sent and the session stays open.
 */
export class SessionError extends Error {
  constructor(readonly reason: 'expired' | 'invalid' | 'timeout' | 'stopped' | 'failed' | 'backpressure', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionError';
  }
}

/**
 * Default of ClientSession.resendAfterMs: a few election timeouts (the default election timeout
 * is 300-600 ms), far above a commit's latency even at saturation (tens of milliseconds).
 */
export const DEFAULT_RESEND_AFTER_MS = 2_000;

/** The silence before a resend doubles with each resend that brought no progress, up to this many times. */
const MAX_SILENCE_DOUBLINGS = 4;

/** What cluster.session() takes. */
export interface ClientSessionOptions {
  /** Registering the session, and the default deadline of each command (`session.timeoutMs`). Default 30,000 ms. */
  timeoutMs?: number;
  /** The most commands the session holds (submitted, not yet applied in seq order); submit throws SessionError 'backpressure' beyond. Default 2^20. */
  maxOutstanding?: number;
}

const OPTION_NAMES = new Set(['timeoutMs', 'maxOutstanding']);

/**
 * An exactly-once client session (Raft dissertation, section 6.3), on the main thread. Each
 * command carries the session's id and a sequence number; the state machine's session layer
 * applies each (session, seq) once, in seq order, and answers a resend with the stored result.
 * So the session resends through anything (leader changes, crashes, unknown outcomes, lost
 * links, back-pressure) until a command's deadline, and each command takes effect exactly once
 * (SessionBase: numbering, deadlines, answers, resends, failing for good).
 *
 * Streaming form: `submit(command)` returns the command's seq, and `onCommitted` or `onFailed`
 * is called with it exactly once. Frames are written straight into the leader's ring and the
 * outstanding commands are kept in typed arrays (SessionWindow), so a command costs no promise
 * and no object. Frames are CompactCommands (varint header, 6-10 bytes for 25). `propose()` is the promise form on top.
 *
 * Commands apply in seq order, so a command that fails for good (its deadline passed, the
 * session expired) takes every later outstanding one with it and closes the session: open a
 * new one.
 */
export class ClientSession extends SessionBase<SessionError> implements FrameOwner {
  /**
   * A command whose transmission got no answer for this long is sent again, to the next peer
   * (default 2,000 ms): a leader cut off from the other peers holds what it accepted, and
   * answers only once it hears of its successor. Safe at any time: the session table applies
   * each seq once. Each resend that brings no progress doubles the wait, up to 16x.
   */
  get resendAfterMs(): number { return this.silenceMs; }
  set resendAfterMs(ms: number) {
    if (typeof ms !== 'number' || !(ms > 0)) throw new RangeError(`resendAfterMs must be a positive number of milliseconds, got ${String(ms)}`);
    this.silenceMs = ms;
  }

  private readonly ownerId: number;
  /** The seq writeFrame writes (its payload is copied from the window, first transmission included). */
  private framing = 0;
  /** The buffer writeFrame last wrote into (a ring's bytes) and a DataView over it. */
  private frameBuf: Uint8Array | null = null;
  private frameView: DataView | null = null;
  /** Checks every resendAfterMs, while commands are outstanding, whether the oldest went unanswered. */
  private silenceMs = DEFAULT_RESEND_AFTER_MS;
  private silenceTimer: NodeJS.Timeout | null = null;
  /** Resends for silence since a command was last applied (see resendAfterMs). */
  private silentResends = 0;

  private constructor(private readonly client: ClusterClient, id: number, maxPayload: number, timeoutMs: number, maxOutstanding: number) {
    super(id, maxPayload, timeoutMs, maxOutstanding);
    this.ownerId = client.addOwner(this);
  }

  /** Registers a new session through the log. */
  static async open(client: ClusterClient, maxCommandBytes: number, options: ClientSessionOptions = {}): Promise<ClientSession> {
    checkSessionOptionNames(options, OPTION_NAMES);
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    const maxOutstanding = checkMaxOutstanding(options.maxOutstanding);
    const r = await client.propose(SessionClient.registerFrame(), { timeoutMs, retryUnknown: false } satisfies ProposeOptions);
    if (!r.result) throw new SessionError('invalid', 'registering a session returned no result: is the cluster started with { sessions: true }?');
    return new ClientSession(client, SessionClient.fromRegistration(r.result).clientId, maxCommandBytes - COMMAND_HEADER_BYTES, timeoutMs, maxOutstanding);
  }

  protected newError(reason: SessionError['reason'], message: string, options?: { cause?: unknown }): SessionError {
    return new SessionError(reason, message, options);
  }

  protected override progressed(): void {
    this.tries = 0;
    this.silentResends = 0;
  }

  protected override closing(): void {
    if (this.silenceTimer) { clearTimeout(this.silenceTimer); this.silenceTimer = null; }
  }

  protected rotateLeader(): void {
    this.client.leader = (this.client.leader + 1) % this.client.size;
  }

  // ---- FrameOwner: what the client calls

  /** @internal */
  writeFrame(buf: Uint8Array, off: number): void {
    const seq = this.framing;
    // ackedThrough < seq: seq is not applied. The length was computed by transmit() with the same values.
    const at = putCompactHeader(buf, off, this.id, seq, this.window.ackedThrough);
    // A ring's bytes stay the same array: its DataView is made once (a queued copy gets its own).
    if (buf !== this.frameBuf) { this.frameBuf = buf; this.frameView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }
    this.window.copyPayload(seq, buf, this.frameView!, at);
  }

  /** @internal */
  failed(seq: number, reason: FailReason, hint: number, cause: Error | undefined): void {
    if (!this.window.returned(seq)) return;
    if (reason === 'invalid') {
      this.close(new SessionError('invalid', `session ${this.id} command ${seq} refused by the peer: ${cause?.message ?? 'invalid'}`, { cause }), seq);
    } else if (cause instanceof StateMachineError) {
      // The peer's state machine threw applying an entry: every peer would throw on it too.
      this.close(new SessionError('failed', `session ${this.id} command ${seq}: ${cause.message}`, { cause }), seq);
    } else if (reason === 'not-leader' && hint >= 0) {
      this.needResend(seq, 0, false); // the client follows the hint already
    } else if ((reason === 'overwritten' || reason === 'unknown') && hint >= 0) {
      this.client.leader = hint; // the peer that answered knows who leads now
      this.needResend(seq, 0, false);
    } else {
      // No leader named: back off (an election takes a timeout or two), then try the next peer.
      this.needResend(seq, this.backoffMs(), reason !== 'backpressure');
    }
  }

  /** @internal */
  clientClosed(reason: string): void {
    this.close(new SessionError('stopped', reason), this.window.ackedThrough + 1);
    this.frameBuf = this.frameView = null; // a view of the closed ring would keep its memory
  }

  // ---- sending

  /** Sends `seq` once; `now` is the send time recorded (the caller's clock reading). */
  protected transmit(seq: number, now: number): boolean {
    this.framing = seq;
    try {
      const len = compactHeaderLength(this.id, seq, this.window.ackedThrough) + this.window.payloadLength(seq);
      this.client.submitFrame(this.ownerId, seq, len);
    } catch (e) {
      if (!(e instanceof ProposalError)) throw e;
      if (e.reason === 'stopped') { this.close(new SessionError('stopped', e.message, { cause: e }), seq); return false; }
      this.needResend(seq, this.backoffMs(), e.reason === 'crashed');
      return false;
    }
    this.window.sent(seq, now);
    if (this.silenceTimer === null) this.armSilence();
    return true;
  }

  // ---- silence: a transmission that gets no answer

  private armSilence(): void {
    this.silenceTimer = setTimeout(this.checkSilence, Math.min(this.silenceMs, 2 ** 31 - 1));
    this.silenceTimer.unref(); // as the deadline timer
  }

  /**
   * The oldest outstanding command blocks every later one (they apply in seq order): if its
   * last transmission has gone unanswered for the current silence limit, its transmissions and
   * those of the later ones sent as long ago are written off and sent again, to the next peer.
   */
  private readonly checkSilence = (): void => {
    this.silenceTimer = null;
    if (this.closed) return;
    let first = this.window.ackedThrough + 1;
    while (first < this.window.next && !this.window.isOpen(first)) first++;
    if (first >= this.window.next) return; // nothing outstanding: the next transmit arms it again
    const limit = this.silenceMs * 2 ** Math.min(this.silentResends, MAX_SILENCE_DOUBLINGS);
    const before = performance.now() - limit;
    if (this.window.inFlightOf(first) > 0 && this.window.sentTime(first) <= before) {
      this.silentResends++;
      for (let s = first; s < this.window.next; s++) {
        if (this.window.isOpen(s) && this.window.sentTime(s) <= before) this.window.abandon(s);
      }
      this.needResend(first, 0, true);
    }
    this.armSilence();
  };
}
