/**
 * The plots a result file gets: latency percentile curves (the HdrHistogram view: x is the
 * number of nines, so the tail gets as much room as the median), and, when closed-loop runs
 * of one configuration differ only in window, throughput and latency against concurrency.
 */
import type { BenchFile, RunResult } from './schema.js';
import { us as formatUs } from './format.js';
import { compact, lineChart, type Series, type Tick } from './svg-plot.js';

export interface Chart { id: string; title: string; svg: string }

export function chartsFor(file: BenchFile): Chart[] {
  const charts: Chart[] = [];
  // one curve per configuration (its first sample): K samples of each would bury the picture
  const curveRuns = file.runs.filter((r) => r.suiteItem !== 'sweep' && r.latency.count > 0 && (r.sample?.index ?? 0) === 0);
  if (curveRuns.length > 0) charts.push({ id: 'latency', title: 'Latency by percentile', svg: latencyChart(curveRuns) });
  const groups = sweepGroups(file.runs.filter((r) => (r.sample?.index ?? 0) === 0));
  if (groups.length > 0) {
    charts.push({ id: 'throughput', title: 'Throughput against concurrency', svg: throughputChart(groups) });
    charts.push({ id: 'latency-vs-window', title: 'Latency against concurrency', svg: latencyVsWindowChart(groups) });
  }
  return charts;
}

/** A percentile as a number of nines (99 -> 2, 99.9 -> 3), the x of the latency curves. */
export function nines(percentile: number, count: number): number {
  // the max (percentile 100) sits where a histogram of `count` samples puts its last one
  if (percentile >= 100) return Math.log10(Math.max(10, count));
  return -Math.log10(1 - percentile / 100);
}

function latencyChart(runs: RunResult[]): string {
  const series: Series[] = [];
  for (const [i, r] of runs.entries()) {
    series.push({ name: r.name, colorIndex: i, points: r.latency.curve.map(([p, us]) => [nines(p, r.latency.count), us]) });
    if (r.serviceLatency && r.serviceLatency.count > 0) {
      const s = r.serviceLatency;
      series.push({ name: `${r.name} (from actual send)`, colorIndex: i, dashed: true, points: s.curve.map(([p, us]) => [nines(p, s.count), us]) });
    }
  }
  const maxX = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const ticks: Tick[] = [];
  for (let k = 0; k <= Math.floor(maxX + 1e-9); k++) ticks.push({ value: k, label: k === 0 ? '0%' : `${(100 - 100 * 10 ** -k).toFixed(Math.max(0, k - 2))}%` });
  return lineChart({
    title: 'Commit latency by percentile',
    x: { label: 'percentile', scale: 'linear', ticks, min: 0, max: maxX * 1.02 },
    y: { label: 'latency', scale: 'log', format: formatUs },
    series,
  });
}

interface SweepGroup { label: string; runs: RunResult[] }

/** Closed-loop runs of one configuration (peers, size, storage) at two or more windows. */
function sweepGroups(runs: RunResult[]): SweepGroup[] {
  const by = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (r.config.load.mode !== 'closed') continue;
    const s = r.config.storage;
    const key = `${r.config.peers} peers, ${r.config.commandBytes} B, ${s.kind === 'memory' ? 'memory' : `file (fsync ${s.fsync})`}`;
    by.set(key, [...(by.get(key) ?? []), r]);
  }
  const window = (r: RunResult) => (r.config.load.mode === 'closed' ? r.config.load.window : 0);
  return [...by.entries()]
    .map(([label, rs]) => ({ label, runs: [...new Map(rs.map((r) => [window(r), r])).values()].sort((a, b) => window(a) - window(b)) }))
    .filter((g) => g.runs.length >= 2);
}

/** The x axis of the sweep plots: log scale, a tick at each window measured, a little room at both ends. */
function windowAxis(groups: SweepGroup[]) {
  const ws = [...new Set(groups.flatMap((g) => g.runs.map(windowOf)))].sort((a, b) => a - b);
  const ticks: Tick[] = ws.map((w) => ({ value: w, label: compact(w) }));
  return { label: 'commands in flight (closed-loop window)', scale: 'log' as const, ticks, min: ws[0] / 1.4, max: ws[ws.length - 1] * 1.4 };
}

function throughputChart(groups: SweepGroup[]): string {
  return lineChart({
    title: 'Committed commands per second against commands in flight',
    x: windowAxis(groups),
    y: { label: 'commits/s', scale: 'linear', format: compact },
    series: groups.map((g) => ({ name: g.label, dots: true, points: g.runs.map((r) => [windowOf(r), r.throughput.perSec] as [number, number]) })),
  });
}

function latencyVsWindowChart(groups: SweepGroup[]): string {
  const series: Series[] = [];
  for (const [i, g] of groups.entries()) {
    series.push({ name: `${g.label}: p50`, colorIndex: i, dots: true, points: g.runs.map((r) => [windowOf(r), r.latency.p50]) });
    series.push({ name: `${g.label}: p99`, colorIndex: i, dots: true, dashed: true, points: g.runs.map((r) => [windowOf(r), r.latency.p99]) });
  }
  return lineChart({
    title: 'Commit latency against commands in flight',
    x: windowAxis(groups),
    y: { label: 'latency', scale: 'log', format: formatUs },
    series,
  });
}

function windowOf(r: RunResult): number {
  return r.config.load.mode === 'closed' ? r.config.load.window : NaN;
}

/**
 * Commits/s and the worst latency per timeline bucket, one series per sample of a
 * configuration (inline in the HTML report). A bucket in which nothing committed has no
 * worst latency: the line breaks there instead of being drawn across.
 */
export function timelineCharts(samples: RunResult[]): string[] {
  const runs = samples.filter((r) => r.timeline && r.timeline.commits.length >= 2);
  if (runs.length === 0) return [];
  const bucketMs = runs[0].timeline.bucketMs;
  const label = (r: RunResult, i: number) => (runs.length > 1 ? `sample ${(r.sample?.index ?? i) + 1}` : r.name);
  const t = (i: number, ms: number) => ((i + 1) * ms) / 1000;
  const x = { label: 'seconds into the measured window', scale: 'linear' as const, min: 0 };
  return [
    lineChart({
      title: `Throughput over time (${bucketMs} ms buckets)`, height: 260,
      x, y: { label: 'commits/s', scale: 'linear', format: compact },
      series: runs.map((r, i) => ({ name: label(r, i), points: r.timeline.commits.map((c, k) => [t(k, r.timeline.bucketMs), (c * 1000) / r.timeline.bucketMs] as [number, number]) })),
    }),
    lineChart({
      title: `Worst latency per ${bucketMs} ms bucket`, height: 260,
      x, y: { label: 'latency', scale: 'log', format: formatUs },
      series: runs.map((r, i) => ({
        name: label(r, i),
        points: r.timeline.maxLatencyUs.map((v, k) => [t(k, r.timeline.bucketMs), r.timeline.commits[k] > 0 ? v : NaN] as [number, number]),
      })),
    }),
  ];
}
