import assert from 'node:assert/strict';
import { test } from 'node:test';
import { criticalValue, mannWhitneyCdf, median, minSamplesFor, ratioInterval } from '../../bench/stats.js';

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('Mann-Whitney null distribution matches the published table', () => {
  // n = m = 5: 252 arrangements; counts of U = 0..4 are 1, 1, 2, 3, 5
  const cdf = mannWhitneyCdf(5, 5);
  assert.equal(cdf.length, 26);
  assert.ok(Math.abs(cdf[2] - 4 / 252) < 1e-12);
  assert.ok(Math.abs(cdf[4] - 12 / 252) < 1e-12);
  assert.equal(cdf[25], 1);
  // two-sided 5%: critical U = 2 for 5 and 5, 8 for 8 and 8 (standard tables)
  assert.equal(criticalValue(5, 5, 0.025), 2);
  assert.equal(criticalValue(8, 8, 0.025), 13);
  assert.equal(criticalValue(2, 2, 0.05), -1, 'no interval from 2 and 2 samples');
  assert.equal(minSamplesFor(0.9), 3);
  assert.equal(minSamplesFor(0.95), 4);
  // the normal approximation joins the exact values smoothly
  const exact = criticalValue(50, 50, 0.05);
  const approx = criticalValue(51, 50, 0.05);
  assert.ok(approx >= exact && approx <= exact + 60, `${exact} vs ${approx}`);
});

test('ratioInterval: identical samples give exactly 1, separated samples exclude 1', () => {
  const same = ratioInterval([10, 11, 12, 13, 14], [10, 11, 12, 13, 14]);
  assert.equal(same.ratio, 1);
  assert.ok(same.lo < 1 && same.hi > 1);
  const flat = ratioInterval([5, 5, 5], [5, 5, 5]);
  assert.deepEqual([flat.ratio, flat.lo, flat.hi], [1, 1, 1]);
  const up = ratioInterval([100, 101, 102, 103, 104], [125, 126, 127, 128, 129]);
  assert.ok(up.lo > 1.2 && up.hi < 1.3, `${up.lo} .. ${up.hi}`);
  assert.ok(Math.abs(up.ratio - 1.24) < 0.01);
  // a wild sample widens the interval on its side, but cannot drag the estimate or the other side
  const wild = ratioInterval([100, 101, 102, 103, 104], [125, 126, 127, 128, 10_000]);
  assert.ok(Math.abs(wild.ratio - 1.25) < 0.02, String(wild.ratio));
  assert.ok(wild.lo > 1.2, String(wild.lo));
  const few = ratioInterval([1, 2], [3, 4]);
  assert.equal(few.tooFewSamples, true);
  assert.equal(few.hi, Infinity);
  assert.throws(() => ratioInterval([0, 1, 2], [1, 2, 3]), /positive/);
  assert.throws(() => ratioInterval([], [1]), /at least one/);
});
