/** What `SpinGate.setIdleCores` stores for "no limit" (busyPollWhen 'always'). */
const UNLIMITED = 0x7fffffff;

/**
 * Shared by every thread of a cluster (one SharedArrayBuffer): how many cores the machine
 * had idle at the last look, which says whether busy-polling (BusyPoller) may run now, set by
 * the thread that watches the machine (IdleCoreWatch); and the microseconds the threads spent
 * spinning, which that watcher counts as idle time (time a spinner gives up at once to a
 * thread that needs it). A spinner that needs more spare cores (the main thread's, which
 * waits a whole commit) asks for more than one that waits for a single hop.
 */
export class SpinGate {
  static readonly BYTES = 8;
  private readonly words: Int32Array;

  /** A new gate: closed, or open for any spinner (`always`). */
  static create(always: boolean): SpinGate {
    const g = new SpinGate(new SharedArrayBuffer(SpinGate.BYTES));
    g.setIdleCores(always ? Infinity : 0);
    return g;
  }

  constructor(readonly sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < SpinGate.BYTES) throw new TypeError(`spin gate: expected a SharedArrayBuffer of at least ${SpinGate.BYTES} bytes`);
    this.words = new Int32Array(sab, 0, 2);
  }

  /** Whether a spinner that needs `cores` idle cores may spin now. */
  allows(cores: number): boolean { return Atomics.load(this.words, 0) >= Math.round(cores * 100); }

  /** The idle cores seen now (Infinity: no limit; 0: closed to every spinner). */
  setIdleCores(cores: number): void {
    Atomics.store(this.words, 0, cores === Infinity ? UNLIMITED : Math.max(0, Math.min(UNLIMITED - 1, Math.floor(cores * 100))));
  }

  /** Adds `ms` of spinning to the shared tally (microsecond resolution). */
  addSpin(ms: number): void { Atomics.add(this.words, 1, Math.round(ms * 1000)); }

  /** Microseconds spent spinning since the last call (the tally restarts from zero). */
  takeSpinMicros(): number { return Atomics.exchange(this.words, 1, 0) >>> 0; }
}
