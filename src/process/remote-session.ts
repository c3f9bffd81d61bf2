/**
 * An exactly-once client session over a RemoteClient (Raft dissertation, section 6.3), the TCP
 * counterpart of the worker cluster's ClientSession: each command carries the session's id and
 * a sequence number, the peers' session layer applies each (session, seq) once, in seq order,
 * and answers a resend with the stored result. So the session resends a command with the same
 * seq through lost connections, leader changes, unknown outcomes, back-pressure and attempts
 * left unanswered, until the command's deadline, and each takes effect exactly once.
 *
 * Streaming form: `submit(command)` returns the seq, and `onCommitted` or `onFailed` is called
 * with it exactly once. Outstanding commands live in typed arrays (SessionWindow) and their
 * frames are written straight into the client's batch frame when it leaves, so a command costs
 * no promise, no closure and no map entry. `propose()` is the promise form on top.
 *
 * Commands apply in seq order, so a command that fails for good (its deadline passed, the
 * session expired, the command was refused, the client closed) takes every later outstanding
 * one with it and closes the session: open a new one.
 */
import { CoarseClock } from '../cluster/coarse-clock.js';
import type { FailReason } from '../cluster/client.js';
import { SessionWindow } from '../cluster/session-window.js';
import { checkMaxOutstanding, checkSessionCommand, checkSessionOptionNames, outstandingMessage } from '../cluster/session-command-check.js';
import { SessionDeadlines } from '../cluster/session-deadlines.js';
import { stacklessError } from '../cluster/stackless-error.js';
import { SessionClient } from '../node/session-client.js';
import { COMMAND_HEADER_BYTES, SessionStatus, compactHeaderLength, putCompactHeader } from '../node/session-protocol.js';
import { DEFAULT_ATTEMPT_TIMEOUT_MS, DEFAULT_REMOTE_TIMEOUT_MS, RemoteProposalError, type RemoteClient, type RemoteFrameOwner } from './remote-client.js';
import { checkCallOptionNames } from '../cluster/call-options.js';

export interface RemoteSessionOptions {
  /** Registering the session, and the default deadline of each command (`session.timeoutMs`). Default 30,000 ms. */
  timeoutMs?: number;
  /** The peers' maxCommandBytes: a command may carry this minus the 25-byte session header. Default 1 MiB. */
  maxCommandBytes?: number;
  /** A transmission left unanswered this long (its connection silent) is sent again, to the next peer. Default 2,000 ms. */
  attemptTimeoutMs?: number;
  /** The most commands the session holds (submitted, not yet applied in seq order); submit throws RemoteSessionError 'backpressure' beyond. Default 2^20. */
  maxOutstanding?: number;
}

export interface RemoteSessionCommitted { index: number; term: number; result: Uint8Array; duplicate: boolean }

/**
 * Why a session command failed for good: 'timeout' (not applied by its deadline; it may still
 * be, exactly once), 'expired' (the cluster evicted the session), 'invalid' (refused: the
 * peers do not run with --sessions, or refused the frame), 'refused' (a peer refused this
 * client: another cluster id, a certificate it does not take), 'closed' (the client was closed).
 * And 'backpressure', thrown by submit only: the session holds maxOutstanding commands already;
 * nothing was sent and the session stays open.
 */
export class RemoteSessionError extends Error {
  constructor(readonly reason: 'expired' | 'invalid' | 'timeout' | 'closed' | 'refused' | 'backpressure', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RemoteSessionError';
  }
}

/** The result of a command whose apply returned nothing (zero bytes: nothing to share by mistake). */
const NO_RESULT = new Uint8Array(0);
const DEFAULT_MAX_COMMAND_BYTES = 1024 * 1024;
const OPTION_NAMES = new Set(['timeoutMs', 'maxCommandBytes', 'attemptTimeoutMs', 'maxOutstanding']);

interface Waiter { resolve: (r: RemoteSessionCommitted) => void; reject: (e: Error) => void }

export class RemoteSession implements RemoteFrameOwner {
  /** Called once per applied command: its log index, the state machine's result (empty for none), and whether an earlier transmission had already been applied. */
  onCommitted: ((seq: number, index: number, result: Uint8Array, duplicate: boolean) => void) | null = null;
  /** Called once per command that failed for good (see RemoteSessionError). */
  onFailed: ((seq: number, error: RemoteSessionError) => void) | null = null;
  /** Deadline of each submitted command, from its submit (default: the session's timeoutMs option). */
  timeoutMs: number;
  /** @internal */
  readonly attemptTimeoutMs: number;

  private readonly window = new SessionWindow();
  /** Deadlines are on performance.now()'s scale, read through this. */
  private readonly clock = new CoarseClock();
  private readonly ownerId: number;
  private readonly waiters = new Map<number, Waiter>();
  /** The seq submit() is sending (0: none); a failure of it is thrown, not reported. */
  private submitting = 0;
  private closedError: RemoteSessionError | null = null;
  /** Lowest seq that waits to be resent (Infinity: none); the resend walks up from it in seq order. */
  private resendFrom = Infinity;
  private resendTimer: NodeJS.Timeout | null = null;
  private resendAt = Infinity;
  private rotate = false;
  private tries = 0;
  private readonly deadlines = new SessionDeadlines(this.window, (seq) => this.timeout(seq));

  /** The most commands this session holds at once (the maxOutstanding option). */
  readonly maxOutstanding: number;

  private constructor(private readonly client: RemoteClient, readonly id: number, private readonly maxPayload: number, timeoutMs: number, attemptTimeoutMs: number, maxOutstanding: number) {
    this.timeoutMs = timeoutMs;
    this.maxOutstanding = maxOutstanding;
    this.attemptTimeoutMs = attemptTimeoutMs;
    this.ownerId = client.addOwner(this);
  }

  /** Registers a new session through the log (RemoteClient.session() calls this). */
  static async open(client: RemoteClient, options: RemoteSessionOptions = {}): Promise<RemoteSession> {
    checkSessionOptionNames(options, OPTION_NAMES);
    const timeoutMs = positive(options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS, 'timeoutMs');
    const attemptMs = positive(options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS, 'attemptTimeoutMs');
    const maxOutstanding = checkMaxOutstanding(options.maxOutstanding);
    const maxCommandBytes = options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES;
    if (!Number.isInteger(maxCommandBytes) || maxCommandBytes <= COMMAND_HEADER_BYTES) {
      throw new RangeError(`option maxCommandBytes must be an integer above the ${COMMAND_HEADER_BYTES}-byte session header, got ${String(maxCommandBytes)}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let r;
      try {
        r = await client.propose(SessionClient.registerFrame(), { timeoutMs: Math.max(1, deadline - Date.now()) });
      } catch (e) {
        // An unknown registration at worst leaves an unused session behind, which expires: register again.
        if (e instanceof RemoteProposalError && e.reason === 'unknown') continue;
        throw e;
      }
      if (!r.result) throw new RemoteSessionError('invalid', 'registering a session returned no result: do the peers run with --sessions?');
      return new RemoteSession(client, SessionClient.fromRegistration(r.result).clientId, maxCommandBytes - COMMAND_HEADER_BYTES, timeoutMs, attemptMs, maxOutstanding);
    }
  }

  /** Commands submitted whose outcome has not been reported yet. */
  get pending(): number {
    return this.window.outstanding();
  }

  /** Set once the session failed for good (or its client was closed); submit then throws it. */
  get closed(): RemoteSessionError | null {
    return this.closedError;
  }

  /**
   * Submits `command` and returns its seq; onCommitted or onFailed is called with it once.
   * Throws a TypeError (not a Uint8Array), a RangeError (larger than maxCommandBytes minus the
   * 25-byte session header; a bad timeoutMs), a RemoteSessionError 'backpressure'
   * (maxOutstanding commands held; the session stays open) or, once the session is closed, a
   * RemoteSessionError saying why; nothing is sent then.
   */
  submit(command: Uint8Array, timeoutMs: number = this.timeoutMs): number {
    if (this.closedError) throw new RemoteSessionError(this.closedError.reason, `session ${this.id} is closed: ${this.closedError.message}`);
    checkSessionCommand(command, this.maxPayload, timeoutMs, this.timeoutMs);
    if (this.window.size >= this.maxOutstanding) throw new RemoteSessionError('backpressure', outstandingMessage(this.id, this.window.size, this.maxOutstanding));
    const deadline = this.clock.now() + timeoutMs;
    const seq = this.window.add(command, deadline);
    this.deadlines.added(deadline);
    // Behind a pending resend, the resend walk sends it, in seq order.
    if (this.resendFrom === Infinity) {
      this.submitting = seq;
      try {
        this.transmit(seq);
      } finally {
        this.submitting = 0;
      }
      // The client is closed: that is said by throwing, not by a callback.
      if (this.closedError) throw this.closedError;
    }
    return seq;
  }

  /**
   * Proposes `command` once and resolves with its index, term and the state machine's result,
   * resending until `timeoutMs` (default session.timeoutMs). `duplicate` tells that the result
   * came from the session table (an earlier transmission had already been applied). Rejects
   * with RemoteSessionError; a failure closes the session as for submit().
   */
  propose(command: Uint8Array, options: { timeoutMs?: number } = {}): Promise<RemoteSessionCommitted> {
    let seq: number;
    try {
      checkCallOptionNames(options, ['timeoutMs'], 'session.propose');
      seq = this.submit(command, options.timeoutMs ?? this.timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.waiters.set(seq, { resolve, reject }));
  }

  // ---- RemoteFrameOwner: what the client calls

  /** The ack a frame of `seq` carries: what this client holds every result through, below seq (always so for an open seq). */
  private ackFor(seq: number): number {
    return Math.min(this.window.ackedThrough, seq - 1);
  }

  /** @internal */
  frameLength(seq: number): number {
    return compactHeaderLength(this.id, seq, this.ackFor(seq)) + this.window.payloadLength(seq);
  }

  /** @internal */
  writeFrame(seq: number, buf: Uint8Array, view: DataView, off: number): void {
    const at = putCompactHeader(buf, off, this.id, seq, this.ackFor(seq));
    this.window.copyPayload(seq, buf, view, at);
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
      const result = len > 1 ? bytes.slice(off + 1, off + len) : NO_RESULT;
      const duplicate = status === SessionStatus.Duplicate;
      if (this.waiters.size > 0) {
        const w = this.waiters.get(seq);
        if (w) { this.waiters.delete(seq); w.resolve({ index, term, result, duplicate }); return; }
      }
      this.onCommitted?.(seq, index, result, duplicate);
      return;
    }
    switch (status) {
      case SessionStatus.OutOfOrder: this.needResend(seq, 0, false); return; // an earlier seq was not applied yet
      case SessionStatus.SessionExpired:
        this.close(new RemoteSessionError('expired', `session ${this.id} has expired (evicted or inactive); open a new one. Command ${seq} was not applied`), seq);
        return;
      case SessionStatus.Invalid: {
        const reason = new TextDecoder().decode(bytes.subarray(off + 1, off + len));
        this.close(new RemoteSessionError('invalid', `session ${this.id} command ${seq} refused: ${reason}`), seq);
        return;
      }
      default: // Stale only answers a seq this client acknowledged, which is never an open one
        this.close(new RemoteSessionError('invalid', `session ${this.id} command ${seq}: unexpected session status ${status}: do the peers run with --sessions?`), seq);
    }
  }

  /** @internal */
  failed(seq: number, reason: FailReason, hint: number, detail: { refused: boolean; message: string } | null): void {
    if (!this.window.returned(seq)) return;
    if (detail?.refused) {
      this.close(new RemoteSessionError('refused', `a peer refused this client: ${detail.message}`), seq);
    } else if (reason === 'invalid') {
      this.close(new RemoteSessionError('invalid', `session ${this.id} command ${seq} refused by the peer: ${detail?.message ?? 'invalid'}`), seq);
    } else if ((reason === 'not-leader' || reason === 'overwritten' || reason === 'unknown') && this.client.followHint(hint)) {
      this.needResend(seq, 0, false); // the peer that answered knows who leads now
    } else {
      // No leader named: back off (an election takes a timeout or two), then try the next peer.
      this.needResend(seq, Math.min(100, 5 * 2 ** Math.min(this.tries, 5)), reason !== 'backpressure');
    }
  }

  /** @internal */
  clientClosed(): void {
    this.close(new RemoteSessionError('closed', 'the client is closed'), this.window.ackedThrough + 1);
  }

  // ---- sending

  private transmit(seq: number): boolean {
    try {
      this.client.submitOwned(this.ownerId, seq);
    } catch (e) {
      if (!(e instanceof RemoteProposalError)) throw e;
      this.close(new RemoteSessionError('closed', `session ${this.id}: ${e.message}`), seq);
      return false;
    }
    this.window.sent(seq, this.clock.now()); // (the connection, not the session, gives up on silent attempts)
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
      this.client.rotateLeader();
    }
    const now = performance.now();
    const from = this.resendFrom;
    this.resendFrom = Infinity;
    for (let s = from; s < this.window.next; s++) {
      if (!this.window.isOpen(s) || this.window.inFlightOf(s) > 0) continue;
      if (this.window.deadline(s) <= now) { this.timeout(s); return; }
      if (!this.transmit(s)) return;
    }
  };

  // ---- deadlines

  private timeout(seq: number): void {
    this.close(new RemoteSessionError('timeout', `session ${this.id} command ${seq} not applied within its deadline (it may still be applied, exactly once)`), seq);
  }

  // ---- failing for good

  /**
   * `first` failed for good with `error`: every later outstanding command fails too (commands
   * apply in seq order), and so does every later submit.
   */
  private close(error: RemoteSessionError, first: number): void {
    if (this.closedError) return;
    this.closedError = error;
    void error.stack; // formatted now: an unformatted stack keeps its frames' receivers (the closed client, its sockets) alive
    if (this.resendTimer) { clearTimeout(this.resendTimer); this.resendTimer = null; }
    this.deadlines.stop();
    const failing: number[] = [];
    for (let s = this.window.ackedThrough + 1; s < this.window.next; s++) if (this.window.isOpen(s)) failing.push(s);
    this.window.clear();
    for (const s of failing) {
      const e = s === first ? error
        : stacklessError(() => new RemoteSessionError(error.reason, `session ${this.id} command ${s} not applied: ${error.message}${s > first ? ' (commands apply in seq order)' : ''}`, { cause: error }));
      if (s === this.submitting) continue;
      const w = this.waiters.get(s);
      if (w) { this.waiters.delete(s); w.reject(e); } else this.onFailed?.(s, e);
    }
  }
}

function positive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`option ${name} must be a positive number of milliseconds, got ${String(v)}`);
  return v;
}

