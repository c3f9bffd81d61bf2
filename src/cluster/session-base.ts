import { SessionStatus } from '../node/session-protocol.js';
import { checkCallOptionNames } from './call-options.js';
import { CoarseClock } from './coarse-clock.js';
import { checkSessionCommand, outstandingMessage } from './session-command-check.js';
import { SessionDeadlines } from './session-deadlines.js';
import { SessionWindow } from './session-window.js';
import { stacklessError } from './stackless-error.js';

/** What a session command resolves with: its log index and term, the state machine's result, and whether an earlier transmission had been applied. */
export interface SessionCommittedResult { index: number; term: number; result: Uint8Array; duplicate: boolean }

/** The reasons every session shares; each transport adds its own ('stopped', 'failed'; 'closed', 'refused'). */
export type CommonSessionReason = 'expired' | 'invalid' | 'timeout' | 'backpressure';

/** The result of a command whose apply returned nothing (zero bytes: nothing to share by mistake). */
const NO_RESULT = new Uint8Array(0);

interface Waiter { resolve: (r: SessionCommittedResult) => void; reject: (e: Error) => void }

/**
 * The client half of exactly-once sessions (Raft dissertation, section 6.3), whatever carries
 * the frames: numbering and holding commands (SessionWindow), their deadlines, the answers of
 * the peers' session layer, resending in seq order, and failing for good. The worker cluster's
 * ClientSession and the TCP RemoteSession differ only in how a frame is sent, how a refusal
 * from a peer is read, and the class of their errors.
 *
 * Commands apply in seq order, so a command that fails for good (its deadline passed, the
 * session expired, the command was refused, the client stopped) takes every later outstanding
 * one with it and closes the session.
 */
export abstract class SessionBase<E extends Error & { readonly reason: string }> {
  /** Called once per applied command: its log index, the state machine's result (empty for none), and whether an earlier transmission had already been applied. */
  onCommitted: ((seq: number, index: number, result: Uint8Array, duplicate: boolean) => void) | null = null;
  /** Called once per command that failed for good. */
  onFailed: ((seq: number, error: E) => void) | null = null;
  /** Deadline of each submitted command, from its submit. */
  timeoutMs: number;
  /** The most commands this session holds at once (the maxOutstanding option). */
  readonly maxOutstanding: number;

  protected readonly window = new SessionWindow();
  /** Deadlines and send times are on performance.now()'s scale, read through this. */
  protected readonly clock = new CoarseClock();
  /** Resends since a command was last applied: the back-off of a resend after a refusal. */
  protected tries = 0;
  private readonly waiters = new Map<number, Waiter>();
  /** The seq submit() is sending (0: none); a failure of it is thrown, not reported. */
  private submitting = 0;
  private closedError: E | null = null;
  /** Lowest seq that waits to be resent (Infinity: none); the resend walks up from it in seq order. */
  private resendFrom = Infinity;
  private resendTimer: NodeJS.Timeout | null = null;
  private resendAt = Infinity;
  private rotate = false;
  private readonly deadlines = new SessionDeadlines(this.window, (seq) => this.timeout(seq));

  protected constructor(readonly id: number, private readonly maxPayload: number, timeoutMs: number, maxOutstanding: number) {
    this.timeoutMs = timeoutMs;
    this.maxOutstanding = maxOutstanding;
  }

  /** Sends `seq` once, recording `now` as its send time; false if it could not (the subclass rescheduled it or closed the session). */
  protected abstract transmit(seq: number, now: number): boolean;
  /** The next resend goes to the next peer. */
  protected abstract rotateLeader(): void;
  /** An error of this session's class. */
  protected abstract newError(reason: E['reason'] | CommonSessionReason, message: string, options?: { cause?: unknown }): E;
  /** What to add to the message of an answer this client cannot read (a hint at a misconfigured cluster). */
  protected readonly unexpectedHint: string = '';

  /** A command was applied: progress (the subclass may reset its own back-offs). */
  protected progressed(): void {
    this.tries = 0;
  }

  /** The session closed: the subclass stops its own timers. */
  protected closing(): void {}

  /** Commands submitted whose outcome has not been reported yet. */
  get pending(): number {
    return this.window.outstanding();
  }

  /** Set once the session failed for good (or its client stopped); submit then throws it. */
  get closed(): E | null {
    return this.closedError;
  }

  /**
   * Submits `command` and returns its seq; onCommitted or onFailed is called with it once.
   * Throws a TypeError (not a Uint8Array), a RangeError (larger than maxCommandBytes minus the
   * 25-byte session header; a bad timeoutMs), a 'backpressure' error (maxOutstanding commands
   * held; the session stays open) or the error that closed the session; nothing is sent then.
   */
  submit(command: Uint8Array, timeoutMs: number = this.timeoutMs): number {
    if (this.closedError) throw this.newError(this.closedError.reason, `session ${this.id} is closed: ${this.closedError.message}`);
    checkSessionCommand(command, this.maxPayload, timeoutMs, this.timeoutMs);
    if (this.window.size >= this.maxOutstanding) throw this.newError('backpressure', outstandingMessage(this.id, this.window.size, this.maxOutstanding));
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
      // The client is stopped: that is said by throwing, not by a callback.
      if (this.closedError) throw this.closedError;
    }
    return seq;
  }

  /**
   * Proposes `command` once and resolves with its index, term and the state machine's result,
   * resending until `timeoutMs` (default session.timeoutMs). `duplicate` tells that the result
   * came from the session table (an earlier transmission had already been applied). A failure
   * closes the session as for submit().
   */
  propose(command: Uint8Array, options: { timeoutMs?: number } = {}): Promise<SessionCommittedResult> {
    let seq: number;
    try {
      checkCallOptionNames(options, ['timeoutMs'], 'session.propose');
      seq = this.submit(command, options.timeoutMs ?? this.timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.waiters.set(seq, { resolve, reject }));
  }

  /**
   * A transmission of `seq` was committed at `index` with the result frame at
   * `bytes[off, off + len)` (null: known only through a snapshot, no result).
   * @internal
   */
  committed(seq: number, index: number, term: number, bytes: Uint8Array | null, off: number, len: number): void {
    if (!this.window.returned(seq)) return; // applied already (this was a second transmission), or closed
    // A commit known only through a snapshot carries no result: resend, the table answers.
    if (bytes === null || len === 0) { this.needResend(seq, 0, false); return; }
    const status = bytes[off];
    if (status === SessionStatus.Applied || status === SessionStatus.Duplicate) {
      this.window.markApplied(seq);
      this.progressed();
      this.deliver(seq, index, term, len > 1 ? bytes.slice(off + 1, off + len) : NO_RESULT, status === SessionStatus.Duplicate);
      return;
    }
    switch (status) {
      case SessionStatus.OutOfOrder: this.needResend(seq, 0, false); return; // an earlier seq was not applied yet
      case SessionStatus.SessionExpired:
        this.close(this.newError('expired', `session ${this.id} has expired (evicted or inactive); open a new one. Command ${seq} was not applied`), seq);
        return;
      case SessionStatus.Invalid: {
        const reason = new TextDecoder().decode(bytes.subarray(off + 1, off + len));
        this.close(this.newError('invalid', `session ${this.id} command ${seq} refused: ${reason}`), seq);
        return;
      }
      case SessionStatus.Stale: // only for a seq this client acknowledged, which is never an open one
      default:
        this.close(this.newError('invalid', `session ${this.id} command ${seq}: unexpected session status ${status}${this.unexpectedHint}`), seq);
    }
  }

  /**
   * Commands first .. first + count - 1, committed at index .. index + count - 1 in `term`,
   * each with the one-byte result frame `status` (a run of plain applies, as the ring's
   * CommittedUniform acknowledges them).
   * @internal
   */
  committedRun(first: number, count: number, index: number, term: number, status: number): void {
    if (status !== SessionStatus.Applied && status !== SessionStatus.Duplicate) {
      const one = new Uint8Array(1);
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
      this.progressed();
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

  // ---- resending

  /** `seq` must be sent again (once no transmission of it is in flight), after `delayMs`; to the next peer if `rotate`. */
  protected needResend(seq: number, delayMs: number, rotate: boolean): void {
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

  /** The back-off after a refusal that named no leader: 5 ms doubling per resend without progress, up to 100 ms. */
  protected backoffMs(): number {
    return Math.min(100, 5 * 2 ** Math.min(this.tries, 5));
  }

  /** Sends, in seq order, every outstanding command from resendFrom up that has no transmission in flight. */
  private readonly resend = (): void => {
    this.resendTimer = null;
    this.resendAt = Infinity;
    if (this.closedError) return;
    this.tries++;
    if (this.rotate) {
      this.rotate = false;
      this.rotateLeader();
    }
    const now = performance.now();
    const from = this.resendFrom;
    this.resendFrom = Infinity;
    for (let s = from; s < this.window.next; s++) {
      if (!this.window.isOpen(s) || this.window.inFlightOf(s) > 0) continue;
      if (this.window.deadline(s) <= now) { this.timeout(s); return; }
      if (!this.transmit(s, now)) return; // it rescheduled the resend from s, or closed the session
    }
  };

  // ---- failing for good

  private timeout(seq: number): void {
    this.close(this.newError('timeout', `session ${this.id} command ${seq} not applied by its deadline (it may still be applied, exactly once)`), seq);
  }

  /**
   * `first` failed for good with `error`: every later outstanding command fails too (commands
   * apply in seq order), and so does every later submit.
   */
  protected close(error: E, first: number): void {
    if (this.closedError) return;
    this.closedError = error;
    void error.stack; // formatted now: an unformatted stack keeps its frames' receivers (the stopped client, its rings or sockets) alive
    if (this.resendTimer) { clearTimeout(this.resendTimer); this.resendTimer = null; }
    this.deadlines.stop();
    this.closing();
    const failing: number[] = [];
    for (let s = this.window.ackedThrough + 1; s < this.window.next; s++) if (this.window.isOpen(s)) failing.push(s);
    this.window.clear();
    for (const s of failing) {
      const e = s === first ? error
        : stacklessError(() => this.newError(error.reason, `session ${this.id} command ${s} not applied: ${error.message}${s > first ? ' (commands apply in seq order)' : ''}`, { cause: error }));
      if (s === this.submitting) continue;
      const w = this.waiters.get(s);
      if (w) { this.waiters.delete(s); w.reject(e); } else this.onFailed?.(s, e);
    }
  }
}
