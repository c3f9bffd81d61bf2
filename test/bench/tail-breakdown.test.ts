import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Timeline } from '../../bench/load-generator.js';
import { tailBreakdown, tailCauses, tailCausesText, tailText } from '../../bench/tail-breakdown.js';

/** Ten 100 ms buckets of 1,000 commits each; `over` latencies above 1 ms in the buckets given. */
function timeline(over: Record<number, number>, extra: Partial<Timeline> = {}): Timeline {
  const counts = Array.from({ length: 10 }, (_, b) => over[b] ?? 0);
  return { bucketMs: 100, commits: new Array(10).fill(1000), maxLatencyUs: counts.map((c) => (c > 0 ? 5000 : 500)), overThreshold: { ms: 1, counts }, ...extra };
}

test('tailBreakdown: latencies above the threshold are placed beside GC pauses and a late sender, the bucket after a pause included', () => {
  const gcMs = [{ thread: 'main', ms: new Array(10).fill(0) }, { thread: 'peer 0', ms: new Array(10).fill(0) }];
  gcMs[1].ms[2] = 4.5; // a pause in bucket 2: counts for buckets 2 and 3
  gcMs[0].ms[7] = 0.5; // below CAUSE_MS: no cause
  const sendLagMs = new Array(10).fill(0.1);
  sendLagMs[5] = 3; // a late wake-up in bucket 5: counts for 5 and 6
  const k = tailBreakdown(timeline({ 0: 5, 3: 40, 6: 20, 7: 30 }, { gcMs, sendLagMs }))!;
  assert.equal(k.over, 95);
  assert.equal(k.overShare, 95 / 10_000);
  assert.equal(k.withGc, 40);
  assert.equal(k.withLateSender, 20);
  assert.equal(k.neither, 35, 'buckets 0 and 7 have no pause >= 1 ms and no late sender');
  assert.equal(k.firstTenthShare, 5 / 95);
  assert.deepEqual(k.worst.map((w) => w.atSec), [0.3, 0.7, 0.6]);
  assert.deepEqual(k.worst[0].gcMs, { main: 0, 'peer 0': 0 }, 'the pause was in the bucket before');
  assert.equal(k.worst[2].sendLagMs, 0.1);
  const text = tailText(k, true, true).join('\n');
  assert.match(text, /95 latencies above 1 ms \(0\.9% of all\): 42\.1% in a 100 ms bucket .* 21\.1% with the sender >= 1 ms late; 36\.8% with neither/);
});

test('tailBreakdown: nothing to say without the per-bucket counts; no GC watched means no GC cause', () => {
  const t = timeline({ 4: 10 });
  assert.equal(tailBreakdown({ bucketMs: 100, commits: t.commits, maxLatencyUs: t.maxLatencyUs }), null);
  const k = tailBreakdown(t)!;
  assert.deepEqual([k.over, k.withGc, k.withLateSender, k.neither], [10, 0, 0, 10]);
  assert.match(tailText(k, false, false).join('\n'), /GC not watched/);
});

test('tailCauses: each slow sample is checked against every thread\'s pauses and its own send lag', () => {
  // (intended start, actual send, commit) in ms
  const times = new Float64Array([
    100, 100.1, 105, // overlaps the leader's pause 102..104 (2 of its 5 ms covered)
    200, 203, 204, // sent 3 ms late of 4: the sender's
    300, 300.1, 302, // nothing near it
    400, 400.1, 410, // overlaps two pauses, 401..405 (main) and 403..407 (follower): 6 ms of union covered
  ]);
  const threads = [
    { thread: 'main', starts: [401, 250], durations: [4, 1] },
    { thread: 'leader', starts: [102], durations: [2] },
    { thread: 'follower', starts: [403, 95], durations: [4, 4] }, // 95..99 ends before the first sample starts
  ];
  const c = tailCauses(times, 7, 1, threads);
  assert.equal(c.over, 7);
  assert.equal(c.analysed, 4);
  assert.equal(c.senderLate, 1);
  assert.equal(c.gcOverlap, 2);
  assert.deepEqual(c.gcOverlapByThread, { main: 1, leader: 1, follower: 1 });
  assert.ok(Math.abs(c.gcCoveredShare - (2 + 6) / (5 + 4 + 2 + 10)) < 1e-12, `${c.gcCoveredShare}`);
  assert.equal(c.neither, 1);
  assert.match(tailCausesText(c, true), /4 of 7 above 1 ms\): 25\.0% sent late .*; 50\.0% overlapped a GC pause \(main 25\.0%, leader 25\.0%, follower 25\.0%; pauses covered 38% of their time\); 25\.0% neither/);
});
