/**
 * RemoteClient's streamed reads (submitRead / onReadDone / onReadFailed), the streaming form of
 * RemoteClient.read with the same rules: whatever left a read unserved (not the leader, the
 * leader lost or deposed before it confirmed the read, a lost connection, an attempt left
 * unanswered on a silent connection) is retried, following the leader, until the read's
 * deadline; a read is never answered from a deposed leader's state. The reads under way live
 * in a ReadTable (typed arrays, no promise and no object per read); on the wire a read waits
 * in its connection as its sequence number.
 */
import { CoarseClock } from '../cluster/coarse-clock.js';
import { ReadRoute } from '../cluster/read-protocol.js';
import { ReadTable } from '../cluster/read-table.js';
import { NO_READ_OPTIONS } from '../cluster/read-options-check.js';
import { DEFAULT_READ_ATTEMPT_TIMEOUT_MS, RemoteReadError, checkReadArgs, type RemoteReadOptions } from './remote-client.js';
import { ReadOutcome } from './remote-read-protocol.js';

/** @internal What the reader needs of its client. */
export interface ReadRouter {
  readonly ids: readonly number[];
  has(peer: number): boolean;
  leader(): number;
  /** Follows a leader hint; false when it names no peer of the client. */
  followHint(hint: number): boolean;
  /** `peer` failed a read: if it is the believed leader, believe the next peer. */
  rotateFrom(peer: number): void;
  /** Queues read `seq` on the connection to `peer`; exactly one of answered / lost / givenUp follows, later or at once. */
  send(peer: number, query: Uint8Array, anyPeer: boolean, seq: number): void;
}

export type ReadDoneListener = (seq: number, result: Uint8Array) => void;
export type ReadFailedListener = (seq: number, error: RemoteReadError) => void;

/** How often reads in flight past their deadline are looked for (one timer per client). */
const DEADLINE_SWEEP_MS = 50;
const decoder = new TextDecoder();

export class RemoteReader {
  onReadDone: ReadDoneListener | null = null;
  onReadFailed: ReadFailedListener | null = null;
  private readonly table = new ReadTable();
  private readonly clock = new CoarseClock();
  /** Attempt timeouts other than the default, by seq (only reads that set one have an entry). */
  private readonly attemptMs = new Map<number, number>();
  /** @internal No streamed read's attempt timeout was ever shorter (connections skip looking for overdue reads before it). */
  minAttemptMs = Infinity;
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweeper: NodeJS.Timeout | null = null;
  private nextSeq = 1;
  private nextFollower = 0;
  private closedReason: string | null = null;

  constructor(private readonly router: ReadRouter) {}

  /** Reads submitted and not settled yet. */
  get pending(): number {
    return this.table.size;
  }

  /** Checks the arguments as RemoteClient.read does, then sends the read; returns its seq. */
  submitRead(query: Uint8Array, options: RemoteReadOptions = NO_READ_OPTIONS): number {
    if (this.closedReason) throw new RemoteReadError('closed', this.closedReason);
    const { timeoutMs, attemptMs, mode, fixed } = checkReadArgs(query, options, this.router, this.router.ids);
    const seq = this.nextSeq++;
    const route = mode === 'follower' || fixed !== undefined ? ReadRoute.AnyPeer : ReadRoute.Leader;
    const s = this.table.add(seq, query, route, fixed ?? -1, this.clock.now() + timeoutMs, null);
    if (attemptMs < this.minAttemptMs) this.minAttemptMs = attemptMs;
    if (attemptMs !== DEFAULT_READ_ATTEMPT_TIMEOUT_MS) this.attemptMs.set(seq, attemptMs);
    this.sweeper ??= setInterval(this.sweepDeadlines, DEADLINE_SWEEP_MS);
    this.send(seq, s);
    return seq;
  }

  /** @internal How long an attempt of read `seq` may go unanswered on a silent connection. */
  attemptTimeoutOf(seq: number): number {
    return this.attemptMs.size === 0 ? DEFAULT_READ_ATTEMPT_TIMEOUT_MS : this.attemptMs.get(seq) ?? DEFAULT_READ_ATTEMPT_TIMEOUT_MS;
  }

  /** @internal Read `seq` was answered with `outcome`; its bytes are body[from, from + n). */
  answered(seq: number, outcome: ReadOutcome, body: Uint8Array, from: number, n: number, leaderHint: number): void {
    const s = this.landed(seq);
    if (s < 0) return;
    const t = this.table;
    const target = t.at[s];
    t.at[s] = -1;
    const fixed = t.fixedPeers[s];
    switch (outcome) {
      case ReadOutcome.Ok: {
        const result = body.slice(from, from + n);
        this.remove(seq, s);
        this.onReadDone?.(seq, result);
        return;
      }
      case ReadOutcome.NotLeader:
      case ReadOutcome.LeaderLost:
        t.lastErrors[s] = decoder.decode(body.subarray(from, from + n));
        // Not served: follow the hint at once, or give an election under way a moment.
        if (fixed < 0 && leaderHint !== target && this.router.followHint(leaderHint)) { this.retry(seq, s, 0); return; }
        if (fixed < 0) this.router.rotateFrom(target);
        this.retry(seq, s, 10);
        return;
      case ReadOutcome.Stopped:
        if (fixed >= 0) { this.fail(seq, s, new RemoteReadError('stopped', `peer ${fixed}: ${decoder.decode(body.subarray(from, from + n))}`)); return; }
        t.lastErrors[s] = `peer ${target} is stopping`;
        this.router.rotateFrom(target);
        this.retry(seq, s, 0);
        return;
      case ReadOutcome.QueryFailed: this.fail(seq, s, new RemoteReadError('query-failed', decoder.decode(body.subarray(from, from + n)))); return;
      case ReadOutcome.NoQuery: this.fail(seq, s, new RemoteReadError('no-query', decoder.decode(body.subarray(from, from + n)))); return;
      default: this.fail(seq, s, new RemoteReadError('invalid', `peer ${target} refused the read: ${decoder.decode(body.subarray(from, from + n))}`));
    }
  }

  /** @internal The connection carrying read `seq` closed (or never opened); `refusal`: the peer refused this client. */
  lost(seq: number, refusal: string | null): void {
    const s = this.landed(seq);
    if (s < 0) return;
    const t = this.table;
    const target = t.at[s];
    t.at[s] = -1;
    if (this.closedReason) { this.fail(seq, s, new RemoteReadError('closed', this.closedReason)); return; }
    if (refusal !== null) { this.fail(seq, s, new RemoteReadError('refused', `peer ${target} refused this client: ${refusal}`)); return; }
    if (t.fixedPeers[s] >= 0) { this.fail(seq, s, new RemoteReadError('crashed', `connection to peer ${target} lost with the read in flight (or it cannot be reached)`)); return; }
    t.lastErrors[s] = `connection to peer ${target} lost`;
    this.router.rotateFrom(target);
    this.retry(seq, s, Math.min(50, 5 * 2 ** Math.min(t.tries[s], 4)));
  }

  /** @internal An attempt of read `seq` went unanswered for its attempt timeout: send it again (to the next peer, unless fixed). */
  givenUp(seq: number): void {
    const s = this.landed(seq);
    if (s < 0) return;
    const t = this.table;
    const target = t.at[s];
    t.at[s] = -1;
    t.lastErrors[s] = `peer ${target} did not answer within the attempt timeout`;
    if (t.fixedPeers[s] < 0) this.router.rotateFrom(target);
    this.retry(seq, s, 0);
  }

  /** Fails every read under way with 'closed'; later submits throw. */
  close(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const seq of this.table.allSeqs()) {
      const s = this.table.slotOf(seq);
      if (s >= 0) this.fail(seq, s, new RemoteReadError('closed', reason));
    }
  }

  // ----

  /** The slot of read `seq` if it is in flight (an answer for it is expected), else -1. */
  private landed(seq: number): number {
    const s = this.table.slotOf(seq);
    return s >= 0 && this.table.at[s] >= 0 ? s : -1;
  }

  private pickPeer(s: number): number {
    const t = this.table;
    if (t.fixedPeers[s] >= 0) return t.fixedPeers[s];
    if (t.routes[s] === ReadRoute.AnyPeer) return this.router.ids[this.nextFollower++ % this.router.ids.length];
    return this.router.leader();
  }

  private send(seq: number, s: number): void {
    if (this.closedReason) { this.fail(seq, s, new RemoteReadError('closed', this.closedReason)); return; }
    const t = this.table;
    if (this.clock.now() >= t.deadlines[s]) { this.timeout(seq, s); return; }
    t.tries[s]++;
    const to = this.pickPeer(s);
    t.at[s] = to;
    this.router.send(to, t.queries[s]!, t.routes[s] === ReadRoute.AnyPeer, seq);
  }

  /** Sends read `seq` again after `delayMs` (at once for 0, up to 8 tries in a row), unless its deadline has passed. */
  private retry(seq: number, s: number, delayMs: number): void {
    if (this.clock.now() >= this.table.deadlines[s]) { this.timeout(seq, s); return; }
    if (delayMs === 0 && this.table.tries[s] % 8 !== 0) { this.send(seq, s); return; }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const slot = this.table.slotOf(seq); // the table may have grown meanwhile
      if (slot >= 0 && this.table.at[slot] < 0) this.send(seq, slot);
    }, Math.max(delayMs, 5));
    this.timers.add(timer);
  }

  private timeout(seq: number, s: number): void {
    this.fail(seq, s, new RemoteReadError('timeout', `read not answered within its deadline; last error: ${this.table.lastErrors[s]}`));
  }

  /** Reads in flight past their deadline fail now (an answer that comes later is ignored). */
  private readonly sweepDeadlines = (): void => {
    if (this.table.size === 0) { clearInterval(this.sweeper!); this.sweeper = null; return; }
    const now = performance.now();
    for (const seq of this.table.allSeqs()) {
      const s = this.table.slotOf(seq);
      if (s >= 0 && this.table.at[s] >= 0 && this.table.deadlines[s] <= now) this.timeout(seq, s);
    }
  };

  private remove(seq: number, s: number): void {
    this.table.remove(s);
    if (this.attemptMs.size > 0) this.attemptMs.delete(seq);
  }

  /** Fails read `seq`, on a later microtask: never inside submitRead. */
  private fail(seq: number, s: number, e: RemoteReadError): void {
    this.remove(seq, s);
    queueMicrotask(() => this.onReadFailed?.(seq, e));
  }
}
