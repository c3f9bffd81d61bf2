/**
 * The bookkeeping of linearizable reads (Raft dissertation, section 6.4), kept apart from
 * RaftCore so that the core only wires messages to it. No timers: time is the core's ticks.
 *
 * ReadIndex on the leader: a read waits until the leader has committed an entry of its own
 * term, then takes the commit index at that moment and the next heartbeat round's context
 * id. Every heartbeat carries the latest context id and every reply echoes it; once a
 * majority (the leader included) has echoed a context >= the read's, the leader was still
 * leader after the read was taken, so no other leader can have committed anything the read
 * does not see. One round serves every read taken since the previous round.
 *
 * Lease (opt in): a heartbeat round acknowledged by a majority holds off any other leader
 * until electionTicks have passed on those followers' clocks since they received it (they
 * refuse votes meanwhile, see RaftCore.inLeaderLease). The leader counts from the tick it sent
 * the round and trusts its lease for electionTicks - leaseDriftTicks of its own ticks:
 * the drift bound is how far another peer's clock may run ahead of the leader's over that time.
 */

/** A read of `id` may be served once the state machine has applied `index`. */
export interface ReadState {
  id: number;
  index: number;
}

/** A read taken by the leader, local (from = -1) or forwarded by follower `from`. */
interface PendingRead {
  id: number;
  from: number;
  /** Commit index when the read was taken; -1 while the leader has no entry of its term committed. */
  index: number;
  /** The heartbeat round that confirms it; 0 until one is assigned. */
  ctx: number;
  /** The forwarding follower's nonce, echoed in the answer. */
  nonce: number;
}

/** A read this follower forwarded to the leader, waiting for its index. */
interface ForwardedRead {
  id: number;
  leader: number;
  sentAtTick: number;
}

export class ReadOnly {
  /** Leader: reads waiting for their heartbeat round (in ctx order, unassigned ones last). */
  private pending: PendingRead[] = [];
  /** Follower: reads forwarded to the leader, by id. */
  private readonly forwarded = new Map<number, ForwardedRead>();
  /** Last context id used; never reused, even across terms. */
  private ctx = 0;
  /** Highest context each follower echoed in this term. */
  private readonly acked = new Map<number, number>();
  /** Tick at which each round still of interest for the lease was sent. */
  private readonly roundSentAt = new Map<number, number>();
  /** Tick at which the latest majority-acknowledged round was sent; -Infinity = no lease. */
  private leaseStart = -Infinity;
  /** Reads whose index is known (leader: confirmed; follower: answered by the leader). */
  private readyStates: ReadState[] = [];
  private failedIds: number[] = [];

  get currentCtx(): number { return this.ctx; }

  hasOutput(): boolean {
    return this.readyStates.length > 0 || this.failedIds.length > 0;
  }

  /** Reads ready since the last call; the caller owns the arrays. */
  take(): { states: ReadState[]; failed: number[] } {
    const out = { states: this.readyStates, failed: this.failedIds };
    if (out.states.length > 0) this.readyStates = [];
    if (out.failed.length > 0) this.failedIds = [];
    return out;
  }

  ready(id: number, index: number): void { this.readyStates.push({ id, index }); }

  fail(id: number): void { this.failedIds.push(id); }

  // ------------------------------------------------------------- leader side

  /** Queues a read (from = -1 for one of this peer's own) at `index` (-1: not known yet, see termCommitted). */
  enqueue(id: number, from: number, index: number, nonce = 0): void {
    this.pending.push({ id, from, index, ctx: 0, nonce });
  }

  /** Whether some read still needs a heartbeat round (`termCommitted`: reads without an index will get one). */
  needsRound(termCommitted: boolean): boolean {
    const n = this.pending.length;
    return n > 0 && this.pending[n - 1].ctx === 0 && (termCommitted || this.pending[n - 1].index >= 0);
  }

  /** Reads waiting for the leader's first commit of its term take `commitIndex` now. */
  termCommitted(commitIndex: number): void {
    for (const r of this.pending) if (r.index < 0) r.index = commitIndex;
  }

  /**
   * A heartbeat broadcast goes out at tick `now` with a fresh context: every read taken and
   * not yet in a round joins it. Each context is sent by one broadcast only, so an echo of it
   * proves the follower heard from us no earlier than `now` (what the lease counts from).
   * Rounds older than `keepTicks` could not start a lease any more and are forgotten.
   */
  startRound(now: number, keepTicks: number): number {
    const ctx = ++this.ctx;
    for (const r of this.pending) if (r.ctx === 0 && r.index >= 0) r.ctx = ctx;
    for (const [k, at] of this.roundSentAt) if (now - at >= keepTicks) this.roundSentAt.delete(k);
    this.roundSentAt.set(ctx, now);
    return ctx;
  }

  /** Follower `from` echoed context `ctx`. */
  echoed(from: number, ctx: number): void {
    if (ctx > (this.acked.get(from) ?? 0)) this.acked.set(from, ctx);
  }

  /** Highest context follower `id` has echoed in this term (0: none). */
  ackedCtx(id: number): number {
    return this.acked.get(id) ?? 0;
  }

  /**
   * A majority has seen context `quorumCtx`: reads of rounds through it are confirmed, and
   * the lease starts from when that round was sent. Confirmed reads come back for the caller
   * to answer (local ones are also added to the ready states).
   */
  confirm(quorumCtx: number): PendingRead[] {
    const sentAt = this.roundSentAt.get(quorumCtx);
    if (sentAt !== undefined && sentAt > this.leaseStart) this.leaseStart = sentAt;
    for (const k of this.roundSentAt.keys()) if (k <= quorumCtx) this.roundSentAt.delete(k);
    let n = 0;
    while (n < this.pending.length && this.pending[n].ctx !== 0 && this.pending[n].ctx <= quorumCtx) n++;
    if (n === 0) return [];
    const done = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    for (const r of done) if (r.from < 0) this.ready(r.id, r.index);
    return done;
  }

  /** Whether the lease holds at tick `now` for a lease of `leaseTicks`. */
  leaseValid(now: number, leaseTicks: number): boolean {
    return now - this.leaseStart < leaseTicks;
  }

  /**
   * Leadership ended (or began): local reads fail, forwarded ones are returned so the caller
   * can tell their followers, and acknowledgements and the lease are forgotten.
   */
  resetLeader(): PendingRead[] {
    const remote: PendingRead[] = [];
    for (const r of this.pending) {
      if (r.from < 0) this.fail(r.id);
      else remote.push(r);
    }
    this.pending = [];
    this.acked.clear();
    this.roundSentAt.clear();
    this.leaseStart = -Infinity;
    return remote;
  }

  // ------------------------------------------------------------- follower side

  forward(id: number, leader: number, now: number): void {
    this.forwarded.set(id, { id, leader, sentAtTick: now });
  }

  /** The leader answered forwarded read `id` (reject: it could not serve it). */
  answered(id: number, from: number, index: number, reject: boolean): void {
    const f = this.forwarded.get(id);
    if (!f || f.leader !== from) return; // late, duplicate, or from a leader we no longer follow
    this.forwarded.delete(id);
    if (reject) this.fail(id);
    else this.ready(id, index);
  }

  /** Forwarded reads fail when the leader changes or when they waited `timeoutTicks`. */
  expireForwarded(leader: number, now: number, timeoutTicks: number): void {
    for (const f of this.forwarded.values()) {
      if (f.leader !== leader || now - f.sentAtTick >= timeoutTicks) {
        this.forwarded.delete(f.id);
        this.fail(f.id);
      }
    }
  }

  get forwardedCount(): number { return this.forwarded.size; }

  get pendingCount(): number { return this.pending.length; }
}
