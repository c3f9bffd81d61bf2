/**
 * Preload for bench/validate-compare.ts (see bench/planted-slowdown.ts): a genuinely slower
 * variant of the peers, without touching the library. In every worker thread it wraps
 * Atomics.waitAsync, which a peer's ring link calls when it has drained its inbound ring and
 * goes to sleep, i.e. once per batch of messages handled. Before sleeping, the thread
 * busy-waits until the time it burned is `fraction` of the CPU time it spent on everything
 * else, so its CPU per commit grows by about that fraction. The main thread is left alone.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { markPlanted, slowdownFromEnv } from '../planted-slowdown.js';

/** At most this often the thread's CPU time is read (a /proc read costs a few microseconds). */
const CHECK_EVERY_MS = 1;
/** The longest single burn, so that a peer still answers heartbeats in time (the debt carries over). */
const MAX_BURN_MS = 5;

const fraction = slowdownFromEnv();
markPlanted(fraction);

type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => unknown;
const atomics = Atomics as unknown as { waitAsync?: WaitAsync };
const original = atomics.waitAsync;

if (!isMainThread && original && fraction > 0) {
  let burnedMs = 0;
  let lastCheck = 0;
  atomics.waitAsync = function waitAsync(a, i, v, t) {
    const now = performance.now();
    if (now - lastCheck >= CHECK_EVERY_MS) {
      lastCheck = now;
      const cpuMs = threadCpuMs();
      const owed = cpuMs === null ? 0 : Math.min(MAX_BURN_MS, fraction * (cpuMs - burnedMs) - burnedMs);
      if (owed > 0) {
        const end = performance.now() + owed;
        while (performance.now() < end) { /* burn */ }
        burnedMs += owed;
      }
    }
    return original.call(Atomics, a, i, v, t);
  };
}

/** This thread's time on a CPU (ms), from /proc/thread-self/schedstat; null where there is none. */
function threadCpuMs(): number | null {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}
