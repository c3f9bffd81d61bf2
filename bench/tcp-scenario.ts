/**
 * One measurement over TCP (`--transport tcp`): the peers run as separate `raft-threads peer`
 * processes on loopback (plain TCP, memory or file storage, the same counting state machine
 * and snapshot policy as the worker runs), and the load comes from a RemoteClient in this
 * process through its streaming form (submit/onCommitted), with the same LoadGenerator, so
 * the result has the shape of a worker run's. With `--sessions` the peers run the session
 * layer (`--sessions`) and the load goes through a RemoteSession (remote-session-load.ts).
 * CPU is read per process from /proc: "main" is this process (the client), "peer i
 * (leader|follower)" each peer process whole.
 *
 * RAFT_BENCH_PROFILE=DIR: the peers write CPU profiles (--cpu-prof) there.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RemoteClient } from '../src/process/remote-client.js';
import { fsType } from './environment.js';
import { LeaderMonitor, findLeader, remoteProbe } from './leader-monitor.js';
import { LoadGenerator } from './load-generator.js';
import { keepUpWarning, leaderChangeWarning, resultOf, runPhase } from './measured-window.js';
import { remoteSessionLoad } from './remote-session-load.js';
import { DEFAULTS, type ScenarioSpec } from './options.js';
import type { Progress } from './progress.js';
import { readProcess, readSystemBusyMicros, type ThreadTimes } from './proc-stats.js';
import type { CpuReport, RunResult, ThreadCpu } from './schema.js';
import { snapshotEveryEntries } from './scenario.js';
import { freePorts } from '../src/process/free-ports.js';
import { busyMachineWarning, loadWarnings, makeBenchDir } from './run-warnings.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(HERE, '../src/process/cli.js');
const STATE_MACHINE = path.resolve(HERE, 'state-machines/counting-state-machine.js');

/** Starts the peer processes; resolves once each says it listens. */
async function startPeers(spec: ScenarioSpec, ports: number[], dir: string | null): Promise<ChildProcess[]> {
  const profileDir = process.env.RAFT_BENCH_PROFILE;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const peersArg = ports.map((p, id) => `${id}=127.0.0.1:${p}`).join(',');
  const started: ChildProcess[] = [];
  try {
    await Promise.all(ports.map((_, id) => new Promise<void>((resolve, reject) => {
      const storage = dir ? ['--dir', path.join(dir, `peer-${id}`), '--fsync', spec.storage.fsync ?? DEFAULTS.fsync] : ['--memory'];
      const args = [...profile, CLI, 'peer', '--id', String(id), '--peers', peersArg, ...storage, '--insecure',
        '--state-machine', STATE_MACHINE, '--snapshot-entries', String(snapshotEveryEntries()), ...(spec.sessions ? ['--sessions'] : [])];
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(p);
      let err = '';
      p.stderr!.on('data', (b: Buffer) => { if (err.length < 4000) err += b.toString(); });
      p.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('listening')) resolve(); });
      p.once('exit', (code) => reject(new Error(`peer ${id} exited with ${code} before listening: ${err.trim()}`)));
    })));
  } catch (e) {
    for (const p of started) p.kill('SIGKILL');
    throw e;
  }
  return started;
}

export async function runTcpScenario(spec: ScenarioSpec, progress: Progress): Promise<Omit<RunResult, 'ratios'>> {
  const warnings: string[] = [];
  const startedAt = new Date().toISOString();
  let dir: string | null = null;
  if (spec.storage.kind === 'file') {
    const parent = spec.storage.parentDir ?? os.tmpdir();
    dir = makeBenchDir(parent, 'raft-bench-tcp-', warnings);
  }
  const ports = await freePorts(spec.peers);
  const procs = await startPeers(spec, ports, dir);
  const client = new RemoteClient({ peers: Object.fromEntries(ports.map((port, id) => [id, { host: '127.0.0.1', port }])), tls: false });
  try {
    const probe = remoteProbe(client, spec.peers);
    const leader = await findLeader(probe, 15_000);
    const monitor = new LeaderMonitor(probe);
    monitor.start();
    client.leader = leader;
    const session = spec.sessions ? remoteSessionLoad(await client.session()) : null;
    const gen = new LoadGenerator(client, spec.load, spec.commandBytes, () => findLeader(probe, 15_000), spec.durationSec + 1, session);

    progress.begin(spec.name);
    gen.start();
    await runPhase('warm-up', spec.warmupSec, gen, progress);
    const cpu0 = process.cpuUsage();
    const peers0 = procs.map((p) => readProcess(p.pid!));
    const busy0 = readSystemBusyMicros();
    const elu0 = performance.eventLoopUtilization();
    gen.beginMeasurement();
    const t0 = performance.now();
    await runPhase('measure', spec.durationSec, gen, progress);
    const counters = gen.endMeasurement();
    const wall = (performance.now() - t0) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const busy1 = readSystemBusyMicros();
    const peers1 = procs.map((p) => readProcess(p.pid!));
    const cpu = process.cpuUsage(cpu0);
    progress.end();

    const unsettled = await gen.drain(5_000);
    await monitor.stop();
    const leaderChanges = monitor.relativeTo(t0);
    const changed = leaderChangeWarning(leaderChanges);
    if (changed) warnings.push(changed);
    if (unsettled > 0) warnings.push(`${unsettled} commands were still unsettled 5 s after the window closed`);
    if (gen.error) throw gen.error;
    const perSec = counters.seconds > 0 ? counters.committed / counters.seconds : 0;
    loadWarnings(counters, warnings);
    const behind = keepUpWarning(spec, counters, perSec);
    if (behind) warnings.push(behind);

    const cpuReport = cpuOf(wall, cpu, procs, peers0, peers1, leader, counters.committed, elu.utilization, busy0, busy1);
    busyMachineWarning(cpuReport, warnings);
    const memory: RunResult['memory'] = { peakRssBytes: process.resourceUsage().maxRSS * 1024, method: 'process-lifetime' };
    return resultOf({ spec, startedAt, leader, gen, counters, perSec, timeline: gen.timeline(counters.seconds), leaderChanges, cpu: cpuReport, memory, warnings },
      dir ? { storage: { dir, fsType: fsType(dir), fdatasyncCalls: null, commandsPerFdatasync: null } } : {});
  } finally {
    progress.end();
    client.close();
    await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null) { resolve(); return; }
      const kill = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => { clearTimeout(kill); resolve(); });
      p.kill('SIGTERM');
    })));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The CPU report with the peer processes as the "peer" entries; process totals include them. */
function cpuOf(
  wall: number, cpu: NodeJS.CpuUsage, procs: ChildProcess[], before: Array<ThreadTimes | null>, after: Array<ThreadTimes | null>,
  leader: number, committed: number, mainElu: number, busy0: number | null, busy1: number | null,
): CpuReport {
  const threads: ThreadCpu[] = [{ name: 'main', tids: [process.pid], userMicros: cpu.user, systemMicros: cpu.system, runMicros: null, utilization: wall > 0 ? (cpu.user + cpu.system) / 1e6 / wall : 0 }];
  let user = cpu.user, system = cpu.system, known = true;
  procs.forEach((p, i) => {
    const a = after[i], b = before[i];
    if (!a || !b) { known = false; return; }
    const u = a.userMicros - b.userMicros, s = a.systemMicros - b.systemMicros;
    const run = a.runMicros !== null && b.runMicros !== null ? a.runMicros - b.runMicros : null;
    user += u; system += s;
    threads.push({ name: `peer ${i} (${i === leader ? 'leader' : 'follower'})`, tids: [p.pid!], userMicros: u, systemMicros: s, runMicros: run, utilization: wall > 0 ? (run ?? u + s) / 1e6 / wall : 0 });
  });
  const total = user + system;
  return {
    wallSeconds: wall,
    processUserMicros: user,
    processSystemMicros: system,
    processUtilization: wall > 0 ? total / 1e6 / wall : 0,
    perCommitMicros: committed > 0 ? total / committed : 0,
    threads: known ? threads : null,
    threadNote: known
      ? 'over TCP: "main" is the client process, each "peer" a whole peer process (/proc/<pid>); the process totals are all of them'
      : 'over TCP: a peer process could not be read in /proc',
    mainEventLoopUtilization: mainElu,
    otherProcessesUtilization: busy0 !== null && busy1 !== null && wall > 0 ? Math.max(0, (busy1 - busy0 - total) / 1e6 / wall) : null,
  };
}
