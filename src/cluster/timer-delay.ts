/** Node's setTimeout limit: a longer delay (a timeoutMs of 3e9, or Infinity) fires after 1 ms instead, with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout honours: at most MAX_TIMER_MS (a timer that fires early re-checks its deadline). */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
