/**
 * A flag shared by every thread of a cluster (one SharedArrayBuffer): whether busy-polling
 * (BusyPoller) is allowed now, set by the thread that watches the machine's idle cores
 * (IdleCoreWatch), and the microseconds the threads spent spinning, which that watcher counts
 * as idle time (time a spinner would give up at once to a thread that needs it).
 */
export class SpinGate {
  static readonly BYTES = 8;
  private readonly words: Int32Array;

  static create(open: boolean): SpinGate {
    const g = new SpinGate(new SharedArrayBuffer(SpinGate.BYTES));
    g.setOpen(open);
    return g;
  }

  constructor(readonly sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < SpinGate.BYTES) throw new TypeError(`spin gate: expected a SharedArrayBuffer of at least ${SpinGate.BYTES} bytes`);
    this.words = new Int32Array(sab, 0, 2);
  }

  get isOpen(): boolean { return Atomics.load(this.words, 0) === 1; }

  setOpen(open: boolean): void { Atomics.store(this.words, 0, open ? 1 : 0); }

  /** Adds `ms` of spinning to the shared tally (microsecond resolution). */
  addSpin(ms: number): void { Atomics.add(this.words, 1, Math.round(ms * 1000)); }

  /** Microseconds spent spinning since the last call (the tally restarts from zero). */
  takeSpinMicros(): number { return Atomics.exchange(this.words, 1, 0) >>> 0; }
}
