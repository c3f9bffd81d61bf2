/** Options of one Raft core. Times are in ticks: the runtime decides how long a tick is. */
export interface CoreConfig {
  /** This peer's id; one of `peers`. */
  id: number;
  /** Ids of every peer of the cluster, this one included. */
  peers: number[];
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
   * reserved for it. Off by default in the core (the classic lab's index expectations).
   */
  noopOnElection?: boolean;
}

export interface ResolvedCoreConfig extends Required<CoreConfig> {}

export const CORE_DEFAULTS = {
  maxBatchBytes: 1024 * 1024,
  maxBatchEntries: 65536,
  maxInflight: 64,
  snapshotChunkBytes: 64 * 1024,
  checkQuorum: true,
  maxCommandBytes: 1024 * 1024,
  maxUncommittedEntries: 1 << 20,
  noopOnElection: false,
};

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`option ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

export function resolveCoreConfig(c: CoreConfig): ResolvedCoreConfig {
  if (!Array.isArray(c.peers) || c.peers.length === 0) throw new RangeError('option peers must list at least one peer');
  if (new Set(c.peers).size !== c.peers.length) throw new RangeError('option peers has duplicate ids');
  for (const p of c.peers) if (!Number.isInteger(p) || p < 0) throw new RangeError(`option peers: id ${p} is not a non-negative integer`);
  if (!c.peers.includes(c.id)) throw new RangeError(`option id ${c.id} is not one of peers [${c.peers.join(', ')}]`);
  positiveInt('electionTicks', c.electionTicks);
  positiveInt('heartbeatTicks', c.heartbeatTicks);
  if (c.electionTicks <= c.heartbeatTicks) {
    throw new RangeError(`option electionTicks (${c.electionTicks}) must be larger than heartbeatTicks (${c.heartbeatTicks})`);
  }
  if (typeof c.random !== 'function') throw new TypeError('option random must be a function returning [0, 1)');
  const given = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  const r = { ...CORE_DEFAULTS, ...given } as ResolvedCoreConfig;
  for (const k of ['maxBatchBytes', 'maxBatchEntries', 'maxInflight', 'snapshotChunkBytes', 'maxCommandBytes', 'maxUncommittedEntries'] as const) {
    positiveInt(k, r[k]);
  }
  return r;
}
