import type { RingBuffer } from './ring.js';
import type { SpinGate } from './spin-gate.js';

/** Commands in flight up to which a thread's load counts as light enough to spin for. */
export const LIGHT_LOAD = 4;
/** Spins judged together: if fewer than a quarter of them caught their answer, rest. */
export const SPIN_ROUND = 16;
/** Requests that go without a spin after a round that caught too little. */
export const REST_REQUESTS = 256;

/**
 * Keeps a thread awake for a moment after it sent a request whose answer should come soon,
 * instead of letting it go to sleep at once. Waking a sleeping thread (Atomics.notify to a
 * thread parked in epoll) costs tens of microseconds on a VM; a thread that is still running
 * when the answer lands picks it up at once. At the end of the turn in which expectAnswer()
 * was called, it polls the watched rings for at most `maxMicros` and returns as soon as one
 * holds data. While it spins it lowers the rings' sleep flags (RingBuffer.pauseSleep), so a
 * producer writes without waking anyone, and afterwards it wakes its own pending sleeps for
 * the rings that got data (resumeSleep): the records are then read by the usual path.
 *
 * Spinning takes a core: it is only worth it while cores are idle. `lightLoad` says whether
 * this thread's load is low enough (a few requests in flight: under saturation the rings are
 * never empty for long and the core is better left to the other threads), and the gate, if
 * any, whether the machine has `needCores` idle cores now (see IdleCoreWatch). And it must
 * pay: when fewer than a quarter of a round of spins caught their answer within the budget
 * (the answers take longer than a spin here), the next REST_REQUESTS requests go without.
 */
export class BusyPoller {
  private readonly rings: RingBuffer[] = [];
  /** Per watched ring during a spin: whether its sleep was paused. */
  private paused: boolean[] = [];
  private scheduled = false;
  private spins = 0;
  private hits = 0;
  private resting = 0;
  private readonly spinBound = () => this.spin();

  /** `needCores`: idle cores the gate must report for this spinner (see SpinGate). */
  constructor(
    private readonly maxMicros: number,
    private readonly gate: SpinGate | null,
    private readonly lightLoad: () => boolean,
    private readonly needCores = 1,
  ) {
    if (!(maxMicros >= 0 && Number.isFinite(maxMicros))) throw new RangeError(`busy poll: maxMicros must be a finite number >= 0, got ${maxMicros}`);
  }

  get enabled(): boolean { return this.maxMicros > 0; }

  /** Polls `ring` (an inbound ring read by this thread) while spinning. */
  watch(ring: RingBuffer): void {
    if (!this.rings.includes(ring)) this.rings.push(ring);
  }

  unwatch(ring: RingBuffer): void {
    const k = this.rings.indexOf(ring);
    if (k >= 0) this.rings.splice(k, 1);
  }

  /** A request that expects an answer soon went out: poll a little at the end of this turn before sleeping. */
  expectAnswer(): void {
    if (this.scheduled || this.maxMicros === 0 || (this.gate !== null && !this.gate.allows(this.needCores))) return;
    if (this.resting > 0) { this.resting--; return; }
    this.scheduled = true;
    setImmediate(this.spinBound);
  }

  private spin(): void {
    this.scheduled = false;
    if ((this.gate !== null && !this.gate.allows(this.needCores)) || !this.lightLoad()) return; // the gate may have closed since
    const rings = this.rings, paused = this.paused;
    for (let k = 0; k < rings.length; k++) paused[k] = rings[k].pauseSleep();
    const start = performance.now();
    const end = start + this.maxMicros / 1000;
    let now = start;
    try {
      outer: for (;;) {
        for (let k = 0; k < rings.length; k++) if (!rings[k].isEmpty) break outer;
        now = performance.now();
        if (now >= end) break;
      }
    } finally {
      for (let k = 0; k < rings.length; k++) if (paused[k]) rings[k].resumeSleep();
    }
    this.gate?.addSpin(now - start);
    this.spins++;
    if (now < end) this.hits++;
    if (this.spins === SPIN_ROUND) {
      if (this.hits * 4 < SPIN_ROUND) this.resting = REST_REQUESTS;
      this.spins = this.hits = 0;
    }
  }
}
