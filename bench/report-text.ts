/** The console report: reference limits, one block per run, a summary table, the suite's targets. */
import { int, mib, ratio, table, us } from './format.js';
import { FIGURES, sampleTrust } from './figures.js';
import { pairRatios, pairRatiosText } from './pair-ratios.js';
import { tailBreakdown, tailCausesText, tailText } from './tail-breakdown.js';
import type { BenchFile, Environment, NoiseSummary, ReferenceLimits, RunResult, TargetCheck } from './schema.js';

export function environmentText(e: Environment): string {
  return `node ${e.node} · ${e.cpuCount} x ${e.cpuModel} · ${(e.memTotalBytes / 2 ** 30).toFixed(0)} GiB · ${e.platform} ${e.arch}` +
    ` · git ${e.gitCommit ? e.gitCommit.slice(0, 10) + (e.gitDirty ? ' (modified)' : '') : 'unknown'} · load ${e.loadAvgAtStart.join(' ')}`;
}

export function limitsText(l: ReferenceLimits): string {
  const p = l.messagePortRoundTrip;
  const lines = ['reference limits (this machine, measured just now):'];
  lines.push(`  MessagePort round trip main <-> worker: p50 ${us(p.p50Us)}, p99 ${us(p.p99Us)}, mean ${us(p.meanUs)} (${p.iterations} round trips)`);
  for (const r of l.ringThroughput) {
    lines.push(`  ring throughput, ${r.recordBytes} B records, two busy-spinning workers: ${int(r.recordsPerSec)} records/s (${(r.bytesPerSec / 2 ** 20).toFixed(0)} MiB/s)`);
  }
  if (l.fdatasync) {
    const f = l.fdatasync;
    lines.push(`  fdatasync after a 4 KiB append (${f.fsType}): p50 ${us(f.p50Ms * 1000)}, p99 ${us(f.p99Ms * 1000)}, ${int(f.perSecond)} per second one at a time`);
  }
  return lines.join('\n');
}

export function runText(r: RunResult): string {
  const l = r.latency;
  const t = r.throughput;
  const lines = [`${r.name}: ${int(t.perSec)} commits/s (${int(t.committed)} in ${t.seconds.toFixed(2)} s), leader peer ${r.leader}`];
  const from = r.config.load.mode === 'open' ? 'from intended send' : 'from send';
  lines.push(`  latency (${from}): p50 ${us(l.p50)}  p90 ${us(l.p90)}  p99 ${us(l.p99)}  p99.9 ${us(l.p999)}  max ${us(l.max)}  (${int(l.count)} samples)`);
  if (r.mix) {
    const m = r.mix;
    const row = (what: string, x: { completed: number; perSec: number; latency: { p50: number; p90: number; p99: number; max: number } }) =>
      `  ${what}: ${int(x.perSec)}/s (${int(x.completed)})  latency p50 ${us(x.latency.p50)}  p90 ${us(x.latency.p90)}  p99 ${us(x.latency.p99)}  max ${us(x.latency.max)}`;
    lines.push(`  read ratio ${m.readRatio}, read mode ${m.readMode} (the figures above count reads and writes together):`);
    lines.push(row('reads ', m.reads) + (m.reads.failedAndResent ? `  (${int(m.reads.failedAndResent)} failed and resent)` : ''));
    lines.push(row('writes', m.writes));
  }
  if (r.serviceLatency) {
    const s = r.serviceLatency;
    lines.push(`  service time (from actual send): p50 ${us(s.p50)}  p99 ${us(s.p99)}  max ${us(s.max)}; sender at worst ${us(t.maxSendLagMs * 1000)} late`);
  }
  const tl = r.timeline;
  if (tl.commits.length > 1) {
    const full = tl.commits.slice(0, -1); // the last bucket may be partial
    const perSec = (n: number) => (n * 1000) / tl.bucketMs;
    let worst = 0;
    tl.maxLatencyUs.forEach((v, i) => { if (v > tl.maxLatencyUs[worst]) worst = i; });
    lines.push(`  over time (${tl.bucketMs} ms buckets): commits/s from ${int(perSec(Math.min(...full)))} to ${int(perSec(Math.max(...full)))}; ` +
      `worst latency ${us(tl.maxLatencyUs[worst])} in the bucket at ${((worst * tl.bucketMs) / 1000).toFixed(1)} s`);
    const tail = tailBreakdown(tl);
    if (tail && tail.over > 0) lines.push(...tailText(tail, tl.gcMs !== undefined, r.config.load.mode === 'open'));
    if (r.tailCauses && r.tailCauses.over > 0) lines.push(tailCausesText(r.tailCauses, tl.gcMs !== undefined));
  }
  const c = r.cpu;
  const parts = [`process ${c.processUtilization.toFixed(2)} cores (${c.perCommitMicros.toFixed(2)} us CPU per commit)`];
  for (const th of c.threads ?? []) parts.push(`${th.name} ${th.utilization.toFixed(2)}`);
  lines.push(`  cpu: ${parts.join(' | ')}`);
  lines.push(`       main event loop utilization ${(c.mainEventLoopUtilization * 100).toFixed(0)}%` +
    (c.otherProcessesUtilization !== null ? `; other processes ${c.otherProcessesUtilization.toFixed(2)} cores` : ''));
  if (r.busyPoll) {
    const b = r.busyPoll;
    lines.push(`  busy-poll: up to ${b.micros} us per spin, ${b.when}; spinning took ${b.spinCores.toFixed(2)} cores` +
      (b.when === 'idle-core' ? `; allowed in ${b.gateOpenFraction === null ? '-' : `${(b.gateOpenFraction * 100).toFixed(0)}%`} of the idle-core samples` : ''));
  }
  if (r.gc && r.gc.length > 0) {
    lines.push(`  GC pauses (young: count, total, longest | old): ${r.gc.map((g) => `${g.thread} ${g.minorCount}, ${g.minorMs.toFixed(0)} ms, ${g.minorMaxMs.toFixed(1)} ms | ${g.majorCount}, ${g.majorMs.toFixed(0)} ms`).join('; ')}`);
  }
  lines.push(`  peak RSS ${mib(r.memory.peakRssBytes)}${r.memory.method === 'process-lifetime' ? ' (whole process lifetime)' : ''}`);
  if (r.storage) {
    lines.push(`  storage ${r.storage.fsType} ${r.storage.dir}: ` + (r.storage.fdatasyncCalls === null
      ? 'fdatasync calls not counted'
      : `${int(r.storage.fdatasyncCalls)} fdatasync calls, ${r.storage.commandsPerFdatasync?.toFixed(1) ?? '-'} commands per fdatasync (per peer)`));
  }
  const q = r.ratios;
  if (q.throughputToRing !== null || q.p50ToPortRoundTrip !== null) {
    lines.push(`  against the limits: throughput ${ratio(q.throughputToRing, 3)} of ring throughput; p50 ${ratio(q.p50ToPortRoundTrip)} MessagePort round trip` +
      (q.p50ToFdatasync !== undefined ? `; p50 ${ratio(q.p50ToFdatasync)} fdatasync p50` : ''));
  }
  for (const w of r.warnings) lines.push(`  ! ${w}`);
  return lines.join('\n');
}

export function summaryTable(runs: RunResult[]): string {
  return table(
    ['run', 'commits/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'CPU cores', 'RSS', 'x ring', 'x RTT'],
    runs.map((r) => [
      r.name, int(r.throughput.perSec), us(r.latency.p50), us(r.latency.p90), us(r.latency.p99), us(r.latency.p999), us(r.latency.max),
      r.cpu.processUtilization.toFixed(2), mib(r.memory.peakRssBytes), ratio(r.ratios.throughputToRing, 3), ratio(r.ratios.p50ToPortRoundTrip),
    ]),
  );
}

export function targetsTable(targets: TargetCheck[]): string {
  return table(
    ['target', 'measured', 'goal', 'result'],
    targets.map((t) => [`(${t.id}) ${t.title}`, fmtValue(t.value, t.unit), `${t.op} ${fmtValue(t.target, t.unit)}`, t.pass ? 'PASS' : 'MISS']),
  );
}

export function fmtValue(v: number, unit: string): string {
  if (unit === 'us') return us(v);
  if (unit === 'x') return `${v.toFixed(2)}x`;
  return `${int(v)} ${unit}`;
}

export function fileText(f: BenchFile): string {
  const parts = [environmentText(f.environment)];
  if (f.limits) parts.push(limitsText(f.limits));
  parts.push(summaryTable(f.runs));
  if (f.targets) parts.push(targetsTable(f.targets));
  const pairs = pairRatiosText(f.pairRatios ?? pairRatios(f.runs));
  if (pairs !== '') parts.push(pairs);
  return parts.join('\n\n');
}

/**
 * What the samples say about the noise on this machine: per configuration with 2+ samples, the
 * median and spread of each figure; and which kinds of figure the harness trusts.
 */
export function noiseText(runs: RunResult[], noise: NoiseSummary[], cpuCount: number): string {
  const lines: string[] = [];
  if (noise.length > 0) {
    const rows: string[][] = [];
    for (const n of noise) {
      for (const fig of n.figures) {
        const f = FIGURES.find((x) => x.id === fig.id)!;
        const v = (x: number) => (f.unit === 'us' ? us(x) : int(x));
        rows.push([`${n.name} (${n.samples} samples)`, f.label, v(fig.median), `${v(fig.min)} .. ${v(fig.max)}`, `${(fig.spread * 100).toFixed(1)}%`, f.kind]);
      }
    }
    lines.push(table(['configuration', 'figure', 'median', 'min .. max', 'spread', 'kind'], rows));
    for (const n of noise) {
      lines.push(`${n.name}: trusted ${n.trusted.length > 0 ? n.trusted.join(', ') : 'nothing'}` +
        n.flagged.map((x) => `; ${x.id} figures ${x.id === 'cpu-time' ? 'doubted (the threads waited for a core)' : 'flagged, bench:compare will not call them slower'} (${x.why})`).join(''));
    }
  } else {
    for (const r of runs) {
      const t = sampleTrust(r, cpuCount);
      lines.push(`${r.name}: wall-clock figures ${t.wallClock.trusted ? 'trusted' : `flagged (${t.wallClock.why})`}; ` +
        `CPU-time figures ${t.cpuTime.trusted ? 'trusted' : `doubted (${t.cpuTime.why})`}`);
    }
    lines.push('one sample per configuration: use --repeat 5 for a noise estimate (and for bench:compare to give a verdict)');
  }
  return lines.join('\n');
}
