import type { GcPauses } from '../src/cluster/gc-tally.js';
import type { Timeline } from './load-generator.js';
import type { TailCauses } from './tail-breakdown.js';
/**
 * The benchmark result file: what `npm run bench` writes and `npm run bench:compare` reads.
 * Bump SCHEMA_VERSION whenever a field changes meaning or disappears (adding fields is fine),
 * so that a comparison never silently mixes two definitions of a number.
 */
import type { FdatasyncProbe } from '../src/storage/fsync-probe.js';
import type { RingThroughput, RoundTrip } from './reference-limits.js';
import type { LatencySummary } from './latency-recorder.js';
import type { LoadCounters } from './load-generator.js';
import type { BenchOptions, BenchReadMode, ScenarioSpec } from './options.js';

export const SCHEMA = 'raft-bench';
/** 2: `runs` holds every sample (`--repeat`): runs of one configuration share a name. */
export const SCHEMA_VERSION = 2;
/** Versions this code reads: a version 1 file is one sample per configuration. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  osRelease: string;
  cpuModel: string;
  cpuCount: number;
  memTotalBytes: number;
  /** `git rev-parse HEAD` of the working directory, or null outside a repository. */
  gitCommit: string | null;
  /** Tracked files modified relative to gitCommit (null if unknown). */
  gitDirty: boolean | null;
  /** os.loadavg() when the harness started: on a 2-core machine, anything above ~0.3 skews the numbers. */
  loadAvgAtStart: number[];
}

export interface ReferenceLimits {
  /** Main thread -> worker -> main thread, postMessage of a small object, one at a time. */
  messagePortRoundTrip: RoundTrip;
  /** Two busy-spinning workers copying records through a SharedArrayBuffer ring, one entry per command size measured. */
  ringThroughput: RingThroughput[];
  /** 4 KiB append + fdatasync in the file-storage directory (file storage runs only). */
  fdatasync: (FdatasyncProbe & { dir: string; fsType: string }) | null;
  loadAvgBefore: number[];
}

export interface ThreadCpu {
  /** "main", "peer 0 (leader)", "peer 1 (follower)", "other threads" (V8 platform/GC, libuv pool). */
  name: string;
  tids: number[];
  userMicros: number;
  systemMicros: number;
  /** Precise on-CPU time (schedstat), when available. */
  runMicros: number | null;
  /** CPU seconds per wall second (1 = one core fully busy). */
  utilization: number;
}

export interface CpuReport {
  wallSeconds: number;
  /** process.cpuUsage(): all threads together. */
  processUserMicros: number;
  processSystemMicros: number;
  processUtilization: number;
  /** Process CPU microseconds per committed command. */
  perCommitMicros: number;
  /** Per-thread split from /proc (Linux); null elsewhere. */
  threads: ThreadCpu[] | null;
  /** How peer threads were identified, or why they could not be. */
  threadNote: string;
  /** performance.eventLoopUtilization() of the main thread over the window (0..1). */
  mainEventLoopUtilization: number;
  /** Cores other processes kept busy on average during the window (/proc/stat minus ours); null if unknown. */
  otherProcessesUtilization: number | null;
}

export interface RunResult {
  name: string;
  /** Suite item id ('a'..'e', 'sweep') when run by --suite. */
  suiteItem?: string;
  config: ScenarioSpec;
  startedAt: string;
  leader: number;
  throughput: LoadCounters & { perSec: number };
  latency: LatencySummary;
  /**
   * Per bucket of the window, by completion time: commits, and the largest latency (us), to
   * show stalls (GC, arena copies, elections) that the percentiles only summarize.
   */
  timeline: Timeline;
  /** Who led, polled 4 times a second: the first entry is the state at the start (seconds from the window's start). */
  leaderChanges: Array<{ atSec: number; leader: number; term: number }>;
  /** Open loop: latency from the actual send (ignores queueing before the send). */
  serviceLatency?: LatencySummary;
  /**
   * `--read-ratio`: the reads (client.read) and the writes of the run, separately; `throughput`
   * and `latency` above then count both. Latency is from send (closed loop).
   */
  mix?: {
    readRatio: number;
    readMode: BenchReadMode;
    reads: { completed: number; perSec: number; failedAndResent: number; latency: LatencySummary };
    writes: { completed: number; perSec: number; latency: LatencySummary };
  };
  cpu: CpuReport;
  /**
   * The cluster's busy-polling in the window (absent when it is off, and in older files):
   * its budget per spin, when it may run, the cores the spinning took, and the fraction of
   * the gate's samples (every 100 ms) that allowed it (null: no sample in the window).
   */
  busyPoll?: { micros: number; when: 'idle-core' | 'always'; spinCores: number; gateOpenFraction: number | null };
  memory: { peakRssBytes: number | null; method: 'vmhwm-reset' | 'process-lifetime' };
  storage?: {
    dir: string;
    fsType: string;
    /** fdatasync calls by all peers in the window (needs the fsync-counter preload; null without it). */
    fdatasyncCalls: number | null;
    /** Commands committed per fdatasync call of one peer: committed * peers / fdatasyncCalls. */
    commandsPerFdatasync: number | null;
  };
  /** The result against the machine's reference limits (null when limits were not measured). */
  ratios: {
    /** Commits/s divided by the two-thread ring throughput for records of the command size. */
    throughputToRing: number | null;
    /** p50 latency divided by the MessagePort round trip p50. */
    p50ToPortRoundTrip: number | null;
    /** File storage: p50 latency divided by the fdatasync probe p50. */
    p50ToFdatasync?: number | null;
  };
  warnings: string[];
  /** Which sample of its configuration this is (`--repeat`): index from 0, of `of`. Absent in version 1 files. */
  sample?: { index: number; of: number };
  /** CPU microseconds per commit, by thread, from /proc: less sensitive to a busy machine than wall-clock figures. */
  cpuPerCommit?: CpuPerCommit;
  /** Which figures of this sample the harness trusts, and why not. */
  trust?: SampleTrust;
  /** Validation only (RAFT_BENCH_SLOWDOWN): the extra fraction of their own CPU time the peers burned. */
  plantedSlowdown?: number;
  /** Garbage-collection pauses in the window per thread (perf_hooks 'gc' entries; ms). */
  gc?: ThreadGc[];
  /** Open loop: the latencies above 1 ms, sample by sample, against GC pauses and the sender's lateness. */
  tailCauses?: TailCauses;
}

export interface ThreadGc extends Omit<GcPauses, 'recent' | 'recentDropped'> {
  thread: string;
}

export interface CpuPerCommit {
  process: number;
  main: number | null;
  leader: number | null;
  /** Mean over the followers. */
  followers: number | null;
}

export interface Trust { trusted: boolean; why: string }

export interface SampleTrust {
  /** Throughput and latency: any CPU another process takes shows up in them. */
  wallClock: Trust;
  /** CPU time per commit: counts only the time our threads ran, so it shifts less when others run. */
  cpuTime: Trust;
}

export interface TargetCheck {
  id: string;
  title: string;
  run: string;
  metric: string;
  value: number;
  op: '>=' | '<=';
  target: number;
  unit: string;
  pass: boolean;
}

export interface BenchFile {
  schema: typeof SCHEMA;
  version: number;
  createdAt: string;
  /** argv after the script. */
  args: string[];
  environment: Environment;
  options: BenchOptions;
  limits: ReferenceLimits | null;
  runs: RunResult[];
  /** --suite: the README targets, checked. */
  targets?: TargetCheck[];
  /** Per configuration with two or more samples: the median and the spread of each figure. */
  noise?: NoiseSummary[];
  /** The pairs of configurations the run holds (`--reads`, `--sessions`), as ratios (bench/pair-ratios.ts); absent in older files. */
  pairRatios?: PairRatio[];
}

/** One configuration against its base (e.g. lease reads against writes only), over the samples of both. */
export interface PairRatio {
  /**
   * 'reads-per-sec': the mixed run's reads/s : the writes-only run's commits/s (saturated);
   * 'read-p50': read p50 : the writes-only p50 (one in flight); and sessions : raw,
   * 'throughput' (commits/s), 'cpu-per-commit' (process CPU per commit), 'p50' (one in flight).
   */
  figure: 'reads-per-sec' | 'read-p50' | 'throughput' | 'cpu-per-commit' | 'p50';
  /** The ratio in words, e.g. "reads/s : writes-only commits/s". */
  label: string;
  /** The configuration measured (numerator) and its base (denominator), by run name. */
  run: string;
  base: string;
  /** The median over the run's samples divided by the median over the base's. */
  ratio: number;
  /** Rounds with a sample of both (round k: the k-th sample of each, taken next to each other), and the extremes of their ratios. */
  rounds: number;
  roundMin: number;
  roundMax: number;
}

export interface NoiseSummary {
  name: string;
  samples: number;
  figures: Array<{ id: string; median: number; min: number; max: number; /** (max - min) / median */ spread: number }>;
  /** The figures the harness trusts for this configuration on this machine, and the others with the reason. */
  trusted: string[];
  flagged: Array<{ id: string; why: string }>;
}

export class BenchFileError extends Error {
  constructor(message: string) { super(message); this.name = 'BenchFileError'; }
}

/** Checks that `x` (parsed JSON) is a result file this code understands; throws BenchFileError saying why not. */
export function validateBenchFile(x: unknown, label = 'file'): BenchFile {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new BenchFileError(`${label}: not a benchmark result (expected a JSON object)`);
  const o = x as Record<string, unknown>;
  if (o.schema !== SCHEMA) {
    throw new BenchFileError(`${label}: not a benchmark result (schema ${JSON.stringify(o.schema ?? null)}, expected "${SCHEMA}")`);
  }
  if (typeof o.version !== 'number' || !READABLE_VERSIONS.includes(o.version)) {
    throw new BenchFileError(`${label}: schema version ${JSON.stringify(o.version ?? null)} is not supported (this harness reads versions ${READABLE_VERSIONS.join(', ')})`);
  }
  if (!Array.isArray(o.runs)) throw new BenchFileError(`${label}: "runs" is missing or not an array`);
  o.runs.forEach((r: unknown, i: number) => {
    const run = r as Partial<RunResult> | null;
    const where = `${label}: runs[${i}]`;
    if (typeof run !== 'object' || run === null || typeof run.name !== 'string') throw new BenchFileError(`${where}: no name`);
    if (typeof run.throughput?.perSec !== 'number') throw new BenchFileError(`${where} ("${run.name}"): throughput.perSec is not a number`);
    for (const k of ['p50', 'p99'] as const) {
      if (typeof run.latency?.[k] !== 'number') throw new BenchFileError(`${where} ("${run.name}"): latency.${k} is not a number`);
    }
  });
  return x as BenchFile;
}
