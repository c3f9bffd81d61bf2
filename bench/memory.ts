/**
 * Memory benchmark: commits 1,000,000 16-byte commands on 3 peers with a snapshot every
 * 10,000 entries, and prints RSS, peak RSS and each worker's heap at checkpoints. With log
 * compaction working, the figures stay flat as the command count grows.
 *
 *   npm run bench:memory [-- --commands 1000000 --snapshot-every 10000 --window 8192]
 */
import os from 'node:os';
import { Cluster } from '../src/index.js';

interface Options { commands: number; snapshotEvery: number; window: number; peers: number }

function parse(argv: string[]): Options {
  const o: Options = { commands: 1_000_000, snapshotEvery: 10_000, window: 8192, peers: 3 };
  const names: Record<string, keyof Options> = { '--commands': 'commands', '--snapshot-every': 'snapshotEvery', '--window': 'window', '--peers': 'peers' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key) throw new RangeError(`unknown option ${argv[i]} (known: ${Object.keys(names).join(', ')})`);
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`option ${argv[i]} must be a positive integer, got ${argv[i + 1]}`);
    o[key] = v;
  }
  return o;
}

const mb = (n: number) => (n / (1 << 20)).toFixed(1);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const checkpoints = [0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.round(o.commands * f));
  const cluster = await Cluster.start({
    peers: o.peers, applyStream: false, snapshotPolicy: { entries: o.snapshotEvery },
    stateMachine: new URL('./state-machines/hash-state-machine.js', import.meta.url),
  });
  const client = cluster.client();
  for (;;) {
    let leader = -1;
    for (let i = 0; i < o.peers; i++) if ((await cluster.peer(i).getState()).isLeader) leader = i;
    if (leader >= 0) { client.leader = leader; break; }
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`);
  console.log(`committing ${o.commands} x 16-byte commands on ${o.peers} peers, snapshot every ${o.snapshotEvery} entries, window ${o.window}`);
  console.log('committed  | rss MB | peak rss MB | worker heaps MB        | worker ArrayBuffers MB | log entries held per peer');
  const cmd = new Uint8Array(16);
  let sent = 0, done = 0, next = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    client.onFailed = (_seq, reason, hint) => {
      if (reason === 'not-leader' && hint >= 0) { client.leader = hint; client.submit(cmd); return; }
      reject(new Error(`proposal failed: ${reason}`));
    };
    client.onCommitted = () => {
      done++;
      if (sent < o.commands) { sent++; client.submit(cmd); }
      if (done === checkpoints[next]) {
        next++;
        void report(cluster, done).then(() => { if (done === o.commands) resolve(); }, reject);
      }
    };
    for (; sent < Math.min(o.window, o.commands); sent++) client.submit(cmd);
  });
  const secs = (performance.now() - started) / 1000;
  console.log(`done: ${o.commands} commands in ${secs.toFixed(1)} s (${Math.round(o.commands / secs)}/s, including the checkpoints)`);
  await cluster.stop();
}

async function report(cluster: Cluster, done: number): Promise<void> {
  const stats = await Promise.all(Array.from({ length: cluster.size }, (_, i) => cluster.peer(i).stats()));
  if (process.env.BENCH_GC && (globalThis as { gc?: () => void }).gc) (globalThis as unknown as { gc: () => void }).gc();
  const mu = process.memoryUsage();
  if (process.env.BENCH_GC) console.log(`main heap ${mb(mu.heapUsed)} external ${mb(mu.external)} arrayBuffers ${mb(mu.arrayBuffers)}`);
  const rss = mu.rss;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(`${String(done).padStart(10)} | ${mb(rss).padStart(6)} | ${mb(peak).padStart(11)} | ${stats.map((s) => mb(s.heapUsed)).join(' / ').padEnd(22)} | ${stats.map((s) => mb(s.arrayBuffers)).join(' / ').padEnd(22)} | ${stats.map((s) => s.logEntries).join(' / ')}`);
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(2); });
