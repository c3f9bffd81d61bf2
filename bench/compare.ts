/**
 * `npm run bench:compare -- base.json new.json [options]` (see USAGE and bench/README.md).
 *
 * Groups the samples of each file by run name and judges every figure (bench/figures.ts) by
 * the ratio new / base with a 90% rank-based interval (bench/stats.ts):
 *   slower        the whole interval is worse than the threshold
 *   faster        the whole interval is better than the threshold
 *   same          the whole interval lies within +-threshold (an equivalence test)
 *   inconclusive  anything else: the noise is larger than the threshold (not a regression)
 * The exit code comes from the gated figures (default: CPU/commit per peer thread, and
 * commits/s). CPU-time figures decide between no regression and inconclusive; a wall-clock
 * figure can add a regression, but only when every sample was taken on a quiet machine (other
 * processes under 0.15 cores), else it is shown and left out. CPU-time figures keep the 90%
 * interval also when the machine had no idle CPU: the samples of both sides are taken in
 * turns, so the noise of a busy machine is in the samples and widens the interval itself.
 * Exit codes: 0 no regression, 1 regression, 2 inconclusive, 3 input error.
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { translateParseError } from './options.js';
import { FIGURES, groupByName, OTHER_PROCESSES_LIMIT, sampleTrust, type Figure, type FigureId, type ThresholdKey } from './figures.js';
import { int, table, us } from './format.js';
import { BenchFileError, validateBenchFile, type BenchFile, type RunResult } from './schema.js';
import { median, minSamplesFor, ratioInterval } from './stats.js';

export const EXIT = { noRegression: 0, regression: 1, inconclusive: 2, inputError: 3 } as const;

/**
 * The primary figure's threshold. Between identical builds CPU/commit per peer thread varies
 * 10-20% from one fresh cluster to the next (batch sizes follow the scheduling of 4 threads on
 * 2 cores), so with 10 samples a side its 90% interval is about +-10% wide: a 15% band lets
 * identical builds read `same` most of the time while a 25% slowdown stays clear of it.
 */
export const PEER_CPU_THRESHOLD = 0.15;
/** Fractions: 0.1 = 10%. */
export type Thresholds = Record<ThresholdKey, number>;
export const DEFAULT_THRESHOLDS: Thresholds = { throughput: 0.1, p50: 0.2, p99: 0.2, peerCpu: PEER_CPU_THRESHOLD, cpu: 0.1 };
export const DEFAULT_CONFIDENCE = 0.9;

export type Verdict = 'faster' | 'slower' | 'same' | 'inconclusive';

export interface FigureResult {
  figure: FigureId;
  label: string;
  kind: Figure['kind'];
  unit: Figure['unit'];
  baseMedian: number;
  newMedian: number;
  baseSamples: number;
  newSamples: number;
  /** new / base: Hodges-Lehmann estimate and interval. */
  ratio: number;
  lo: number;
  hi: number;
  threshold: number;
  verdict: Verdict;
  /** Why the verdict is inconclusive (or was demoted to it); absent otherwise. */
  why?: string;
  /**
   * What the figure does for the exit code: `decides` (a gated CPU-time figure, or a gated
   * wall-clock one when no CPU-time figure is gated), `guard` (a gated wall-clock figure beside
   * them: only its `slower` counts), `untrusted` (gated, but wall-clock on a busy machine:
   * left out), `shown` (not gated).
   */
  role: FigureRole;
}

export type FigureRole = 'decides' | 'guard' | 'untrusted' | 'shown';

export interface RunComparison {
  name: string;
  figures: FigureResult[];
  /** Largest CPU use of other processes (cores) over the samples of both sides; null if unknown. */
  otherProcessesMax: number | null;
  /** Why wall-clock figures were not trusted, when they were not. */
  wallClockDistrust: string | null;
  /** Why CPU-time figures are noisier than usual (no idle CPU in some sample), when they are; informative only. */
  cpuTimeDistrust: string | null;
}

export interface Comparison {
  runs: RunComparison[];
  onlyInBase: string[];
  onlyInNew: string[];
  caveats: string[];
  confidence: number;
  verdict: 'regression' | 'no regression' | 'inconclusive';
  exitCode: number;
}

export interface CompareOptions {
  thresholds: Thresholds;
  confidence: number;
  /** Figures that decide the exit code (all are shown); see FigureRole. */
  gate: FigureId[];
}

export const DEFAULT_GATE: FigureId[] = ['peerCpuPerCommit', 'throughput'];
export const DEFAULT_COMPARE_OPTIONS: CompareOptions = { thresholds: DEFAULT_THRESHOLDS, confidence: DEFAULT_CONFIDENCE, gate: DEFAULT_GATE };

export class CompareInputError extends Error {
  constructor(message: string) { super(message); this.name = 'CompareInputError'; }
}

/** The verdict for an interval [lo, hi] of new / base, given which direction is better. */
export function verdictOf(lo: number, hi: number, threshold: number, higherIsBetter: boolean): Verdict {
  // in log space the band is symmetric: a 10% threshold is [1/1.1, 1.1] for latency, [0.9, 1/0.9] for throughput
  const worse = higherIsBetter ? 1 - threshold : 1 + threshold;
  const [bandLo, bandHi] = higherIsBetter ? [worse, 1 / worse] : [1 / worse, worse];
  if (lo >= bandLo && hi <= bandHi) return 'same';
  const slower = higherIsBetter ? hi < bandLo : lo > bandHi;
  const faster = higherIsBetter ? lo > bandHi : hi < bandLo;
  return slower ? 'slower' : faster ? 'faster' : 'inconclusive';
}

export function compareFiles(base: BenchFile, next: BenchFile, o: CompareOptions = DEFAULT_COMPARE_OPTIONS): Comparison {
  const baseRuns = groupByName(base.runs);
  const nextRuns = groupByName(next.runs);
  const runs: RunComparison[] = [];
  for (const [name, bs] of baseRuns) {
    const ns = nextRuns.get(name);
    if (ns) runs.push(compareRun(name, bs, ns, o, base.environment?.cpuCount ?? 0, next.environment?.cpuCount ?? 0));
  }
  const caveats: string[] = [];
  const need = minSamplesFor(o.confidence);
  const few = runs.filter((r) => r.figures.some((f) => Math.min(f.baseSamples, f.newSamples) < need));
  if (few.length > 0) caveats.push(`fewer than ${need} samples on a side for ${few.length} run(s): no ${pct(o.confidence)} interval is possible, so every figure there is inconclusive (record with --repeat 5)`);
  const disturbed = runs.filter((r) => r.wallClockDistrust !== null);
  if (disturbed.length > 0) {
    caveats.push(`wall-clock figures (throughput, latency) not trusted in ${disturbed.length} of ${runs.length} runs: shown, but a slower/faster there reads inconclusive and does not count: ` +
      disturbed.map((r) => `${r.name}: ${r.wallClockDistrust}`).join('; '));
  }
  const cpuDisturbed = runs.filter((r) => r.cpuTimeDistrust !== null);
  if (cpuDisturbed.length > 0) {
    caveats.push(`no idle CPU in some samples of ${cpuDisturbed.length} of ${runs.length} runs: CPU per commit is noisier there (wider intervals): ` +
      cpuDisturbed.map((r) => `${r.name}: ${r.cpuTimeDistrust}`).join('; '));
  }
  const differing = runs.filter((r) => {
    const b = baseRuns.get(r.name)![0].config, n = nextRuns.get(r.name)![0].config;
    return b && n && (b.durationSec !== n.durationSec || b.warmupSec !== n.warmupSec);
  });
  if (differing.length > 0) caveats.push(`different durations or warm-ups: ${differing.map((r) => r.name).join('; ')}`);
  const be = base.environment, ne = next.environment;
  if (be && ne) {
    if (be.cpuModel !== ne.cpuModel || be.cpuCount !== ne.cpuCount) caveats.push(`different machines: ${be.cpuCount} x ${be.cpuModel} vs ${ne.cpuCount} x ${ne.cpuModel}`);
    if (be.node !== ne.node) caveats.push(`different Node versions: ${be.node} vs ${ne.node}`);
  }
  const verdict = overallVerdict(runs.flatMap((r) => r.figures));
  return {
    runs,
    onlyInBase: [...baseRuns.keys()].filter((n) => !nextRuns.has(n)),
    onlyInNew: [...nextRuns.keys()].filter((n) => !baseRuns.has(n)),
    caveats,
    confidence: o.confidence,
    verdict,
    exitCode: verdict === 'regression' ? EXIT.regression : verdict === 'inconclusive' ? EXIT.inconclusive : EXIT.noRegression,
  };
}

/**
 * The exit-code verdict from the figures' roles: a believed gated figure that is slower is a
 * regression; otherwise the deciding figures must all be same or faster for "no regression".
 */
export function overallVerdict(figures: FigureResult[]): Comparison['verdict'] {
  if (figures.some((f) => (f.role === 'decides' || f.role === 'guard') && f.verdict === 'slower')) return 'regression';
  const deciding = figures.filter((f) => f.role === 'decides');
  if (deciding.length === 0 || deciding.some((f) => f.verdict === 'inconclusive')) return 'inconclusive';
  return 'no regression';
}

function compareRun(name: string, bs: RunResult[], ns: RunResult[], o: CompareOptions, baseCores: number, newCores: number): RunComparison {
  const others = [...bs, ...ns].map((r) => r.cpu?.otherProcessesUtilization ?? null);
  const otherProcessesMax = others.some((v) => v === null) ? null : Math.max(...(others as number[]));
  const untrusted = (side: RunResult[], kind: 'wallClock' | 'cpuTime') => side.map((r) => sampleTrust(r, side === bs ? baseCores : newCores)[kind]).filter((t) => !t.trusted);
  const distrust = (kind: 'wallClock' | 'cpuTime'): string | null => {
    const b = untrusted(bs, kind), n = untrusted(ns, kind);
    if (b.length + n.length === 0) return null;
    const whys = [...new Set([...b, ...n].flatMap((t) => t.why.split('; ')).map((w) => w.replace(/:.*$/, '').replace(/used [\d.]+ cores/, 'used CPU')))];
    const most = kind === 'wallClock' && otherProcessesMax !== null && otherProcessesMax > 0 ? ` (up to ${otherProcessesMax.toFixed(2)} cores)` : '';
    return `${b.length} of ${bs.length} base and ${n.length} of ${ns.length} new samples: ${whys.join('; ')}${most}`;
  };
  const wallClockDistrust = distrust('wallClock');
  const cpuDistrust = distrust('cpuTime');
  const measured = (f: Figure) => [...bs, ...ns].every((r) => f.read(r) !== null);
  // a gated CPU-time figure that was not measured (no /proc) leaves the decision to the wall-clock ones
  const gatesCpu = FIGURES.some((f) => f.kind === 'cpu-time' && o.gate.includes(f.id) && measured(f));
  const roleOf = (f: Figure): FigureRole => {
    if (!o.gate.includes(f.id)) return 'shown';
    if (f.kind === 'cpu-time') return 'decides';
    if (wallClockDistrust !== null) return 'untrusted';
    return gatesCpu ? 'guard' : 'decides';
  };
  const figures: FigureResult[] = [];
  for (const f of FIGURES) {
    const b = bs.map(f.read), n = ns.map(f.read);
    if (b.some((v) => v === null) || n.some((v) => v === null)) continue; // not measured (no /proc, older file)
    const bv = b as number[], nv = n as number[];
    const threshold = o.thresholds[f.threshold];
    const base = { figure: f.id, label: f.label, kind: f.kind, unit: f.unit, baseMedian: median(bv), newMedian: median(nv), baseSamples: bv.length, newSamples: nv.length, threshold, role: roleOf(f) };
    if ([...bv, ...nv].some((v) => !(v > 0) || !Number.isFinite(v))) {
      figures.push({ ...base, ratio: NaN, lo: NaN, hi: NaN, verdict: 'inconclusive', why: 'a sample is zero or not finite' });
      continue;
    }
    const ci = ratioInterval(bv, nv, o.confidence);
    let verdict = verdictOf(ci.lo, ci.hi, threshold, f.higherIsBetter);
    let why: string | undefined;
    if (ci.tooFewSamples) why = `too few samples for a ${pct(o.confidence)} interval`;
    else if (verdict === 'inconclusive') why = 'noise wider than the threshold';
    if (f.kind === 'wall-clock' && wallClockDistrust !== null && (verdict === 'slower' || verdict === 'faster')) {
      why = `${verdict}, but not trusted here`;
      verdict = 'inconclusive';
    }
    figures.push({ ...base, ratio: ci.ratio, lo: ci.lo, hi: ci.hi, verdict, ...(why ? { why } : {}) });
  }
  return { name, figures, otherProcessesMax, wallClockDistrust, cpuTimeDistrust: cpuDistrust };
}

function pct(f: number): string {
  return `${Number((f * 100).toFixed(2))}%`;
}

function change(ratio: number): string {
  if (!Number.isFinite(ratio)) return ratio === Infinity ? '+inf' : '-';
  const p = (ratio - 1) * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}

function value(f: FigureResult, v: number): string {
  return f.unit === 'us' ? us(v) : int(v);
}

function rowsOf(c: Comparison): string[][] {
  return c.runs.flatMap((r) => r.figures.map((f) => [
    r.name, f.label, value(f, f.baseMedian), value(f, f.newMedian), change(f.ratio),
    Number.isFinite(f.hi) ? `${change(f.lo)} .. ${change(f.hi)}` : 'none', `±${pct(f.threshold)}`, `${f.baseSamples}/${f.newSamples}`, ROLE_TEXT[f.role], f.verdict + (f.why ? ` (${f.why})` : ''),
  ]));
}

const ROLE_TEXT: Record<FigureRole, string> = { decides: 'decides', guard: 'guard', untrusted: 'left out (busy)', shown: '-' };
const HEADER = ['run', 'figure', 'base median', 'new median', 'change (est.)', 'interval', 'threshold', 'samples', 'gate', 'verdict'];

function summaryLine(c: Comparison): string {
  const all = c.runs.flatMap((r) => r.figures);
  const count = (v: Verdict) => all.filter((f) => f.verdict === v).length;
  const head = c.verdict === 'regression' ? 'REGRESSION' : c.verdict === 'inconclusive' ? 'INCONCLUSIVE (no regression found; a deciding figure is noisier than its threshold)' : 'no regression';
  const deciding = [...new Set(all.filter((f) => f.role === 'decides').map((f) => `${f.label} ${f.verdict}`))];
  return `${head}: ${count('slower')} slower, ${count('faster')} faster, ${count('same')} same, ${count('inconclusive')} inconclusive ` +
    `(ratio new/base, ${pct(c.confidence)} interval); decided by: ${deciding.join(', ') || 'no trusted gated figure'}`;
}

export function formatComparison(c: Comparison): string {
  const lines = [table(HEADER, rowsOf(c))];
  for (const name of c.onlyInBase) lines.push(`only in base (not compared): ${name}`);
  for (const name of c.onlyInNew) lines.push(`only in new (not compared): ${name}`);
  for (const cv of c.caveats) lines.push(`caveat: ${cv}`);
  lines.push(summaryLine(c));
  return lines.join('\n');
}

/** A GitHub-flavoured markdown table, for a CI job summary or a pull-request comment. */
export function markdownComparison(c: Comparison): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [`**bench:compare: ${summaryLine(c)}**`, '', `| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, i) => (i < 2 || i === HEADER.length - 1 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of rowsOf(c)) lines.push(`| ${row.map(cell).join(' | ')} |`);
  if (c.caveats.length > 0) lines.push('', ...c.caveats.map((cv) => `- ${cell(cv)}`));
  return lines.join('\n');
}

/** "10%", "10" (percent) or "0.5%" -> 0.1, 0.1, 0.005. */
export function parseThreshold(option: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m || Number(m[1]) <= 0 || Number(m[1]) >= 100) throw new CompareInputError(`option ${option}: must be a percentage above 0 and below 100, such as 10%, got ${JSON.stringify(text)}`);
  // a bare 0.9 is most likely meant as 90%: read as 0.9% it would silently gate on a tiny band
  if (!text.includes('%') && Number(m[1]) < 1) throw new CompareInputError(`option ${option}: ${JSON.stringify(text)} reads as ${m[1]}%; write it with % (${+(Number(m[1]) * 100).toFixed(4)}% or ${m[1]}%)`);
  return Number(m[1]) / 100;
}

export const USAGE = `usage: npm run bench:compare -- base.json new.json [options]

Judges each figure of the runs both files share (matched by name; every sample of a run,
see npm run bench -- --repeat K) by the ratio new/base: the Hodges-Lehmann estimate with the
${pct(DEFAULT_CONFIDENCE)} interval of the exact Mann-Whitney rank test (needs ${minSamplesFor(DEFAULT_CONFIDENCE)}+ samples a side; bench:ab
takes 10, which a 15% band needs on a shared 2-core machine):
  slower / faster   the whole interval is beyond the threshold
  same              the whole interval is within +-threshold (equivalence)
  inconclusive      otherwise: the noise is larger than the threshold (not a regression)

The decision rule (the exit code) uses the gated figures, default
${DEFAULT_GATE.join(',')}:
  - gated CPU-time figures decide: all same or faster -> no regression; one slower ->
    regression; one inconclusive -> inconclusive. CPU time per commit per peer thread
    (peerCpuPerCommit, threshold ${pct(PEER_CPU_THRESHOLD)}) is the primary figure: it is what slower library
    code costs, and a busy machine moves it far less than throughput.
  - gated wall-clock figures (throughput, p50, p99) count only when every sample of both
    sides was taken on a quiet machine (other processes under ${OTHER_PROCESSES_LIMIT} cores, no leader
    change); then a slower one is a regression (a guard beside the CPU-time figures). On a
    busy machine they are shown, marked "left out (busy)", and do not count. With no
    CPU-time figure gated they decide alone, and a busy machine makes them inconclusive.
  - CPU-time figures keep the ${pct(DEFAULT_CONFIDENCE)} interval on a busy machine too (a caveat line
    says when some sample had no idle CPU): take the samples of both builds in turns
    (npm run bench:ab does), so that a busy spell can hit either side and only widens the
    interval.

options
  --max-peer-cpu-rise P     CPU time per commit per peer thread, default ${pct(DEFAULT_THRESHOLDS.peerCpu)}
  --max-cpu-rise P          the other CPU-per-commit figures (process, main, leader, followers), default ${pct(DEFAULT_THRESHOLDS.cpu)}
  --max-throughput-drop P   default ${pct(DEFAULT_THRESHOLDS.throughput)}
  --max-p50-rise P          default ${pct(DEFAULT_THRESHOLDS.p50)}
  --max-p99-rise P          default ${pct(DEFAULT_THRESHOLDS.p99)}
  --confidence P            two-sided interval level, default ${pct(DEFAULT_CONFIDENCE)}
  --gate LIST               figures that decide the exit code (all are shown), default
                            ${DEFAULT_GATE.join(',')}; from
                            ${FIGURES.map((f) => f.id).join(',')}
                            (or the groups wall-clock, cpu-time)
  --json                    print the comparison as JSON instead of the table
  --markdown                print a markdown table (for a CI job summary)
  --help

exit codes
  0  no regression (every deciding figure same or faster, no counted figure slower)
  1  regression (a counted gated figure slower)
  2  inconclusive (nothing slower, but a deciding figure could not be decided)
  3  input error (missing or unreadable file, not a result file, bad option, no run in common)`;

export type OutputFormat = 'text' | 'json' | 'markdown';

export function parseCompareArgs(argv: string[]): { basePath: string; newPath: string; options: CompareOptions; format: OutputFormat } | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: {
        'max-peer-cpu-rise': { type: 'string' }, 'max-throughput-drop': { type: 'string' }, 'max-p50-rise': { type: 'string' }, 'max-p99-rise': { type: 'string' }, 'max-cpu-rise': { type: 'string' },
        confidence: { type: 'string' }, gate: { type: 'string' }, json: { type: 'boolean' }, markdown: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new CompareInputError(translateParseError(e as Error & { code?: string }).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length !== 2) throw new CompareInputError(`expected two result files (base.json new.json), got ${positionals.length}`);
  if (values.json && values.markdown) throw new CompareInputError('--json and --markdown cannot be combined');
  const t = (opt: string, v: string | undefined, d: number) => (v !== undefined ? parseThreshold(opt, v) : d);
  let gate = DEFAULT_COMPARE_OPTIONS.gate;
  if (values.gate !== undefined) {
    gate = [];
    for (const word of values.gate.split(',').map((s) => s.trim())) {
      const group = FIGURES.filter((f) => f.kind === word).map((f) => f.id);
      const one = FIGURES.find((f) => f.id === word)?.id;
      if (group.length === 0 && !one) throw new CompareInputError(`option --gate: unknown figure ${JSON.stringify(word)} (known: ${FIGURES.map((f) => f.id).join(', ')}, wall-clock, cpu-time)`);
      gate.push(...(one ? [one] : group));
    }
  }
  const confidence = values.confidence !== undefined ? parseThreshold('--confidence', values.confidence) : DEFAULT_CONFIDENCE;
  return {
    basePath: positionals[0],
    newPath: positionals[1],
    format: values.json ? 'json' : values.markdown ? 'markdown' : 'text',
    options: {
      confidence,
      gate,
      thresholds: {
        throughput: t('--max-throughput-drop', values['max-throughput-drop'], DEFAULT_THRESHOLDS.throughput),
        p50: t('--max-p50-rise', values['max-p50-rise'], DEFAULT_THRESHOLDS.p50),
        p99: t('--max-p99-rise', values['max-p99-rise'], DEFAULT_THRESHOLDS.p99),
        peerCpu: t('--max-peer-cpu-rise', values['max-peer-cpu-rise'], DEFAULT_THRESHOLDS.peerCpu),
        cpu: t('--max-cpu-rise', values['max-cpu-rise'], DEFAULT_THRESHOLDS.cpu),
      },
    },
  };
}

export function loadBenchFile(file: string): BenchFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new BenchFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BenchFileError(`${file}: not JSON`);
  }
  return validateBenchFile(json, file);
}

/** Returns the exit code (EXIT). */
export function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): number {
  try {
    const args = parseCompareArgs(argv);
    if (!args) { out(USAGE); return EXIT.noRegression; }
    const { basePath, newPath, options, format } = args;
    const base = loadBenchFile(basePath);
    const next = loadBenchFile(newPath);
    const c = compareFiles(base, next, options);
    if (c.runs.length === 0) {
      err(`bench:compare: no run of ${basePath} has a counterpart (same name) in ${newPath}; nothing to compare`);
      return EXIT.inputError;
    }
    const id = (f: BenchFile) => `${f.createdAt}, git ${f.environment?.gitCommit?.slice(0, 10) ?? '?'}`;
    if (format === 'json') {
      out(JSON.stringify({ base: { path: basePath, createdAt: base.createdAt, gitCommit: base.environment?.gitCommit ?? null }, new: { path: newPath, createdAt: next.createdAt, gitCommit: next.environment?.gitCommit ?? null }, thresholds: options.thresholds, gate: options.gate, ...c }, null, 2));
    } else if (format === 'markdown') {
      out(`base: \`${basePath}\` (${id(base)}) · new: \`${newPath}\` (${id(next)})\n`);
      out(markdownComparison(c));
    } else {
      out(`base: ${basePath} (${id(base)})`);
      out(`new:  ${newPath} (${id(next)})\n`);
      out(formatComparison(c));
    }
    return c.exitCode;
  } catch (e) {
    if (e instanceof BenchFileError || e instanceof CompareInputError) {
      err(`bench:compare: ${e.message}\n(npm run bench:compare -- --help lists the options)`);
      return EXIT.inputError;
    }
    // anything else also means "could not compare", which a CI gate must not take for a verdict
    err(`bench:compare: could not compare: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return EXIT.inputError;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
