/**
 * Where a RaftNode gets its time from. Real timers by default; the simulation passes one on
 * virtual time, so that the same runtime code runs under its seeds.
 */
export interface Scheduler {
  /** Calls `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` once, after the current turn of the event loop (input queued meanwhile is batched). */
  soon(fn: () => void): void;
}

export const realTimeScheduler: Scheduler = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
  soon(fn) {
    setImmediate(fn);
  },
};
