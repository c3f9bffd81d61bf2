/**
 * The fingerprint of a run: every event folds a few numbers into a running hash, so two runs
 * of one seed can be compared in O(1) memory (same seed + options must give the same hash),
 * and, when asked, a human-readable line per event for replaying a failure.
 */
export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  events = 0;
  /** The last lines, kept only when a sink or a tail is wanted (formatting costs time). */
  private readonly tail: string[] = [];

  constructor(private readonly sink: ((line: string) => void) | null = null, private readonly tailSize = 0) {}

  get verbose(): boolean {
    return this.sink !== null || this.tailSize > 0;
  }

  /** Folds numbers into the hash. */
  mix(a: number, b = 0, c = 0, d = 0): void {
    this.h1 = fold(fold(fold(fold(this.h1, a), b), c), d);
    this.h2 = fold(fold(fold(fold(this.h2, d), c), b), a ^ 0x5bd1e995);
  }

  /** Records a line (call only when `verbose`). */
  line(now: number, text: string): void {
    const l = `${String(now).padStart(7)}ms ${text}`;
    if (this.sink) this.sink(l);
    if (this.tailSize > 0) {
      this.tail.push(l);
      if (this.tail.length > this.tailSize) this.tail.shift();
    }
  }

  lastLines(): readonly string[] {
    return this.tail;
  }

  /** 16 hex digits. */
  digest(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }
}

function fold(h: number, x: number): number {
  // x may be a non-negative integer above 2^32 (indexes, times): fold both halves.
  const lo = x >>> 0;
  const hi = Math.floor(x / 4294967296) >>> 0;
  h = Math.imul(h ^ lo, 0x01000193);
  h = Math.imul(h ^ hi, 0x01000193);
  return h ^ (h >>> 15);
}
