import {
  OptionTable, boolean, checkOptions, defaultsOf, func, nonNegativeInt, positiveInt, required,
} from './option-spec.js';

/** Options of one Raft core. Times are in ticks: the runtime decides how long a tick is. */
export interface CoreConfig {
  /** This peer's id; one of `peers`. */
  id: number;
  /**
   * Ids of the voters of the initial configuration, this one included unless `joining`. The
   * configuration in force later is the latest in the log or snapshot (membership changes).
   */
  peers: number[];
  /**
   * This peer starts outside `peers` and waits to be added by a membership change (it never
   * campaigns before). Default false.
   */
  joining?: boolean;
  /** Minimum election timeout; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  electionTicks: number;
  /** Leader's heartbeat interval; must be smaller than electionTicks. */
  heartbeatTicks: number;
  /** Seeded random source in [0, 1): the core never uses Math.random(). */
  random: () => number;
  /** Largest AppendEntries payload, in bytes of commands. */
  maxBatchBytes?: number;
  /** Largest number of entries in one AppendEntries. */
  maxBatchEntries?: number;
  /** AppendEntries in flight per follower before the leader waits for replies. */
  maxInflight?: number;
  /** Bytes per InstallSnapshot chunk. */
  snapshotChunkBytes?: number;
  /** Leader steps down when it has not heard from a majority for an election timeout. */
  checkQuorum?: boolean;
  /** Largest command accepted by propose(). */
  maxCommandBytes?: number;
  /** Largest number of entries the leader holds beyond its commit index; propose() refuses above. */
  maxUncommittedEntries?: number;
  /**
   * A new leader appends an empty entry of its term (Section 8 of the Raft paper), so entries
   * of earlier terms commit without waiting for the next proposal. Empty commands are then
   * reserved for it. Default true.
   */
  noopOnElection?: boolean;
  /**
   * A peer whose election timer fires first asks for pre-votes (dissertation 9.6) without
   * raising its term, and campaigns only with a majority of them: a peer that was cut off
   * rejoins without deposing a healthy leader. Default true.
   */
  preVote?: boolean;
  /**
   * How the leader confirms a read (readIndex): 'index' (default) with a heartbeat round to a
   * majority; 'lease' without one while its lease holds (needs checkQuorum). See leaseDriftTicks.
   */
  readMode?: 'index' | 'lease';
  /**
   * Lease reads: the bound on clock drift, in ticks. The lease lasts electionTicks -
   * leaseDriftTicks of the leader's ticks after a round a majority acknowledged; it is safe
   * while no peer's clock runs more than this many ticks ahead of the leader's over an
   * election timeout. Default ceil(electionTicks / 5); must be below electionTicks.
   */
  leaseDriftTicks?: number;
  /**
   * The leader promotes a learner to voter by itself once the learner's log is within this
   * many entries of the leader's last index (0: holds all of it), one learner at a time and
   * only while no other change is in progress. Off unless given: learners stay learners until
   * a proposeConfChange({ promoteLearners }).
   */
  autoPromoteLearners?: number;
}

export interface ResolvedCoreConfig extends Required<CoreConfig> {}

/**
 * Every option of RaftCore: the one definition of its type, default and meaning. RaftNode and
 * Cluster take the options they pass through to the core from here (see SHARED_CORE_OPTIONS).
 */
export const CORE_OPTIONS = {
  id: required(nonNegativeInt("this peer's id; one of peers")),
  peers: required({ expects: 'an array of peer ids', isType: Array.isArray, doc: 'ids of every peer of the cluster, this one included' }),
  electionTicks: required(positiveInt('minimum election timeout in ticks; each timeout is drawn from [t, 2t)')),
  heartbeatTicks: required(positiveInt("leader's heartbeat interval in ticks; smaller than electionTicks")),
  random: required(func('seeded random source in [0, 1)')),
  maxBatchBytes: positiveInt('largest AppendEntries payload, in bytes of commands', 1024 * 1024),
  maxBatchEntries: positiveInt('largest number of entries in one AppendEntries', 65536),
  maxInflight: positiveInt('AppendEntries in flight per follower (pipelining window)', 64),
  snapshotChunkBytes: positiveInt('InstallSnapshot chunk size in bytes', 64 * 1024),
  checkQuorum: boolean('a leader steps down when it has not heard from a majority for an election timeout', true),
  maxCommandBytes: positiveInt('largest command accepted; larger ones are refused with a RangeError', 1024 * 1024),
  maxUncommittedEntries: positiveInt('the leader refuses proposals beyond this many uncommitted entries (back-pressure)', 1 << 20),
  noopOnElection: boolean('a new leader appends an empty no-op entry; 0-byte commands are then refused', true),
  preVote: boolean('a peer asks for pre-votes before it raises its term to campaign (no disruption by rejoining peers)', true),
  readMode: { expects: "'index' or 'lease'", isType: (v) => typeof v === 'string', inRange: (v: string) => v === 'index' || v === 'lease', default: 'index', doc: "how the leader confirms reads: 'index' (a heartbeat round) or 'lease' (needs checkQuorum)" },
  leaseDriftTicks: nonNegativeInt('lease reads: the clock-drift bound in ticks; the lease is electionTicks minus it (default electionTicks / 5)'),
  joining: boolean('this peer starts outside peers and waits to be added by a membership change', false),
  autoPromoteLearners: nonNegativeInt("the leader promotes a learner once its log is within this many entries of the leader's; off unless given"),
} satisfies OptionTable;

/** The core options that RaftNode and Cluster accept as they are. */
export const SHARED_CORE_OPTIONS = [
  'maxCommandBytes', 'maxBatchBytes', 'maxBatchEntries', 'maxInflight', 'snapshotChunkBytes', 'maxUncommittedEntries', 'noopOnElection', 'checkQuorum', 'preVote', 'readMode', 'autoPromoteLearners',
] as const;

export const CORE_DEFAULTS = defaultsOf(CORE_OPTIONS) as Omit<ResolvedCoreConfig, 'id' | 'peers' | 'electionTicks' | 'heartbeatTicks' | 'random' | 'leaseDriftTicks' | 'autoPromoteLearners'>;

export function resolveCoreConfig(c: CoreConfig): ResolvedCoreConfig {
  checkOptions(CORE_OPTIONS, c, 'RaftCore');
  if (c.peers.length === 0) throw new RangeError('option peers must list at least one peer');
  if (new Set(c.peers).size !== c.peers.length) throw new RangeError('option peers has duplicate ids');
  for (const p of c.peers) if (!Number.isInteger(p) || p < 0) throw new RangeError(`option peers: id ${p} is not a non-negative integer`);
  if (c.joining && c.peers.includes(c.id)) throw new RangeError(`option joining: id ${c.id} is already one of peers [${c.peers.join(', ')}]`);
  if (!c.joining && !c.peers.includes(c.id)) throw new RangeError(`option id ${c.id} is not one of peers [${c.peers.join(', ')}] (set joining for a peer that waits to be added)`);
  if (c.electionTicks <= c.heartbeatTicks) {
    throw new RangeError(`option electionTicks (${c.electionTicks}) must be larger than heartbeatTicks (${c.heartbeatTicks})`);
  }
  const given = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  const r = { ...CORE_DEFAULTS, leaseDriftTicks: Math.ceil(c.electionTicks / 5), autoPromoteLearners: -1, ...given } as ResolvedCoreConfig; // -1: no automatic promotion
  if (r.leaseDriftTicks >= r.electionTicks) {
    throw new RangeError(`option leaseDriftTicks (${r.leaseDriftTicks}) must be below electionTicks (${r.electionTicks}): the lease is their difference`);
  }
  if (r.readMode === 'lease' && !r.checkQuorum) {
    throw new RangeError("option readMode 'lease' needs checkQuorum: true (a leader cut off from a majority must step down)");
  }
  return r;
}
