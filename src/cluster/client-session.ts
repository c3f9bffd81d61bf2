import { COMMAND_HEADER_BYTES } from '../node/session-protocol.js';
import { SessionClient, type SessionOutcome } from '../node/session-client.js';
import { ClusterClient, DEFAULT_PROPOSE_TIMEOUT_MS, ProposalError, ProposeOptions } from './client.js';

export interface SessionCommitted { index: number; term: number; result: Uint8Array; duplicate: boolean }

/** Why a session command failed for good. */
export class SessionError extends Error {
  constructor(readonly reason: 'expired' | 'invalid' | 'timeout' | 'stopped', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionError';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * An exactly-once client session (Raft dissertation, section 6.3), on the main thread. Each
 * command carries the session's id and a sequence number; the state machine's session layer
 * applies each (session, seq) once and answers a retry with the stored result. So propose()
 * can retry through anything (leader changes, crashes, unknown outcomes, lost links) until
 * its deadline, and the command still takes effect exactly once.
 */
export class ClientSession {
  private constructor(private readonly client: ClusterClient, private readonly session: SessionClient, private readonly maxPayload: number) {}

  /** Registers a new session through the log. */
  static async open(client: ClusterClient, maxCommandBytes: number, options: ProposeOptions = {}): Promise<ClientSession> {
    const r = await client.propose(SessionClient.registerFrame(), { timeoutMs: options.timeoutMs, retryUnknown: false });
    if (!r.result) throw new SessionError('invalid', 'registering a session returned no result: is the cluster started with { sessions: true }?');
    return new ClientSession(client, SessionClient.fromRegistration(r.result), maxCommandBytes - COMMAND_HEADER_BYTES);
  }

  get id(): number {
    return this.session.clientId;
  }

  /**
   * Proposes `command` once and resolves with its index, term and the state machine's
   * result, retrying until `timeoutMs` (default 30 s). `duplicate` tells that the result came
   * from the session table (an earlier attempt had already been applied).
   */
  propose(command: Uint8Array, options: { timeoutMs?: number } = {}): Promise<SessionCommitted> {
    if (!(command instanceof Uint8Array)) return Promise.reject(new TypeError(`command must be a Uint8Array, got ${command === null ? 'null' : typeof command}`));
    if (command.byteLength > this.maxPayload) {
      return Promise.reject(new RangeError(`command of ${command.byteLength} bytes exceeds what a session command may carry: maxCommandBytes minus the ${COMMAND_HEADER_BYTES}-byte session header (${this.maxPayload})`));
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) return Promise.reject(new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`));
    const deadline = Date.now() + timeoutMs;
    const { seq, frame } = this.session.command(command);
    // The first attempt sends the fresh frame as it is and, when it is applied, resolves without
    // the retry loop's async frame: at tens of thousands of commands in flight, each object
    // kept per command is young-generation garbage collected on the main thread.
    return this.client.propose(frame, { timeoutMs, retryUnknown: true }).then(
      (r) => {
        if (r.result) {
          const out = this.session.onResult(seq, r.result);
          if (out.kind === 'applied') return { index: r.index, term: r.term, result: out.result, duplicate: out.duplicate };
          return this.retryLoop(seq, deadline, timeoutMs, out, 0);
        }
        return this.retryLoop(seq, deadline, timeoutMs, null, 0);
      },
      (e: unknown) => {
        if (e instanceof ProposalError && e.reason === 'timeout') return this.retryLoop(seq, deadline, timeoutMs, null, 0);
        if (e instanceof ProposalError && e.reason === 'stopped') throw new SessionError('stopped', e.message, { cause: e });
        throw e;
      },
    );
  }

  /** After an attempt that did not settle `seq` (`last`: its outcome, null if none), retry until the deadline. */
  private async retryLoop(seq: number, deadline: number, timeoutMs: number, last: SessionOutcome | null, attempt: number): Promise<SessionCommitted> {
    for (; ; attempt++) {
      if (last) {
        switch (last.kind) {
          case 'applied': throw new Error('unreachable: an applied outcome is not retried');
          case 'out-of-order': await sleep(Math.min(50, 1 + attempt)); break; // an earlier seq is still on its way
          case 'expired': throw new SessionError('expired', `session ${this.id} has expired (evicted or inactive); open a new one. Command ${seq} was not applied by this attempt`);
          case 'stale': throw new SessionError('invalid', `session ${this.id} command ${seq}: its result was already acknowledged`);
          case 'invalid': throw new SessionError('invalid', `session ${this.id} command ${seq} refused: ${last.reason}`);
        }
        last = null;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new SessionError('timeout', `session ${this.id} command ${seq} not applied within ${timeoutMs} ms (it may still be applied, exactly once)`);
      let r;
      try {
        r = await this.client.propose(this.session.retry(seq), { timeoutMs: left, retryUnknown: true });
      } catch (e) {
        if (e instanceof ProposalError && e.reason === 'timeout') continue; // the loop's deadline decides
        if (e instanceof ProposalError && e.reason === 'stopped') throw new SessionError('stopped', e.message, { cause: e });
        throw e;
      }
      // A commit known only through a snapshot carries no result: ask again, the table answers.
      if (!r.result) continue;
      const out = this.session.onResult(seq, r.result);
      if (out.kind === 'applied') return { index: r.index, term: r.term, result: out.result, duplicate: out.duplicate };
      last = out;
    }
  }
}
