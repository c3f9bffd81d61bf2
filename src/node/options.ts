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
}

export interface SnapshotPolicy {
  /** Take a snapshot once the log holds this many entries since the last one. */
  entries?: number;
  /** ... or this many bytes of commands. */
  bytes?: number;
}

export const TIMING_DEFAULTS = { tickMs: 10, heartbeatMs: 100, electionTimeoutMs: 300 };

function check(name: string, v: unknown, integer = false): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`option ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }
}

/** Validates the options and converts times to ticks; errors name the offending option. */
export function resolveTiming(o: TimingOptions): { tickMs: number; heartbeatTicks: number; electionTicks: number } {
  check('tickMs', o.tickMs);
  check('heartbeatMs', o.heartbeatMs);
  check('electionTimeoutMs', o.electionTimeoutMs);
  for (const k of ['maxCommandBytes', 'maxBatchBytes', 'maxBatchEntries', 'maxInflight', 'snapshotChunkBytes', 'maxUncommittedEntries'] as const) check(k, o[k], true);
  if (o.checkQuorum !== undefined && typeof o.checkQuorum !== 'boolean') throw new TypeError(`option checkQuorum must be a boolean, got ${typeof o.checkQuorum}`);
  const tickMs = o.tickMs ?? TIMING_DEFAULTS.tickMs;
  const heartbeatMs = o.heartbeatMs ?? TIMING_DEFAULTS.heartbeatMs;
  const electionTimeoutMs = o.electionTimeoutMs ?? TIMING_DEFAULTS.electionTimeoutMs;
  if (electionTimeoutMs <= heartbeatMs) {
    throw new RangeError(`option electionTimeoutMs (${electionTimeoutMs}) must be larger than heartbeatMs (${heartbeatMs})`);
  }
  if (heartbeatMs < tickMs) throw new RangeError(`option heartbeatMs (${heartbeatMs}) must be at least tickMs (${tickMs})`);
  return {
    tickMs,
    heartbeatTicks: Math.max(1, Math.round(heartbeatMs / tickMs)),
    electionTicks: Math.max(2, Math.round(electionTimeoutMs / tickMs)),
  };
}

export function checkSnapshotPolicy(p: SnapshotPolicy | undefined): void {
  if (p === undefined) return;
  if (typeof p !== 'object' || p === null) throw new TypeError('option snapshotPolicy must be an object { entries?, bytes? }');
  check('snapshotPolicy.entries', p.entries, true);
  check('snapshotPolicy.bytes', p.bytes, true);
  if (p.entries === undefined && p.bytes === undefined) throw new RangeError('option snapshotPolicy needs entries or bytes');
}
