/**
 * `--suite`: the standard set of runs behind the README's performance targets, and the check
 * of each target. Run names are fixed (not derived from the rate, which (c) computes from
 * (a)), so that bench:compare can match the runs of two suite files.
 *
 *  (a) saturated throughput: 3 peers, 16 B commands, memory storage, closed loop
 *  (b) one command in flight: p50 and p99
 *  (c) open loop at half of (a)'s throughput: p99 from the intended send time
 *  (d) 5 peers saturated: throughput against (a)'s
 *  (e) file storage, fsync batch, 3 peers: saturated throughput and one-in-flight p50
 *  (f) (a) and (b) through an exactly-once client session: throughput against (a)'s
 *  sweep: 3 peers, 16 B, memory at more windows (with (a) and (b), the concurrency curve)
 */
import { DEFAULTS, type BenchOptions, type LoadSpec, type ScenarioSpec, type StorageSpec } from './options.js';
import type { RunResult, TargetCheck } from './schema.js';

export const SATURATING_WINDOW = DEFAULTS.window;
export const SWEEP_EXTRA_WINDOWS = [8, 64, 512, 4096];

export interface SuiteStep {
  id: string;
  /** Builds the run from the results so far (the open-loop rate depends on (a)). */
  spec(done: Map<string, RunResult>): ScenarioSpec;
}

export function suiteSteps(o: BenchOptions): SuiteStep[] {
  const memory: StorageSpec = { kind: 'memory' };
  const file: StorageSpec = { kind: 'file', fsync: 'batch', ...(o.storage.parentDir ? { parentDir: o.storage.parentDir } : {}) };
  const mk = (name: string, peers: number, storage: StorageSpec, load: LoadSpec, sessions = false): ScenarioSpec => ({
    name, peers, commandBytes: 16, load, storage, durationSec: o.durationSec, warmupSec: o.warmupSec, ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(sessions ? { sessions } : {}),
    ...(o.busyPoll ? { busyPoll: o.busyPoll } : {}),
  });
  const closed = (window: number): LoadSpec => ({ mode: 'closed', window });
  return [
    { id: 'a', spec: () => mk('(a) saturated, 3 peers, 16 B, memory', 3, memory, closed(SATURATING_WINDOW)) },
    { id: 'b', spec: () => mk('(b) one in flight, 3 peers, 16 B, memory', 3, memory, closed(1)) },
    {
      id: 'c',
      spec: (done) => {
        const a = done.get('a')!;
        // half the saturated rate, rounded to 1,000/s so the run name's config reads well
        const rate = Math.max(1000, Math.round(a.throughput.perSec / 2 / 1000) * 1000);
        return mk('(c) open loop at half the saturated rate, 3 peers, 16 B, memory', 3, memory, { mode: 'open', rate });
      },
    },
    { id: 'd', spec: () => mk('(d) saturated, 5 peers, 16 B, memory', 5, memory, closed(SATURATING_WINDOW)) },
    { id: 'e', spec: () => mk('(e) saturated, 3 peers, 16 B, file fsync=batch', 3, file, closed(SATURATING_WINDOW)) },
    { id: 'e1', spec: () => mk('(e) one in flight, 3 peers, 16 B, file fsync=batch', 3, file, closed(1)) },
    { id: 'f', spec: () => mk('(f) saturated, 3 peers, 16 B, memory, client session', 3, memory, closed(SATURATING_WINDOW), true) },
    { id: 'f1', spec: () => mk('(f) one in flight, 3 peers, 16 B, memory, client session', 3, memory, closed(1), true) },
    ...SWEEP_EXTRA_WINDOWS.map((w) => ({ id: `sweep-${w}`, spec: () => mk(`sweep: 3 peers, 16 B, memory, window=${w}`, 3, memory, closed(w)) })),
  ];
}

/** Which suite item a step belongs to, as stored in RunResult.suiteItem. */
export function suiteItemOf(stepId: string): string {
  return stepId.startsWith('sweep') ? 'sweep' : stepId.replace(/\d+$/, '');
}

/** The README targets, checked against the suite's results. */
export function checkTargets(done: Map<string, RunResult>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const add = (id: string, title: string, stepId: string, metric: string, value: number | undefined, op: '>=' | '<=', target: number, unit: string) => {
    const run = done.get(stepId);
    if (!run || value === undefined || !Number.isFinite(value)) return;
    out.push({ id, title, run: run.name, metric, value, op, target, unit, pass: op === '>=' ? value >= target : value <= target });
  };
  const a = done.get('a'), b = done.get('b'), c = done.get('c'), d = done.get('d'), e = done.get('e'), e1 = done.get('e1'), f = done.get('f');
  add('a', 'saturated throughput, 3 peers 16 B memory', 'a', 'throughput.perSec', a?.throughput.perSec, '>=', 1_000_000, 'commits/s');
  add('b', 'one in flight p50', 'b', 'latency.p50', b?.latency.p50, '<=', 150, 'us');
  add('b', 'one in flight p99', 'b', 'latency.p99', b?.latency.p99, '<=', 1000, 'us');
  add('c', 'open loop at half saturated rate p99', 'c', 'latency.p99', c?.latency.p99, '<=', 5000, 'us');
  add('d', '5 peers saturated, ratio to 3 peers', 'd', 'throughput.perSec / (a)', d && a ? d.throughput.perSec / a.throughput.perSec : undefined, '>=', 0.75, 'x'); // issue 12's goal
  add('e', 'fsync batch throughput, 3 peers', 'e', 'throughput.perSec', e?.throughput.perSec, '>=', 200_000, 'commits/s');
  add('e', 'fsync batch one in flight p50', 'e1', 'latency.p50', e1?.latency.p50, '<=', 1500, 'us');
  add('f', 'client sessions saturated, ratio to raw (a)', 'f', 'throughput.perSec / (a)', f && a ? f.throughput.perSec / a.throughput.perSec : undefined, '>=', 0.8, 'x');
  return out;
}
