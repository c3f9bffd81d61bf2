/**
 * Seed sweep of the deterministic simulation, in parallel on a piscina pool:
 *
 *   node dist/test/sim/sweep.js --seeds N [--start S] [--peers P] [--snapshots] [--sessions] [--no-membership] [--steps K] [--reads index|lease|follower] [--threads T]
 *   node dist/test/sim/sweep.js --seed S [--peers P] [--snapshots] [--sessions] [--no-membership] [--steps K] [--reads MODE] [--quiet]
 *
 * The first form prints progress and a summary line and exits 1 if any seed fails, listing
 * each failing seed with the command that replays it. The second replays one seed in this
 * process and prints every event (--quiet: only the outcome and the stats).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { DEFAULTS, replayCommand, runSeed } from '../../src/sim/scenario.js';
import type { RunOptions } from '../../src/sim/scenario.js';
import type { SeedSummary, SweepTask } from './sweep-worker.js';

const USAGE = `usage: node dist/test/sim/sweep.js --seeds N [--start S] [--peers P] [--snapshots] [--sessions] [--no-membership] [--steps K] [--reads index|lease|follower] [--threads T]
       node dist/test/sim/sweep.js --seed S [--peers P] [--snapshots] [--sessions] [--no-membership] [--steps K] [--reads MODE] [--quiet]`;

interface Args {
  seeds: number | null;
  start: number;
  seed: number | null;
  peers: number;
  snapshots: boolean;
  sessions: boolean;
  reads?: 'index' | 'lease' | 'follower';
  membership: boolean;
  steps: number;
  threads: number;
  quiet: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: null, start: 1, seed: null, peers: DEFAULTS.peers, snapshots: false, sessions: false, membership: DEFAULTS.membership, steps: DEFAULTS.steps, threads: availableParallelism(), quiet: false };
  const intArg = (flag: string, raw: string | undefined, min: number, max: number): number => {
    if (raw === undefined || raw.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new UsageError(`${flag} must be an integer in [${min}, ${max}], got '${raw}'`);
    }
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--seeds': a.seeds = intArg(flag, value(), 1, 10_000_000); break;
      case '--start': a.start = intArg(flag, value(), 0, 0xffffffff); break;
      case '--seed': a.seed = intArg(flag, value(), 0, 0xffffffff); break;
      case '--peers': a.peers = intArg(flag, value(), 1, 15); break;
      case '--steps': a.steps = intArg(flag, value(), 1, 10_000_000); break;
      case '--threads': a.threads = intArg(flag, value(), 1, 256); break;
      case '--reads': {
        const v = value();
        if (v !== 'index' && v !== 'lease' && v !== 'follower') throw new UsageError(`--reads must be index, lease or follower, got ${v}`);
        a.reads = v;
        break;
      }
      case '--snapshots':
      case '--sessions':
      case '--quiet':
      case '--no-membership':
        if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
        if (flag === '--snapshots') a.snapshots = true; else if (flag === '--sessions') a.sessions = true; else if (flag === '--no-membership') a.membership = false; else a.quiet = true;
        break;
      case '--help': case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown flag '${arg}'`);
    }
  }
  if (a.seed !== null && a.seeds !== null) throw new UsageError('--seed (replay one) and --seeds (sweep) exclude each other');
  if (a.seed === null && a.seeds === null) a.seeds = 200;
  if (a.seeds !== null && a.start + a.seeds - 1 > 0xffffffff) throw new UsageError('--start + --seeds goes past seed 4294967295');
  return a;
}

function replayOne(a: Args): number {
  const options: RunOptions = { peers: a.peers, snapshots: a.snapshots, sessions: a.sessions, membership: a.membership, steps: a.steps, reads: a.reads };
  const t0 = performance.now();
  const r = runSeed(a.seed!, { ...options, log: a.quiet ? undefined : (line) => console.log(line) });
  const wall = ((performance.now() - t0) / 1000).toFixed(2);
  const { profile, ...stats } = r.stats;
  console.log(`profile: ${JSON.stringify(profile)}`);
  console.log(`stats: ${JSON.stringify(stats)}`);
  if (r.ok) {
    console.log(`seed ${a.seed} OK: converged ${stats.convergeMs} ms after healing, ${stats.events} events, trace ${stats.traceHash}, wall ${wall}s`);
    return 0;
  }
  console.log(`seed ${a.seed} FAILED (wall ${wall}s)\n${r.error}`);
  return 1;
}

async function sweep(a: Args): Promise<number> {
  const options = { peers: a.peers, snapshots: a.snapshots, sessions: a.sessions, membership: a.membership, steps: a.steps, reads: a.reads };
  const total = a.seeds!;
  const batch = Math.max(1, Math.min(20, Math.floor(total / (a.threads * 8))));
  const pool = new Piscina<SweepTask, SeedSummary[]>({
    filename: new URL('./sweep-worker.js', import.meta.url).href,
    minThreads: a.threads,
    maxThreads: a.threads,
  });
  const label = `peers ${a.peers}, snapshots ${a.snapshots ? 'on' : 'off'}, sessions ${a.sessions ? 'on' : 'off'}, membership ${a.membership ? 'on' : 'off'}, steps ${a.steps}${a.reads ? `, reads ${a.reads}` : ''}`;
  console.log(`sim sweep: seeds ${a.start}..${a.start + total - 1} (${total}), ${label}, ${a.threads} threads`);
  const t0 = performance.now();
  const failures: SeedSummary[] = [];
  let done = 0, events = 0, lastPrint = t0, worstConverge = 0, worstSeed = -1;
  const tasks: Promise<void>[] = [];
  for (let s = a.start; s < a.start + total; s += batch) {
    const seeds: number[] = [];
    for (let k = s; k < Math.min(s + batch, a.start + total); k++) seeds.push(k);
    tasks.push(pool.run({ seeds, options }).then((results) => {
      for (const r of results) {
        done++;
        events += r.events;
        if (!r.ok) {
          failures.push(r);
          console.log(`FAIL seed ${r.seed}: ${r.error!.split('\n')[0]}`);
        } else if (r.convergeMs > worstConverge) {
          worstConverge = r.convergeMs;
          worstSeed = r.seed;
        }
      }
      const now = performance.now();
      if (now - lastPrint > 2000 || done === total) {
        lastPrint = now;
        console.log(`[${String(done).padStart(String(total).length)}/${total}] ${failures.length} failed, ${((now - t0) / 1000).toFixed(1)}s`);
      }
    }));
  }
  await Promise.all(tasks);
  await pool.destroy();
  const wall = (performance.now() - t0) / 1000;
  failures.sort((x, y) => x.seed - y.seed);
  if (failures.length > 0) {
    console.log(`\nfirst failure in full:\n${failures[0].error}\n`);
    console.log('failing seeds (replay each with):');
    for (const f of failures) console.log(`  ${replayCommand(f.seed, options)}`);
  }
  console.log(`sim summary: ${total} seeds (${a.start}..${a.start + total - 1}), ${label}: ${failures.length} failed, ` +
    `${(events / 1e6).toFixed(1)}M events, slowest convergence ${worstConverge} virtual ms (seed ${worstSeed}), wall ${wall.toFixed(1)}s`);
  return failures.length > 0 ? 1 : 0;
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sweep: ${e.message}\n${USAGE}`);
      process.exit(2);
    }
    throw e;
  }
  process.exitCode = args.seed !== null ? replayOne(args) : await sweep(args);
}

await main();
