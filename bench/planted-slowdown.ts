/**
 * A planted slowdown, for bench/validate-compare.ts only. Preloading
 * `dist/bench/probes/planted-slowdown.js` (node --import, which worker threads inherit) makes
 * every peer thread burn RAFT_BENCH_SLOWDOWN (default 0.25 = 25%) on top of the CPU time it
 * spent, each time it finishes a batch of messages. Without the preload nothing of it is
 * loaded: the harness runs exactly as before.
 */
export const SLOWDOWN_ENV = 'RAFT_BENCH_SLOWDOWN';
export const DEFAULT_SLOWDOWN = 0.25;
const KEY = Symbol.for('raft-bench:planted-slowdown');

/** The slowdown fraction asked for in the environment; throws on a value that is not a fraction from 0 to 4. */
export function slowdownFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[SLOWDOWN_ENV];
  if (text === undefined || text === '') return DEFAULT_SLOWDOWN;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || v > 4) throw new Error(`${SLOWDOWN_ENV} must be a fraction from 0 to 4 (0.25 = 25% extra CPU time), got ${JSON.stringify(text)}`);
  return v;
}

/** Called by the preload in each thread. */
export function markPlanted(fraction: number): void {
  (globalThis as Record<symbol, unknown>)[KEY] = fraction;
}

/** The planted slowdown fraction in this process, 0 when the preload is absent. */
export function plantedSlowdown(): number {
  const v = (globalThis as Record<symbol, unknown>)[KEY];
  return typeof v === 'number' ? v : 0;
}
