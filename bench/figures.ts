/**
 * The figures bench:compare judges, how to read each from a sample (also from version 1 files,
 * which lack `cpuPerCommit`), and which of them the harness trusts for a given sample.
 *
 * Two kinds: wall-clock figures (throughput, latency) move with anything else the machine does;
 * CPU-time figures (CPU microseconds per commit, per thread, from /proc schedstat) count only
 * the time our threads were on a CPU, so another process that takes a core changes them much
 * less (it still costs some: caches, migrations, larger or smaller batches).
 */
import type { CpuPerCommit, NoiseSummary, RunResult, SampleTrust } from './schema.js';
import { median } from './stats.js';

export type FigureId = 'throughput' | 'p50' | 'p99' | 'peerCpuPerCommit' | 'cpuPerCommit' | 'mainCpuPerCommit' | 'leaderCpuPerCommit' | 'followerCpuPerCommit';
export type FigureKind = 'wall-clock' | 'cpu-time';
/** Which threshold of bench:compare applies. */
export type ThresholdKey = 'throughput' | 'p50' | 'p99' | 'peerCpu' | 'cpu';

export interface Figure {
  id: FigureId;
  label: string;
  unit: 'commits/s' | 'us';
  /** Whether a larger value is better (throughput) or worse (latency, CPU). */
  higherIsBetter: boolean;
  kind: FigureKind;
  threshold: ThresholdKey;
  read(r: RunResult): number | null;
}

/** Other processes using more than this many cores flag a sample's wall-clock figures. */
export const OTHER_PROCESSES_LIMIT = 0.15;
/**
 * Our CPU plus that of other processes above this share of the cores means the machine had no
 * idle CPU: our threads queued for a core, batches changed size, and CPU time per commit
 * moved with them (measured: +50-90% between identical builds at a load average of 7 on 2
 * cores). Such a sample's CPU-time figures are flagged too.
 */
export const SATURATED_SHARE = 0.9;

export const FIGURES: readonly Figure[] = [
  { id: 'throughput', label: 'commits/s', unit: 'commits/s', higherIsBetter: true, kind: 'wall-clock', threshold: 'throughput', read: (r) => r.throughput.perSec },
  { id: 'p50', label: 'p50 latency', unit: 'us', higherIsBetter: false, kind: 'wall-clock', threshold: 'p50', read: (r) => r.latency.p50 },
  { id: 'p99', label: 'p99 latency', unit: 'us', higherIsBetter: false, kind: 'wall-clock', threshold: 'p99', read: (r) => r.latency.p99 },
  // the primary figure of bench:compare: what a slower library costs, and what a neighbour moves least
  { id: 'peerCpuPerCommit', label: 'CPU/commit per peer thread', unit: 'us', higherIsBetter: false, kind: 'cpu-time', threshold: 'peerCpu', read: peerCpuPerCommitOf },
  { id: 'cpuPerCommit', label: 'CPU/commit, process', unit: 'us', higherIsBetter: false, kind: 'cpu-time', threshold: 'cpu', read: (r) => cpuPerCommitOf(r)?.process ?? null },
  { id: 'mainCpuPerCommit', label: 'CPU/commit, main thread', unit: 'us', higherIsBetter: false, kind: 'cpu-time', threshold: 'cpu', read: (r) => cpuPerCommitOf(r)?.main ?? null },
  { id: 'leaderCpuPerCommit', label: 'CPU/commit, leader', unit: 'us', higherIsBetter: false, kind: 'cpu-time', threshold: 'cpu', read: (r) => cpuPerCommitOf(r)?.leader ?? null },
  { id: 'followerCpuPerCommit', label: 'CPU/commit, follower (mean)', unit: 'us', higherIsBetter: false, kind: 'cpu-time', threshold: 'cpu', read: (r) => cpuPerCommitOf(r)?.followers ?? null },
];

export function figureById(id: string): Figure | undefined {
  return FIGURES.find((f) => f.id === id);
}

/** CPU microseconds per commit by thread: recorded in version 2 files, derived from `cpu.threads` in older ones. */
export function cpuPerCommitOf(r: RunResult): CpuPerCommit | null {
  if (r.cpuPerCommit) return r.cpuPerCommit;
  const committed = r.throughput?.committed;
  if (!r.cpu || !(committed > 0)) return null;
  const per = (micros: number) => micros / committed;
  const busy = (t: { runMicros: number | null; userMicros: number; systemMicros: number }) => t.runMicros ?? t.userMicros + t.systemMicros;
  const threads = r.cpu.threads ?? [];
  const main = threads.find((t) => t.name === 'main');
  const leader = threads.find((t) => /^peer \d+ \(leader\)$/.test(t.name));
  const followers = threads.filter((t) => /^peer \d+ \(follower\)$/.test(t.name));
  return {
    process: per(r.cpu.processUserMicros + r.cpu.processSystemMicros),
    main: main ? per(busy(main)) : null,
    leader: leader ? per(busy(leader)) : null,
    followers: followers.length > 0 ? per(followers.reduce((s, t) => s + busy(t), 0) / followers.length) : null,
  };
}

/**
 * CPU microseconds per commit per worker (peer) thread: the peers' time on a CPU, averaged over
 * the peers, per commit. Leaves out the main thread (the load generator and client), and does
 * not depend on which peer led: a leader change moves CPU between the leader and follower
 * figures, not this one. Null without per-thread CPU.
 */
export function peerCpuPerCommitOf(r: RunResult): number | null {
  const committed = r.throughput?.committed;
  const peers = (r.cpu?.threads ?? []).filter((t) => t.name.startsWith('peer '));
  if (!(committed > 0) || peers.length === 0) return null;
  const busy = peers.reduce((s, t) => s + (t.runMicros ?? t.userMicros + t.systemMicros), 0);
  return busy / peers.length / committed;
}

/** Which figures of a sample can be believed, from what the harness saw while it ran. */
export function trustOf(r: Pick<RunResult, 'cpu' | 'leaderChanges' | 'throughput'>, cpuCount: number): SampleTrust {
  const wallWhy: string[] = [];
  const other = r.cpu?.otherProcessesUtilization ?? null;
  if (other === null) wallWhy.push('unknown how much CPU other processes used (no /proc/stat)');
  else if (other > OTHER_PROCESSES_LIMIT) wallWhy.push(`other processes used ${other.toFixed(2)} cores`);
  if ((r.leaderChanges?.length ?? 0) > 1) wallWhy.push('the leader changed during the window');
  const cpuWhy: string[] = [];
  if (!r.cpu?.threads) cpuWhy.push('no per-thread CPU (/proc/self/task)');
  else if (!r.cpu.threads.some((t) => t.name.startsWith('peer '))) cpuWhy.push('peer threads not identified');
  if (!(r.throughput?.committed > 0)) cpuWhy.push('nothing committed');
  const ours = r.cpu?.processUtilization ?? 0;
  if (other !== null && cpuCount > 0 && ours + other > SATURATED_SHARE * cpuCount) {
    cpuWhy.push(`no idle CPU: this process ${ours.toFixed(2)} + other processes ${other.toFixed(2)} cores of ${cpuCount}`);
  }
  return {
    wallClock: wallWhy.length === 0 ? { trusted: true, why: 'the machine was otherwise idle' } : { trusted: false, why: wallWhy.join('; ') },
    cpuTime: cpuWhy.length === 0 ? { trusted: true, why: 'per-thread CPU time from /proc schedstat' } : { trusted: false, why: cpuWhy.join('; ') },
  };
}

/** The trust of a sample by today's rules (worked out again from what it measured, so older files are judged alike). */
export function sampleTrust(r: RunResult, cpuCount: number): SampleTrust {
  return trustOf(r, cpuCount);
}

/** Median and spread of every figure over the samples of each configuration that has two or more. */
export function noiseSummaries(runs: RunResult[], cpuCount: number): NoiseSummary[] {
  const byName = groupByName(runs);
  const out: NoiseSummary[] = [];
  for (const [name, samples] of byName) {
    if (samples.length < 2) continue;
    const figures: NoiseSummary['figures'] = [];
    for (const f of FIGURES) {
      const vs = samples.map(f.read).filter((v): v is number => v !== null && Number.isFinite(v));
      if (vs.length < 2) continue;
      const m = median(vs);
      figures.push({ id: f.id, median: m, min: Math.min(...vs), max: Math.max(...vs), spread: m > 0 ? (Math.max(...vs) - Math.min(...vs)) / m : NaN });
    }
    const trusted: string[] = [];
    const flagged: NoiseSummary['flagged'] = [];
    for (const kind of ['wall-clock', 'cpu-time'] as const) {
      const bad = samples.map((r) => sampleTrust(r, cpuCount)).map((t) => (kind === 'wall-clock' ? t.wallClock : t.cpuTime)).filter((t) => !t.trusted);
      if (bad.length === 0) trusted.push(kind);
      else flagged.push({ id: kind, why: `${bad.length} of ${samples.length} samples: ${[...new Set(bad.map((b) => b.why))].join('; ')}` });
    }
    out.push({ name, samples: samples.length, figures, trusted, flagged });
  }
  return out;
}

/** Runs grouped by name, in order of first appearance. */
export function groupByName(runs: RunResult[]): Map<string, RunResult[]> {
  const m = new Map<string, RunResult[]>();
  for (const r of runs) m.set(r.name, [...(m.get(r.name) ?? []), r]);
  return m;
}
