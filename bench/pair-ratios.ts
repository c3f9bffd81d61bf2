/**
 * The ratios that a run's pairs of configurations answer (issues 9 and 10 set their targets as
 * ratios). `--reads`: per read mode, the mixed run's reads/s to the writes-only run's commits/s
 * (saturated), and read p50 to write p50 (one in flight). `--sessions`: sessions to raw, in
 * commits/s, CPU per commit and one-in-flight p50. Each is the median over the samples of one
 * side divided by the median over the other's; the ratios of each round (the k-th sample of
 * both, taken next to each other in turns) show how far the noise moves it.
 */
import { cpuPerCommitOf } from './figures.js';
import { table } from './format.js';
import { scenarioName, type ScenarioSpec } from './options.js';
import type { PairRatio, RunResult } from './schema.js';
import { median } from './stats.js';

interface PairFigure {
  figure: PairRatio['figure'];
  label: string;
  /** The figure of a sample of the configuration measured, and of its base; null when the sample lacks it. */
  of(r: RunResult): number | null;
  base(r: RunResult): number | null;
}

const READS_SATURATED: PairFigure[] = [
  { figure: 'reads-per-sec', label: 'reads/s : writes-only commits/s', of: (r) => r.mix?.reads.perSec ?? null, base: (r) => r.throughput.perSec },
];
const READS_ONE_IN_FLIGHT: PairFigure[] = [
  { figure: 'read-p50', label: 'read p50 : writes-only p50', of: (r) => (r.mix && r.mix.reads.completed > 0 ? r.mix.reads.latency.p50 : null), base: (r) => r.latency.p50 },
];
const processCpu = (r: RunResult) => cpuPerCommitOf(r)?.process ?? null;
const SESSIONS_SATURATED: PairFigure[] = [
  { figure: 'throughput', label: 'commits/s, sessions : raw', of: (r) => r.throughput.perSec, base: (r) => r.throughput.perSec },
  { figure: 'cpu-per-commit', label: 'CPU per commit, sessions : raw', of: processCpu, base: processCpu },
];
const SESSIONS_ONE_IN_FLIGHT: PairFigure[] = [
  { figure: 'p50', label: 'p50, sessions : raw', of: (r) => r.latency.p50, base: (r) => r.latency.p50 },
];

/** Every pair the runs hold, in the order the measured configurations first appear; none when there is no pair. */
export function pairRatios(runs: readonly RunResult[]): PairRatio[] {
  const groups = samplesByName(runs);
  const baseOf = new Map<string, RunResult[]>();
  for (const samples of groups) {
    const c = samples[0].config;
    if (!c.sessions && c.readRatio === undefined && !baseOf.has(baseKey(c))) baseOf.set(baseKey(c), samples);
  }
  const out: PairRatio[] = [];
  for (const samples of groups) {
    const c = samples[0].config;
    if (c.sessions && c.readRatio !== undefined) continue; // no such base in any run today
    const figures = figuresOf(c);
    const base = baseOf.get(baseKey(c));
    if (!figures || !base) continue;
    for (const f of figures) {
      const p = ratioOf(f, samples, base);
      if (p) out.push(p);
    }
  }
  return out;
}

/** The figures that compare a configuration with its base; null for a base itself. */
function figuresOf(c: ScenarioSpec): PairFigure[] | null {
  const oneInFlight = c.load.mode === 'closed' && c.load.window === 1;
  if (c.readRatio !== undefined) return oneInFlight ? READS_ONE_IN_FLIGHT : READS_SATURATED;
  if (c.sessions) return oneInFlight ? SESSIONS_ONE_IN_FLIGHT : SESSIONS_SATURATED;
  return null;
}

function ratioOf(f: PairFigure, samples: RunResult[], base: RunResult[]): PairRatio | null {
  const ofs = samples.map(f.of);
  const bases = base.map(f.base);
  const perRound: number[] = [];
  for (let k = 0; k < Math.min(ofs.length, bases.length); k++) {
    const q = quotient(ofs[k], bases[k]);
    if (q !== null) perRound.push(q);
  }
  const ratio = quotient(median(usable(ofs)), median(usable(bases)));
  if (ratio === null || perRound.length === 0) return null;
  return {
    figure: f.figure, label: f.label, run: samples[0].name, base: base[0].name, ratio,
    rounds: perRound.length, roundMin: Math.min(...perRound), roundMax: Math.max(...perRound),
  };
}

function usable(xs: Array<number | null>): number[] {
  return xs.filter((x): x is number => x !== null && Number.isFinite(x));
}

/** a / b, or null when either is missing or b is not a positive number (a ratio would mean nothing). */
function quotient(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** What a configuration and its base share: everything but the sessions and the reads. */
function baseKey(c: ScenarioSpec): string {
  const shared = { peers: c.peers, commandBytes: c.commandBytes, storage: c.storage, ...(c.busyPoll ? { busyPoll: c.busyPoll } : {}) };
  return `${scenarioName(shared, c.load)}${c.transport ? ` ${c.transport}` : ''}`;
}

/** The samples of each configuration in the order taken (sample k of each is round k), configurations in order of appearance. */
function samplesByName(runs: readonly RunResult[]): RunResult[][] {
  const byName = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (!r.config?.load) continue; // not a run of this harness's shape: nothing to pair
    const list = byName.get(r.name);
    if (list) list.push(r);
    else byName.set(r.name, [r]);
  }
  return [...byName.values()];
}

/** The console lines: empty when the runs hold no pair. */
export function pairRatiosText(ratios: readonly PairRatio[]): string {
  if (ratios.length === 0) return '';
  const x = (v: number) => `${v.toFixed(2)}x`;
  return 'ratios (median of the samples : median of the base\'s samples; per round: sample k of each, taken next to each other)\n' + table(
    ['run', 'figure', 'ratio of medians', 'rounds', 'per round min .. max'],
    ratios.map((p) => [p.run, p.label, x(p.ratio), String(p.rounds), `${x(p.roundMin)} .. ${x(p.roundMax)}`]),
  );
}
