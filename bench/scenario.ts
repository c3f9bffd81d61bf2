/**
 * One measurement: a fresh cluster (so every run starts from an empty log), the leader found,
 * load offered through the ClusterClient for warm-up and then for the measured window, with
 * CPU, memory and (file storage) fdatasync counts taken at the window's edges.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Cluster, Role } from '../src/index.js';
import { COMMAND_HEADER_BYTES } from '../src/node/session-protocol.js';
import type { ClusterOptions } from '../src/index.js';
import { fsType } from './environment.js';
import { fsyncCounter, workerCallsBetween } from './fsync-count.js';
import { summarize } from './latency-recorder.js';
import { LeaderMonitor, clusterProbe, findLeader } from './leader-monitor.js';
import { LoadGenerator, TAIL_THRESHOLD_MS, sessionLoadOf, type ReadLoad, type Timeline } from './load-generator.js';
import { keepUpWarning, leaderChangeWarning, resultOf, runPhase } from './measured-window.js';
import { tailCauses, type ThreadPauses } from './tail-breakdown.js';
import { plantedSlowdown } from './planted-slowdown.js';
import type { ScenarioSpec } from './options.js';
import { DEFAULTS, OptionError } from './options.js';
import type { Progress } from './progress.js';
import { fullGc } from './full-gc.js';
import { listThreadIds, readAllThreads, readPeakRss, readSystemBusyMicros, resetPeakRss, type ThreadTimes } from './proc-stats.js';
import type { CpuReport, RunResult, ThreadCpu, ThreadGc } from './schema.js';
import { GcTally, gcTallyWanted, type GcPauses } from '../src/cluster/gc-tally.js';
import { busyMachineWarning, loadWarnings, makeBenchDir } from './run-warnings.js';

/** SharedJournal (memory storage) holds at most 1 GiB per peer; stop measuring before it fills (only without snapshots). */
const JOURNAL_BUDGET_BYTES = 0.85 * 2 ** 30;
/**
 * Log compaction in every run, so that memory stays flat however long it lasts: the peers run a
 * trivial state machine (a count, 8-byte snapshot) and snapshot every this many entries.
 * At a million commits/s that is a snapshot per peer every half second; each one also lets the
 * shared journal rewrite its live state into its spare slot (the two slots are reused).
 * RAFT_BENCH_SNAPSHOT_EVERY=N overrides it (to tell snapshot stalls from the rest of a tail).
 */
export const SNAPSHOT_EVERY_ENTRIES = 500_000;

/** The snapshot interval: RAFT_BENCH_SNAPSHOT_EVERY when set (a positive integer), else the default. */
export function snapshotEveryEntries(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.RAFT_BENCH_SNAPSHOT_EVERY;
  if (text === undefined || text.trim() === '') return SNAPSHOT_EVERY_ENTRIES;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new OptionError('RAFT_BENCH_SNAPSHOT_EVERY', `must be a positive integer (entries between snapshots), got ${JSON.stringify(text)}`);
  return n;
}
const BENCH_STATE_MACHINE = new URL('./state-machines/counting-state-machine.js', import.meta.url);

export async function runScenario(spec: ScenarioSpec, progress: Progress): Promise<Omit<RunResult, 'ratios'>> {
  const warnings: string[] = [];
  const startedAt = new Date().toISOString();
  let dir: string | null = null;
  if (spec.storage.kind === 'file') {
    const parent = spec.storage.parentDir ?? os.tmpdir();
    dir = makeBenchDir(parent, 'raft-bench-', warnings);
  }
  // Start the libuv thread pool now, so that the only threads appearing during Cluster.start are the peers.
  await fs.promises.access(os.tmpdir());
  fullGc(); // the buffers of earlier runs' clusters go before this run's peak is measured
  const peakRssReset = resetPeakRss();
  const tidsBefore = new Set(listThreadIds() ?? []);

  // RAFT_BENCH_NO_STATE_MACHINE=1: no state machine and no compaction, as before they were added (to compare with older builds)
  const opts: ClusterOptions = process.env.RAFT_BENCH_NO_STATE_MACHINE === '1' ? { peers: spec.peers, applyStream: false } : {
    peers: spec.peers, applyStream: false, stateMachine: BENCH_STATE_MACHINE, snapshotPolicy: { entries: snapshotEveryEntries() },
  };
  if (dir) opts.storage = { dir, fsync: spec.storage.fsync ?? DEFAULTS.fsync };
  if (spec.seed !== undefined) opts.seed = spec.seed;
  if (spec.sessions) opts.sessions = true;
  if (spec.busyPoll?.micros !== undefined) opts.busyPollMicros = spec.busyPoll.micros;
  if (spec.busyPoll?.when !== undefined) opts.busyPollWhen = spec.busyPoll.when;
  if (spec.readRatio !== undefined && spec.readMode === 'lease') opts.readMode = 'lease'; // check-quorum is on by default
  const slowdown = plantedSlowdown();
  if (slowdown > 0) warnings.push(`planted slowdown: the peers burn ${(slowdown * 100).toFixed(0)}% extra CPU time (preload probes/planted-slowdown.js, for validation only)`);
  const cluster = await Cluster.start(opts);
  const mainGc = gcTallyWanted() ? new GcTally() : null;
  try {
    const newTids = (listThreadIds() ?? []).filter((t) => !tidsBefore.has(t));
    const peerTids = newTids.length === spec.peers ? newTids : null;
    const probe = clusterProbe(cluster);
    const leader = await findLeader(probe, 15_000);
    const monitor = new LeaderMonitor(probe);
    monitor.start();
    const client = cluster.client();
    client.leader = leader;
    const session = spec.sessions ? await cluster.session() : null;
    const query = new Uint8Array(0);
    const readOptions = { mode: spec.readMode === 'follower' ? 'follower' as const : 'leader' as const };
    const reads: ReadLoad | null = spec.readRatio === undefined ? null : {
      ratio: spec.readRatio,
      submit: () => client.submitRead(query, readOptions),
      // The generator only counts results: it takes them in place (no copy per read).
      listen: (done, failed) => { client.onReadResult = done; client.onReadFailed = failed; },
    };
    const gen = new LoadGenerator(client, spec.load, spec.commandBytes, () => findLeader(probe, 15_000), spec.durationSec + 1, session && sessionLoadOf(session), reads);
    const frameBytes = spec.commandBytes + (spec.sessions ? COMMAND_HEADER_BYTES : 0);
    const journalLimit = spec.storage.kind === 'memory' && !opts.snapshotPolicy ? Math.floor(JOURNAL_BUDGET_BYTES / (frameBytes + 8 + 1)) : Infinity;
    let journalFull = false;

    progress.begin(spec.name);
    gen.start();
    const halt = () => gen.totalSent >= journalLimit || cluster.fatal !== null;
    await runPhase('warm-up', spec.warmupSec, gen, progress, halt);
    if (gen.totalSent >= journalLimit) journalFull = true;

    const fsyncs = fsyncCounter();
    const fsync0 = dir && fsyncs ? await fsyncs.query(200, spec.peers) : null;
    const cpu0 = process.cpuUsage();
    const threads0 = readAllThreads();
    const busy0 = readSystemBusyMicros();
    const elu0 = performance.eventLoopUtilization();
    const bp0 = cluster.busyPollStats();
    const gc0 = await gcOfThreads(cluster, mainGc, leader);
    gen.beginMeasurement();
    const t0 = performance.now();
    if (!journalFull) await runPhase('measure', spec.durationSec, gen, progress, halt);
    const counters = gen.endMeasurement();
    const wall = (performance.now() - t0) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const bp1 = cluster.busyPollStats();
    const busy1 = readSystemBusyMicros();
    const threads1 = readAllThreads();
    const cpu = process.cpuUsage(cpu0);
    const fsync1 = dir && fsyncs ? await fsyncs.query(200, spec.peers) : null;
    const gc1 = await gcOfThreads(cluster, mainGc, leader);
    progress.end();
    if (gen.totalSent >= journalLimit) {
      journalFull = true;
      warnings.push(`measurement stopped after ${wall.toFixed(1)} s: the memory storage journal (1 GiB per peer) was about to fill; use a shorter run, smaller commands or --storage file`);
    }

    if (cluster.fatal !== null) warnings.push(`a peer failed: ${cluster.fatal}`);
    const unsettled = await gen.drain(spec.load.mode === 'open' ? 10_000 : 5_000);
    await monitor.stop();
    const leaderChanges = monitor.relativeTo(t0);
    const changed = leaderChangeWarning(leaderChanges);
    if (changed) warnings.push(changed);
    const timeline = gen.timeline(counters.seconds);
    if (mainGc) timeline.gcMs = gcTimeline(gc1, performance.timeOrigin + t0, timeline.bucketMs, timeline.commits.length);
    const tail = gen.tailSamples();
    const causes = spec.load.mode === 'open' ? tailCauses(tail.times, tail.seen, TAIL_THRESHOLD_MS, gc1.map(({ thread, p }) => pausesOf(thread, p))) : null;
    const lastBusy = timeline.commits.findLastIndex((c) => c > 0);
    if (counters.committed > 0 && lastBusy < timeline.commits.length - 3) {
      warnings.push(`no command committed after ${(((lastBusy + 1) * timeline.bucketMs) / 1000).toFixed(1)} s of the ${counters.seconds.toFixed(1)} s window`);
    }
    if (unsettled > 0) {
      warnings.push(`${unsettled} commands were still unsettled 5-10 s after the window closed; peers then: ${await peerStates(cluster)}` +
        (changed ? '. After a leader change, commands appended by the old leader get neither a commit nor a refusal until new commands arrive (a new leader appends no entry of its own term, and only such an entry lets it commit earlier ones)' : ''));
    }
    const peakRss = readPeakRss();
    if (gen.error) throw gen.error;

    const perSec = counters.seconds > 0 ? counters.committed / counters.seconds : 0;
    loadWarnings(counters, warnings);
    const behind = keepUpWarning(spec, counters, perSec);
    if (behind) warnings.push(behind);
    let storage: RunResult['storage'];
    if (dir) {
      const calls = fsync0 && fsync1 ? workerCallsBetween(fsync0, fsync1) : null;
      storage = {
        dir,
        fsType: fsType(dir),
        fdatasyncCalls: calls,
        commandsPerFdatasync: calls && calls > 0 ? (counters.committed * spec.peers) / calls : null,
      };
      if (!fsyncs) warnings.push('fdatasync calls not counted: start with `node --import ./dist/bench/probes/fsync-counter.js` (npm run bench does) to count them');
    }

    const cpuReport = cpuReportOf(wall, cpu, threads0, threads1, peerTids, leader, counters.committed, elu.utilization, busy0, busy1);
    busyMachineWarning(cpuReport, warnings);
    const memory: RunResult['memory'] = peakRssReset && peakRss !== null
      ? { peakRssBytes: peakRss, method: 'vmhwm-reset' }
      : { peakRssBytes: process.resourceUsage().maxRSS * 1024, method: 'process-lifetime' };
    return resultOf({ spec, startedAt, leader, gen, counters, perSec, timeline, leaderChanges, cpu: cpuReport, memory, warnings }, {
      ...(reads ? { mix: mixOf(spec, gen, counters.seconds) } : {}),
      ...(storage ? { storage } : {}),
      ...(slowdown > 0 ? { plantedSlowdown: slowdown } : {}),
      ...(mainGc ? { gc: gcBetween(gc0, gc1) } : {}),
      ...(bp0 && bp1 ? { busyPoll: busyPollOf(bp0, bp1, wall) } : {}),
      ...(causes ? { tailCauses: causes } : {}),
    });
  } finally {
    mainGc?.stop();
    progress.end();
    await cluster.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Busy-polling in the measured window: the spinning threads' time in cores, and how often the gate allowed it. */
function busyPollOf(a: BusyPollStats, b: BusyPollStats, wall: number): NonNullable<RunResult['busyPoll']> {
  const samples = b.samples - a.samples;
  return {
    micros: b.micros, when: b.when, spinCores: wall > 0 ? (b.spinMs - a.spinMs) / 1000 / wall : 0,
    gateOpenFraction: b.when === 'always' ? 1 : samples > 0 ? (b.openSamples - a.openSamples) / samples : null,
  };
}

type BusyPollStats = NonNullable<ReturnType<Cluster['busyPollStats']>>;

/** Reads and writes of a --read-ratio run, each with its throughput and latency. */
function mixOf(spec: ScenarioSpec, gen: LoadGenerator, seconds: number): NonNullable<RunResult['mix']> {
  const m = gen.mixCounters;
  const per = (n: number) => (seconds > 0 ? n / seconds : 0);
  return {
    readRatio: spec.readRatio!, readMode: spec.readMode ?? 'index',
    reads: { completed: m.reads, perSec: per(m.reads), failedAndResent: m.readFailures, latency: summarize(gen.readLatency) },
    writes: { completed: m.writes, perSec: per(m.writes), latency: summarize(gen.writeLatency) },
  };
}

/** Each thread's GC tally now (the maxima restart): main, then the peers; a peer that does not answer is left out. */
async function gcOfThreads(cluster: Cluster, mainGc: GcTally | null, leader: number): Promise<Array<{ thread: string; p: GcPauses }>> {
  if (!mainGc) return [];
  await sleep(0); // let the main thread's observer deliver what is queued
  const out = [{ thread: 'main', p: mainGc.read() }];
  const peers = await Promise.all(Array.from({ length: cluster.size }, (_, i) => cluster.peer(i).stats().then((s) => s.gc, () => null)));
  peers.forEach((p, i) => { if (p) out.push({ thread: `peer ${i}${i === leader ? ' (leader)' : ''}`, p }); });
  return out;
}

/** A thread's pauses from its last read, on this thread's performance.now() clock. */
function pausesOf(thread: string, p: GcPauses): ThreadPauses {
  const starts: number[] = [], durations: number[] = [];
  for (let i = 0; i < p.recent.length; i += 3) { starts.push(p.recent[i] - performance.timeOrigin); durations.push(p.recent[i + 1]); }
  return { thread, starts, durations };
}

/** Each thread's GC pause time per timeline bucket (by the pause's start), from the pauses its last read listed. */
function gcTimeline(threads: Array<{ thread: string; p: GcPauses }>, windowStartEpochMs: number, bucketMs: number, buckets: number): NonNullable<Timeline['gcMs']> {
  return threads.map(({ thread, p }) => {
    const ms = new Array<number>(buckets).fill(0);
    for (let i = 0; i < p.recent.length; i += 3) {
      const b = Math.floor((p.recent[i] - windowStartEpochMs) / bucketMs);
      if (b >= 0 && b < buckets) ms[b] += p.recent[i + 1];
    }
    return { thread, ms: ms.map((v) => Math.round(v * 100) / 100) };
  });
}

function gcBetween(a: Array<{ thread: string; p: GcPauses }>, b: Array<{ thread: string; p: GcPauses }>): ThreadGc[] {
  return b.flatMap(({ thread, p }) => {
    const q = a.find((x) => x.thread === thread)?.p;
    if (!q) return [];
    return [{
      thread, minorCount: p.minorCount - q.minorCount, minorMs: p.minorMs - q.minorMs, minorMaxMs: p.minorMaxMs,
      majorCount: p.majorCount - q.majorCount, majorMs: p.majorMs - q.majorMs, majorMaxMs: p.majorMaxMs,
    }];
  });
}

/** "peer 0: leader term 2 commit 123 last 456; ..." for a warning. */
async function peerStates(cluster: Cluster): Promise<string> {
  const parts = await Promise.all(Array.from({ length: cluster.size }, async (_, i) => {
    try {
      const s = await Promise.race([cluster.peer(i).stats(), sleep(2000).then(() => null)]);
      if (!s) return `peer ${i}: no answer`;
      return `peer ${i}: ${(Role[s.role] ?? `role ${s.role}`).toLowerCase()} term ${s.term} commit ${s.commitIndex} applied ${s.appliedIndex} last ${s.lastIndex}`;
    } catch (e) {
      return `peer ${i}: ${(e as Error).message}`;
    }
  }));
  return parts.join('; ');
}

function cpuReportOf(
  wall: number, cpu: NodeJS.CpuUsage, before: Map<number, ThreadTimes> | null, after: Map<number, ThreadTimes> | null,
  peerTids: number[] | null, leader: number, committed: number, mainElu: number, busy0: number | null, busy1: number | null,
): CpuReport {
  const processMicros = cpu.user + cpu.system;
  let threads: ThreadCpu[] | null = null;
  let threadNote: string;
  if (!before || !after) {
    threadNote = 'no /proc: per-thread CPU unavailable (process.cpuUsage() is process-wide, also inside workers)';
  } else {
    const delta = (tid: number) => {
      const a = after.get(tid), b = before.get(tid);
      if (!a) return { user: 0, system: 0, run: 0 as number | null };
      return {
        user: a.userMicros - (b?.userMicros ?? 0),
        system: a.systemMicros - (b?.systemMicros ?? 0),
        run: a.runMicros === null ? null : a.runMicros - (b?.runMicros ?? 0),
      };
    };
    const group = (name: string, tids: number[]): ThreadCpu => {
      let user = 0, system = 0, run: number | null = 0;
      for (const t of tids) {
        const d = delta(t);
        user += d.user; system += d.system;
        run = run === null || d.run === null ? null : run + d.run;
      }
      const busy = run ?? user + system;
      return { name, tids, userMicros: user, systemMicros: system, runMicros: run, utilization: wall > 0 ? busy / 1e6 / wall : 0 };
    };
    const mainTid = process.pid;
    threads = [group('main', [mainTid])];
    if (peerTids) {
      peerTids.forEach((tid, i) => threads!.push(group(`peer ${i} (${i === leader ? 'leader' : 'follower'})`, [tid])));
      threadNote = 'per thread from /proc/self/task; peers are the threads created by Cluster.start, in creation order';
    } else {
      threadNote = 'per thread from /proc/self/task, but the peers\' threads could not be told apart (unexpected thread count during Cluster.start); they are in "other threads"';
    }
    const named = new Set([mainTid, ...(peerTids ?? [])]);
    threads.push(group('other threads (V8 platform/GC, libuv pool)', [...after.keys()].filter((t) => !named.has(t))));
  }
  const otherProcessesUtilization = busy0 !== null && busy1 !== null && wall > 0 ? Math.max(0, (busy1 - busy0 - processMicros) / 1e6 / wall) : null;
  return {
    wallSeconds: wall,
    processUserMicros: cpu.user,
    processSystemMicros: cpu.system,
    processUtilization: wall > 0 ? processMicros / 1e6 / wall : 0,
    perCommitMicros: committed > 0 ? processMicros / committed : 0,
    threads,
    threadNote,
    mainEventLoopUtilization: mainElu,
    otherProcessesUtilization,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
