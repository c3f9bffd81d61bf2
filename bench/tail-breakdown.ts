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

/** One thread's GC pauses on the main thread's performance.now() clock (ms). */
export interface ThreadPauses { thread: string; starts: number[]; durations: number[] }

/** Latencies above the threshold, sample by sample, against the GC pauses and the sender's lateness. */
export interface TailCauses {
  thresholdMs: number;
  /** Latencies above the threshold in the window, and how many of them were kept and looked at. */
  over: number;
  analysed: number;
  /** Sent late by more than half of their latency (the generator, or the main thread under it, held them). */
  senderLate: number;
  /** Whose time from intended send to commit overlapped a GC pause of some thread; per thread. */
  gcOverlap: number;
  gcOverlapByThread: Record<string, number>;
  /** Of the analysed samples' summed latency, the share during which some thread was paused for GC. */
  gcCoveredShare: number;
  /** Neither sent late nor overlapping a pause: queueing and scheduling in the peers. */
  neither: number;
}

/** `times`: flat (intended start, actual send, commit) triples in performance.now() ms, as LoadGenerator.tailSamples() gives. */
export function tailCauses(times: Float64Array, seen: number, thresholdMs: number, threads: ThreadPauses[]): TailCauses {
  const all: Array<{ s: number; e: number; t: number }> = [];
  threads.forEach((th, t) => th.starts.forEach((s, k) => all.push({ s, e: s + th.durations[k], t })));
  all.sort((a, b) => a.s - b.s);
  const longest = all.reduce((m, p) => Math.max(m, p.e - p.s), 0);
  const byThread = new Array<number>(threads.length).fill(0);
  let senderLate = 0, gcOverlap = 0, neither = 0, latencySum = 0, coveredSum = 0;
  const hit = new Array<boolean>(threads.length);
  for (let i = 0; i < times.length; i += 3) {
    const start = times[i], sent = times[i + 1], end = times[i + 2];
    latencySum += end - start;
    const late = sent - start > (end - start) / 2;
    if (late) senderLate++;
    // pauses that began after start - longest can overlap [start, end]
    let lo = 0, hi = all.length;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (all[mid].s < start - longest) lo = mid + 1; else hi = mid; }
    hit.fill(false);
    let any = false, coveredTo = start, covered = 0;
    for (let k = lo; k < all.length && all[k].s < end; k++) {
      const p = all[k];
      if (p.e <= start) continue;
      any = true;
      hit[p.t] = true;
      const a = Math.max(p.s, coveredTo), b = Math.min(p.e, end); // union of the overlaps: pauses come sorted by start
      if (b > a) { covered += b - a; coveredTo = b; }
    }
    coveredSum += covered;
    if (any) { gcOverlap++; hit.forEach((h, t) => { if (h) byThread[t]++; }); }
    if (!any && !late) neither++;
  }
  return {
    thresholdMs, over: seen, analysed: times.length / 3, senderLate, gcOverlap,
    gcOverlapByThread: Object.fromEntries(threads.map((th, t) => [th.thread, byThread[t]])),
    gcCoveredShare: latencySum > 0 ? coveredSum / latencySum : 0, neither,
  };
}

/** One console line. */
export function tailCausesText(c: TailCauses, gcWatched: boolean): string {
  const of = (x: number) => (c.analysed > 0 ? `${((x / c.analysed) * 100).toFixed(1)}%` : '-');
  const gc = gcWatched
    ? `${of(c.gcOverlap)} overlapped a GC pause (${Object.entries(c.gcOverlapByThread).map(([t, n]) => `${t} ${of(n)}`).join(', ')}; pauses covered ${(c.gcCoveredShare * 100).toFixed(0)}% of their time)`
    : 'GC not watched (RAFT_GC_TALLY=1)';
  return `  tail causes, sample by sample (${c.analysed.toLocaleString('en-US')} of ${c.over.toLocaleString('en-US')} above ${c.thresholdMs} ms): ` +
    `${of(c.senderLate)} sent late by over half their latency; ${gc}; ${of(c.neither)} neither`;
}
