/**
 * The statistics behind bench:compare: a distribution-free confidence interval for the ratio of
 * two sets of benchmark samples (new / base).
 *
 * Method: the Hodges-Lehmann estimate of the shift between log(new) and log(base) (the median
 * of all pairwise differences), with the interval that inverts the Mann-Whitney rank test
 * (order statistics of the same pairwise differences, at the test's exact critical value).
 * Why this and not a bootstrap: with the 3-10 samples a CI budget allows, a bootstrap of the
 * median can only return a handful of distinct values and its coverage is poor; the rank
 * interval is exact for any sample size, needs no random seed (the same files always give the
 * same verdict), and one wild sample cannot drag the estimate or the far end of the interval.
 * On logs, so that the result is a ratio and a threshold of 10% means the same at 1k/s and 1M/s.
 */

export interface RatioInterval {
  /** Hodges-Lehmann estimate of new / base. */
  ratio: number;
  /** Confidence interval for new / base; [0, Infinity] when the samples are too few for the level. */
  lo: number;
  hi: number;
  /** Two-sided confidence level of [lo, hi], e.g. 0.9. */
  confidence: number;
  /** Too few samples on a side for any interval at this level. */
  tooFewSamples: boolean;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * P(U <= u) for u = 0..n*m under the null hypothesis (no shift), U the Mann-Whitney statistic
 * of samples of sizes n and m without ties. Exact, by the recurrence
 * N(n, m, u) = N(n-1, m, u-m) + N(n, m-1, u), in floating point counts (exact up to 2^53,
 * then relative error 1e-16, which is plenty for a tail probability).
 */
export function mannWhitneyCdf(n: number, m: number): number[] {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 0 || m < 0) throw new RangeError(`sample sizes must be non-negative integers, got ${n} and ${m}`);
  // row[j] holds the counts N(i, j, .) for the current i; start with i = 0: one arrangement, U = 0
  let row: number[][] = Array.from({ length: m + 1 }, () => [1]);
  for (let i = 1; i <= n; i++) {
    const next: number[][] = [[1]]; // N(i, 0, 0) = 1
    for (let j = 1; j <= m; j++) {
      const a = row[j]; // N(i-1, j, u - j)
      const b = next[j - 1]; // N(i, j-1, u)
      const len = i * j + 1;
      const c = new Array<number>(len).fill(0);
      for (let u = 0; u < a.length; u++) c[u + j] += a[u];
      for (let u = 0; u < b.length; u++) c[u] += b[u];
      next.push(c);
    }
    row = next;
  }
  const counts = row[m];
  const total = counts.reduce((s, c) => s + c, 0);
  let acc = 0;
  return counts.map((c) => (acc += c) / total);
}

/** The largest c with P(U <= c) <= alpha (one tail), or -1 when even U = 0 is likelier than that. */
export function criticalValue(n: number, m: number, alpha: number): number {
  if (n * m > 2500) {
    // normal approximation (continuity-corrected) where the exact table would be large
    const mean = (n * m) / 2;
    const sd = Math.sqrt((n * m * (n + m + 1)) / 12);
    return Math.max(-1, Math.floor(mean - normalQuantile(1 - alpha) * sd - 0.5));
  }
  const cdf = mannWhitneyCdf(n, m);
  let c = -1;
  while (c + 1 < cdf.length && cdf[c + 1] <= alpha + 1e-12) c++;
  return c;
}

/**
 * The ratio new / base with a `confidence` two-sided interval. Values must be positive
 * (throughputs, latencies, CPU times); throws a RangeError otherwise.
 */
export function ratioInterval(base: readonly number[], next: readonly number[], confidence = 0.9): RatioInterval {
  if (base.length === 0 || next.length === 0) throw new RangeError('ratioInterval needs at least one sample on each side');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be between 0 and 1, got ${confidence}`);
  for (const v of [...base, ...next]) {
    if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`samples must be positive finite numbers, got ${v}`);
  }
  const diffs: number[] = [];
  for (const b of base) for (const x of next) diffs.push(Math.log(x) - Math.log(b));
  diffs.sort((a, b) => a - b);
  const ratio = Math.exp(median(diffs));
  const c = criticalValue(base.length, next.length, (1 - confidence) / 2);
  if (c < 0) return { ratio, lo: 0, hi: Infinity, confidence, tooFewSamples: true };
  // the interval runs from the (c+1)-th smallest to the (c+1)-th largest difference
  return { ratio, lo: Math.exp(diffs[c]), hi: Math.exp(diffs[diffs.length - 1 - c]), confidence, tooFewSamples: false };
}

/** The smallest sample count per side for which ratioInterval gives a finite interval. */
export function minSamplesFor(confidence: number): number {
  for (let k = 1; k <= 50; k++) if (criticalValue(k, k, (1 - confidence) / 2) >= 0) return k;
  return Infinity;
}

/** Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  if (p > 0.5) return -normalQuantile(1 - p);
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5, r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
