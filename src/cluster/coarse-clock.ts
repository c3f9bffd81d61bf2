/**
 * A millisecond clock for per-command deadlines. Reading the system clock costs up to half a
 * microsecond on a loaded VM, most of what a streamed session submit cost; deadlines need no
 * such precision. One reading serves every call until the current synchronous run ends (a
 * microtask marks its end) or REUSE calls have used it, so a deadline taken from it is early
 * by at most that run's length: a command can fail a little before its time, never after.
 */
const REUSE = 256;

export class CoarseClock {
  private t = 0;
  private left = 0;
  private armed = false;
  private readonly expire = (): void => { this.left = 0; this.armed = false; };

  /** Milliseconds, as performance.now(). */
  now(): number {
    if (this.left > 0) { this.left--; return this.t; }
    this.t = performance.now();
    this.left = REUSE - 1;
    if (!this.armed) { this.armed = true; queueMicrotask(this.expire); }
    return this.t;
  }
}
