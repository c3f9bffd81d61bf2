import type { CoreConfig } from '../core/config.js';
import { batchCommand } from '../core/entry-batch.js';
import type { Message } from '../core/message.js';
import type { RaftCore } from '../core/raft.js';
import { BackpressureError, Role } from '../core/types.js';
import type { SnapshotPolicy } from '../node/options.js';
import type { OutcomeListener } from '../node/proposal-tracker.js';
import type { ReadListener } from '../node/read-tracker.js';
import { RaftNode } from '../node/raft-node.js';
import type { Scheduler } from '../node/scheduler.js';
import type { SafetyChecker } from './checker.js';
import { commandResult } from './commands.js';
import { encodeApplied } from './read-driver.js';
import type { Prng } from './prng.js';
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
}

export type ProposeOutcome = 'accepted' | 'not-leader' | 'backpressure' | 'down';

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

  constructor(
    readonly id: number,
    private readonly peers: readonly number[],
    private readonly options: SimCoreOptions,
    private readonly snapshotPolicy: SnapshotPolicy | undefined,
    private readonly rng: Prng,
    private readonly env: PeerEnv,
  ) {
    this.store.onLanded = (hs, snap) => {
      this.stats.readys++;
      this.env.checker.onPersist(this.id, hs, snap ? snap.index : null, snap?.term ?? 0, snap ? decodeSnapshot(snap.data) : null);
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
    this.sm.restore(snap?.data ?? new Uint8Array(0));
    this.env.checker.onRestart(this.id, snap?.index ?? 0, snap?.term ?? 0, snap ? decodeSnapshot(snap.data) : []);
    this.incarnation++;
    if (this.incarnation > 1) this.stats.restarts++;
    const o = this.options;
    const sm = this.sm;
    this.booting = true;
    // A fresh random stream per life: a restarted peer does not replay its old election timeouts.
    this.node = RaftNode.startSync({
      id: this.id, peers: [...this.peers], seed: this.rng.u32(), scheduler, storage: this.store,
      tickMs: SIM_TICK_MS, heartbeatMs: o.heartbeatTicks * SIM_TICK_MS, electionTimeoutMs: o.electionTicks * SIM_TICK_MS,
      maxBatchBytes: o.maxBatchBytes, maxBatchEntries: o.maxBatchEntries, maxInflight: o.maxInflight, snapshotChunkBytes: o.snapshotChunkBytes,
      checkQuorum: o.checkQuorum, maxUncommittedEntries: o.maxUncommittedEntries, noopOnElection: o.noopOnElection ?? false,
      snapshotPolicy: this.snapshotPolicy, checkReadyContract: true,
      transport: { send: (ms) => { for (const m of ms) this.env.send(m); } },
      stateMachine: {
        apply: (command, index) => commandResult(command, index),
        snapshot: () => { this.stats.snapshotsTaken++; return sm.encode(sm.applied, this.rng.u32()); },
        query: () => encodeApplied(sm.applied),
      },
      readMode: o.readMode, leaseDriftMs: o.leaseDriftTicks === undefined ? undefined : o.leaseDriftTicks * SIM_TICK_MS,
      onRead: this.env.onRead?.(this.id),
      onApply: (b) => {
        // One event can run several Readys (commit, then apply): show the checker the commit first.
        this.env.observe(this);
        for (let k = 0; k < b.count; k++) {
          const cmd = batchCommand(b, k);
          this.env.checker.onApply(this.id, b.firstIndex + k, b.terms[k], cmd);
          sm.apply(cmd);
        }
      },
      onRestore: (s) => {
        if (this.booting) return; // restored above, from the same storage
        sm.restore(s.data);
        this.stats.snapshotsInstalled++;
        this.env.checker.onRestore(this.id, s.index, s.term, decodeSnapshot(s.data));
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
    // Mostly at the applied index (as real state machines do), sometimes lower to vary what is left in the log.
    const index = rng.chance(0.7) ? top : rng.range(low + 1, top);
    node.snapshot(index, this.sm.encode(index, rng.u32()));
    this.stats.snapshotsTaken++;
    return index;
  }
}
