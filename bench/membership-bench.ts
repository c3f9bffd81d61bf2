/**
 * Membership and leadership benchmarks on the worker cluster (issue 11):
 *
 *   node dist/bench/membership-bench.js unavailability [--peers 3,5] [--runs 3] [--window 2000]
 *     Closed-loop load of --window commands in flight; after 1.5 s either the leader is crashed
 *     or leadership is transferred (cluster.transferLeader), alternating, one fresh cluster per
 *     run. Reports the longest gap between two commits around the event.
 *
 *   node dist/bench/membership-bench.js addpeer [--log 1000000] [--runs 2] [--window 2000]
 *     A 3-peer cluster whose log holds --log entries (16 B commands, no snapshots: the new
 *     peer receives the whole log); then, under the same load, addPeer(): the time until the
 *     new peer is a learner, until it votes (addPeer resolves: it had caught up), and the
 *     throughput before and while it joins (100 ms buckets).
 *
 * Shared-memory storage; timings are wall clock on whatever machine runs it (say its load).
 */
import { Cluster } from '../src/cluster/cluster.js';
import type { ClusterClient } from '../src/cluster/client.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Args { mode: string; peers: number[]; runs: number; window: number; log: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { mode: argv[0] ?? '', peers: [3, 5], runs: 3, window: 2000, log: 1_000_000 };
  if (a.mode !== 'unavailability' && a.mode !== 'addpeer') usage(`unknown mode ${JSON.stringify(a.mode)}`);
  for (let k = 1; k < argv.length; k += 2) {
    const v = argv[k + 1];
    const int = (what: string) => { const n = Number(v); if (!Number.isInteger(n) || n <= 0) usage(`${what} must be a positive integer, got ${v}`); return n; };
    switch (argv[k]) {
      case '--peers': a.peers = (v ?? '').split(',').map(Number); if (!a.peers.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) usage(`--peers must list peer counts 1..64, got ${v}`); break;
      case '--runs': a.runs = int('--runs'); break;
      case '--window': a.window = int('--window'); break;
      case '--log': a.log = int('--log'); break;
      default: usage(`unknown option ${argv[k]}`);
    }
  }
  return a;
}

function usage(msg: string): never {
  console.error(`membership-bench: ${msg}\nusage: membership-bench unavailability [--peers 3,5] [--runs N] [--window N]\n       membership-bench addpeer [--log N] [--runs N] [--window N]`);
  process.exit(2);
}

/** Keeps `window` commands in flight; records each commit's time. */
class Load {
  readonly commits: number[] = [];
  private stopped = false;
  private n = 0;
  constructor(private readonly client: ClusterClient, window: number, peers: number) {
    const cmd = new Uint8Array(16);
    const send = () => {
      if (this.stopped) return;
      new DataView(cmd.buffer).setFloat64(0, this.n++, true);
      try {
        client.submit(cmd.slice());
      } catch {
        client.leader = (client.leader + 1) % peers; // the believed leader is down: try the next peer
        setTimeout(send, 5);
      }
    };
    client.onCommitted = () => { this.commits.push(performance.now()); send(); };
    // Refusals and unknown outcomes: send another command (a benchmark needs no exactly-once).
    client.onFailed = (_seq, reason) => { if (reason === 'not-leader') send(); else setTimeout(send, 5); };
    for (let k = 0; k < window; k++) send();
  }
  stop(): void { this.stopped = true; this.client.onCommitted = null; this.client.onFailed = null; }
  /** Longest gap between consecutive commits that overlaps [from, to]. */
  gap(from: number, to: number): number {
    let g = 0;
    const c = this.commits;
    for (let k = 1; k < c.length; k++) if (c[k] >= from && c[k - 1] <= to) g = Math.max(g, c[k] - c[k - 1]);
    return g;
  }
  /** Start of the longest gap overlapping [from, to]. */
  gapStart(from: number, to: number): number {
    let g = 0, at = from;
    const c = this.commits;
    for (let k = 1; k < c.length; k++) if (c[k] >= from && c[k - 1] <= to && c[k] - c[k - 1] > g) { g = c[k] - c[k - 1]; at = c[k - 1]; }
    return at;
  }
  /** Commits per second within [from, to). */
  rate(from: number, to: number): number {
    return this.commits.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
  }
  /** Lowest 100 ms bucket rate (commits/s) within [from, to). */
  minBucket(from: number, to: number): number {
    let lo = Infinity;
    for (let t = from; t + 100 <= to; t += 100) lo = Math.min(lo, this.rate(t, t + 100));
    return lo === Infinity ? this.rate(from, to) : lo;
  }
}

async function unavailability(a: Args): Promise<void> {
  console.log(`unavailability: closed loop, window ${a.window}, 16 B commands, memory storage, ${a.runs} runs per case`);
  for (const peers of a.peers) {
    const gaps: Record<'crash' | 'transfer', number[]> = { crash: [], transfer: [] };
    for (let r = 0; r < a.runs; r++) {
      for (const kind of (r % 2 === 0 ? ['crash', 'transfer'] : ['transfer', 'crash']) as Array<'crash' | 'transfer'>) {
        const c = await Cluster.start({ peers, applyStream: false });
        try {
          const { leader } = await c.waitForLeader();
          const load = new Load(c.client(), a.window, peers);
          await sleep(1500);
          const t0 = performance.now();
          if (kind === 'crash') await c.crash(leader);
          else await c.transferLeader((leader + 1) % peers);
          await c.waitForLeader({ timeoutMs: 10_000 });
          const tLeader = performance.now();
          await sleep(1000);
          load.stop();
          const g = load.gap(t0, tLeader);
          gaps[kind].push(g);
          console.log(`  ${peers} peers, ${kind.padEnd(8)}: longest gap without a commit ${g.toFixed(0).padStart(5)} ms (new leader seen after ${(tLeader - t0).toFixed(0)} ms; ${load.rate(t0 - 1000, t0).toFixed(0)} commits/s before)`);
        } finally {
          await c.stop();
        }
      }
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    console.log(`  ${peers} peers: median gap crash ${med(gaps.crash).toFixed(0)} ms, transfer ${med(gaps.transfer).toFixed(0)} ms (max ${Math.max(...gaps.crash).toFixed(0)} / ${Math.max(...gaps.transfer).toFixed(0)})`);
  }
}

async function addPeer(a: Args): Promise<void> {
  console.log(`addpeer: 3 peers, log of ${a.log} entries (16 B), then addPeer() under a closed loop of window ${a.window}, memory storage, ${a.runs} runs`);
  for (let r = 0; r < a.runs; r++) {
    const c = await Cluster.start({ peers: 3, applyStream: false });
    try {
      await c.waitForLeader();
      const client = c.client();
      const fill = new Load(client, Math.max(a.window, 20_000), 3);
      const tFill = performance.now();
      while (fill.commits.length < a.log) await sleep(50);
      fill.stop();
      const fillS = (performance.now() - tFill) / 1000;
      await sleep(500); // the fill's last commands settle
      const load = new Load(client, a.window, 4);
      await sleep(1500);
      const t0 = performance.now();
      let tLearner = NaN;
      const adding = c.addPeer({ timeoutMs: 600_000 });
      const watch = (async () => {
        for (;;) {
          const m = await c.membership().catch(() => null);
          if (m && m.learners.length > 0) { tLearner = performance.now(); return; }
          if (m && m.voters.length === 4) return;
          await sleep(20);
        }
      })();
      const id = await adding;
      const tVoter = performance.now();
      await watch;
      await sleep(1000);
      load.stop();
      const s = await c.peer(id).stats();
      console.log(`  run ${r + 1}: log filled in ${fillS.toFixed(1)} s (${(a.log / fillS).toFixed(0)} commits/s); addPeer(): learner after ${(tLearner - t0).toFixed(0)} ms, ` +
        `voter (caught up, promoted) after ${(tVoter - t0).toFixed(0)} ms; new peer's log ${s.lastIndex} entries`);
      console.log(`         throughput: ${load.rate(t0 - 1000, t0).toFixed(0)} commits/s before, ${load.rate(t0, tVoter).toFixed(0)} while joining (lowest 100 ms bucket ${load.minBucket(t0, tVoter).toFixed(0)}), ` +
        `${load.rate(tVoter, tVoter + 1000).toFixed(0)} after; longest gap ${load.gap(t0, tVoter).toFixed(0)} ms from ${(load.gapStart(t0, tVoter) - t0).toFixed(0)} ms`);
    } finally {
      await c.stop();
    }
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.mode === 'unavailability') await unavailability(args);
else await addPeer(args);
