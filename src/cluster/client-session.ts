import { COMMAND_HEADER_BYTES, SessionStatus, compactHeaderLength, putCompactHeader } from '../node/session-protocol.js';
import { SessionClient } from '../node/session-client.js';
import { StateMachineError } from '../node/state-machine-error.js';
import { ClusterClient, DEFAULT_PROPOSE_TIMEOUT_MS, ProposalError, type FailReason, type FrameOwner, type ProposeOptions } from './client.js';
import { CoarseClock } from './coarse-clock.js';
import { SessionWindow } from './session-window.js';
import { checkMaxOutstanding, checkSessionCommand, checkSessionOptionNames, outstandingMessage } from './session-command-check.js';
import { SessionDeadlines } from './session-deadlines.js';
import { stacklessError } from './stackless-error.js';
import { checkCallOptionNames } from './call-options.js';

export interface SessionCommitted { index: number; term: number; result: Uint8Array; duplicate: boolean }

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

/** The result of a command whose apply returned nothing (zero bytes: nothing to share by mistake). */
const NO_RESULT = new Uint8Array(0);

interface Waiter { resolve: (r: SessionCommitted) => void; reject: (e: Error) => void }

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
 * links, back-pressure) until a command's deadline, and each command takes effect exactly once.
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
export class ClientSession implements FrameOwner {
  /** Called once per applied command: its log index, the state machine's result (empty for none), and whether an earlier transmission had already been applied. */
  onCommitted: ((seq: number, index: number, result: Uint8Array, duplicate: boolean) => void) | null = null;
  /** Called once per command that failed for good (see SessionError). */
  onFailed: ((seq: number, error: SessionError) => void) | null = null;
  /** Deadline of each submitted command, from its submit (default 30,000 ms). */
  timeoutMs = DEFAULT_PROPOSE_TIMEOUT_MS;
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

  private readonly window = new SessionWindow();
  /** Deadlines are on performance.now()'s scale, read through this. */
  private readonly clock = new CoarseClock();
  private readonly ownerId: number;
  private readonly waiters = new Map<number, Waiter>();
  /** The status of a committedRun that is not a plain apply, as committed() takes it. */
  private readonly statusByte = new Uint8Array(1);
  /** The seq writeFrame writes (its payload is copied from the window, first transmission included). */
  private framing = 0;
  /** The buffer writeFrame last wrote into (a ring's bytes) and a DataView over it. */
  private frameBuf: Uint8Array | null = null;
  private frameView: DataView | null = null;
  /** The seq submit() is sending (0: none); a failure of it is thrown, not reported. */
  private submitting = 0;
  private closedError: SessionError | null = null;
  /** Lowest seq that waits to be resent (Infinity: none); the resend walks up from it in seq order. */
  private resendFrom = Infinity;
  private resendTimer: NodeJS.Timeout | null = null;
  private resendAt = Infinity;
  private rotate = false;
  private tries = 0;
  private readonly deadlines = new SessionDeadlines(this.window, (seq) => this.timeout(seq));
  /** Checks every resendAfterMs, while commands are outstanding, whether the oldest went unanswered. */
  private silenceMs = DEFAULT_RESEND_AFTER_MS;
  private silenceTimer: NodeJS.Timeout | null = null;
  /** Resends for silence since a command was last applied (see resendAfterMs). */
  private silentResends = 0;

  /** The most commands this session holds at once (the maxOutstanding option). */
  readonly maxOutstanding: number;

  private constructor(private readonly client: ClusterClient, readonly id: number, private readonly maxPayload: number, timeoutMs: number, maxOutstanding: number) {
    this.ownerId = client.addOwner(this);
    this.timeoutMs = timeoutMs;
    this.maxOutstanding = maxOutstanding;
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

  /** Commands submitted whose outcome has not been reported yet. */
  get pending(): number {
    return this.window.outstanding();
  }

  /** Set once the session failed for good (or its cluster stopped); submit then throws it. */
  get closed(): SessionError | null {
    return this.closedError;
  }

  /**
   * Submits `command` and returns its seq; onCommitted or onFailed is called with it once.
   * Throws a TypeError (not a Uint8Array), a RangeError (larger than maxCommandBytes minus the
   * 25-byte session header; a bad timeoutMs), a SessionError 'backpressure' (maxOutstanding
   * commands held; the session stays open) or the SessionError that closed the session;
   * nothing is sent then.
   */
  submit(command: Uint8Array, timeoutMs: number = this.timeoutMs): number {
    if (this.closedError) throw new SessionError(this.closedError.reason, `session ${this.id} is closed: ${this.closedError.message}`);
    checkSessionCommand(command, this.maxPayload, timeoutMs, this.timeoutMs);
    if (this.window.size >= this.maxOutstanding) throw new SessionError('backpressure', outstandingMessage(this.id, this.window.size, this.maxOutstanding));
    const now = this.clock.now(); // one reading for the deadline and the send time
    const deadline = now + timeoutMs;
    const seq = this.window.add(command, deadline);
    this.deadlines.added(deadline);
    // Behind a pending resend, the resend walk sends it, in seq order.
    if (this.resendFrom === Infinity) {
      this.submitting = seq;
      try {
        this.transmit(seq, now);
      } finally {
        this.submitting = 0;
      }
      // The cluster is stopped: that is said by throwing, not by a callback.
      if (this.closedError) throw this.closedError;
    }
    return seq;
  }

  /**
   * Proposes `command` once and resolves with its index, term and the state machine's
   * result, resending until `timeoutMs` (default 30 s). `duplicate` tells that the result came
   * from the session table (an earlier transmission had already been applied).
   */
  propose(command: Uint8Array, options: { timeoutMs?: number } = {}): Promise<SessionCommitted> {
    let seq: number;
    try {
      checkCallOptionNames(options, ['timeoutMs'], 'session.propose');
      seq = this.submit(command, options.timeoutMs ?? this.timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.waiters.set(seq, { resolve, reject }));
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
  committed(seq: number, index: number, term: number, bytes: Uint8Array | null, off: number, len: number): void {
    if (!this.window.returned(seq)) return; // applied already (this was a second transmission), or closed
    // A commit known only through a snapshot carries no result: resend, the table answers.
    if (bytes === null || len === 0) { this.needResend(seq, 0, false); return; }
    const status = bytes[off];
    if (status === SessionStatus.Applied || status === SessionStatus.Duplicate) {
      this.window.markApplied(seq);
      this.tries = 0;
      this.silentResends = 0;
      this.deliver(seq, index, term, len > 1 ? bytes.slice(off + 1, off + len) : NO_RESULT, status === SessionStatus.Duplicate);
      return;
    }
    switch (status) {
      case SessionStatus.OutOfOrder: this.needResend(seq, 0, false); return; // an earlier seq was not applied yet
      case SessionStatus.SessionExpired:
        this.close(new SessionError('expired', `session ${this.id} has expired (evicted or inactive); open a new one. Command ${seq} was not applied`), seq);
        return;
      case SessionStatus.Invalid: {
        const reason = new TextDecoder().decode(bytes.subarray(off + 1, off + len));
        this.close(new SessionError('invalid', `session ${this.id} command ${seq} refused: ${reason}`), seq);
        return;
      }
      case SessionStatus.Stale: // only for a seq this client acknowledged, which is never an open one
      default:
        this.close(new SessionError('invalid', `session ${this.id} command ${seq}: unexpected session status ${status}`), seq);
    }
  }

  /** @internal */
  committedRun(first: number, count: number, index: number, term: number, status: number): void {
    if (status !== SessionStatus.Applied && status !== SessionStatus.Duplicate) {
      const one = this.statusByte;
      for (let k = 0; k < count; k++) {
        one[0] = status; // (a callback may have used it meanwhile)
        this.committed(first + k, index + k, term, one, 0, 1);
      }
      return;
    }
    const duplicate = status === SessionStatus.Duplicate, window = this.window;
    for (let k = 0; k < count; k++) {
      const seq = first + k;
      if (!window.returned(seq)) continue; // as in committed()
      window.markApplied(seq);
      this.tries = 0;
      this.silentResends = 0;
      this.deliver(seq, index + k, term, NO_RESULT, duplicate);
    }
  }

  /** Hands the outcome of an applied `seq` to its propose() or to onCommitted. */
  private deliver(seq: number, index: number, term: number, result: Uint8Array, duplicate: boolean): void {
    if (this.waiters.size > 0) {
      const w = this.waiters.get(seq);
      if (w) { this.waiters.delete(seq); w.resolve({ index, term, result, duplicate }); return; }
    }
    this.onCommitted?.(seq, index, result, duplicate);
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
      this.needResend(seq, Math.min(100, 5 * 2 ** Math.min(this.tries, 5)), reason !== 'backpressure');
    }
  }

  /** @internal */
  clientClosed(reason: string): void {
    this.close(new SessionError('stopped', reason), this.window.ackedThrough + 1);
    this.frameBuf = this.frameView = null; // a view of the closed ring would keep its memory
  }

  // ---- sending

  /** Sends `seq` once; `now` is the send time recorded (the caller's clock reading). */
  private transmit(seq: number, now: number): boolean {
    this.framing = seq;
    try {
      const len = compactHeaderLength(this.id, seq, this.window.ackedThrough) + this.window.payloadLength(seq);
      this.client.submitFrame(this.ownerId, seq, len);
    } catch (e) {
      if (!(e instanceof ProposalError)) throw e;
      if (e.reason === 'stopped') { this.close(new SessionError('stopped', e.message, { cause: e }), seq); return false; }
      this.needResend(seq, Math.min(100, 5 * 2 ** Math.min(this.tries, 5)), e.reason === 'crashed');
      return false;
    }
    this.window.sent(seq, now);
    if (this.silenceTimer === null) this.armSilence();
    return true;
  }

  /** `seq` must be sent again (once no transmission of it is in flight), after `delayMs`. */
  private needResend(seq: number, delayMs: number, rotate: boolean): void {
    if (this.window.inFlightOf(seq) > 0) return; // that transmission may still apply it
    if (seq < this.resendFrom) this.resendFrom = seq;
    if (rotate) this.rotate = true;
    const at = performance.now() + delayMs;
    if (this.resendTimer) {
      if (at >= this.resendAt) return;
      clearTimeout(this.resendTimer);
    }
    this.resendAt = at;
    this.resendTimer = setTimeout(this.resend, delayMs);
  }

  /** Sends, in seq order, every outstanding command from resendFrom up that has no transmission in flight. */
  private readonly resend = (): void => {
    this.resendTimer = null;
    this.resendAt = Infinity;
    if (this.closedError) return;
    this.tries++;
    if (this.rotate) {
      this.rotate = false;
      this.client.leader = (this.client.leader + 1) % this.client.size;
    }
    const now = performance.now();
    const from = this.resendFrom;
    this.resendFrom = Infinity;
    for (let s = from; s < this.window.next; s++) {
      if (!this.window.isOpen(s) || this.window.inFlightOf(s) > 0) continue;
      if (this.window.deadline(s) <= now) { this.timeout(s); return; }
      if (!this.transmit(s, now)) return; // it rescheduled the resend from s
    }
  };

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
    if (this.closedError) return;
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

  // ---- deadlines

  private timeout(seq: number): void {
    this.close(new SessionError('timeout', `session ${this.id} command ${seq} not applied by its deadline (it may still be applied, exactly once)`), seq);
  }

  // ---- failing for good

  /**
   * `first` failed for good with `error`: every later outstanding command fails too (commands
   * apply in seq order), and so does every later submit.
   */
  private close(error: SessionError, first: number): void {
    if (this.closedError) return;
    this.closedError = error;
    void error.stack; // formatted now: an unformatted stack keeps its frames' receivers (the stopped cluster, its rings) alive
    if (this.resendTimer) { clearTimeout(this.resendTimer); this.resendTimer = null; }
    this.deadlines.stop();
    if (this.silenceTimer) { clearTimeout(this.silenceTimer); this.silenceTimer = null; }
    const failing: number[] = [];
    for (let s = this.window.ackedThrough + 1; s < this.window.next; s++) if (this.window.isOpen(s)) failing.push(s);
    this.window.clear();
    for (const s of failing) {
      const e = s === first ? error
        : stacklessError(() => new SessionError(error.reason, `session ${this.id} command ${s} not applied: ${error.message}${s > first ? ' (commands apply in seq order)' : ''}`, { cause: error }));
      if (s === this.submitting) continue;
      const w = this.waiters.get(s);
      if (w) { this.waiters.delete(s); w.reject(e); } else this.onFailed?.(s, e);
    }
  }
}

