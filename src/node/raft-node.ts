import { EntryBatch, batchCommand } from '../core/entry-batch.js';
import type { Message } from '../core/message.js';
import { RaftCore } from '../core/raft.js';
import { LeaderTransferError } from '../core/leader-transfer.js';
import type { ConfChange } from '../core/membership.js';
import { isMembershipEntryAt } from '../core/membership-entry.js';
import type { PersistedState, ProposeResult, Ready, Snapshot } from '../core/types.js';
import { seededRandom } from '../core/random.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { RaftStorage } from '../storage/storage.js';
import { SnapshotPolicy, TimingOptions, checkNodeOptions, coreOptionsOf, resolveTiming } from './options.js';
import { OutcomeListener, ProposalTracker } from './proposal-tracker.js';
import { ReadListener, ReadTracker } from './read-tracker.js';
import { ReadyContract } from './ready-contract.js';
import { Scheduler, realTimeScheduler } from './scheduler.js';
import { StateMachineError } from './state-machine-error.js';
import { TransferWatch } from './transfer-watch.js';

/** How a node's messages reach other peers. Called once per step with everything to send. */
export interface Transport {
  send(messages: Message[]): void;
}

/** The application's replicated state. Called in log order, each committed entry exactly once. */
export interface StateMachine {
  /** Applies one committed command; may return a result for the client that proposed it. */
  apply(command: Uint8Array, index: number, term: number): Uint8Array | void;
  /** Serializes the whole state (needed for snapshots). */
  snapshot?(): Uint8Array;
  /** Replaces the whole state with a snapshot (after a restart or an InstallSnapshot). */
  restore?(snapshot: Uint8Array, index: number, term: number): void;
  /**
   * Answers a read-only query from the current state (RaftNode.read); must not change the
   * state. Throwing refuses the query: the error goes back to the reader, nothing changes.
   */
  query?(query: Uint8Array): Uint8Array;
  /**
   * apply() of the command at `data[start, end)`, for a state machine that reads the command
   * in place (the session layer): the runtime then makes no view of the command for it.
   */
  applyRange?(data: Uint8Array, start: number, end: number, index: number, term: number): Uint8Array | void;
}

export interface RaftNodeOptions extends TimingOptions {
  id: number;
  peers: number[];
  /** This peer starts outside `peers` and waits to be added by a membership change. */
  joining?: boolean;
  transport: Transport;
  storage?: RaftStorage;
  stateMachine?: StateMachine;
  /** Called with each run of committed entries, in order (in addition to stateMachine.apply). */
  onApply?: (entries: EntryBatch) => void;
  /** Called when a snapshot replaces the state (in addition to stateMachine.restore). */
  onRestore?: (snapshot: Snapshot) => void;
  /** Called with the outcome of every accepted proposal, exactly once each (see ProposalTracker). */
  onOutcome?: OutcomeListener;
  /** Called with the outcome of every read (RaftNode.read), exactly once each; needs stateMachine.query. */
  onRead?: ReadListener;
  /** Automatic snapshots; needs stateMachine.snapshot. */
  snapshotPolicy?: SnapshotPolicy;
  /** Sees every Ready as the node takes it from the core, before processing it (tests, tracing). */
  onReady?: (rd: Ready) => void;
  /** Check the Ready contract on every Ready (ReadyContract); for tests and the simulation. Default false. */
  checkReadyContract?: boolean;
  /** Seed of the election-timeout randomness. */
  seed?: number;
  /** Clock and event-loop scheduling; real timers by default (the simulation passes virtual time). */
  scheduler?: Scheduler;
  /**
   * A storage error or a throwing state machine stops the node (fail-stop); this hears about
   * it (a StateMachineError names the peer and the entry). Default: rethrow.
   */
  onFatal?: (err: unknown) => void;
  /** Called when this node stepped down as leader because its own write had not landed for `stalledMs`. */
  onLeaderStall?: (stalledMs: number) => void;
}

/**
 * Runs one RaftCore with a clock, a storage and a transport in the current thread: the one
 * runtime, used by the worker cluster and by the simulation alike. Inputs (ticks, messages,
 * proposals) are stepped into the core at once; their output is processed in one flush per
 * turn of the event loop, so everything queued meanwhile is batched together (no waiting to
 * fill a batch). While a write is under way the core keeps taking input; the next Ready is
 * taken once the write has landed.
 */
export class RaftNode {
  readonly core: RaftCore;
  private readonly scheduler: Scheduler;
  private readonly stopTicking: () => void;
  private readonly tracker: ProposalTracker | null;
  private readonly readTracker: ReadTracker | null;
  private readonly contract: ReadyContract | null;
  /**
   * Highest index the state machine holds. Not core.appliedIndex: that moves when the core
   * hands entries out or installs a snapshot, which may be a Ready before the state machine
   * gets them (while a write is under way); a read served in between would be stale.
   */
  private smApplied = 0;
  private flushScheduled = false;
  /** A Ready whose write has not landed yet. */
  private persisting = false;
  private stopped = false;
  /** Ticks the write under way has taken so far, and the most a leader's write may take. */
  private writeTicks = 0;
  private readonly maxWriteStallTicks: number;
  private readonly tickMs: number;
  private transfer: TransferWatch | null = null;
  private readonly flushBound = () => this.flush();
  /**
   * The apply results of the batch being applied, for the tracker (the leader's proposals); one
   * array for every batch rather than one per batch, emptied after each (see OutcomeListener).
   */
  private readonly results: Array<Uint8Array | undefined> = [];

  private constructor(private readonly opts: RaftNodeOptions, private readonly storage: RaftStorage, persisted: PersistedState) {
    const t = resolveTiming(opts);
    this.core = new RaftCore({
      id: opts.id, peers: opts.peers, joining: opts.joining, electionTicks: t.electionTicks, heartbeatTicks: t.heartbeatTicks,
      random: seededRandom(opts.seed ?? (opts.id + 1) * 7919 + Date.now()),
      ...coreOptionsOf(opts),
      // Rounded up: a wider drift bound only shortens the lease.
      leaseDriftTicks: opts.leaseDriftMs === undefined ? undefined : Math.ceil(opts.leaseDriftMs / t.tickMs),
    }, persisted);
    this.tracker = opts.onOutcome ? new ProposalTracker(opts.onOutcome) : null;
    const sm = opts.stateMachine;
    this.readTracker = opts.onRead ? new ReadTracker(opts.id, sm?.query ? (q) => sm.query!(q) : null, opts.onRead) : null;
    this.contract = opts.checkReadyContract ? new ReadyContract(opts.id, persisted) : null;
    if (persisted.snapshot) this.restore(persisted.snapshot);
    const stallMs = opts.maxLeaderWriteStallMs ?? 3 * t.electionTicks * t.tickMs;
    this.maxWriteStallTicks = Math.max(1, Math.ceil(stallMs / t.tickMs));
    this.tickMs = t.tickMs;
    this.scheduler = opts.scheduler ?? realTimeScheduler;
    this.stopTicking = this.scheduler.every(t.tickMs, () => this.tick());
  }

  /** Loads the storage and starts the clock. */
  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    const storage = RaftNode.check(opts);
    return new RaftNode(opts, storage, await storage.load());
  }

  /** start() for a storage whose load() returns at once (the simulation's): no await. */
  static startSync(opts: RaftNodeOptions): RaftNode {
    const storage = RaftNode.check(opts);
    const persisted = storage.load();
    if (persisted instanceof Promise) throw new TypeError('RaftNode.startSync needs a storage whose load() returns its state, not a promise');
    return new RaftNode(opts, storage, persisted);
  }

  private static check(opts: RaftNodeOptions): RaftStorage {
    checkNodeOptions(opts);
    return opts.storage ?? new MemoryStorage();
  }

  get id(): number { return this.core.id; }

  get isStopped(): boolean { return this.stopped; }

  /** Proposals accepted here whose outcome is not known yet. */
  get outstanding(): number { return this.tracker?.size ?? 0; }

  /**
   * Appends a command if this node leads. Its outcome reaches onOutcome later, under `tag`
   * (default: its index); consecutive tags at consecutive indexes are reported in runs.
   */
  propose(command: Uint8Array, tag?: number): ProposeResult {
    if (this.stopped) throw new Error(`raft node ${this.core.id} is stopped`);
    const r = this.core.propose(command);
    if (r.isLeader) {
      this.tracker?.track(tag ?? r.index, r.index, r.term);
      this.scheduleFlush();
    }
    return r;
  }

  /**
   * propose() of the command in `buf[offset, offset + length)` (copied), always tagged: for
   * an endpoint that reads commands out of a ring. True if accepted (the outcome comes
   * later), false if this node does not lead; throws as propose() does.
   */
  proposeFrom(buf: Uint8Array, offset: number, length: number, tag: number): boolean {
    if (this.stopped) throw new Error(`raft node ${this.core.id} is stopped`);
    const index = this.core.proposeFrom(buf, offset, length);
    if (index < 0) return false;
    this.tracker?.track(tag, index, this.core.term);
    this.scheduleFlush();
    return true;
  }

  /** Runs the Ready loop soon if the core has output: for callers that drive `core` directly (tests, tools). */
  poke(): void {
    if (!this.stopped && this.core.hasReady()) this.scheduleFlush();
  }

  /**
   * A linearizable read (Raft dissertation 6.4): once the core has confirmed a read index (on
   * the leader, or asked of it by a follower) and the state machine has applied it, runs
   * stateMachine.query(query) and reports the result to onRead under `tag` (default: a
   * number returned here). See ReadListener for the ways a read fails.
   */
  read(query: Uint8Array, tag?: number): number {
    if (this.stopped) throw new Error(`raft node ${this.core.id} is stopped`);
    if (!this.readTracker) throw new TypeError('RaftNode.read needs the onRead option (where the results go)');
    const t = this.readTracker.start(this.core, query, tag);
    this.scheduleFlush();
    return t;
  }

  /**
   * The batched form of read(): queues a read (checked as read() does) without asking the core
   * yet; submitQueuedReads() then asks once for every read queued, so one read index and one
   * heartbeat round serve them all. For a caller that takes many reads at once (a ring drain).
   */
  queueRead(query: Uint8Array, tag?: number): number {
    if (this.stopped) throw new Error(`raft node ${this.core.id} is stopped`);
    if (!this.readTracker) throw new TypeError('RaftNode.read needs the onRead option (where the results go)');
    return this.readTracker.queue(query, tag);
  }

  /**
   * Asks the core for the reads queued by queueRead (see there). A leader whose lease holds
   * and whose state machine has applied its commit index serves them here, inside this call
   * (onRead hears of them before it returns): no Ready and no later turn for lease reads.
   */
  submitQueuedReads(): void {
    if (this.stopped || !this.readTracker) return;
    const leaseIndex = this.core.leaseReadIndex();
    if (leaseIndex >= 0) {
      this.readTracker.submitQueuedAt(leaseIndex, this.smApplied);
      if (leaseIndex <= this.smApplied) return;
    } else {
      this.readTracker.submitQueued(this.core);
    }
    this.scheduleFlush();
  }

  receive(m: Message): void {
    if (this.stopped) return;
    this.core.step(m);
    this.checkTransfer(false);
    this.scheduleFlush();
  }

  /**
   * Hands this leader's leadership to peer `to` (RaftCore.transferLeader): resolves once this
   * node hears from `to` as the new leader; rejects with the core's refusal (RangeError,
   * TransferInProgressError, LeaderTransferError 'not-leader') or a LeaderTransferError when
   * the transfer is aborted, another peer takes over, or the node stops.
   */
  transferLeader(to: number): Promise<void> {
    if (this.stopped) return Promise.reject(new LeaderTransferError('stopped', `leader transfer to peer ${to} refused: raft node ${this.core.id} is stopped`));
    try {
      this.core.transferLeader(to);
    } catch (e) {
      return Promise.reject(e);
    }
    this.scheduleFlush();
    // Past the core's own abort (one election timeout), give the target's election a few more.
    const maxTicks = 4 * this.core.cfg.electionTicks;
    return new Promise<void>((resolve, reject) => {
      this.transfer = new TransferWatch(this.core, to, maxTicks, resolve, reject);
    });
  }

  private checkTransfer(ticked: boolean): void {
    if (this.transfer?.check(ticked)) this.transfer = null;
  }

  /** Starts a membership change if this node leads (RaftCore.proposeConfChange: same rules, same errors). */
  proposeConfChange(change: ConfChange): ProposeResult {
    if (this.stopped) throw new Error(`raft node ${this.core.id} is stopped`);
    const r = this.core.proposeConfChange(change);
    if (r.isLeader) this.scheduleFlush();
    return r;
  }

  /** The state machine holds everything through `index` in `data`; compact the log. */
  snapshot(index: number, data: Uint8Array): void {
    this.core.compact(index, data);
    this.scheduleFlush();
  }

  getState(): { term: number; isLeader: boolean; leaderId: number } {
    // isLeader: leads and would accept a proposal now (its term is durable). A stopped node
    // (a fatal error) leads nothing and knows of no leader, whatever its core last held.
    if (this.stopped) return { term: this.core.term, isLeader: false, leaderId: -1 };
    return { term: this.core.term, isLeader: this.core.acceptsProposals, leaderId: this.core.leaderId };
  }

  /** Stops the clock and closes the storage; proposals still tracked become Unknown. */
  async stop(): Promise<void> {
    if (!this.halt()) return;
    await this.storage.close();
  }

  /**
   * Stops at once without touching the storage, as a crash would (the simulation's crash):
   * writes under way never report back. Returns false if already stopped.
   */
  halt(): boolean {
    if (this.stopped) return false;
    this.stopped = true;
    this.stopTicking();
    this.tracker?.abandon();
    this.transfer?.stopped();
    this.transfer = null;
    this.readTracker?.abandon();
    return true;
  }

  private tick(): void {
    if (this.stopped) return;
    this.core.tick();
    if (this.persisting) this.watchWriteStall();
    this.checkTransfer(true);
    if (this.core.hasReady()) this.scheduleFlush();
  }

  /**
   * A leader whose own write hangs must not go on leading: it would take proposals that
   * cannot commit, and a runtime that sent while writing would keep its followers from
   * electing another. The core steps down; its followers time out and elect a new leader.
   */
  private watchWriteStall(): void {
    if (++this.writeTicks > this.maxWriteStallTicks && this.core.stepDownForStall()) this.opts.onLeaderStall?.(this.writeTicks * this.tickMs);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    this.scheduler.soon(this.flushBound);
  }

  /**
   * The Ready loop. A storage whose save() returns nothing is done at once and the loop goes
   * on; one that returns a promise (or any thenable) resumes the loop when it settles.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.persisting || this.stopped) return;
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        this.opts.onReady?.(rd);
        if (rd.sendNow.length > 0) {
          this.contract?.sending(rd.sendNow);
          this.opts.transport.send(rd.sendNow);
        }
        if (rd.hardState || rd.snapshot || rd.entries) {
          const p = this.storage.save(rd.hardState, rd.snapshot, rd.entries);
          if (p) {
            this.persisting = true;
            this.writeTicks = 0;
            p.then(() => this.persisted(rd), (err: unknown) => this.fail(err));
            return;
          }
        }
        this.finishReady(rd);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** The write of `rd` landed: finish it and go on with the loop. */
  private persisted(rd: Ready): void {
    this.persisting = false;
    if (this.stopped) return;
    try {
      this.finishReady(rd);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.flush();
  }

  /** Steps 3-5 of the Ready contract: replies, the state machine, advance. */
  private finishReady(rd: Ready): void {
    const contract = this.contract;
    if (contract) {
      contract.landed(rd.hardState, rd.snapshot, rd.entries);
      contract.sending(rd.sendAfterPersist);
      contract.applying(rd);
    }
    if (rd.sendAfterPersist.length > 0) this.opts.transport.send(rd.sendAfterPersist);
    if (rd.applySnapshot) this.restore(rd.applySnapshot);
    if (rd.committed && rd.committed.count > 0) this.apply(rd.committed);
    if (this.readTracker) this.readTracker.reported(rd.readStates, rd.readsFailed, this.smApplied);
    this.core.advance(rd);
    this.maybeSnapshot();
  }

  /** Storage failed, we were fenced off, or the state machine threw: stop rather than run on. */
  private fail(err: unknown): void {
    if (this.stopped) return;
    // Tell first: the outcomes that stop() reports (unknown) can then say why.
    try {
      if (this.opts.onFatal) this.opts.onFatal(err);
    } finally {
      void this.stop();
    }
    if (!this.opts.onFatal) throw err;
  }

  private apply(b: EntryBatch): void {
    this.smApplied = b.firstIndex + b.count - 1;
    const sm = this.opts.stateMachine;
    // Results only reach proposals tracked here (a follower tracks none): collect them only then.
    const results = this.tracker !== null && this.tracker.size > 0 ? this.resultsFor(b.count) : null;
    let collected = 0; // results[0, collected) may hold results; the rest is undefined
    try {
      if (sm) collected = this.applyEntries(sm, b, results);
      this.tracker?.applied(b, collected > 0 ? results : null);
    } finally {
      if (collected > 0) results!.fill(undefined, 0, collected); // the listener took what it needed: let the results go
    }
    this.opts.onApply?.(b);
  }

  /**
   * Applies the state machine's entries of `b`, putting each result in `results` (when given);
   * returns 1 + the position of the last result put there (0: none). A method of its own, with
   * nothing after its loop: V8 compiles a long loop on the stack (OSR) and reuses that code for
   * later calls, and code that had not run yet after the loop (the tracker's, the results' on a
   * peer that had collected none) made it deoptimize at the end of every batch.
   */
  private applyEntries(sm: StateMachine, b: EntryBatch, results: Array<Uint8Array | undefined> | null): number {
    let collected = 0;
    const skipEmpty = this.core.cfg.noopOnElection; // empty entries are the leaders' no-ops
    for (let k = 0; k < b.count; k++) {
      const start = k === 0 ? 0 : b.ends[k - 1], end = b.ends[k];
      if ((start === end && skipEmpty) || isMembershipEntryAt(b.data, start, end)) continue; // the core's entries, not the state machine's
      let r: Uint8Array | void;
      try {
        r = sm.applyRange ? sm.applyRange(b.data, start, end, b.firstIndex + k, b.terms[k]) : sm.apply(batchCommand(b, k), b.firstIndex + k, b.terms[k]);
      } catch (e) {
        throw new StateMachineError(this.core.id, b.firstIndex + k, b.terms[k], e);
      }
      if (r !== undefined) {
        if (!(r instanceof Uint8Array)) throw new StateMachineError(this.core.id, b.firstIndex + k, b.terms[k], new TypeError(`apply() returned ${typeof r}; a result must be a Uint8Array or undefined`));
        if (results !== null) { results[k] = r; collected = k + 1; }
      }
    }
    return collected;
  }

  /** The results array, at least `n` long and all undefined (it is emptied after each batch). */
  private resultsFor(n: number): Array<Uint8Array | undefined> {
    const a = this.results;
    while (a.length < n) a.push(undefined); // grown by push, so that it stays a dense array
    return a;
  }

  private restore(s: Snapshot): void {
    this.smApplied = s.index;
    this.opts.stateMachine?.restore?.(s.data, s.index, s.term);
    this.tracker?.restored(s.index, s.term);
    this.opts.onRestore?.(s);
  }

  private maybeSnapshot(): void {
    const p = this.opts.snapshotPolicy;
    const sm = this.opts.stateMachine;
    if (!p || !sm?.snapshot) return;
    const log = this.core.log;
    const applied = this.core.appliedIndex;
    if (applied <= log.snapshotIndex) return;
    const entriesSince = applied - log.snapshotIndex;
    if ((p.entries !== undefined && entriesSince >= p.entries) || (p.bytes !== undefined && log.bytes >= p.bytes)) {
      this.core.compact(applied, sm.snapshot());
    }
  }
}
