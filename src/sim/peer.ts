import type { CoreConfig } from '../core/config.js';
import { batchCommand } from '../core/entry-batch.js';
import type { Message } from '../core/message.js';
import type { RaftCore } from '../core/raft.js';
import { ConfChange, ConfChangeError } from '../core/membership.js';
import { BackpressureError, Role } from '../core/types.js';
import { TransferInProgressError } from '../core/leader-transfer.js';
import type { SnapshotPolicy } from '../node/options.js';
import type { OutcomeListener } from '../node/proposal-tracker.js';
import type { ReadListener } from '../node/read-tracker.js';
import { RaftNode } from '../node/raft-node.js';
import type { Scheduler } from '../node/scheduler.js';
import { decodeFrame } from '../node/session-protocol.js';
import { readSessionSnapshot, SessionStateMachine } from '../node/session-state-machine.js';
import type { SafetyChecker } from './checker.js';
import { commandId, commandResult } from './commands.js';
import { encodeApplied } from './read-driver.js';
import type { Prng } from './prng.js';
import type { SessionChecker, UserApply } from './session-checker.js';
import { SimStorage } from './sim-storage.js';
import { decodeSnapshot, SimStateMachine } from './state-machine.js';

/** Core options the simulation chooses per seed, in ticks (everything but the id and the random source). */
export type SimCoreOptions = Omit<CoreConfig, 'id' | 'random' | 'peers'>;

export interface PeerEnv {
  send(m: Message): void;
  checker: SafetyChecker;
  onOutcome: (peer: number) => OutcomeListener;
  /** Where a peer's read results go, when the run reads (see read-driver.ts). */
  onRead?: (peer: number) => ReadListener | undefined;
  /** The checker looks at the peer's Raft state (also in the middle of a Ready loop). */
  observe: (p: SimPeer) => void;
  /** Session mode: the state machine is a SessionStateMachine around a user state machine, checked by this. */
  sessions: SessionChecker | null;
}

export type ProposeOutcome = 'accepted' | 'not-leader' | 'backpressure' | 'transferring' | 'down';

/** What a membership change proposed to a peer came to: refused carries the error's message. */
export type ConfChangeOutcome = { kind: 'accepted' | 'not-leader' | 'down' } | { kind: 'refused'; message: string };

/** Where a crash interrupts a Ready's write ('none': it does not). */
export type Tear = 'none' | 'after-send' | 'after-persist';

/** Virtual milliseconds per tick of every simulated RaftNode. */
export const SIM_TICK_MS = 10;

/**
 * One simulated peer: a real RaftNode (the runtime the worker cluster runs) on the
 * simulation's virtual clock, its storage, and its state machine. The node lives only while
 * the peer is up; a crash throws it away with everything not yet on the storage (including a
 * write under way), and a restart starts a new node from the storage.
 */
export class SimPeer {
  node: RaftNode | null = null;
  readonly store = new SimStorage();
  readonly sm = new SimStateMachine();
  /** Bumped on every crash and restart, so events scheduled for an earlier life are ignored. */
  incarnation = 0;
  /** Virtual ms between two ticks of this life (the simulation sets it at each start). */
  tickMs = SIM_TICK_MS;
  readonly stats = { readys: 0, crashes: 0, restarts: 0, snapshotsTaken: 0, snapshotsInstalled: 0 };
  private booting = false;
  /** Session mode: this life's session layer. */
  private session: SessionStateMachine | null = null;
  /** Session mode: the entry the session layer is applying (the user state machine reads its frame). */
  private applying: { index: number; command: Uint8Array } | null = null;
  /** Session mode: what the user state machine applied, by index, until the batch is reported. */
  private readonly userApplied = new Map<number, UserApply>();

  constructor(
    readonly id: number,
    /** The voters of the initial configuration; a peer outside them starts as one waiting to join. */
    private readonly peers: readonly number[],
    private readonly options: SimCoreOptions,
    private readonly snapshotPolicy: SnapshotPolicy | undefined,
    private readonly rng: Prng,
    private readonly env: PeerEnv,
  ) {
    this.store.onLanded = (hs, snap) => {
      this.stats.readys++;
      this.env.checker.onPersist(this.id, hs, snap ? snap.index : null, snap?.term ?? 0, snap ? this.snapshotCommands(snap.data, snap.index, 'persist') : null);
    };
  }

  get core(): RaftCore | null {
    return this.node?.core ?? null;
  }

  get up(): boolean {
    return this.node !== null;
  }

  get isLeader(): boolean {
    return this.node !== null && this.node.core.role === Role.Leader;
  }

  /** (Re)starts from the storage with the given clock: the node reads the persisted state, the state machine the persisted snapshot. */
  start(scheduler: Scheduler): void {
    if (this.node) throw new Error(`peer ${this.id} is already up`);
    const state = this.store.load();
    const snap = state.snapshot;
    const commands = snap ? this.snapshotCommands(snap.data, snap.index, 'restart') : [];
    this.sm.restore(snap ? this.userSnapshot(snap.data) : new Uint8Array(0));
    this.env.checker.onRestart(this.id, snap?.index ?? 0, snap?.term ?? 0, commands);
    this.incarnation++;
    if (this.incarnation > 1) this.stats.restarts++;
    const o = this.options;
    const sm = this.sm;
    this.booting = true;
    // A fresh random stream per life: a restarted peer does not replay its old election timeouts.
    this.node = RaftNode.startSync({
      id: this.id, peers: [...this.peers], joining: !this.peers.includes(this.id), seed: this.rng.u32(), scheduler, storage: this.store,
      tickMs: SIM_TICK_MS, heartbeatMs: o.heartbeatTicks * SIM_TICK_MS, electionTimeoutMs: o.electionTicks * SIM_TICK_MS,
      maxBatchBytes: o.maxBatchBytes, maxBatchEntries: o.maxBatchEntries, maxInflight: o.maxInflight, snapshotChunkBytes: o.snapshotChunkBytes,
      checkQuorum: o.checkQuorum, preVote: o.preVote ?? true, maxUncommittedEntries: o.maxUncommittedEntries, noopOnElection: o.noopOnElection ?? false,
      snapshotPolicy: this.snapshotPolicy, checkReadyContract: true,
      transport: { send: (ms) => { for (const m of ms) this.env.send(m); } },
      stateMachine: this.env.sessions ? this.sessionStateMachine() : {
        apply: (command, index) => commandResult(command, index),
        snapshot: () => { this.stats.snapshotsTaken++; return sm.encode(sm.applied, this.rng.u32()); },
        query: () => encodeApplied(sm.applied),
      },
      readMode: o.readMode, autoPromoteLearners: o.autoPromoteLearners, leaseDriftMs: o.leaseDriftTicks === undefined ? undefined : o.leaseDriftTicks * SIM_TICK_MS,
      onRead: this.env.onRead?.(this.id),
      onApply: (b) => {
        // One event can run several Readys (commit, then apply): show the checker the commit first.
        this.env.observe(this);
        for (let k = 0; k < b.count; k++) {
          const cmd = batchCommand(b, k);
          this.env.checker.onApply(this.id, b.firstIndex + k, b.terms[k], cmd);
          sm.apply(cmd);
          if (this.env.sessions) {
            const index = b.firstIndex + k;
            this.env.sessions.onEntry(this.id, index, this.userApplied.get(index) ?? null);
            this.userApplied.delete(index);
          }
        }
      },
      onRestore: (s) => {
        if (this.booting) return; // restored above, from the same storage
        if (!this.env.sessions) sm.restore(s.data); // else the session layer restored it, through the user state machine
        this.stats.snapshotsInstalled++;
        this.env.checker.onRestore(this.id, s.index, s.term, this.snapshotCommands(s.data, s.index, 'install'));
      },
      onOutcome: this.env.onOutcome(this.id),
    });
    this.booting = false;
  }

  /** Loses the node and all it had not written; the storage survives. */
  crash(): void {
    if (!this.node) return;
    const n = this.node;
    this.node = null;
    this.session = null;
    this.userApplied.clear();
    this.store.crashed();
    this.incarnation++;
    this.stats.crashes++;
    n.halt(); // its proposals' outcomes become unknown
    this.env.checker.onCrash(this.id);
  }

  step(m: Message): void {
    this.node!.receive(m);
  }

  propose(command: Uint8Array, tag: number): ProposeOutcome {
    if (!this.node) return 'down';
    try {
      return this.node.propose(command, tag).isLeader ? 'accepted' : 'not-leader';
    } catch (e) {
      if (e instanceof BackpressureError) return 'backpressure';
      if (e instanceof TransferInProgressError) return 'transferring';
      throw e;
    }
  }

  proposeConfChange(change: ConfChange): ConfChangeOutcome {
    if (!this.node) return { kind: 'down' };
    try {
      return { kind: this.node.proposeConfChange(change).isLeader ? 'accepted' : 'not-leader' };
    } catch (e) {
      if (e instanceof ConfChangeError) return { kind: 'refused', message: e.message };
      throw e;
    }
  }

  /** Snapshots the state machine at a random applied index above the current snapshot; returns the index or 0. */
  compact(rng: Prng): number {
    const node = this.node;
    if (!node) return 0;
    const core = node.core;
    const top = Math.min(core.appliedIndex, this.sm.applied);
    const low = core.log.snapshotIndex;
    if (top <= low) return 0;
    if (this.session) {
      // The session table exists only as of the last applied entry: snapshot there, through the layer.
      if (core.appliedIndex !== this.sm.applied) return 0;
      node.snapshot(top, this.session.snapshot!());
      this.stats.snapshotsTaken++;
      return top;
    }
    // Mostly at the applied index (as real state machines do), sometimes lower to vary what is left in the log.
    const index = rng.chance(0.7) ? top : rng.range(low + 1, top);
    node.snapshot(index, this.sm.encode(index, rng.u32()));
    this.stats.snapshotsTaken++;
    return index;
  }

  // ---- session mode

  /**
   * A SessionStateMachine around the simulated user state machine: apply returns
   * commandResult(payload, index) and records the (clientId, seq) it applies; its snapshot is
   * the command-list encoding of SimStateMachine (which onApply keeps), so the safety checker
   * reads a session snapshot's user part as it reads a plain snapshot.
   */
  private sessionStateMachine() {
    const sm = this.sm;
    const user = {
      apply: (payload: Uint8Array, index: number): Uint8Array => {
        const e = this.applying;
        if (!e || e.index !== index) throw new Error(`peer ${this.id}: user state machine applied index ${index} outside the session layer's apply`);
        const f = decodeFrame(e.command);
        this.userApplied.set(index, { clientId: f.clientId, seq: f.seq, payloadId: commandId(payload) });
        return commandResult(payload, index);
      },
      snapshot: (): Uint8Array => sm.encode(sm.applied, this.rng.u32()),
      restore: (data: Uint8Array): void => sm.restore(data),
      query: (): Uint8Array => encodeApplied(sm.applied),
    };
    const session = new SessionStateMachine(user);
    this.session = session;
    return {
      apply: (command: Uint8Array, index: number, term: number): Uint8Array => {
        this.applying = { index, command };
        try {
          return session.apply(command, index, term);
        } finally {
          this.applying = null;
        }
      },
      snapshot: (): Uint8Array => { this.stats.snapshotsTaken++; return session.snapshot!(); },
      restore: (data: Uint8Array, index: number, term: number): void => session.restore!(data, index, term),
      query: (q: Uint8Array): Uint8Array => session.query!(q),
    };
  }

  /** The user state machine's part of snapshot data (all of it without sessions). */
  private userSnapshot(data: Uint8Array): Uint8Array {
    return this.env.sessions ? readSessionSnapshot(data).userSnapshot : data;
  }

  /** The command list a snapshot holds; in session mode its session table is checked on the way. */
  private snapshotCommands(data: Uint8Array, index: number, what: string): Uint8Array[] {
    if (!this.env.sessions) return decodeSnapshot(data);
    const s = readSessionSnapshot(data);
    this.env.sessions.onSnapshotTable(this.id, what, index, s.sessions);
    return decodeSnapshot(s.userSnapshot);
  }
}
