/**
 * What a measurement does alike over the rings (scenario.ts) and over TCP (tcp-scenario.ts):
 * the warm-up and measured phases with their progress bar, the warnings every run can give
 * (leader changes, an open loop that fell behind), and the result: the fields every run has,
 * and the figures derived from them (CPU per commit, trust).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { cpuPerCommitOf, trustOf } from './figures.js';
import type { LeaderChange } from './leader-monitor.js';
import { summarize } from './latency-recorder.js';
import type { LoadCounters, LoadGenerator, Timeline } from './load-generator.js';
import type { ScenarioSpec } from './options.js';
import type { Progress } from './progress.js';
import type { CpuReport, RunResult } from './schema.js';

const PROGRESS_MS = 250;

/** Runs a phase of `seconds`, updating the progress bar; ends early on a generator error or when `stop()` says so. */
export async function runPhase(phase: 'warm-up' | 'measure', seconds: number, gen: LoadGenerator, progress: Progress, stop: () => boolean = () => false): Promise<void> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let lastT = t0;
  let lastCommitted = gen.totalCommitted;
  for (;;) {
    const now = performance.now();
    if (now >= end || stop() || gen.error) break;
    await new Promise((r) => setTimeout(r, Math.min(PROGRESS_MS, end - now)));
    const t = performance.now();
    progress.update({ phase, elapsed: (t - t0) / 1000, total: seconds, rate: ((gen.totalCommitted - lastCommitted) * 1000) / Math.max(1, t - lastT) });
    lastT = t;
    lastCommitted = gen.totalCommitted;
  }
}

/** The warning for the elections during a run (none when the first leader kept leading); `changes` are relative to the window's start. */
export function leaderChangeWarning(changes: LeaderChange[]): string | null {
  const elections = changes.slice(1);
  if (elections.length === 0) return null;
  return `leader changed: ${elections.map((c) => `at ${c.atSec.toFixed(2)} s ${c.leader < 0 ? 'no leader' : `peer ${c.leader}`} (term ${c.term})`).join(', ')}; ` +
    `started with peer ${changes[0].leader} (term ${changes[0].term}); times are from the start of the measured window`;
}

/** Open loop: the warning when the run did not commit at the target rate. */
export function keepUpWarning(spec: ScenarioSpec, counters: LoadCounters, perSec: number): string | null {
  if (spec.load.mode !== 'open') return null;
  const target = spec.load.rate;
  if (!counters.hitInFlightCap && perSec >= 0.95 * target) return null;
  return `could not keep up with the target rate: ${Math.round(perSec).toLocaleString('en-US')} of ${target.toLocaleString('en-US')} commands/s committed (latency grows with the backlog)`;
}

/** What a finished measurement hands to resultOf. */
export interface MeasuredWindow {
  spec: ScenarioSpec;
  startedAt: string;
  leader: number;
  gen: LoadGenerator;
  counters: LoadCounters;
  perSec: number;
  timeline: Timeline;
  leaderChanges: LeaderChange[];
  cpu: CpuReport;
  memory: RunResult['memory'];
  warnings: string[];
}

/** The run's result: the fields every run has, then `extra` (what only one transport measures), then the derived figures. */
export function resultOf(w: MeasuredWindow, extra: Partial<Omit<RunResult, 'ratios'>> = {}): Omit<RunResult, 'ratios'> {
  const result: Omit<RunResult, 'ratios'> = {
    name: w.spec.name,
    config: w.spec,
    startedAt: w.startedAt,
    leader: w.leader,
    throughput: { ...w.counters, perSec: w.perSec },
    latency: summarize(w.gen.latency),
    timeline: w.timeline,
    leaderChanges: w.leaderChanges,
    ...(w.spec.load.mode === 'open' ? { serviceLatency: summarize(w.gen.service) } : {}),
    cpu: w.cpu,
    memory: w.memory,
    warnings: w.warnings,
    ...extra,
  };
  const perCommit = cpuPerCommitOf(result as RunResult);
  if (perCommit) result.cpuPerCommit = perCommit;
  result.trust = trustOf(result, os.cpus().length);
  return result;
}
