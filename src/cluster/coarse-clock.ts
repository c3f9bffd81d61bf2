/**
 * A millisecond clock that reuses one reading of performance.now() (55-500 ns on a loaded VM)
 * for up to `reuse` calls within one synchronous run; a microtask marks the end of the run.
 * Acks and submits come in bursts (one ring drain settles thousands of commands), so this cuts
 * the clock's cost to a fraction while bounding the error by the run's length.
 *
 * - Session and read deadlines (reuse 256): a deadline taken from it is early by at most that
 *   run's length, so a command can fail a little before its time, never after.
 * - The benchmark's latency timestamps (reuse 16): the error is a few microseconds, and zero
 *   with one command in flight.
 */
export class CoarseClock {
  private t = 0;
  private left = 0;
  private armed = false;
  private readonly expire = (): void => { this.left = 0; this.armed = false; };

  constructor(private readonly reuse = 256) {}

  /** Milliseconds, as performance.now(). */
  now(): number {
    if (this.left > 0) { this.left--; return this.t; }
    this.t = performance.now();
    this.left = this.reuse - 1;
    if (!this.armed) { this.armed = true; queueMicrotask(this.expire); }
    return this.t;
  }
}
