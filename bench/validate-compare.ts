/**
 * `npm run bench:validate -- [options]`: shows, on this machine, how often bench:compare cries
 * wolf and how often it catches a real slowdown. Each comparison takes --repeat samples of two
 * builds in turns (bench/alternate.ts) and runs bench:compare on them:
 *
 *   identical   this build against itself: must raise no regression
 *   neighbour   the same, while a child process takes a core for 1-4 s, leaves it for 1-4 s, ...
 *   slow        this build against itself with the planted slowdown (peers burn 25% extra CPU
 *               time, bench/probes/planted-slowdown.ts): must be flagged every time
 *   slow-neighbour  the slow comparison beside the neighbour (shown, not required)
 *
 * Prints a table of verdicts per scenario and writes it (and every comparison) under --out-dir.
 * Exit 0 when identical/neighbour raised no regression and slow was always flagged, else 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_AB_WINDOW } from './ab.js';
import { alternate, type Build } from './alternate.js';
import { compareFiles, DEFAULT_COMPARE_OPTIONS, formatComparison, type Comparison } from './compare.js';
import { loadBenchFile } from './compare.js';
import { table } from './format.js';
import { DEFAULT_SLOWDOWN, SLOWDOWN_ENV } from './planted-slowdown.js';
import { median } from './stats.js';
import { OptionError, parseOptions } from './options.js';

const SCENARIOS = ['identical', 'neighbour', 'slow', 'slow-neighbour'] as const;
type Scenario = (typeof SCENARIOS)[number];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLOW_PRELOAD = fileURLToPath(new URL('./probes/planted-slowdown.js', import.meta.url));
const NEIGHBOUR = fileURLToPath(new URL('./neighbour.js', import.meta.url));

const USAGE = `usage: npm run bench:validate -- [options] [-- bench options]

  --scenarios LIST    from ${SCENARIOS.join(', ')}; default identical,neighbour,slow
  --comparisons N     comparisons per scenario, default 10
  --repeat K          samples per build per comparison, default 10
  --duration SEC      measured seconds per sample, default 1
  --warmup SEC        default 0.5
  --slowdown F        planted slowdown, default ${DEFAULT_SLOWDOWN}
  --out-dir DIR       default bench-results/validate-<time>
  --rejudge DIR       take no samples: judge again the comparisons saved under DIR
                      (DIR/<scenario>/<n>/a.json, b.json) with today's bench:compare
bench options after "--" go to every sample (default: 3 peers, 16 B, window 1,000, memory, as bench:ab).`;

interface Outcome {
  scenario: Scenario; index: number; verdict: Comparison['verdict']; exitCode: number; slowerFigures: string[];
  /** The primary figure (CPU/commit per peer thread): estimate, interval and verdict. */
  primary: { ratio: number; lo: number; hi: number; verdict: string } | null;
  otherProcessesMax: number | null;
  /** Median over all samples of both sides of the cores other processes used. */
  otherProcessesMedian: number | null;
}

export async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  let values;
  try {
    ({ values } = parseArgs({
      args: own, strict: true, allowPositionals: false,
      options: { scenarios: { type: 'string' }, comparisons: { type: 'string' }, repeat: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, slowdown: { type: 'string' }, 'out-dir': { type: 'string' }, rejudge: { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (e) {
    console.error(`bench:validate: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const scenarios = (values.scenarios ?? 'identical,neighbour,slow').split(',').map((s) => s.trim());
  for (const s of scenarios) if (!(SCENARIOS as readonly string[]).includes(s)) { console.error(`bench:validate: unknown scenario ${JSON.stringify(s)} (known: ${SCENARIOS.join(', ')})`); return 2; }
  const comparisons = positiveInt('--comparisons', values.comparisons ?? '10');
  const repeat = positiveInt('--repeat', values.repeat ?? '10');
  if (comparisons === null || repeat === null) return 2;
  const slowdown = values.slowdown ?? String(DEFAULT_SLOWDOWN);
  const outDir = values['out-dir'] ?? path.join('bench-results', `validate-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const load = ['--window', '--rate', '--sweep-window', '--suite'].some((o) => extra.some((a) => a === o || a.startsWith(`${o}=`))) ? [] : ['--window', DEFAULT_AB_WINDOW];
  const benchArgs = ['--duration', values.duration ?? '1', '--warmup', values.warmup ?? '0.5', '--no-limits', '--no-progress', ...load, ...extra];
  // checked here, with the harness's own parser, so that a bad option is not found by the first sample
  try {
    parseOptions(benchArgs);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    console.error(`bench:validate: bench ${e.message}\n${USAGE}`);
    return 2;
  }

  if (values.rejudge !== undefined) return rejudge(values.rejudge);

  const outcomes: Outcome[] = [];
  for (const scenario of scenarios as Scenario[]) {
    const slow = scenario.startsWith('slow');
    const withNeighbour = scenario.endsWith('neighbour');
    const head: Build = { label: 'a', dir: ROOT };
    const other: Build = slow
      ? { label: 'b', dir: ROOT, nodeArgs: ['--import', SLOW_PRELOAD], env: { ...process.env, [SLOWDOWN_ENV]: slowdown } }
      : { label: 'b', dir: ROOT };
    let neighbour: ChildProcess | null = null;
    if (withNeighbour) neighbour = spawn(process.execPath, [NEIGHBOUR, '1'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < comparisons; i++) {
        const dir = path.join(outDir, scenario, String(i + 1));
        const [a, b] = await alternate([head, other], benchArgs, repeat, dir, (s) => console.error(`[${scenario} ${i + 1}/${comparisons}] ${s}`));
        outcomes.push(judge(scenario, i + 1, a, b, dir));
      }
    } finally {
      neighbour?.kill();
    }
  }

  return report(outcomes, scenarios as Scenario[], outDir, argv);
}

/** Compares one scenario's two merged files; writes the comparison next to them; logs and returns the outcome. */
function judge(scenario: Scenario, index: number, a: string, b: string, dir: string): Outcome {
  const c = compareFiles(loadBenchFile(a), loadBenchFile(b), DEFAULT_COMPARE_OPTIONS);
  fs.writeFileSync(path.join(dir, 'compare.txt'), formatComparison(c) + '\n');
  fs.writeFileSync(path.join(dir, 'compare.json'), JSON.stringify(c, null, 2) + '\n');
  const p = c.runs[0]?.figures.find((f) => f.figure === 'peerCpuPerCommit');
  const others = [...loadBenchFile(a).runs, ...loadBenchFile(b).runs].map((r) => r.cpu?.otherProcessesUtilization ?? NaN);
  const o: Outcome = {
    scenario, index, verdict: c.verdict, exitCode: c.exitCode,
    slowerFigures: c.runs.flatMap((r) => r.figures.filter((f) => f.verdict === 'slower').map((f) => f.figure)),
    primary: p ? { ratio: p.ratio, lo: p.lo, hi: p.hi, verdict: p.verdict } : null,
    otherProcessesMax: c.runs[0]?.otherProcessesMax ?? null,
    otherProcessesMedian: others.some((v) => Number.isNaN(v)) ? null : median(others),
  };
  const pc = (r: number) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`;
  const primary = o.primary ? `; CPU/commit per peer ${pc(o.primary.ratio)} (${pc(o.primary.lo)} .. ${pc(o.primary.hi)}) ${o.primary.verdict}` : '';
  console.log(`${scenario} ${index}: ${o.verdict} (exit ${o.exitCode})${primary}${o.slowerFigures.length ? `; slower: ${o.slowerFigures.join(', ')}` : ''}; ` +
    `other processes median ${o.otherProcessesMedian?.toFixed(2) ?? '?'}, up to ${o.otherProcessesMax?.toFixed(2) ?? '?'} cores`);
  return o;
}

/** --rejudge: the saved samples, today's rules. */
function rejudge(root: string): number {
  const outcomes: Outcome[] = [];
  const found: Scenario[] = [];
  for (const scenario of SCENARIOS) {
    const sdir = path.join(root, scenario);
    if (!fs.existsSync(sdir)) continue;
    const runs = fs.readdirSync(sdir).filter((n) => /^\d+$/.test(n) && fs.existsSync(path.join(sdir, n, 'b.json'))).sort((x, y) => Number(x) - Number(y));
    if (runs.length === 0) continue;
    found.push(scenario);
    for (const n of runs) outcomes.push(judge(scenario, Number(n), path.join(sdir, n, 'a.json'), path.join(sdir, n, 'b.json'), path.join(sdir, n)));
  }
  if (found.length === 0) {
    console.error(`bench:validate: no saved comparison under ${root} (expected ${root}/<scenario>/<n>/a.json and b.json)`);
    return 2;
  }
  return report(outcomes, found, root, ['--rejudge', root]);
}

function report(outcomes: Outcome[], scenarios: Scenario[], outDir: string, argv: string[]): number {
  const summary = summaryTable(outcomes, scenarios);
  console.log(`\n${summary}`);
  fs.writeFileSync(path.join(outDir, 'summary.txt'), `bench:validate ${argv.join(' ')}\n\n${summary}\n`);
  fs.writeFileSync(path.join(outDir, 'summary.json'), JSON.stringify({ argv, outcomes }, null, 2) + '\n');
  console.log(`\nwrote ${outDir}/summary.txt and the comparisons under ${outDir}/`);
  const ok = outcomes.every((o) => (o.scenario === 'identical' || o.scenario === 'neighbour' ? o.verdict !== 'regression' : o.scenario === 'slow' ? o.verdict === 'regression' : true));
  return ok ? 0 : 1;
}

function summaryTable(outcomes: Outcome[], scenarios: Scenario[]): string {
  return table(['scenario', 'comparisons', 'regression', 'inconclusive', 'no regression', 'figures flagged slower (times)', 'CPU/commit per peer, median change', 'other processes: median, median max'], scenarios.map((s) => {
    const os = outcomes.filter((o) => o.scenario === s);
    const figs = new Map<string, number>();
    for (const o of os) for (const f of o.slowerFigures) figs.set(f, (figs.get(f) ?? 0) + 1);
    const busy = median(os.map((o) => o.otherProcessesMax ?? NaN).filter(Number.isFinite));
    const typical = median(os.map((o) => o.otherProcessesMedian ?? NaN).filter(Number.isFinite));
    const change = median(os.map((o) => o.primary?.ratio ?? NaN).filter(Number.isFinite));
    return [s, String(os.length), String(os.filter((o) => o.verdict === 'regression').length), String(os.filter((o) => o.verdict === 'inconclusive').length),
      String(os.filter((o) => o.verdict === 'no regression').length), [...figs].map(([f, n]) => `${f} ${n}`).join(', ') || '-',
      Number.isFinite(change) ? `${change >= 1 ? '+' : ''}${((change - 1) * 100).toFixed(1)}%` : '-',
      Number.isFinite(typical) && Number.isFinite(busy) ? `${typical.toFixed(2)}, ${busy.toFixed(2)} cores` : '-'];
  }));
}

function positiveInt(option: string, text: string): number | null {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1000) {
    console.error(`bench:validate: option ${option} must be an integer from 1 to 1000, got ${JSON.stringify(text)}`);
    return null;
  }
  return n;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = 1; });
}
