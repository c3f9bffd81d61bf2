import { Outcome } from '../node/proposal-tracker.js';
import { SessionClient } from '../node/session-client.js';
import { decodeResult, registeredClientId, SessionStatus } from '../node/session-protocol.js';
import { SafetyViolation } from './checker.js';
import { makeCommand } from './commands.js';
import type { Prng } from './prng.js';
import type { SessionChecker } from './session-checker.js';
import type { Simulation } from './simulation.js';

/** How the simulated clients behave in one seed. */
export interface ClientProfile {
  clients: number;
  /** Commands one client keeps in flight at most. */
  maxInFlight: number;
  /** Virtual ms a client waits for an answer before it resends. */
  timeoutMs: number;
  /** Chance that an outcome never reaches the client (a lost reply or connection): only its timeout helps. */
  lostReplyRate: number;
}

/** A command a client issued, until (and after) it is answered. */
export interface Issued {
  clientId: number;
  seq: number;
  payloadId: number;
  payload: Uint8Array;
  done: boolean;
  /** Virtual ms at which to (re)send it if still not answered. */
  resendAt: number;
  sends: number;
  /** The pending resend is a timeout (no answer came), not a retry after a failure. */
  awaiting: boolean;
}

export interface ClientStats {
  registered: number;
  issued: number;
  completed: number;
  sends: number;
  resends: number;
  timeouts: number;
  lostReplies: number;
  notAccepted: number;
  unknown: number;
  overwritten: number;
  committedWithoutResult: number;
  duplicates: number;
  outOfOrder: number;
}

/**
 * One simulated client of a session, behaving as a real one must: it registers through the
 * log (again until one registration is answered), numbers its commands with SessionClient,
 * and resends the SAME seq (SessionClient.retry) to whoever leads on every answer that is not a
 * success: the peer is down, not the leader, or pushes back; the outcome is overwritten or
 * unknown; the entry is answered OutOfOrder; the proposal was committed but the result was
 * covered by a snapshot; or no answer comes within its timeout (lost replies). All its
 * actions run on the scenario's ticks or right after the event that brought an outcome.
 */
export class SimClient {
  session: SessionClient | null = null;
  /** Every command issued, by seq (kept after it is answered, for the final check). */
  readonly issued = new Map<number, Issued>();
  /** The issued commands still without an answer, by seq. */
  private readonly waiting = new Map<number, Issued>();
  private registerAt = 0;

  constructor(
    readonly no: number,
    private readonly sim: Simulation,
    private readonly rng: Prng,
    private readonly checker: SessionChecker,
    private readonly profile: ClientProfile,
    private readonly stats: ClientStats,
  ) {}

  /** Commands issued and not answered yet. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** Registered and nothing waits for an answer. */
  get idle(): boolean {
    return this.session !== null && this.inFlight === 0;
  }

  /** Resends what is due (registration, or commands whose answer is late or was a failure). */
  tick(lossy: boolean): void {
    const now = this.sim.now;
    if (!this.session) {
      if (now >= this.registerAt) this.register(lossy);
      return;
    }
    for (const c of this.waiting.values()) {
      if (now < c.resendAt) continue;
      if (c.awaiting) this.stats.timeouts++;
      this.send(c, lossy);
    }
  }

  /** Issues a new command (payload id `payloadId`) if registered and under the in-flight limit. */
  issue(payloadId: number, lossy: boolean): boolean {
    if (!this.session || this.inFlight >= this.profile.maxInFlight) return false;
    this.send(this.track(payloadId, makeCommand(payloadId, this.no, this.rng.int(16))), lossy);
    return true;
  }

  /** Forgets a command that was never answered (only a planted bug does this). */
  forget(seq: number): void {
    this.issued.delete(seq);
    this.waiting.delete(seq);
  }

  /** Numbers a command (a new seq) and remembers it until it is answered. */
  track(payloadId: number, payload: Uint8Array): Issued {
    const seq = this.session!.command(payload).seq;
    const c: Issued = { clientId: this.session!.clientId, seq, payloadId, payload, done: false, resendAt: 0, sends: 0, awaiting: false };
    this.issued.set(seq, c);
    this.waiting.set(seq, c);
    this.stats.issued++;
    return c;
  }

  private target(): number {
    const leader = this.sim.leaders()[0];
    // Mostly whoever leads; sometimes a stale guess (it must refuse harmlessly).
    if (leader && this.rng.chance(0.9)) return leader.id;
    return this.rng.range(1, this.sim.peers.length);
  }

  private register(lossy: boolean): void {
    this.registerAt = this.sim.now + this.profile.timeoutMs;
    const r = this.sim.propose(this.target(), SessionClient.registerFrame(), (outcome, index, _term, result) => {
      if (this.session || this.lost(lossy)) return;
      if (outcome !== Outcome.Committed) {
        this.registerAt = this.sim.now; // try again on the next tick
        return;
      }
      // Without a result (a snapshot covered the entry) the id is still the entry's index.
      const id = result ? registeredClientId(decodeResult(result)) : index;
      if (id !== index) throw new SafetyViolation('session result', `client ${this.no}: registration at index ${index} answered with client id ${id}`);
      this.session = new SessionClient(id);
      this.stats.registered++;
    });
    if (r !== 'accepted') this.registerAt = this.sim.now + this.backoff();
  }

  private send(c: Issued, lossy: boolean): void {
    // The same seq and payload every time (retry() carries the current ackedThrough).
    const frame = this.session!.retry(c.seq);
    if (c.sends > 0) this.stats.resends++;
    c.sends++;
    this.stats.sends++;
    c.resendAt = this.sim.now + this.profile.timeoutMs;
    c.awaiting = true;
    const r = this.sim.propose(this.target(), frame, (outcome, index, _term, result) => this.onOutcome(c, outcome, index, result, lossy));
    if (r !== 'accepted') {
      this.stats.notAccepted++;
      this.retrySoon(c);
    }
  }

  private onOutcome(c: Issued, outcome: Outcome, index: number, result: Uint8Array | undefined, lossy: boolean): void {
    if (this.lost(lossy)) return;
    if (outcome === Outcome.Unknown) {
      this.stats.unknown++;
      if (!c.done) this.afterUnknown(c);
      return;
    }
    if (outcome === Outcome.Overwritten) {
      this.stats.overwritten++;
      if (!c.done) this.retrySoon(c);
      return;
    }
    if (!result) {
      // Committed, but the result went with a snapshot: a resend gets the stored one (Duplicate).
      this.stats.committedWithoutResult++;
      if (!c.done) this.retrySoon(c);
      return;
    }
    const session = this.session!;
    const status = decodeResult(result).status;
    if (status === SessionStatus.Stale && c.done) return; // a late answer to a seq already acknowledged
    const o = session.onResult(c.seq, result);
    switch (o.kind) {
      case 'applied':
        this.checker.onResult(c.clientId, c.seq, c.payload, o.result, o.duplicate, index);
        if (o.duplicate) this.stats.duplicates++;
        if (!c.done) {
          c.done = true;
          this.waiting.delete(c.seq);
          this.stats.completed++;
        }
        return;
      case 'out-of-order':
        this.stats.outOfOrder++;
        if (!c.done) this.retrySoon(c);
        return;
      case 'stale':
        throw new SafetyViolation('session result', `client ${this.no}: session ${c.clientId} seq ${c.seq} answered Stale by entry ${index} before the client had its result`);
      case 'expired':
        throw new SafetyViolation('session expiry', `client ${this.no}: session ${c.clientId} answered SessionExpired for seq ${c.seq} by entry ${index} ` +
          `(with the default maxSessions and no inactivity limit a session never expires)`);
      case 'invalid':
        throw new SafetyViolation('session result', `client ${this.no}: seq ${c.seq} answered Invalid by entry ${index}: ${o.reason}`);
    }
  }

  /** An unknown outcome (the peer crashed or lost leadership): the command may or may not be in the log; resend the same seq. */
  afterUnknown(c: Issued): void {
    this.retrySoon(c);
  }

  private retrySoon(c: Issued): void {
    c.awaiting = false;
    c.resendAt = Math.min(c.resendAt, this.sim.now + this.backoff());
  }

  private backoff(): number {
    return this.rng.int(20);
  }

  private lost(lossy: boolean): boolean {
    if (!lossy || this.profile.lostReplyRate === 0 || !this.rng.chance(this.profile.lostReplyRate)) return false;
    this.stats.lostReplies++;
    return true;
  }
}

export function emptyClientStats(): ClientStats {
  return {
    registered: 0, issued: 0, completed: 0, sends: 0, resends: 0, timeouts: 0, lostReplies: 0, notAccepted: 0,
    unknown: 0, overwritten: 0, committedWithoutResult: 0, duplicates: 0, outOfOrder: 0,
  };
}

/** The clients of one run: new commands during the fault phase, resends in both phases, the final check. */
export class SessionClients {
  readonly clients: SimClient[] = [];
  readonly stats = emptyClientStats();
  private nextPayload = 1;
  /** Replies are lost only while faults are on. */
  lossy = true;

  constructor(sim: Simulation, rng: Prng, private readonly checker: SessionChecker, readonly profile: ClientProfile) {
    for (let k = 1; k <= profile.clients; k++) this.clients.push(new SimClient(k, sim, rng.fork(), checker, profile, this.stats));
  }

  /** One new command from a random client (if it can take one). */
  issue(rng: Prng): void {
    const c = rng.pick(this.clients);
    if (c.issue(this.nextPayload, this.lossy)) this.nextPayload++;
  }

  tick(): void {
    for (const c of this.clients) c.tick(this.lossy);
  }

  /** Every client registered, and none waits for an answer. */
  get idle(): boolean {
    return this.clients.every((c) => c.idle);
  }

  /** Every command issued was applied exactly once, as the seq it was issued with. */
  verify(): void {
    for (const c of this.clients) this.checker.verifyIssued([...c.issued.values()]);
  }

  describe(): string {
    return this.clients.map((c) => `client ${c.no}: ${c.session ? `session ${c.session.clientId}, next seq ${c.session.nextSeq}, in flight ${c.inFlight}` : 'unregistered'}`).join('; ');
  }
}
