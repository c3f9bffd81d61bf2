import assert from 'node:assert/strict';
import { test } from 'node:test';
import hdr from 'hdr-histogram-js';
import { LatencyRecorder, percentileCurve, slotLowestValue, summarize } from '../../bench/latency-recorder.js';

test('LatencyRecorder reports the percentiles an HdrHistogram (3 digits) reports for the same values', () => {
  const rec = new LatencyRecorder();
  const ref = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 40, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });
  let x = 12345;
  for (let i = 0; i < 50_000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    // a spread from 1 ns to ~10 s, log-uniform
    const v = Math.floor(Math.exp((x / 2 ** 31) * Math.log(1e10)));
    rec.record(v);
    ref.recordValue(v);
  }
  const h = rec.toHdr();
  try {
    for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
      assert.equal(h.getValueAtPercentile(p), ref.getValueAtPercentile(p), `percentile ${p}`);
    }
    assert.equal(h.totalCount, 50_000);
  } finally {
    h.destroy();
    ref.destroy();
  }
});

test('slot boundaries: each slot holds the values an HdrHistogram bucket holds', () => {
  assert.equal(slotLowestValue(0), 0);
  assert.equal(slotLowestValue(2047), 2047);
  assert.equal(slotLowestValue(2048), 2048);
  assert.equal(slotLowestValue(3072), 4096);
  const r = new LatencyRecorder();
  r.record(4097); // same bucket as 4096 (unit 2 at this magnitude)
  r.record(-5); // clamped to 0
  assert.equal(r.count, 2);
  assert.equal(r.max, 4097);
  assert.equal(r.min, 0);
});

test('summarize: microseconds, ordered percentiles and a plottable curve', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) r.record(i * 1000); // 1..1000 us
  const s = summarize(r);
  assert.equal(s.count, 1000);
  assert.ok(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
  assert.ok(Math.abs(s.p50 - 500) <= 1, `p50 ${s.p50}`);
  assert.equal(s.max, 1000);
  assert.ok(s.hdrBase64.length > 0);
  assert.equal(s.curve.at(-1)![0], 100);
  const empty = summarize(new LatencyRecorder());
  assert.equal(empty.count, 0);
  assert.deepEqual(empty.curve, []);
  assert.ok(percentileCurve(1_000_000).some((p) => p > 99.999));
});

test('addAll: a recorder summed from two holds what one recorder of all their values holds', () => {
  const a = new LatencyRecorder(), b = new LatencyRecorder(), both = new LatencyRecorder();
  const values = [0, 7, 2047, 2048, 4097, 123_456, 9e9, 5e9, 31];
  values.forEach((v, i) => { (i % 3 === 0 ? a : b).record(v); both.record(v); });
  const sum = new LatencyRecorder();
  sum.addAll(a);
  sum.addAll(b);
  assert.equal(sum.count, values.length);
  assert.equal(sum.max, 9e9);
  assert.equal(sum.min, 0);
  assert.equal(sum.meanNs, both.meanNs);
  const hs = sum.toHdr(), hb = both.toHdr();
  try {
    for (const p of [0, 10, 50, 90, 99, 100]) assert.equal(hs.getValueAtPercentile(p), hb.getValueAtPercentile(p), `percentile ${p}`);
    assert.equal(hs.totalCount, values.length);
  } finally {
    hs.destroy();
    hb.destroy();
  }
});
