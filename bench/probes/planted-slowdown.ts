/**
 * Preload for bench/validate-compare.ts (see bench/planted-slowdown.ts): a genuinely slower
 * variant of the peers, without touching the library. In every worker thread it wraps
 * Atomics.waitAsync, which a peer's ring link calls when it has drained its inbound ring and
 * goes to sleep, i.e. once per batch of messages handled. Before sleeping, the thread
 * busy-waits until the CPU time it burned is `fraction` of the CPU time it spent on everything
 * else, so its CPU per commit grows by about that fraction. The main thread is left alone.
 * The burn is measured in the thread's own CPU time (schedstat), not in wall-clock time: a
 * wall-clock burn that the scheduler preempts costs less CPU than asked for, so on a busy
 * machine the "slower variant" was only 10-20% slower, unlike slower code, which costs its
 * instructions whatever the load.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { markPlanted, slowdownFromEnv } from '../planted-slowdown.js';

/** At most this often the thread's CPU time is read (a /proc read costs a few microseconds). */
const CHECK_EVERY_MS = 1;
/** The most CPU time one burn adds, so that a peer still answers heartbeats in time (the debt carries over). */
const MAX_BURN_MS = 5;
/** A burn also ends after this much wall-clock time (preempted): the rest is owed to the next one. */
const MAX_BURN_WALL_MS = 20;
/** While burning, the thread's CPU time is read every this many wall-clock milliseconds. */
const BURN_POLL_MS = 0.1;

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
      const startCpu = threadCpuMs();
      const owed = startCpu === null ? 0 : Math.min(MAX_BURN_MS, fraction * (startCpu - burnedMs) - burnedMs);
      if (startCpu !== null && owed > 0) burnedMs += burnCpu(startCpu, owed, now);
    }
    return original.call(Atomics, a, i, v, t);
  };
}

/** Spins until this thread has spent `ms` more CPU time than `startCpu` (or MAX_BURN_WALL_MS passed); returns the CPU time burned. */
function burnCpu(startCpu: number, ms: number, startWall: number): number {
  let cpu = startCpu;
  let poll = startWall;
  for (;;) {
    const wall = performance.now();
    if (wall - poll < BURN_POLL_MS) continue;
    poll = wall;
    cpu = threadCpuMs() ?? cpu;
    if (cpu - startCpu >= ms || wall - startWall >= MAX_BURN_WALL_MS) return cpu - startCpu;
  }
}

/** This thread's time on a CPU (ms), from /proc/thread-self/schedstat; null where there is none. */
function threadCpuMs(): number | null {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}
