/**
 * What the latency tail of a run is made of, from its timeline: where in time the latencies
 * above the threshold fell, and how many of them fell in (or right after) a bucket in which a
 * thread paused for garbage collection or the open-loop sender woke up late. It places the
 * tail beside its likely causes; it does not prove causation (a GC pause and a late sender
 * often share one cause: too few free cores).
 */
import type { Timeline } from './load-generator.js';

/** A bucket counts as "with a GC pause" / "with a late sender" from this much pause time / lateness (ms). */
export const CAUSE_MS = 1;

export interface TailBreakdown {
  thresholdMs: number;
  /** Latencies above the threshold, and their share of all completions in the window. */
  over: number;
  overShare: number;
  /** Of `over`: completed in a bucket (or the one after it) where some thread's GC took >= CAUSE_MS. */
  withGc: number;
  /** Of `over` (open loop): completed in a bucket (or the one after) where the sender woke >= CAUSE_MS late. */
  withLateSender: number;
  /** Of `over`: neither of the above. */
  neither: number;
  /** Share of `over` in the first tenth of the window (a warm-up effect would show here). */
  firstTenthShare: number;
  /** The buckets holding most of `over`, worst first. */
  worst: Array<{ atSec: number; over: number; maxLatencyUs: number; gcMs: Record<string, number>; sendLagMs: number | null }>;
}

export function tailBreakdown(t: Timeline, worstCount = 3): TailBreakdown | null {
  const counts = t.overThreshold?.counts;
  if (!counts) return null;
  const n = counts.length;
  const gcIn = (b: number) => (t.gcMs ?? []).some((g) => (g.ms[b] ?? 0) >= CAUSE_MS);
  const lateIn = (b: number) => (t.sendLagMs?.[b] ?? 0) >= CAUSE_MS;
  let over = 0, withGc = 0, withLate = 0, neither = 0, first = 0;
  const tenth = Math.max(1, Math.round(n / 10));
  for (let b = 0; b < n; b++) {
    const c = counts[b];
    if (c === 0) continue;
    over += c;
    if (b < tenth) first += c;
    const gc = gcIn(b) || (b > 0 && gcIn(b - 1));
    const late = lateIn(b) || (b > 0 && lateIn(b - 1));
    if (gc) withGc += c;
    if (late) withLate += c;
    if (!gc && !late) neither += c;
  }
  const total = t.commits.reduce((a, c) => a + c, 0);
  const worst = counts.map((c, b) => ({ c, b })).filter((x) => x.c > 0).sort((x, y) => y.c - x.c).slice(0, worstCount).map(({ c, b }) => ({
    atSec: (b * t.bucketMs) / 1000,
    over: c,
    maxLatencyUs: t.maxLatencyUs[b],
    gcMs: Object.fromEntries((t.gcMs ?? []).map((g) => [g.thread, g.ms[b] ?? 0])),
    sendLagMs: t.sendLagMs ? t.sendLagMs[b] : null,
  }));
  return {
    thresholdMs: t.overThreshold!.ms, over, overShare: total > 0 ? over / total : 0,
    withGc, withLateSender: withLate, neither, firstTenthShare: over > 0 ? first / over : 0, worst,
  };
}

/** Two console lines for the text report. */
export function tailText(k: TailBreakdown, gcWatched: boolean, openLoop: boolean): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const of = (x: number) => (k.over > 0 ? pct(x / k.over) : '-');
  const causes = [
    gcWatched ? `${of(k.withGc)} in a 100 ms bucket (or the one after) with a GC pause >= 1 ms` : 'GC not watched (RAFT_GC_TALLY=1)',
    ...(openLoop ? [`${of(k.withLateSender)} with the sender >= 1 ms late`] : []),
    `${of(k.neither)} with neither`,
  ];
  const lines = [`  tail: ${k.over.toLocaleString('en-US')} latencies above ${k.thresholdMs} ms (${pct(k.overShare)} of all): ${causes.join('; ')}; ${of(k.firstTenthShare * k.over)} in the first tenth of the window`];
  if (k.worst.length > 0) {
    lines.push(`        worst buckets: ${k.worst.map((w) => {
      const gc = Object.entries(w.gcMs).filter(([, ms]) => ms > 0).map(([th, ms]) => `${th} ${ms.toFixed(1)}`).join(', ');
      return `at ${w.atSec.toFixed(1)} s ${w.over.toLocaleString('en-US')} above (max ${(w.maxLatencyUs / 1000).toFixed(1)} ms` +
        (gcWatched ? `; GC ms: ${gc || 'none'}` : '') + (w.sendLagMs !== null ? `; sender ${w.sendLagMs.toFixed(1)} ms late` : '') + ')';
    }).join('; ')}`);
  }
  return lines;
}
