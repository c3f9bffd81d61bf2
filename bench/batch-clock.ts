/**
 * A clock for per-command timestamps at a million commands per second. performance.now()
 * costs 55-140 ns on the development VM; called twice per command it would take a tenth of
 * the main thread, which the load generator shares with the commit callbacks. Acks arrive in
 * batches (one ring drain settles thousands of commands), so within one synchronous run of
 * callbacks we reuse a reading for up to REUSE calls and take a fresh one after that, or when
 * the run ends (a microtask marks the end). The error this adds is bounded by REUSE callbacks
 * (a few microseconds) and is zero when one command is in flight.
 */
const REUSE = 16;

export class BatchClock {
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
