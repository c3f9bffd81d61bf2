import { CORE_OPTIONS, CoreConfig, SHARED_CORE_OPTIONS } from '../core/config.js';
import {
  OptionTable, boolean, checkOptions, func, integer, nonNegativeInt, object, pickOptions, positiveInt, positiveNumber, required,
} from '../core/option-spec.js';

/** Timing and size options shared by RaftNode and Cluster, in milliseconds and bytes. */
export interface TimingOptions {
  /** Granularity of the node's clock. Default 10 ms. */
  tickMs?: number;
  /** Leader heartbeat interval. Default 100 ms (at most 10 heartbeats per second). */
  heartbeatMs?: number;
  /** Minimum election timeout; each timeout is random in [t, 2t). Default 300 ms. */
  electionTimeoutMs?: number;
  /** Largest command accepted. Default 1 MiB. */
  maxCommandBytes?: number;
  /** Largest AppendEntries payload. Default 1 MiB. */
  maxBatchBytes?: number;
  /** Entries per AppendEntries at most. Default 65,536. */
  maxBatchEntries?: number;
  /** A leader that has not heard from a majority within an election timeout steps down. Default true. */
  checkQuorum?: boolean;
  /** AppendEntries in flight per follower. Default 64. */
  maxInflight?: number;
  /** InstallSnapshot chunk size. Default 64 KiB. */
  snapshotChunkBytes?: number;
  /** Uncommitted entries the leader accepts before refusing proposals. Default 1,048,576. */
  maxUncommittedEntries?: number;
  /**
   * A new leader appends an empty no-op entry, so that entries of earlier terms commit (and
   * proposals in flight during a failover settle) without waiting for new proposals. Default
   * true. 0-byte commands are then refused, and no-op entries are not applied or reported.
   */
  noopOnElection?: boolean;
  /** Ask for pre-votes before raising the term to campaign, so a rejoining peer does not depose the leader. Default true. */
  preVote?: boolean;
  /**
   * A leader whose own log write has not landed within this many ms steps down, so that a peer
   * with a working disk takes over. Default 3 election timeouts.
   */
  maxLeaderWriteStallMs?: number;
  /**
   * How reads (RaftNode.read) are confirmed: 'index' (default), a heartbeat round to a
   * majority; 'lease', no round while the leader's lease holds (needs checkQuorum; the lease
   * is the election timeout minus a clock-drift bound of a fifth of it, see CoreConfig.leaseDriftTicks).
   */
  readMode?: 'index' | 'lease';
  /**
   * Lease reads: the bound on clock drift between peers over one election timeout, in ms.
   * The lease is electionTimeoutMs minus this. Default a fifth of electionTimeoutMs.
   */
  leaseDriftMs?: number;
  /**
   * The leader promotes a learner to voter once the learner's log is within this many entries
   * of its own (CoreConfig.autoPromoteLearners). Off unless given.
   */
  autoPromoteLearners?: number;
}

export interface SnapshotPolicy {
  /** Take a snapshot once the log holds this many entries since the last one. */
  entries?: number;
  /** ... or this many bytes of commands. */
  bytes?: number;
}

/** The options of TimingOptions: times in ms here, the core's size options as the core defines them. */
export const TIMING_OPTIONS = {
  tickMs: positiveNumber("granularity of the node's clock, in ms", 10),
  heartbeatMs: positiveNumber('leader heartbeat interval, in ms', 100),
  electionTimeoutMs: positiveNumber('minimum election timeout in ms; each timeout is random in [t, 2t)', 300),
  maxLeaderWriteStallMs: positiveNumber("a leader whose own log write has not landed within this many ms steps down; default 3 election timeouts"),
  leaseDriftMs: { expects: 'a non-negative number', isType: (v) => typeof v === 'number', inRange: (v: number) => Number.isFinite(v) && v >= 0, doc: 'lease reads: the clock-drift bound in ms; the lease is electionTimeoutMs minus it (default a fifth)' },
  ...pickOptions(CORE_OPTIONS, SHARED_CORE_OPTIONS),
} satisfies OptionTable;

export const TIMING_DEFAULTS = {
  tickMs: TIMING_OPTIONS.tickMs.default as number,
  heartbeatMs: TIMING_OPTIONS.heartbeatMs.default as number,
  electionTimeoutMs: TIMING_OPTIONS.electionTimeoutMs.default as number,
};

/** The options snapshotPolicy takes. */
const SNAPSHOT_POLICY_OPTIONS = {
  entries: positiveInt('take a snapshot once the log holds this many entries since the last one'),
  bytes: positiveInt('... or this many bytes of commands'),
} satisfies OptionTable;

/** Every option of RaftNode.start (RaftNodeOptions). */
export const NODE_OPTIONS = {
  ...TIMING_OPTIONS,
  id: required(nonNegativeInt("this peer's id; one of peers")),
  peers: CORE_OPTIONS.peers,
  joining: CORE_OPTIONS.joining,
  transport: required(object('sends the messages of this node: { send(messages) }', 'an object with a send(messages) method')),
  storage: object('where the node persists its state (RaftStorage); default a MemoryStorage'),
  stateMachine: object('the replicated state machine: { apply, snapshot?, restore? }'),
  onApply: func('called with each run of committed entries, in order'),
  onRestore: func('called when a snapshot replaces the state'),
  snapshotPolicy: object('automatic snapshots { entries?, bytes? }; needs stateMachine.snapshot', 'an object { entries?, bytes? }'),
  seed: integer('seed of the election-timeout randomness; default from the id and the clock'),
  onFatal: func('hears about the error that stopped the node (fail-stop); default: rethrow'),
  onOutcome: func('called with the outcome of every accepted proposal, exactly once each'),
  onReady: func('sees every Ready as the node takes it from the core (tests, tracing)'),
  onLeaderStall: func('called when the node stepped down as leader because its own write stalled (maxLeaderWriteStallMs)'),
  onRead: func('called with the outcome of every read (RaftNode.read), exactly once each; needs stateMachine.query'),
  scheduler: object('clock and event-loop scheduling { every(ms, fn), soon(fn) }; default real timers', 'an object { every, soon }'),
  checkReadyContract: boolean('check the Ready contract on every Ready (tests, simulation)', false),
} satisfies OptionTable;

/** The options that go to the core as they are. */
export function coreOptionsOf(o: TimingOptions): Pick<CoreConfig, (typeof SHARED_CORE_OPTIONS)[number]> {
  const out: Record<string, unknown> = {};
  for (const k of SHARED_CORE_OPTIONS) out[k] = o[k];
  return out;
}

/** Checks RaftNode options: names, types, and what depends on more than one of them. */
export function checkNodeOptions(o: unknown): void {
  checkOptions(NODE_OPTIONS, o, 'RaftNode.start');
  const opts = o as { transport: { send?: unknown }; stateMachine?: { snapshot?: unknown }; snapshotPolicy?: SnapshotPolicy } & TimingOptions;
  if (typeof opts.transport.send !== 'function') throw new TypeError('option transport must have a send(messages) method');
  const scheduler = (o as { scheduler?: { every?: unknown; soon?: unknown } }).scheduler;
  if (scheduler !== undefined && (typeof scheduler.every !== 'function' || typeof scheduler.soon !== 'function')) {
    throw new TypeError('option scheduler must have the methods every(ms, fn) and soon(fn)');
  }
  if (opts.stateMachine !== undefined && typeof (opts.stateMachine as { apply?: unknown }).apply !== 'function') {
    throw new TypeError('option stateMachine must have an apply(command, index, term) method');
  }
  resolveTiming(opts);
  checkSnapshotPolicy(opts.snapshotPolicy);
  if ((o as { onRead?: unknown }).onRead && typeof (opts.stateMachine as { query?: unknown } | undefined)?.query !== 'function') {
    throw new TypeError('option onRead needs a stateMachine with a query(query) method');
  }
  if (opts.snapshotPolicy && typeof opts.stateMachine?.snapshot !== 'function') {
    throw new TypeError('option snapshotPolicy needs a stateMachine with a snapshot() method');
  }
}

/**
 * Converts times to ticks and checks the options that depend on each other; errors name the
 * offending option. The options one by one are checked against their table (checkOptions).
 */
export function resolveTiming(o: TimingOptions): { tickMs: number; heartbeatTicks: number; electionTicks: number } {
  const tickMs = o.tickMs ?? TIMING_DEFAULTS.tickMs;
  const heartbeatMs = o.heartbeatMs ?? TIMING_DEFAULTS.heartbeatMs;
  const electionTimeoutMs = o.electionTimeoutMs ?? TIMING_DEFAULTS.electionTimeoutMs;
  if (electionTimeoutMs <= heartbeatMs) {
    throw new RangeError(`option electionTimeoutMs (${electionTimeoutMs}) must be larger than heartbeatMs (${heartbeatMs})`);
  }
  if (heartbeatMs < tickMs) throw new RangeError(`option heartbeatMs (${heartbeatMs}) must be at least tickMs (${tickMs})`);
  const electionTicks = Math.max(2, Math.round(electionTimeoutMs / tickMs));
  // The core checks these too, but in ticks and inside a worker: name the options the caller gave, before anything starts.
  if (o.readMode === 'lease' && o.checkQuorum === false) {
    throw new RangeError("option readMode 'lease' needs checkQuorum: true (a leader cut off from a majority must step down), got checkQuorum false");
  }
  if (o.leaseDriftMs !== undefined && Math.ceil(o.leaseDriftMs / tickMs) >= electionTicks) {
    throw new RangeError(`option leaseDriftMs (${o.leaseDriftMs}) must be below electionTimeoutMs (${electionTimeoutMs}) by at least one tickMs (${tickMs}): the lease is their difference`);
  }
  return {
    tickMs,
    heartbeatTicks: Math.max(1, Math.round(heartbeatMs / tickMs)),
    electionTicks,
  };
}

export function checkSnapshotPolicy(p: SnapshotPolicy | undefined): void {
  if (p === undefined) return;
  if (typeof p !== 'object' || p === null) throw new TypeError('option snapshotPolicy must be an object { entries?, bytes? }');
  try {
    checkOptions(SNAPSHOT_POLICY_OPTIONS, p, 'snapshotPolicy');
  } catch (e) {
    // name the nested option in full: "option snapshotPolicy.entries must be..."
    if (e instanceof Error) e.message = e.message.replace(/^option (\w+)/, 'option snapshotPolicy.$1').replace(/^unknown option (\w+)/, 'unknown option snapshotPolicy.$1');
    throw e;
  }
  if (p.entries === undefined && p.bytes === undefined) throw new RangeError('option snapshotPolicy needs entries or bytes');
}
