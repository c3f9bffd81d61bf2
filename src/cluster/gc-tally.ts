import { PerformanceObserver, constants, performance } from 'node:perf_hooks';

/** Garbage-collection pauses of one thread, cumulative since its tally started (times in ms). */
export interface GcPauses {
  /** Young-generation collections (scavenges): count, total and longest pause. */
  minorCount: number;
  minorMs: number;
  /** Longest minor pause since the previous read (read() resets it). */
  minorMaxMs: number;
  /** Everything else (mark-compact, incremental marking steps, weak callbacks). */
  majorCount: number;
  majorMs: number;
  majorMaxMs: number;
  /**
   * The pauses since the previous read, oldest first, as flat triples: start (ms since the Unix
   * epoch, comparable across threads), duration (ms), 1 for a major collection else 0. At
   * most MAX_RECENT_PAUSES; `recentDropped` counts those left out.
   */
  recent: number[];
  recentDropped: number;
}

/** Pauses kept between reads: a thread scavenges 10-30 times a second under load, so minutes of them. */
export const MAX_RECENT_PAUSES = 16_384;

/** GC pauses are tallied only with RAFT_GC_TALLY=1: a 'gc' observer slows allocation-heavy threads. */
export function gcTallyWanted(): boolean {
  return process.env.RAFT_GC_TALLY === '1';
}

/**
 * Tallies this thread's GC pauses from perf_hooks 'gc' entries (one per collection, delivered
 * asynchronously in batches, so a read may miss the last few milliseconds' pauses).
 */
export class GcTally {
  private readonly p: GcPauses = { minorCount: 0, minorMs: 0, minorMaxMs: 0, majorCount: 0, majorMs: 0, majorMaxMs: 0, recent: [], recentDropped: 0 };
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const p = this.p;
      const minor = kind === constants.NODE_PERFORMANCE_GC_MINOR;
      if (minor) {
        p.minorCount++; p.minorMs += e.duration; if (e.duration > p.minorMaxMs) p.minorMaxMs = e.duration;
      } else {
        p.majorCount++; p.majorMs += e.duration; if (e.duration > p.majorMaxMs) p.majorMaxMs = e.duration;
      }
      if (p.recent.length < 3 * MAX_RECENT_PAUSES) p.recent.push(performance.timeOrigin + e.startTime, e.duration, minor ? 0 : 1);
      else p.recentDropped++;
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** The tally so far; the maxima and the list of recent pauses restart after each read. */
  read(): GcPauses {
    const out = { ...this.p };
    this.p.minorMaxMs = 0;
    this.p.majorMaxMs = 0;
    this.p.recent = [];
    this.p.recentDropped = 0;
    return out;
  }

  stop(): void {
    this.observer.disconnect();
  }
}
