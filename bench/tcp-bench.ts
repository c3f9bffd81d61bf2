/**
 * Peers as separate processes on loopback: 3 `raft-threads peer --memory --insecure`
 * processes and one RemoteClient in this process. Prints the saturated commit rate (many
 * proposals in flight) and the latency of one proposal in flight at a time (p50/p99), with
 * 16-byte commands.
 *
 *   npm run bench:tcp -- [--seconds 5] [--window 4096] [--latency-samples 2000]
 *   RAFT_BENCH_PROFILE=DIR: CPU profiles of the peers in DIR
 */
import { ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RemoteClient } from '../src/process/remote-client.js';
import { freePorts, waitFor } from '../test/transport/tcp-helpers.js';

const { values: v } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, window: { type: 'string', default: '4096' }, 'latency-samples': { type: 'string', default: '2000' } } });
const seconds = Number(v.seconds), window = Number(v.window), samples = Number(v['latency-samples']);
for (const [k, x] of [['--seconds', seconds], ['--window', window], ['--latency-samples', samples]] as const) {
  if (!(x > 0)) throw new RangeError(`${k} must be a positive number, got ${x}`);
}

// RAFT_BENCH_PROFILE=DIR: the peers write CPU profiles there (run this script with --cpu-prof for the client's).
const profile = process.env.RAFT_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RAFT_BENCH_PROFILE}`] : [];
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/process/cli.js');
const ports = await freePorts(3);
const peersArg = ports.map((p, id) => `${id}=127.0.0.1:${p}`).join(',');
const procs: ChildProcess[] = await Promise.all([0, 1, 2].map((id) => new Promise<ChildProcess>((resolve, reject) => {
  const p = spawn(process.execPath, [...profile, CLI, 'peer', '--id', String(id), '--peers', peersArg, '--memory', '--insecure'], { stdio: ['ignore', 'pipe', 'inherit'] });
  p.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('listening')) resolve(p); });
  p.once('exit', (code) => reject(new Error(`peer ${id} exited ${code}`)));
})));
const client = new RemoteClient({ peers: Object.fromEntries(ports.map((port, id) => [id, { host: '127.0.0.1', port }])), tls: false });
const command = new Uint8Array(16);

try {
  await waitFor('a leader', async () => { try { await client.propose(command, { timeoutMs: 2000 }); return true; } catch { return false; } }, 20_000);

  // One in flight.
  const lat: number[] = [];
  for (let i = 0; i < samples + 200; i++) {
    const t0 = process.hrtime.bigint();
    await client.propose(command);
    if (i >= 200) lat.push(Number(process.hrtime.bigint() - t0) / 1e3); // the first 200 warm up
  }
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];

  // Saturated: `window` proposals in flight, each replaced when it commits.
  let committed = 0;
  let running = true;
  const worker = async () => { while (running) { await client.propose(command); committed++; } };
  const workers = Array.from({ length: window }, worker);
  await new Promise((r) => setTimeout(r, 1000)); // warm up
  const c0 = committed, t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = committed, t1 = process.hrtime.bigint();
  running = false;
  await Promise.all(workers);
  const rate = (c1 - c0) / (Number(t1 - t0) / 1e9);

  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, node ${process.version}`);
  console.log(`tcp, 3 peer processes, memory storage, 16 B commands, one RemoteClient`);
  console.log(`  saturated (${window} in flight, ${seconds} s): ${Math.round(rate).toLocaleString('en-US')} commits/s`);
  console.log(`  one in flight (${samples} samples): p50 ${pct(0.5).toFixed(0)} us, p99 ${pct(0.99).toFixed(0)} us`);
} finally {
  client.close();
  for (const p of procs) p.kill('SIGTERM');
}
