/**
 * `npm run bench:ab -- --base <git ref> [--repeat K] [--out-dir DIR] [compare options] [bench options]`
 *
 * A/B of two builds in one session: checks the base out in a temporary git worktree, installs
 * (npm ci) and builds it there, then takes K samples of each build in turns, base head base
 * head ..., one harness process per sample (each build measures with its own harness), and
 * compares them with bench:compare. The head is this checkout as it is, uncommitted changes
 * included (npm run bench:ab builds it first). The worktree is removed afterwards, also on
 * failure or Ctrl-C. Exit codes are bench:compare's (0 no regression, 1 regression,
 * 2 inconclusive, 3 could not compare: bad option, unknown ref, a build or a run failed).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { alternate } from './alternate.js';
import { CompareInputError, EXIT, main as compareMain, parseCompareArgs } from './compare.js';
import { OptionError, parseOptions } from './options.js';

export const DEFAULT_AB_REPEAT = 10;
/**
 * Sample length unless --duration / --warmup are given: many short samples beat a few long
 * ones, because the noise that matters (the batching a fresh cluster settles into, a
 * neighbour's busy spell) changes between samples, not within one.
 */
export const DEFAULT_AB_DURATION = '1';
export const DEFAULT_AB_WARMUP = '0.5';
/**
 * Commands in flight unless a load option is given. With the harness's default (20,000)
 * commands complete in chunks of up to a window, so a 1 s sample commits only 2-40 of them
 * and its CPU per commit moves with where the window's edges fall (the count is quantized,
 * the CPU time is not); 1,000 keeps the peers saturated with chunks 20 times finer.
 */
export const DEFAULT_AB_WINDOW = '1000';
const LOAD_OPTIONS = ['--window', '--rate', '--sweep-window', '--suite'];

export const USAGE = `usage: npm run bench:ab -- --base REF [--repeat K] [--out-dir DIR] [--keep-worktree]
                          [compare options] [bench options]

  --base REF          git ref (branch, tag, commit) to compare this checkout against
  --repeat K          samples of each build, taken in turns (ABAB...), default ${DEFAULT_AB_REPEAT}
                      (each --window ${DEFAULT_AB_WINDOW} --duration ${DEFAULT_AB_DURATION} --warmup ${DEFAULT_AB_WARMUP} unless a load
                      option or those are given: about 2.5 s a sample)
  --out-dir DIR       where the samples, base.json, head.json and the comparison go
                      (default bench-results/ab-<time>)
  --keep-worktree     leave the base's worktree in place (its path is printed)
compare options (passed to bench:compare): --max-peer-cpu-rise, --max-throughput-drop, --max-p50-rise,
  --max-p99-rise, --max-cpu-rise, --confidence, --gate, --markdown, --json
bench options (passed to every sample): see npm run bench -- --help (not --out, --repeat, --suite
  is allowed but long); --no-limits is added: the reference limits do not enter a comparison`;

const COMPARE_VALUE_OPTIONS = ['--max-peer-cpu-rise', '--max-throughput-drop', '--max-p50-rise', '--max-p99-rise', '--max-cpu-rise', '--confidence', '--gate'];
const COMPARE_FLAGS = ['--markdown', '--json'];

export interface AbArgs { base: string; repeat: number; outDir: string | null; keepWorktree: boolean; compareArgs: string[]; benchArgs: string[] }

export class AbInputError extends Error {}

/** Splits argv into our options, bench:compare's and the harness's; validates the harness's with its own parser. */
export function parseAbArgs(argv: string[]): AbArgs | null {
  const out: AbArgs = { base: '', repeat: DEFAULT_AB_REPEAT, outDir: null, keepWorktree: false, compareArgs: [], benchArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new AbInputError(`option ${flag}: needs a value`);
      return v;
    };
    if (flag === '--help' || flag === '-h') return null;
    else if (flag === '--base') out.base = value();
    else if (flag === '--repeat') {
      const v = value();
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1 || n > 100) throw new AbInputError(`option --repeat: must be an integer from 1 to 100, got ${JSON.stringify(v)}`);
      out.repeat = n;
    } else if (flag === '--out-dir') out.outDir = value();
    else if (flag === '--keep-worktree') out.keepWorktree = true;
    else if (COMPARE_VALUE_OPTIONS.includes(flag)) out.compareArgs.push(flag, value());
    else if (COMPARE_FLAGS.includes(flag)) out.compareArgs.push(flag);
    else if (flag === '--out') throw new AbInputError('option --out: bench:ab names the result files itself (see --out-dir)');
    else out.benchArgs.push(argv[i]);
  }
  if (out.base.trim() === '') throw new AbInputError('option --base: needed (the git ref to compare against, e.g. --base origin/main)');
  try {
    parseOptions(out.benchArgs);
  } catch (e) {
    if (e instanceof OptionError) throw new AbInputError(`bench ${e.message}`);
    throw e;
  }
  // bench:compare's options too, now: its parser would otherwise refuse them only after every sample
  try {
    parseCompareArgs(['base.json', 'head.json', ...out.compareArgs]);
  } catch (e) {
    if (e instanceof CompareInputError) throw new AbInputError(e.message);
    throw e;
  }
  const given = (flag: string) => out.benchArgs.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (!LOAD_OPTIONS.some(given)) out.benchArgs.push('--window', DEFAULT_AB_WINDOW);
  if (!given('--duration')) out.benchArgs.push('--duration', DEFAULT_AB_DURATION);
  if (!given('--warmup')) out.benchArgs.push('--warmup', DEFAULT_AB_WARMUP);
  if (!out.benchArgs.includes('--no-limits')) out.benchArgs.push('--no-limits');
  if (!out.benchArgs.includes('--progress')) out.benchArgs.push('--no-progress');
  return out;
}

function git(args: string[], cwd = process.cwd()): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Runs a command, its output going to our stderr; throws naming the step when it fails. */
function step(what: string, cmd: string, args: string[], cwd: string): void {
  console.error(`bench:ab: ${what}: ${cmd} ${args.join(' ')} (in ${cwd})`);
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', process.stderr, process.stderr] });
  } catch (e) {
    throw new AbInputError(`${what} failed (${(e as Error).message.split('\n')[0]})`);
  }
}

export async function main(argv: string[]): Promise<number> {
  let args: AbArgs | null;
  try {
    args = parseAbArgs(argv);
  } catch (e) {
    if (!(e instanceof AbInputError)) throw e;
    console.error(`bench:ab: ${e.message}\n(npm run bench:ab -- --help lists the options)`);
    return EXIT.inputError;
  }
  if (!args) { console.log(USAGE); return 0; }

  let top: string, baseCommit: string;
  try {
    top = git(['rev-parse', '--show-toplevel']);
    baseCommit = git(['rev-parse', '--verify', '--end-of-options', `${args.base}^{commit}`]);
  } catch (e) {
    console.error(`bench:ab: ${JSON.stringify(args.base)} is not a commit of this repository (${(e as Error).message.split('\n')[0]})`);
    return EXIT.inputError;
  }
  const outDir = args.outDir ?? path.join('bench-results', `ab-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-base-'));
  let added = false;
  const cleanup = () => {
    if (args!.keepWorktree) { console.error(`bench:ab: base worktree kept at ${tree}`); return; }
    try { if (added) git(['worktree', 'remove', '--force', tree], top); } catch { /* removed below */ }
    fs.rmSync(tree, { recursive: true, force: true });
    try { git(['worktree', 'prune'], top); } catch { /* nothing to prune */ }
  };
  const onSignal = (sig: NodeJS.Signals) => { cleanup(); process.exit(sig === 'SIGINT' ? 130 : 143); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    step('check out the base', 'git', ['worktree', 'add', '--detach', tree, baseCommit], top);
    added = true;
    step('install the base', 'npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], tree);
    step('build the base', 'npm', ['run', 'build'], tree);
    if (!fs.existsSync(path.join(tree, 'dist/bench/run.js'))) throw new AbInputError(`the base (${baseCommit.slice(0, 10)}) has no benchmark harness (dist/bench/run.js)`);
    console.error(`bench:ab: base ${args.base} = ${baseCommit.slice(0, 10)}; head = ${top}; ${args.repeat} samples each, in turns`);
    const [basePath, headPath] = await alternate(
      [{ label: 'base', dir: tree }, { label: 'head', dir: top }],
      args.benchArgs, args.repeat, outDir, (s) => console.error(`bench:ab: ${s}`),
    );
    const code = compareMain([basePath, headPath, ...args.compareArgs]);
    // the machine-readable verdict next to the samples, whatever was printed
    let json = '';
    compareMain([basePath, headPath, ...args.compareArgs.filter((a) => !COMPARE_FLAGS.includes(a)), '--json'], (s) => { json += s + '\n'; }, () => {});
    fs.writeFileSync(path.join(outDir, 'compare.json'), json);
    console.error(`bench:ab: wrote ${basePath}, ${headPath}, ${path.join(outDir, 'compare.json')}`);
    return code;
  } catch (e) {
    console.error(`bench:ab: could not compare: ${e instanceof AbInputError ? e.message : e instanceof Error ? e.message : String(e)}`);
    return EXIT.inputError;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = EXIT.inputError; });
}
