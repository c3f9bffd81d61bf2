/**
 * Access to the fdatasync counter that bench/probes/fsync-counter.ts installs when the process
 * is started with it as a preload (importing this file does not install anything).
 */
export const PROBE_KEY = Symbol.for('raft-bench.fsyncCounter');

export interface FsyncCounterProbe {
  /**
   * fdatasync calls so far, by Node threadId (0 = main), of every thread that answers within
   * `timeoutMs`, or as soon as `expect` worker threads have answered.
   */
  query(timeoutMs?: number, expect?: number): Promise<Map<number, number>>;
}

/** The probe, or null if this process was started without the preload. */
export function fsyncCounter(): FsyncCounterProbe | null {
  return ((globalThis as Record<symbol, unknown>)[PROBE_KEY] as FsyncCounterProbe | undefined) ?? null;
}

/** fdatasync calls made by worker threads (the peers) between two queries. */
export function workerCallsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let n = 0;
  for (const [tid, c] of after) if (tid !== 0) n += c - (before.get(tid) ?? 0);
  return n;
}
