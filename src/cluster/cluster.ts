import { randomInt } from 'node:crypto';
import path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { checkCommand } from '../core/command.js';
import { batchCommand } from '../core/entry-batch.js';
import { isMembershipEntry } from '../core/membership-entry.js';
import type { Snapshot } from '../core/types.js';
import { CORE_DEFAULTS } from '../core/config.js';
import { SnapshotPolicy, TIMING_OPTIONS, TimingOptions, checkSnapshotPolicy, resolveTiming } from '../node/options.js';
import { MIN_SEGMENT_BYTES } from '../storage/file-storage.js';
import { SharedJournalHost } from '../storage/shared-journal.js';
import { releaseLockOf } from '../storage/dir-lock.js';
import { storageErrorFromWire } from '../storage/storage-corruption-error.js';
import { NetworkState } from '../transport/network-state.js';
import { createRingLinkPair, RingLinkEnds } from '../transport/ring-link.js';
import { SpinGate } from '../transport/spin-gate.js';
import { IdleCoreWatch } from './idle-core-watch.js';
import { ClusterClient } from './client.js';
import { StateMachineError, causeFromWire } from '../node/state-machine-error.js';
import { ClientSession, type ClientSessionOptions } from './client-session.js';
import type { SessionOptions } from '../node/session-state-machine.js';
import { Comlink, Remote, nodeEndpoint } from './comlink.js';
import { DEFAULT_BUSY_POLL_MICROS, checkClusterNestedOptions, checkClusterOptionTypes } from './options.js';
import type { ApplyRecord, TransferOutcome, WorkerApi, WorkerStarted, WorkerStats } from './protocol.js';
import { LeaderTransferError, TransferInProgressError } from '../core/leader-transfer.js';
import { resolveStateMachineModule } from './state-machine-module.js';
import { ClusterStoppedError } from './stopped-error.js';
import { ConfChangeError } from '../core/membership.js';
import { ConfChangeHost, currentMembership, proposeChange, waitCaughtUp, waitCommitted } from './conf-change.js';
import { Roster, initialRoster, readRoster, rosterMembers, rosterSlots, writeRoster } from './roster.js';
import { checkCallOptionNames } from './call-options.js';
import { describeValue } from '../core/option-spec.js';
import { timerDelay } from './timer-delay.js';

export { ClusterStoppedError };

export interface ClusterOptions extends TimingOptions {
  /** Number of peers (one worker_thread each). */
  peers: number;
  /** Forward every applied entry to the main thread (for onApply). Default true. */
  applyStream?: boolean;
  /**
   * Module exporting createStateMachine(peer), loaded inside each worker: a file: URL (string
   * or URL object), an absolute path, or a path relative to process.cwd(). Must exist.
   */
  stateMachine?: string | URL;
  /** Automatic snapshots, taken inside the worker; needs `stateMachine`. */
  snapshotPolicy?: SnapshotPolicy;
  /**
   * Exactly-once client sessions (cluster.session()): the state machine is wrapped in a layer
   * that deduplicates commands by (client, seq) and keeps their results in every snapshot.
   * Commands proposed through the raw client are then not applied (they are not session
   * frames). Default false.
   */
  sessions?: boolean | SessionOptions;
  /**
   * Durable storage on disk (FileStorage): peer i keeps its write-ahead log in `dir/peer-<i>`,
   * which records `clusterId` (default "raft-cluster") and i, so that a directory is never
   * opened as another cluster's or another peer's. `fsync` defaults to 'batch';
   * `segmentBytes` (WAL segment size) to FileStorage's default.
   * Default: shared memory (state survives crash/restart, but not the process).
   */
  storage?: { dir: string; fsync?: 'always' | 'batch' | 'none'; clusterId?: string; segmentBytes?: number };
  /**
   * Seed of every peer's election timeouts and of the fault injector's drop and delay
   * choices (a safe integer). Default: drawn at random and exposed as `cluster.seed`, so a
   * failing run can print it and a rerun with it makes the same choices.
   */
  seed?: number;
  /**
   * Busy-polling, for latency at light load: after sending a request that expects an answer
   * soon (a leader's AppendEntries, the outcomes a closed-loop client answers with its next
   * command, the client's proposals), a thread polls its rings for up to this many
   * microseconds before it sleeps, so that the answer finds it awake instead of paying a
   * thread wake-up. Only while the thread has a few commands in flight (at most 4). 0 turns
   * it off. Default 100. Spins that seldom catch their answer pause (see BusyPoller).
   */
  busyPollMicros?: number;
  /**
   * When busy-polling may run: 'idle-core' (default) while the machine has at least one idle
   * core besides the spinners (sampled every 100 ms, so other processes or a saturated
   * cluster switch it off), or 'always'.
   */
  busyPollWhen?: 'idle-core' | 'always';
}

export type ApplyEvent =
  | { type: 'command'; peer: number; index: number; term: number; command: Uint8Array }
  | { type: 'snapshot'; peer: number; index: number; term: number; snapshot: Uint8Array }
  /** A membership entry was applied at `index` (the core's, not given to the state machine). */
  | { type: 'membership'; peer: number; index: number; term: number };

/** `leaderHint`: the peer this peer believes leads (itself if it does), -1 if it knows none. */
export interface StartResult { index: number; term: number; isLeader: boolean; leaderHint: number }

/** What `peer(i).getState()` reports. */
export interface PeerState { term: number; isLeader: boolean; leaderHint: number }

/** The main thread's handle on one peer. */
export interface PeerHandle {
  readonly id: number;
  /** Proposes a command; resolves at once (not on commit). */
  start(command: Uint8Array): Promise<StartResult>;
  getState(): Promise<PeerState>;
  /** The state machine holds everything through `index` in `data`. */
  snapshot(index: number, data: Uint8Array): Promise<void>;
  stats(): Promise<WorkerStats>;
  readonly alive: boolean;
}

/** Thrown by calls to a crashed peer. */
export class PeerDownError extends Error {
  constructor(id: number, message = `peer ${id} is crashed`) { super(message); this.name = 'PeerDownError'; }
}

/**
 * Peer ids a cluster can hand out over its life (the shared network state has this many
 * slots, allocated at start; ids of removed peers are not reused).
 */
export const MAX_PEER_IDS = 64;

/** What cluster.membership() reports: the configuration in force, as the leader sees it. */
export interface ClusterMembership {
  voters: number[];
  /** C_old's voters while a joint change is under way; empty otherwise. */
  outgoing: number[];
  learners: number[];
  /** Index of the entry (or snapshot) that set it. */
  index: number;
  /** Whether that entry is committed. */
  committed: boolean;
  /** The peer that reported it (the leader, if one leads). */
  reportedBy: number;
}

/** The clusterId recorded in each peer's storage directory unless the options name one. */
export const DEFAULT_CLUSTER_ID = 'raft-cluster';

/** Where peer i of a cluster keeps its FileStorage. */
export function peerDir(dir: string, i: number): string {
  return path.join(dir, `peer-${i}`);
}

interface Incarnation {
  worker: Worker;
  remote: Remote<WorkerApi>;
  applyPort: MessagePort | null;
  down: Promise<never>;
  markDown: (e: Error) => void;
  /** Resolves once the worker has opened its storage and started its node. */
  ready: Promise<void>;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * A Raft cluster in this process: one worker_thread per peer, a pair of shared-memory rings
 * between every two peers (Raft traffic never passes through the main thread), a fault-injecting
 * network, and crash/restart with persisted state kept outside the workers.
 */
export class Cluster {
  /** The seed this cluster's randomness derives from (options.seed, or the one drawn). */
  readonly seed: number;
  private readonly net: NetworkState;
  private readonly journals: Array<SharedJournalHost | null>;
  private readonly peersState: Array<Incarnation | null>;
  /** Termination of each peer's last crashed worker; a restart waits for it (file storage: one writer per directory). */
  private readonly exited: Array<Promise<unknown>>;
  private readonly listeners = new Set<(e: ApplyEvent) => void>();
  private readonly fatalListeners = new Set<(err: Error) => void>();
  private readonly maxCommandBytes: number;
  private readonly handles: PeerHandle[];
  private stopped = false;
  private seedCounter: number;
  private fatalError: string | null = null;
  private clientInstance: ClusterClient | null = null;
  private readonly clientEnds: Array<RingLinkEnds | null>;
  /** The main thread's ends of each peer's read link (see read-protocol.ts). */
  private readonly readEnds: Array<RingLinkEnds | null>;
  private readonly ringBytes: number;
  /** The file: URL of the stateMachine option, resolved once against the caller's working directory. */
  private readonly stateMachineUrl: string | null;
  /** Which peers exist and how each starts (recorded in the storage directory, see roster.ts). */
  private readonly roster: Roster;
  /** The membership changes called and not finished, run one at a time in call order (see queueChange). */
  private changes: Promise<unknown> = Promise.resolve();
  /** The change running now (for messages). */
  private changing: string | null = null;
  private readonly changeHost: ConfChangeHost;
  /** Busy-polling (BusyPoller): microseconds per spin, the shared gate and what opens it. */
  private readonly busyPoll: { micros: number; gate: SpinGate | null; watch: IdleCoreWatch | null; spunMicros: number };

  private constructor(private readonly opts: ClusterOptions) {
    this.roster = opts.storage ? (readRoster(opts.storage.dir) ?? initialRoster(opts.peers)) : initialRoster(opts.peers);
    const members = rosterMembers(this.roster);
    if (opts.peers !== this.roster.initial.length && opts.peers !== members.length) {
      throw new RangeError(`option peers is ${opts.peers}, but storage directory ${opts.storage!.dir} holds a cluster created with ${this.roster.initial.length} peers ` +
        `that now has ${members.length} (peers [${members.join(', ')}]); pass either count`);
    }
    this.net = NetworkState.create(MAX_PEER_IDS); // room for the peers addPeer() adds
    this.journals = [];
    this.peersState = [];
    this.exited = [];
    this.handles = [];
    this.clientEnds = [];
    this.readEnds = [];
    this.maxCommandBytes = opts.maxCommandBytes ?? CORE_DEFAULTS.maxCommandBytes;
    this.seed = opts.seed ?? randomInt(2 ** 31);
    this.seedCounter = this.seed;
    for (let i = 0; i < rosterSlots(this.roster); i++) this.addSlot();
    this.changeHost = {
      running: () => this.peersState.flatMap((inc, id) => (inc ? [{ id, remote: inc.remote, down: inc.down }] : [])),
      checkRunning: (what) => this.checkRunning(what),
      pollMs: Math.max(5, this.opts.tickMs ?? 10),
    };
    // a ring must hold two of the largest records: an AppendEntries batch or a command
    const largest = Math.max(opts.maxBatchBytes ?? CORE_DEFAULTS.maxBatchBytes, this.maxCommandBytes) * 1.6 + 4096;
    this.ringBytes = Math.max(4 << 20, 2 ** Math.ceil(Math.log2(2 * largest)));
    this.stateMachineUrl = opts.stateMachine === undefined ? null : resolveStateMachineModule(opts.stateMachine);
    const micros = opts.busyPollMicros ?? DEFAULT_BUSY_POLL_MICROS;
    const always = opts.busyPollWhen === 'always';
    const gate = micros > 0 ? SpinGate.create(always) : null; // open for good when 'always'
    this.busyPoll = { micros, gate, watch: gate && !always ? new IdleCoreWatch(gate) : null, spunMicros: 0 };
  }

  /** Peer slots: ids 0..size-1 have been given out (removed peers included; see peerIds()). */
  get size(): number { return this.peersState.length; }

  /** Ids of the cluster's peers, running or crashed (removed ones left out), ascending. */
  peerIds(): number[] { return rosterMembers(this.roster).sort((a, b) => a - b); }

  /** Whether peer i was removed by removePeer() (its id is not reused). */
  isRemoved(i: number): boolean { return this.roster.removed.includes(i); }

  /**
   * Opens an exactly-once client session (needs the `sessions` option): its propose() retries
   * through failures until its deadline, and each command takes effect exactly once.
   */
  async session(options: ClientSessionOptions = {}): Promise<ClientSession> {
    this.checkRunning('session()');
    if (!this.opts.sessions) throw new TypeError('cluster.session() needs the cluster to be started with { sessions: true }');
    return ClientSession.open(this.client(), this.maxCommandBytes, options);
  }

  /**
   * The fast path for proposals: a client that writes commands into shared-memory rings and
   * hears back about commits in batches (see ClusterClient). One per cluster; it learns of
   * peers that addPeer() adds and stops using removed ones.
   */
  client(): ClusterClient {
    this.checkRunning('client()');
    if (!this.clientInstance) {
      this.clientInstance = new ClusterClient(this.size, { maxCommandBytes: this.maxCommandBytes, noopReserved: this.opts.noopOnElection !== false },
        { micros: this.busyPoll.micros, gate: this.busyPoll.gate });
      this.clientEnds.forEach((ends, i) => { if (ends && this.peersState[i]) this.clientInstance!.attach(i, ends); });
      this.readEnds.forEach((ends, i) => { if (ends && this.peersState[i]) this.clientInstance!.attachReads(i, ends); });
    }
    return this.clientInstance;
  }

  static async start(opts: ClusterOptions): Promise<Cluster> {
    validateClusterOptions(opts);
    const c = new Cluster(opts);
    try {
      await Promise.all(rosterMembers(c.roster).map((i) => c.spawn(i)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  peer(i: number): PeerHandle {
    this.checkPeer(i);
    return this.handles[i];
  }

  /** Subscribes to every peer's applied entries and snapshots; returns an unsubscribe function. */
  onApply(listener: (e: ApplyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True once stop() was called; every call but the counters then throws ClusterStoppedError. */
  get isStopped(): boolean { return this.stopped; }

  /**
   * Resolves once a running peer is leader, with its index and term (the highest term, should a
   * deposed leader not have heard of its successor yet). Polls every peer's state each tick;
   * rejects after `timeoutMs` (default 10 s) with what each peer reported.
   */
  async waitForLeader(opts: { timeoutMs?: number } = {}): Promise<{ leader: number; term: number }> {
    checkCallOptionNames(opts, ['timeoutMs'], 'waitForLeader');
    const timeoutMs = opts.timeoutMs ?? 10_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw new RangeError(`waitForLeader timeoutMs must be a non-negative number, got ${String(timeoutMs)}`);
    const deadline = Date.now() + timeoutMs;
    const pollMs = Math.max(5, this.opts.tickMs ?? 10);
    let last: Array<PeerState | Error | null> = [];
    for (;;) {
      this.checkRunning('waitForLeader()');
      const round = Promise.all(this.handles.map((h) => (h.alive ? h.getState().catch((e: Error) => e) : null)));
      const states = await raceTimeout(round, Math.max(0, deadline - Date.now()));
      this.checkRunning('waitForLeader()');
      if (states) {
        last = states;
        let best: { leader: number; term: number } | null = null;
        for (let i = 0; i < states.length; i++) {
          const s = states[i];
          if (s && !(s instanceof Error) && s.isLeader && (!best || s.term > best.term)) best = { leader: i, term: s.term };
        }
        if (best) return best;
      }
      if (Date.now() >= deadline) {
        const said = this.handles.map((_, i) => `peer ${i}: ${describePeer(last[i])}`).join('; ');
        throw new Error(`no leader elected within ${timeoutMs} ms (${said})`);
      }
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - Date.now()))));
    }
  }

  /**
   * Hands the leadership to peer `to` (before maintenance on the leader, say): the leader
   * brings `to` up to date, refuses proposals meanwhile (the client retries them as
   * back-pressure), and tells it to campaign. Resolves once the old leader hears from `to` as
   * the new leader. Rejects with a RangeError for a bad or crashed peer or the peer that
   * already leads, and with a LeaderTransferError when no leader is found, the transfer is
   * aborted (`to` did not win within an election timeout) or another peer won.
   */
  async transferLeader(to: number, opts: { timeoutMs?: number } = {}): Promise<void> {
    checkCallOptionNames(opts, ['timeoutMs'], `transferLeader(${to})`);
    this.checkPeer(to);
    this.checkRunning(`transferLeader(${to})`);
    if (this.isRemoved(to)) throw new RangeError(`leader transfer to peer ${to} refused: it was removed from the cluster`);
    if (!this.peersState[to]) throw new RangeError(`leader transfer to peer ${to} refused: it is crashed`);
    let leader: number;
    try {
      leader = (await this.waitForLeader({ timeoutMs: opts.timeoutMs ?? 10_000 })).leader;
    } catch (e) {
      throw new LeaderTransferError('not-leader', `leader transfer to peer ${to} failed: ${(e as Error).message}`);
    }
    if (leader === to) throw new RangeError(`leader transfer to peer ${to} refused: it already leads`);
    const inc = this.peersState[leader];
    if (!inc) throw new LeaderTransferError('not-leader', `leader transfer to peer ${to} failed: leader ${leader} crashed`);
    const r = await Promise.race([inc.remote.transferLeader(to) as Promise<TransferOutcome>, inc.down]);
    if (r.ok) return;
    switch (r.error) {
      case 'RangeError': throw new RangeError(r.message);
      case 'TypeError': throw new TypeError(r.message);
      case 'TransferInProgressError': { const e = new TransferInProgressError(leader, -1); e.message = r.message; throw e; }
      case 'LeaderTransferError': throw new LeaderTransferError((r.reason ?? 'aborted') as LeaderTransferError['reason'], r.message);
      default: throw new Error(r.message);
    }
  }

  // ------------------------------------------------------------ faults

  /** Cuts peer i off: it neither sends nor receives. */
  disconnect(i: number): void { this.checkPeer(i); this.checkRunning(`disconnect(${i})`); this.net.setConnected(i, false); }
  connect(i: number): void { this.checkPeer(i); this.checkRunning(`connect(${i})`); this.net.setConnected(i, true); }
  isConnected(i: number): boolean { return this.net.isConnected(i); }
  /** Requests delayed 0-26 ms, 10% of requests and 10% of replies dropped. */
  setUnreliable(on: boolean): void { this.checkRunning('setUnreliable()'); this.net.setUnreliable(on); }
  /** Two thirds of replies delayed 200 ms to 2.2 s. */
  setLongReordering(on: boolean): void { this.checkRunning('setLongReordering()'); this.net.setLongReordering(on); }

  /** Terminates peer i's worker; whatever it had not persisted is lost. */
  async crash(i: number): Promise<void> {
    this.checkPeer(i);
    this.checkRunning(`crash(${i})`);
    const inc = this.peersState[i];
    if (!inc) return;
    this.detach(i, inc, new PeerDownError(i));
    const exited = this.terminate(i, inc.worker);
    this.exited[i] = exited.catch(() => {});
    await exited;
  }

  /** Peer i is down from here on: fenced, marked dead for the others, cut off from the clients. */
  private detach(i: number, inc: Incarnation, reason: Error): void {
    this.peersState[i] = null;
    this.journals[i]?.fence(); // from here on, nothing the old worker writes is visible
    this.net.setAlive(i, false);
    inc.markDown(reason);
    this.clientEnds[i] = null;
    this.clientInstance?.attach(i, null);
    this.readEnds[i] = null;
    this.clientInstance?.attachReads(i, null);
    inc.applyPort?.close();
  }

  /**
   * A worker that exited without crash() or stop() (process.exit in the state machine, an
   * uncaught error, out of memory) is a crashed peer: the others stop sending to it, waiting
   * proposals fail, onFatal hears of it, and restart(i) brings it back.
   */
  private onWorkerExit(i: number, inc: Incarnation, why: string): void {
    if (this.stopped || this.peersState[i] !== inc) return; // crash(), stop() or a failed start handled it
    const err = new PeerDownError(i, `peer ${i} ${why}`);
    this.fatalError ??= err.message;
    this.clientInstance?.failPeer(i, err); // before detach(), which would fail them without a cause
    this.detach(i, inc, err);
    const exited = this.terminate(i, inc.worker);
    this.exited[i] = exited.catch(() => {});
    for (const l of this.fatalListeners) l(err);
  }

  /** Starts a new worker for peer i from what it had persisted. Resolves with the snapshot it restored. */
  async restart(i: number): Promise<{ snapshot: Snapshot | null }> {
    this.checkPeer(i);
    this.checkRunning(`restart(${i})`);
    if (this.isRemoved(i)) throw new RangeError(`restart(${i}) refused: peer ${i} was removed from the cluster`);
    if (this.peersState[i]) throw new Error(`peer ${i} is running; crash it first`);
    // The old worker's thread must be gone (and its descriptors closed) before a new one opens its storage.
    await this.exited[i];
    this.checkRunning(`restart(${i})`);
    if (this.peersState[i]) throw new Error(`peer ${i} is running; crash it first`);
    const old = this.journals[i];
    if (old) this.journals[i] = old.compacted();
    return this.spawn(i);
  }

  // ------------------------------------------------------------ counters and state

  /** Requests (RPCs) delivered to peer i. */
  rpcCount(i: number): number { this.checkPeer(i); return this.net.rpcCount(i); }
  rpcTotal(): number { let n = 0; for (let i = 0; i < this.size; i++) n += this.net.rpcCount(i); return n; }
  /** Bytes of all messages delivered, to every peer. */
  bytesTotal(): number { let n = 0; for (let i = 0; i < this.size; i++) n += this.net.bytesReceived(i); return n; }
  isAlive(i: number): boolean { return this.peersState[i] !== null; }

  /**
   * Bytes of Raft state (hard state and log entries after the snapshot; the snapshot itself
   * not counted) running peer i has persisted: 12 for the hard state, plus, if the log is not
   * empty, 12 + 8 per entry + the command bytes. The count does not depend on how a storage
   * lays records out, so it means the same on shared memory and on disk. The worker computes
   * it from its log through the stable index; a crashed peer rejects with PeerDownError.
   */
  async persistedStateBytes(i: number): Promise<number> {
    this.checkPeer(i);
    return (await this.handles[i].stats()).raftStateBytes;
  }

  /**
   * Subscribes to fatal errors of peers: a state machine that threw (StateMachineError, with
   * peer, index and the original error) or a storage failure. The peer has stopped (fail-stop);
   * proposals waiting on it reject with the same error. Returns an unsubscribe function.
   */
  onFatal(listener: (err: Error) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /**
   * What busy-polling (the busyPollMicros option) has done so far: `spinMs`, the time all
   * threads spent spinning; with busyPollWhen 'idle-core', `samples` of the machine's idle
   * cores taken (every 100 ms) and how many of them allowed spinning (`openSamples`).
   * Null when busy-polling is off.
   */
  busyPollStats(): { micros: number; when: 'idle-core' | 'always'; spinMs: number; samples: number; openSamples: number } | null {
    const bp = this.busyPoll;
    if (!bp.gate) return null;
    bp.spunMicros += bp.watch ? 0 : bp.gate.takeSpinMicros(); // a watch takes the tally itself
    const w = bp.watch;
    return {
      micros: bp.micros, when: w ? 'idle-core' : 'always',
      spinMs: ((w?.spinMicros ?? 0) + bp.spunMicros) / 1000, samples: w?.samples ?? 0, openSamples: w?.openSamples ?? 0,
    };
  }

  /** A fatal error a worker reported (storage failure), if any. */
  get fatal(): string | null { return this.fatalError; }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.busyPoll.watch?.stop();
    // First, so that what the client has in flight fails as cut short by stop() (cause ClusterStoppedError),
    // not by the 'unknown' answers the stopping peers would send.
    this.clientInstance?.close('cluster is stopped: cluster.stop() was called');
    await Promise.all(this.peersState.map(async (inc, i) => {
      if (!inc) return;
      this.peersState[i] = null;
      inc.markDown(new ClusterStoppedError('cluster.stop() was called while this call was in flight'));
      try { await Promise.race([inc.remote.stop(), delay(1000)]); } catch { /* already gone */ }
      inc.applyPort?.close();
      inc.remote[Comlink.releaseProxy]?.();
      await this.terminate(i, inc.worker);
    }));
    this.listeners.clear();
  }

  // ------------------------------------------------------------ membership

  /**
   * The configuration in force as the leader sees it (with no leader within `timeoutMs`,
   * default 2 s: as the running peer with the longest log sees it).
   */
  async membership(opts: { timeoutMs?: number } = {}): Promise<ClusterMembership> {
    this.checkRunning('membership()');
    const r = await currentMembership(this.changeHost, 'membership()', Date.now() + checkTimeout(opts, 2000, 'membership()'));
    return { voters: r.voters, outgoing: r.outgoing, learners: r.learners, index: r.index, committed: r.index <= r.commitIndex, reportedBy: r.id };
  }

  /**
   * Adds a peer to the running cluster: starts a worker with empty storage (id: the next
   * unused one), wires rings between it and every running peer and the client, adds it as a
   * learner through the leader, waits until it keeps up with the commits, then (unless
   * `voter: false`) promotes it to voter by joint consensus. Resolves with its id once the
   * last change committed. Changes run one at a time, in call order: a call while another
   * addPeer/removePeer runs waits for it (queueChange). `timeoutMs` (default 60 s) bounds the
   * whole operation from the call, its wait included.
   */
  async addPeer(opts: { voter?: boolean; timeoutMs?: number } = {}): Promise<number> {
    checkCallOptionNames(opts, ['voter', 'timeoutMs'], 'addPeer()');
    if (opts.voter !== undefined && typeof opts.voter !== 'boolean') throw new TypeError(`addPeer() option voter must be a boolean, got ${describeValue(opts.voter)}`);
    const deadline = Date.now() + checkTimeout(opts, 60_000, 'addPeer()');
    this.checkRunning('addPeer()');
    return this.queueChange('addPeer()', deadline, () => this.addPeerNow(opts, deadline));
  }

  private async addPeerNow(opts: { voter?: boolean }, deadline: number): Promise<number> {
    this.checkRunning('addPeer()');
    const id = this.size; // the next id when this change starts (an earlier queued addPeer took the one before)
    if (id >= MAX_PEER_IDS) throw new RangeError(`addPeer() refused: the cluster has given out all ${MAX_PEER_IDS} peer ids (ids of removed peers are not reused)`);
    const what = `addPeer() of peer ${id}`;
    this.changing = what;
    try {
      this.addSlot();
      this.roster.added.push(id);
      this.saveRoster(); // before its directory exists: a restart knows it as a joining peer
      try {
        await this.spawn(id);
      } catch (e) {
        this.roster.removed.push(id);
        this.saveRoster();
        throw e;
      }
      try {
        await waitCommitted(this.changeHost, await proposeChange(this.changeHost, { addLearners: [id] }, what, deadline), what, deadline);
        if (opts.voter === false) return id;
        await waitCaughtUp(this.changeHost, id, what, deadline);
        await this.promote(id, what, deadline);
        return id;
      } catch (e) {
        if (this.stopped) throw e;
        // Say where the peer stands: a member stays (removePeer removes it), anything else is stopped.
        const m = await this.membership({ timeoutMs: 1000 }).catch(() => null);
        const role = m?.voters.includes(id) ? 'a voter' : m?.learners.includes(id) ? 'a learner' : null;
        if (role) (e as Error).message += `; peer ${id} stays ${role} of the cluster (removePeer(${id}) removes it)`;
        else { await this.retire(id); (e as Error).message += `; peer ${id} was stopped`; }
        throw e;
      }
    } finally {
      this.changing = null;
    }
  }

  /**
   * Removes peer i (a voter, the leader included, or a learner) through the leader, waits
   * until the change committed (a removed leader steps down then), and stops its worker (a
   * crashed peer is removed all the same). Its id is not reused; its storage directory stays.
   * Refused (RangeError) for an id that is not a member (when called, or when its turn comes:
   * an earlier queued change may have removed it), (ConfChangeError) for the last voter. Runs
   * after the changes called before it (queueChange). `timeoutMs` default 30 s, from the call.
   */
  async removePeer(i: number, opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + checkTimeout(opts, 30_000, `removePeer(${i})`);
    this.checkRunning(`removePeer(${i})`);
    this.checkMember(i);
    return this.queueChange(`removePeer(${i})`, deadline, () => this.removePeerNow(i, deadline));
  }

  private checkMember(i: number): void {
    // A peer id of the wrong type ('0') would read as 'peer 0 is not a member' while 0 is one.
    if (typeof i !== 'number') throw new TypeError(`removePeer() refused: the peer id must be an integer, got ${describeValue(i)}`);
    if (!Number.isInteger(i) || i < 0 || i >= this.size || this.isRemoved(i)) {
      throw new RangeError(`removePeer(${i}) refused: peer ${i} is not a member of the cluster (peers [${this.peerIds().join(', ')}])`);
    }
  }

  private async removePeerNow(i: number, deadline: number): Promise<void> {
    this.checkRunning(`removePeer(${i})`);
    this.checkMember(i);
    const what = `removePeer(${i})`;
    this.changing = what;
    try {
      const m = await currentMembership(this.changeHost, what, deadline);
      const change = m.voters.includes(i) ? { removeVoters: [i] } : m.learners.includes(i) ? { removeLearners: [i] } : null;
      if (!change) throw new RangeError(`${what} refused: peer ${i} is neither a voter nor a learner of the configuration in force (voters [${m.voters.join(',')}], learners [${m.learners.join(',')}])`);
      if (change.removeVoters) await this.handOffBeforeRemoval(i, m.voters, deadline);
      await waitCommitted(this.changeHost, await proposeChange(this.changeHost, change, what, deadline), what, deadline);
      await this.retire(i);
    } finally {
      this.changing = null;
    }
  }

  /**
   * If peer i leads, hands the leadership to another running voter first: a removed leader
   * would otherwise stop answering for what it accepted after C_new (those proposals end
   * 'unknown') and the cluster would wait an election timeout for a successor. Best effort:
   * should the transfer fail, the removal goes on and the leader steps down once C_new commits.
   */
  private async handOffBeforeRemoval(i: number, voters: readonly number[], deadline: number): Promise<void> {
    if (!this.peersState[i]) return; // a crashed peer leads nothing
    const s = await this.handles[i].getState().catch(() => null);
    if (!s?.isLeader) return;
    const to = voters.find((v) => v !== i && this.peersState[v] !== null && !this.isRemoved(v));
    if (to === undefined) return;
    const timeoutMs = Math.max(1, Math.min(5_000, deadline - Date.now()));
    await this.transferLeader(to, { timeoutMs }).catch(() => {});
  }

  /**
   * Replaces peer i (typically a crashed one) by a fresh peer with empty storage:
   * removePeer(i), then addPeer(). Resolves with the new peer's id.
   */
  async replacePeer(i: number, opts: { timeoutMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + checkTimeout(opts, 90_000, `replacePeer(${i})`);
    await this.removePeer(i, { timeoutMs: Math.max(1, deadline - Date.now()) });
    return this.addPeer({ timeoutMs: Math.max(1, deadline - Date.now()) });
  }

  /** Promotes learner `id`, unless the leader did already (option autoPromoteLearners); waits for the commit. */
  private async promote(id: number, what: string, deadline: number): Promise<void> {
    for (;;) {
      const m = await currentMembership(this.changeHost, what, deadline);
      if (m.voters.includes(id)) {
        await waitCommitted(this.changeHost, { voters: m.voters, outgoing: [], learners: m.learners }, what, deadline);
        return;
      }
      try {
        await waitCommitted(this.changeHost, await proposeChange(this.changeHost, { promoteLearners: [id] }, what, deadline), what, deadline);
        return;
      } catch (e) {
        if (!(e instanceof ConfChangeError && /is not a learner: it is a voter/.test(e.message))) throw e; // promoted meanwhile
      }
    }
  }

  /**
   * Runs `change` once every membership change called before it has finished (succeeded or
   * failed): one change at a time, in call order, so that each starts from the configuration
   * the previous one left. A change still waiting at `deadline` fails with a ConfChangeError
   * naming the change it waited for, and is never started.
   */
  private queueChange<T>(what: string, deadline: number, change: () => Promise<T>): Promise<T> {
    const before = this.changes;
    const run = (async (): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        const arm = (): void => { timer = setTimeout(() => (Date.now() >= deadline ? resolve('expired') : arm()), timerDelay(deadline - Date.now())); };
        arm();
      });
      const outcome = await Promise.race([before.then(() => 'ready' as const), expired]);
      clearTimeout(timer);
      if (outcome === 'expired') {
        throw new ConfChangeError(`${what} timed out waiting for ${this.changing ?? 'an earlier membership change'} to finish (one membership change at a time)`);
      }
      return change();
    })();
    // The next change waits for this one and for everything before it (a waiter that timed out
    // finishes early, while the change it waited for may still run).
    this.changes = Promise.allSettled([before, run]);
    return run;
  }

  /** Peer i left the configuration: stop using it, stop its worker, drop every link to it. */
  private async retire(i: number): Promise<void> {
    this.roster.removed.push(i);
    this.saveRoster();
    // Let the client hear the outcome of what it had sent to the peer; what a removed leader
    // accepted last stays unknown to it (it hears of no commit after it left), and ends 'unknown'.
    const until = Date.now() + 1000;
    while (this.clientInstance && this.clientInstance.pendingAt(i) > 0 && Date.now() < until) await delay(10);
    this.clientEnds[i] = null;
    this.clientInstance?.attach(i, null);
    this.readEnds[i] = null;
    this.clientInstance?.attachReads(i, null);
    const inc = this.peersState[i];
    if (inc) {
      this.peersState[i] = null;
      inc.markDown(new PeerDownError(i, `peer ${i} was removed from the cluster`));
      try { await Promise.race([inc.remote.stop(), delay(1000)]); } catch { /* already gone */ }
      inc.applyPort?.close();
      inc.remote[Comlink.releaseProxy]?.();
      const exited = this.terminate(i, inc.worker);
      this.exited[i] = exited.catch(() => {});
      await exited;
    }
    // Nothing links to the slot any more; keep it "healthy" so the transports' fast path stays on.
    this.net.setAlive(i, true);
    this.net.setConnected(i, true);
    await Promise.all(this.peersState.map((p) => p?.remote.disconnectPeer(i).catch(() => {})));
  }

  private saveRoster(): void {
    if (this.opts.storage) writeRoster(this.opts.storage.dir, this.roster);
  }

  /** Makes room for peer id `size` (its slot stays empty until spawned). */
  private addSlot(): void {
    const id = this.peersState.length;
    this.peersState.push(null);
    this.journals.push(this.opts.storage ? null : SharedJournalHost.create());
    this.exited.push(Promise.resolve());
    this.handles.push(this.makeHandle(id));
    this.clientEnds.push(null);
    this.readEnds.push(null);
  }

  // ------------------------------------------------------------ internals

  /** Each worker's thread id, kept for after it exits (its storage lock names it). */
  private readonly workerThreads = new WeakMap<Worker, number>();

  /** Ends peer i's worker; a worker ended this way never closed its storage, so its directory lock is freed here. */
  private async terminate(i: number, worker: Worker): Promise<void> {
    const thread = this.workerThreads.get(worker) ?? worker.threadId; // threadId is -1 once the worker has exited
    try {
      await worker.terminate();
    } finally {
      if (this.opts.storage) releaseLockOf(peerDir(this.opts.storage.dir, i), thread);
    }
  }

  private async spawn(i: number): Promise<{ snapshot: Snapshot | null }> {
    const worker = new Worker(WORKER_URL);
    this.workerThreads.set(worker, worker.threadId);
    const remote = Comlink.wrap<WorkerApi>(nodeEndpoint(worker));
    let markDown!: (e: Error) => void;
    const down = new Promise<never>((_, reject) => { markDown = reject; });
    down.catch(() => {});
    // A worker that dies on its own fails every pending call (init included) instead of leaving it hanging.
    worker.on('error', (e) => {
      this.fatalError ??= `peer ${i} worker error: ${e.message}`;
      markDown(new Error(`peer ${i} worker error: ${e.message}`));
      this.onWorkerExit(i, inc, `worker failed: ${e.message}`);
    });
    worker.on('exit', (code) => {
      markDown(new PeerDownError(i, `peer ${i} worker exited (code ${code})`));
      this.onWorkerExit(i, inc, `worker exited on its own (code ${code})`);
    });
    // The worker's reports to the main thread: applied entries (if asked for), fatal errors.
    const reports = new MessageChannel();
    const applyPort: MessagePort = reports.port1;
    const workerApplyPort: MessagePort = reports.port2;
    applyPort.on('message', (rec: ApplyRecord) => this.onApplyRecord(i, rec));
    applyPort.unref();
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => { markReady = resolve; });
    const inc: Incarnation = { worker, remote, applyPort, down, markDown, ready };
    this.peersState[i] = inc;
    this.net.setAlive(i, true);
    const peerLinks: Array<[number, RingLinkEnds]> = [];
    const transfers: MessagePort[] = [];
    const wiring: Array<Promise<void>> = [];
    for (let j = 0; j < this.size; j++) {
      if (j === i) continue;
      const other = this.peersState[j];
      if (!other) continue; // a crashed peer gets its links when it restarts
      const ch = new MessageChannel();
      const { sabAB, sabBA } = createRingLinkPair(this.ringBytes);
      peerLinks.push([j, { outSab: sabAB, inSab: sabBA, port: ch.port1 }]);
      transfers.push(ch.port1);
      // A running peer swaps in its new end of the link (comlink queues the call until it is up).
      wiring.push(other.remote.connectPeer(i, Comlink.transfer({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, [ch.port2 as never])));
    }
    const clientChannel = new MessageChannel();
    const clientRings = createRingLinkPair(this.ringBytes);
    const clientLink: RingLinkEnds = { outSab: clientRings.sabBA, inSab: clientRings.sabAB, port: clientChannel.port2 };
    transfers.push(clientChannel.port2);
    this.clientInstance?.attach(i, { outSab: clientRings.sabAB, inSab: clientRings.sabBA, port: clientChannel.port1 });
    this.clientEnds[i] = { outSab: clientRings.sabAB, inSab: clientRings.sabBA, port: clientChannel.port1 };
    const readChannel = new MessageChannel();
    const readRings = createRingLinkPair(this.ringBytes);
    const readLink: RingLinkEnds = { outSab: readRings.sabBA, inSab: readRings.sabAB, port: readChannel.port2 };
    transfers.push(readChannel.port2);
    this.readEnds[i] = { outSab: readRings.sabAB, inSab: readRings.sabBA, port: readChannel.port1 };
    this.clientInstance?.attachReads(i, this.readEnds[i]);
    if (workerApplyPort) transfers.push(workerApplyPort);
    const journal = this.journals[i];
    const storage = this.opts.storage;
    const timing = pickTiming(this.opts);
    const peerSeed = this.seedCounter++ * 31 + i; // each incarnation gets its own streams
    const started = Comlink.transfer({
      id: i,
      peers: this.roster.initial,
      joining: this.roster.added.includes(i),
      netPeers: MAX_PEER_IDS,
      timing,
      seed: peerSeed,
      faultSeed: Math.imul(peerSeed ^ 0x2545f491, 0x9e3779b1) >>> 0,
      netSab: this.net.sab,
      journalSab: journal ? journal.control : null,
      journalSlots: journal ? journal.slots : null,
      forwardApplies: this.opts.applyStream !== false,
      journalEpoch: journal ? journal.currentEpoch : 0,
      fileStorage: storage ? { dir: peerDir(storage.dir, i), fsync: storage.fsync ?? 'batch', clusterId: storage.clusterId ?? DEFAULT_CLUSTER_ID, segmentBytes: storage.segmentBytes } : null,
      applyPort: workerApplyPort,
      peerLinks,
      clientLink,
      readLink,
      stateMachineModule: this.stateMachineUrl,
      snapshotPolicy: this.opts.snapshotPolicy,
      busyPoll: { micros: this.busyPoll.micros, gateSab: this.busyPoll.gate?.sab ?? null },
      sessions: this.opts.sessions ? (this.opts.sessions === true ? {} : this.opts.sessions) : null,
    }, transfers as never[]);
    let result: WorkerStarted;
    try {
      result = await Promise.race([remote.init(started), down]);
    } catch (e) {
      // Opening the storage (or loading the state machine) failed: this peer does not exist.
      if (this.peersState[i] === inc) {
        this.peersState[i] = null;
        this.net.setAlive(i, false);
        inc.markDown(new PeerDownError(i));
        // The client must not send into the rings of a worker that never started: it would wait forever.
        this.clientEnds[i] = null;
        this.clientInstance?.attach(i, null);
        this.readEnds[i] = null;
        this.clientInstance?.attachReads(i, null);
        applyPort?.close();
        const exited = this.terminate(i, worker);
        this.exited[i] = exited.catch(() => {});
        await exited;
      }
      const corrupt = storageErrorFromWire(e, i); // crossed from the worker as a tagged object
      if (corrupt) throw corrupt;
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`peer ${i} failed to start: ${msg}`, { cause: e });
    }
    markReady();
    await Promise.all(wiring);
    const snapshot = result.snapshot ? { index: result.snapshotIndex, term: result.snapshotTerm, data: result.snapshot } : null;
    return { snapshot };
  }

  private onApplyRecord(peer: number, rec: ApplyRecord): void {
    if (rec.kind === 'fatal') {
      this.fatalError ??= `peer ${peer}: ${rec.message}`;
      const err = rec.stateMachine
        ? new StateMachineError(peer, rec.stateMachine.index, rec.stateMachine.term, causeFromWire(rec.stateMachine.cause))
        : new Error(`peer ${peer} stopped: ${rec.message}`);
      this.clientInstance?.failPeer(peer, err);
      for (const l of this.fatalListeners) l(err);
      return;
    }
    if (this.listeners.size === 0) return;
    if (rec.kind === 'snapshot') {
      const e: ApplyEvent = { type: 'snapshot', peer, index: rec.index, term: rec.term, snapshot: rec.data };
      for (const l of this.listeners) l(e);
      return;
    }
    const b = { firstIndex: rec.firstIndex, count: rec.count, terms: rec.terms, ends: rec.ends, data: rec.data };
    const skipEmpty = this.opts.noopOnElection !== false; // empty entries are the leaders' no-ops
    for (let k = 0; k < b.count; k++) {
      const command = batchCommand(b, k);
      if (skipEmpty && command.byteLength === 0) continue; // the leaders' no-ops
      if (isMembershipEntry(command)) { // the core's entries, not the state machine's
        const e: ApplyEvent = { type: 'membership', peer, index: b.firstIndex + k, term: b.terms[k] };
        for (const l of this.listeners) l(e);
        continue;
      }
      const e: ApplyEvent = { type: 'command', peer, index: b.firstIndex + k, term: b.terms[k], command };
      for (const l of this.listeners) l(e);
    }
  }

  private makeHandle(id: number): PeerHandle {
    const call = async <T>(what: string, f: (r: Remote<WorkerApi>) => Promise<T>): Promise<T> => {
      this.checkRunning(`peer(${id}).${what}()`);
      const inc = this.peersState[id];
      if (!inc) throw new PeerDownError(id, this.isRemoved(id) ? `peer ${id} was removed from the cluster` : undefined);
      // A peer being restarted answers once it is up (its node does not exist before).
      await Promise.race([inc.ready, inc.down]);
      return Promise.race([f(inc.remote), inc.down]);
    };
    const self = this;
    return {
      id,
      get alive() { return self.peersState[id] !== null; },
      start: (command: Uint8Array) => {
        checkCommand(command, this.maxCommandBytes, this.opts.noopOnElection !== false);
        return call('start', (r) => r.start(command) as Promise<StartResult>);
      },
      getState: () => call('getState', (r) => r.getState() as Promise<PeerState>),
      snapshot: (index: number, data: Uint8Array) => {
        if (!Number.isInteger(index) || index < 0) return Promise.reject(new TypeError(`snapshot index must be a non-negative integer, got ${index}`));
        if (!(data instanceof Uint8Array)) return Promise.reject(new TypeError('snapshot data must be a Uint8Array'));
        return call('snapshot', (r) => r.snapshot(index, data) as Promise<void>);
      },
      stats: () => call('stats', (r) => r.stats() as Promise<WorkerStats>),
    };
  }

  private checkRunning(what: string): void {
    if (this.stopped) throw new ClusterStoppedError(`${what} called after cluster.stop()`);
  }

  private checkPeer(i: number): void {
    if (!Number.isInteger(i)) throw new (typeof i === 'number' ? RangeError : TypeError)(`peer index must be an integer, got ${describeValue(i)}`);
    if (i < 0 || i >= this.size) throw new RangeError(`peer index ${i} out of range 0..${this.size - 1}`);
  }
}

function pickTiming(o: ClusterOptions): TimingOptions {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(TIMING_OPTIONS)) if (o[k as keyof TimingOptions] !== undefined) out[k] = o[k as keyof TimingOptions];
  return out as TimingOptions;
}

/** Largest maxCommandBytes / maxBatchBytes: two records (1.6x with headers) fit a ring of at most 1 GiB. */
const MAX_RECORD_BYTES = 256 << 20;

function validateClusterOptions(o: ClusterOptions): void {
  checkClusterOptionTypes(o); // names and types, against the table of every option
  if (o.peers > 64) throw new RangeError(`option peers must be at most 64, got ${o.peers}`);
  // A ring holds two of the largest records (see ringBytes): its 1 GiB limit bounds them.
  for (const name of ['maxCommandBytes', 'maxBatchBytes'] as const) {
    const v = o[name];
    if (v !== undefined && v > MAX_RECORD_BYTES) throw new RangeError(`option ${name} must be at most ${MAX_RECORD_BYTES} (256 MiB: a shared-memory ring holds two such records), got ${v}`);
  }
  resolveTiming(o);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new RangeError(`option seed must be a safe integer, got ${String(o.seed)}`);
  checkSnapshotPolicy(o.snapshotPolicy);
  checkClusterNestedOptions(o);
  if (o.snapshotPolicy && !o.stateMachine) throw new TypeError('option snapshotPolicy needs option stateMachine (a module that creates the state machine inside each worker)');
  if (o.storage !== undefined) {
    if (typeof o.storage !== 'object' || o.storage === null || typeof o.storage.dir !== 'string' || o.storage.dir === '') {
      throw new TypeError('option storage must be { dir: string, fsync?: "always" | "batch" | "none" }');
    }
    if (o.storage.fsync !== undefined && !['always', 'batch', 'none'].includes(o.storage.fsync)) {
      const wrongType = typeof o.storage.fsync !== 'string'; // { fsync: 1 } is a wrong type, { fsync: 'sometimes' } a wrong value
      throw new (wrongType ? TypeError : RangeError)(`option storage.fsync must be "always", "batch" or "none", got ${describeValue(o.storage.fsync)}`);
    }
    if (o.storage.clusterId !== undefined && (typeof o.storage.clusterId !== 'string' || o.storage.clusterId === '')) {
      throw new TypeError(`option storage.clusterId must be a non-empty string, got ${describeValue(o.storage.clusterId)}`);
    }
    const seg = o.storage.segmentBytes;
    if (seg !== undefined && (!Number.isSafeInteger(seg) || seg < MIN_SEGMENT_BYTES || seg > 0xffffffff)) {
      throw new RangeError(`option storage.segmentBytes must be an integer from ${MIN_SEGMENT_BYTES} to ${0xffffffff}, got ${String(seg)}`);
    }
  }
}

function checkTimeout(opts: { timeoutMs?: number }, dflt: number, what: string): number {
  if (what !== 'addPeer()') checkCallOptionNames(opts, ['timeoutMs'], what); // addPeer checks its own (voter too)
  const ms = opts?.timeoutMs ?? dflt;
  if (typeof ms !== 'number' || !(ms > 0)) throw new RangeError(`${what} option timeoutMs must be a positive number, got ${String(ms)}`);
  return ms;
}

/** Resolves with p's value, or with null once `ms` have passed. */
async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => { timer = setTimeout(() => r(null), timerDelay(ms)); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(timer); }
}

function describePeer(s: PeerState | Error | null | undefined): string {
  if (s === undefined) return 'did not answer in time';
  if (s === null) return 'crashed';
  if (s instanceof Error) return `error (${s.message})`;
  const knows = s.leaderHint >= 0 ? `believes peer ${s.leaderHint} leads` : 'knows no leader';
  return `term ${s.term}, ${s.isLeader ? 'leader' : 'not leader'}, ${knows}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
