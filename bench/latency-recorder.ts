/**
 * Latency recording on the hot path. hdr-histogram-js costs ~200 ns per recordValue on the
 * development machine, which at 1.3 M commits/s would eat most of the main thread that also
 * drives the load; so we count into a plain Float64Array laid out exactly like an
 * HdrHistogram with 3 significant digits (2048 sub-buckets, unit 1 ns) and hand the counts to
 * hdr-histogram-js once, at the end, for percentiles and the standard compressed encoding.
 * Because the buckets are the same, the percentiles are the ones HdrHistogram would report.
 */
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

const SUB_BITS = 11; // 2048 sub-buckets: 3 significant decimal digits, as HdrHistogram(…, 3)
const SUB_COUNT = 1 << SUB_BITS;
const HALF = SUB_COUNT >> 1;
/** Values from 2^32 ns (4.3 s) up go to a slow path. */
const FAST_LIMIT = 2 ** 32;
const SLOTS = SUB_COUNT + (32 - SUB_BITS) * HALF;

export class LatencyRecorder {
  private readonly counts = new Float64Array(SLOTS);
  private readonly slow: number[] = [];
  count = 0;
  private sum = 0;
  max = 0;
  min = Infinity;

  /** Records one latency in nanoseconds (rounded down to an integer, negative clamped to 0). */
  record(ns: number): void {
    let v = ns > 0 ? Math.floor(ns) : 0;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
    if (v >= FAST_LIMIT) { this.slow.push(v); return; }
    if (v < SUB_COUNT) { this.counts[v]++; return; }
    v >>>= 0;
    const shift = 31 - Math.clz32(v) - (SUB_BITS - 1); // v >>> shift lands in [HALF, SUB_COUNT)
    this.counts[SUB_COUNT + (shift - 1) * HALF + ((v >>> shift) - HALF)]++;
  }

  reset(): void {
    this.counts.fill(0);
    this.slow.length = 0;
    this.count = 0;
    this.sum = 0;
    this.max = 0;
    this.min = Infinity;
  }

  /** Adds every latency `other` holds, as if each had been recorded here too. */
  addAll(other: LatencyRecorder): void {
    for (let i = 0; i < SLOTS; i++) this.counts[i] += other.counts[i];
    for (const v of other.slow) this.slow.push(v);
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
    if (other.min < this.min) this.min = other.min;
  }

  get meanNs(): number { return this.count === 0 ? 0 : this.sum / this.count; }

  /** An HdrHistogram (ns) holding the same counts; the caller should destroy() it when done. */
  toHdr(): Histogram {
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 40, numberOfSignificantValueDigits: 3, bitBucketSize: 64, autoResize: true });
    for (let i = 0; i < SLOTS; i++) {
      const c = this.counts[i];
      if (c > 0) h.recordValueWithCount(slotLowestValue(i), c);
    }
    for (const v of this.slow) h.recordValue(v);
    return h;
  }
}

/** The smallest value that lands in slot i (any value of a slot is equivalent to HdrHistogram). */
export function slotLowestValue(i: number): number {
  if (i < SUB_COUNT) return i;
  const k = i - SUB_COUNT;
  const shift = Math.floor(k / HALF) + 1;
  return (HALF + (k % HALF)) * 2 ** shift;
}

/** Latency figures in microseconds, as the JSON and the reports carry them. */
export interface LatencySummary {
  unit: 'us';
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** [percentile (0-100), latency us] points for plotting the percentile curve. */
  curve: Array<[number, number]>;
  /** The HdrHistogram (values in ns) in its standard compressed base64 form, for other tools. */
  hdrBase64: string;
}

export function summarize(r: LatencyRecorder): LatencySummary {
  const h = r.toHdr();
  try {
    const us = (ns: number) => Math.round(ns / 10) / 100; // us with 2 decimals
    const at = (p: number) => (r.count === 0 ? 0 : us(h.getValueAtPercentile(p)));
    return {
      unit: 'us',
      count: r.count,
      min: r.count === 0 ? 0 : us(r.min),
      mean: us(r.meanNs),
      p50: at(50), p90: at(90), p99: at(99), p999: at(99.9),
      max: us(r.max),
      curve: r.count === 0 ? [] : percentileCurve(r.count).map((p): [number, number] => [p, p === 100 ? us(r.max) : at(p)]),
      hdrBase64: hdr.encodeIntoCompressedBase64(h),
    };
  } finally {
    h.destroy();
  }
}

/**
 * Percentiles spread evenly on the "number of nines" scale (0, 50, 90, 99, 99.9, ... up to
 * what `count` samples can resolve), then 100 (the max): the usual HdrHistogram plot.
 */
export function percentileCurve(count: number): number[] {
  const maxNines = Math.max(1, Math.log10(Math.max(10, count)));
  const out: number[] = [];
  for (let x = 0; x <= maxNines + 1e-9; x += 0.05) out.push(Math.round((100 - 100 * 10 ** -x) * 1e6) / 1e6);
  out.push(100);
  return out;
}
