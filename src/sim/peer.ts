import type { CoreConfig } from '../core/config.js';
import { batchCommand } from '../core/entry-batch.js';
import type { Message } from '../core/message.js';
import { RaftCore } from '../core/raft.js';
import { BackpressureError, Ready, Role } from '../core/types.js';
import type { SafetyChecker } from './checker.js';
import type { Prng } from './prng.js';
import { decodeSnapshot, SimStateMachine } from './state-machine.js';
import { SimStore } from './store.js';

/** Core options the simulation chooses per seed (everything but the id and the random source). */
export type SimCoreOptions = Omit<CoreConfig, 'id' | 'random' | 'peers'>;

export interface PeerEnv {
  send(m: Message): void;
  checker: SafetyChecker;
}

export type ProposeOutcome = 'accepted' | 'not-leader' | 'backpressure' | 'down';

/** Where a crash interrupts the processing of a Ready ('none': it does not). */
export type Tear = 'none' | 'after-send' | 'after-persist';

/**
 * One simulated peer: a RaftCore, the store of what it persisted and its state machine.
 * The core lives only while the peer is up; a crash throws it away with everything not yet
 * on the store (including a Ready whose write had not landed), and a restart builds a new
 * core from the store.
 */
export class SimPeer {
  core: RaftCore | null = null;
  readonly store = new SimStore();
  readonly sm = new SimStateMachine();
  /** Bumped on every crash and restart, so events scheduled for an earlier life are ignored. */
  incarnation = 0;
  /** A Ready-processing event is scheduled for this life. */
  readyScheduled = false;
  /** A crash due inside the next Ready: where it interrupts it and how long the peer stays down. */
  pendingTear: { tear: Tear; downMs: number } | null = null;
  /** Virtual ms between two ticks of this life (the simulation sets it at each start). */
  tickMs = 10;
  /** A Ready taken from the core whose write has not landed yet (pipelined runs only). */
  inflight: Ready | null = null;
  readonly stats = { readys: 0, crashes: 0, restarts: 0, snapshotsTaken: 0, snapshotsInstalled: 0 };

  constructor(
    readonly id: number,
    private readonly peers: readonly number[],
    private readonly options: SimCoreOptions,
    private readonly rng: Prng,
    private readonly env: PeerEnv,
  ) {}

  get up(): boolean {
    return this.core !== null;
  }

  get isLeader(): boolean {
    return this.core !== null && this.core.role === Role.Leader;
  }

  /** (Re)starts from the store: the core reads the persisted state, the state machine the persisted snapshot. */
  start(): void {
    if (this.core) throw new Error(`peer ${this.id} is already up`);
    const state = this.store.load();
    // A fresh random stream per life: a restarted peer does not replay its old election timeouts.
    this.core = new RaftCore({ ...this.options, id: this.id, peers: [...this.peers], random: this.rng.fork().asFunction() }, state);
    this.sm.restore(state.snapshot?.data ?? new Uint8Array(0));
    const snap = state.snapshot;
    this.env.checker.onRestart(this.id, snap?.index ?? 0, snap?.term ?? 0, snap ? decodeSnapshot(snap.data) : []);
    this.incarnation++;
    this.readyScheduled = false;
    this.pendingTear = null;
    this.inflight = null;
    if (this.incarnation > 1) this.stats.restarts++;
  }

  /** Loses the core and all it had not handed out; the store survives. */
  crash(): void {
    if (!this.core) return;
    this.core = null;
    this.incarnation++;
    this.readyScheduled = false;
    this.pendingTear = null;
    this.inflight = null; // its write never landed and its replies are never sent
    this.stats.crashes++;
    this.env.checker.onCrash(this.id);
  }

  tick(): void {
    this.core!.tick();
  }

  step(m: Message): void {
    this.core!.step(m);
  }

  propose(command: Uint8Array): ProposeOutcome {
    if (!this.core) return 'down';
    try {
      return this.core.propose(command).isLeader ? 'accepted' : 'not-leader';
    } catch (e) {
      if (e instanceof BackpressureError) return 'backpressure';
      throw e;
    }
  }

  /** Snapshots the state machine at a random applied index above the current snapshot; returns the index or 0. */
  compact(rng: Prng): number {
    const core = this.core;
    if (!core) return 0;
    const top = Math.min(core.appliedIndex, this.sm.applied);
    const low = core.log.snapshotIndex;
    if (top <= low) return 0;
    // Mostly at the applied index (as real state machines do), sometimes lower to vary what is left in the log.
    const index = rng.chance(0.7) ? top : rng.range(low + 1, top);
    core.compact(index, this.sm.encode(index, rng.u32()));
    this.stats.snapshotsTaken++;
    return index;
  }

  /**
   * Handles one Ready in the order the Ready doc comment prescribes, all in one simulation
   * event: crashes then fall between Readys. `tear` stops it half-way, for a crash inside it:
   * after the `sendNow` messages went out but before the store write (which is atomic), or
   * after the write but before the replies went out. What was not persisted is lost with the
   * core, and `sendAfterPersist` of an unpersisted Ready is never sent, so a core that put a
   * reply in `sendNow` would be caught promising what it lost. A tear is only honoured in a
   * Ready that writes something; returns whether it tore.
   */
  processReady(tear: Tear = 'none'): boolean {
    this.beginReady();
    return this.finishReady(tear);
  }

  /**
   * First half of a Ready, for runtimes whose disk writes take time (src/node awaits
   * storage.save): take the Ready and send what depends on nothing unpersisted. Until
   * finishReady the core keeps taking input (messages, ticks, proposals, compaction), as it
   * does in a real runtime while the write is under way.
   */
  beginReady(): void {
    if (this.inflight) throw new Error(`peer ${this.id}: a Ready is already in flight`);
    const rd = this.core!.ready();
    this.stats.readys++;
    this.inflight = rd;
    // 1. messages that depend on nothing unpersisted
    for (const m of rd.sendNow) this.env.send(m);
  }

  /** Second half: the write lands, then replies, apply, advance. With a tear, the peer must crash right after. */
  finishReady(tear: Tear = 'none'): boolean {
    const core = this.core!;
    const rd = this.inflight!;
    // A torn crash only matters in a Ready that writes something: wait for one.
    if (!rd.hardState && !rd.snapshot && !rd.entries) tear = 'none';
    if (tear === 'after-send') return true;
    this.inflight = null;
    // 2. persist: snapshot, entries, hard state
    this.store.save(rd.hardState, rd.snapshot, rd.entries);
    this.env.checker.onPersist(this.id, rd.hardState, rd.snapshot ? rd.snapshot.index : null, rd.snapshot?.term ?? 0,
      rd.snapshot ? decodeSnapshot(rd.snapshot.data) : null);
    if (tear === 'after-persist') return true;
    // 3. messages that promise what was just persisted
    for (const m of rd.sendAfterPersist) this.env.send(m);
    // 4. the state machine: snapshot first, then committed entries in order
    if (rd.applySnapshot) {
      this.sm.restore(rd.applySnapshot.data);
      this.stats.snapshotsInstalled++;
      this.env.checker.onRestore(this.id, rd.applySnapshot.index, rd.applySnapshot.term, decodeSnapshot(rd.applySnapshot.data));
    }
    if (rd.committed) {
      const b = rd.committed;
      for (let k = 0; k < b.count; k++) {
        const cmd = batchCommand(b, k);
        this.env.checker.onApply(this.id, b.firstIndex + k, b.terms[k], cmd);
        this.sm.apply(cmd);
      }
    }
    // 5. acknowledge
    core.advance(rd);
    return false;
  }
}
