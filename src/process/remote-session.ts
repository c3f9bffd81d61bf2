/**
 * An exactly-once client session over a RemoteClient (Raft dissertation, section 6.3), the TCP
 * counterpart of the worker cluster's ClientSession: each command carries the session's id and
 * a sequence number, the peers' session layer applies each (session, seq) once, in seq order,
 * and answers a resend with the stored result. So the session resends a command with the same
 * seq through lost connections, leader changes, unknown outcomes, back-pressure and attempts
 * left unanswered, until the command's deadline, and each takes effect exactly once.
 *
 * Streaming form: `submit(command)` returns the seq, and `onCommitted` or `onFailed` is called
 * with it exactly once (SessionBase: numbering, deadlines, answers, resends, failing for good).
 * Outstanding commands live in typed arrays (SessionWindow) and their
 * frames are written straight into the client's batch frame when it leaves, so a command costs
 * no promise, no closure and no map entry. `propose()` is the promise form on top.
 *
 * Commands apply in seq order, so a command that fails for good (its deadline passed, the
 * session expired, the command was refused, the client closed) takes every later outstanding
 * one with it and closes the session: open a new one.
 */
import type { FailReason } from '../cluster/client.js';
import { SessionBase, type SessionCommittedResult } from '../cluster/session-base.js';
import { checkMaxOutstanding, checkSessionOptionNames } from '../cluster/session-command-check.js';
import { SessionClient } from '../node/session-client.js';
import { COMMAND_HEADER_BYTES, compactHeaderLength, putCompactHeader } from '../node/session-protocol.js';
import { DEFAULT_ATTEMPT_TIMEOUT_MS, DEFAULT_REMOTE_TIMEOUT_MS, RemoteProposalError, type RemoteClient, type RemoteFrameOwner } from './remote-client.js';

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

export type RemoteSessionCommitted = SessionCommittedResult;

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

const DEFAULT_MAX_COMMAND_BYTES = 1024 * 1024;
const OPTION_NAMES = new Set(['timeoutMs', 'maxCommandBytes', 'attemptTimeoutMs', 'maxOutstanding']);

export class RemoteSession extends SessionBase<RemoteSessionError> implements RemoteFrameOwner {
  /** @internal */
  readonly attemptTimeoutMs: number;
  private readonly ownerId: number;
  protected override readonly unexpectedHint = ': do the peers run with --sessions?';

  private constructor(private readonly client: RemoteClient, id: number, maxPayload: number, timeoutMs: number, attemptTimeoutMs: number, maxOutstanding: number) {
    super(id, maxPayload, timeoutMs, maxOutstanding);
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

  protected newError(reason: RemoteSessionError['reason'], message: string, options?: { cause?: unknown }): RemoteSessionError {
    return new RemoteSessionError(reason, message, options);
  }

  protected rotateLeader(): void {
    this.client.rotateLeader();
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
      this.needResend(seq, this.backoffMs(), reason !== 'backpressure');
    }
  }

  /** @internal */
  clientClosed(): void {
    this.close(new RemoteSessionError('closed', 'the client is closed'), this.window.ackedThrough + 1);
  }

  // ---- sending

  protected transmit(seq: number, now: number): boolean {
    try {
      this.client.submitOwned(this.ownerId, seq);
    } catch (e) {
      if (!(e instanceof RemoteProposalError)) throw e;
      this.close(new RemoteSessionError('closed', `session ${this.id}: ${e.message}`), seq);
      return false;
    }
    this.window.sent(seq, now); // (the connection, not the session, gives up on silent attempts)
    return true;
  }
}

function positive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`option ${name} must be a positive number of milliseconds, got ${String(v)}`);
  return v;
}

