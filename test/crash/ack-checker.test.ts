/** The crash tests' durability check itself: it must flag every way an acknowledged write can go missing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAcks } from './ack-checker.js';
import { AckLog } from './crash-driver.js';

const log = (entries: Array<[number, string]>) => new Map(entries);

test('acknowledged commands on every peer, or on a bare majority, pass', () => {
  const acks = log([[1, 'a'], [2, 'b']]);
  assert.equal(checkAcks(acks, [log([[1, 'a'], [2, 'b']]), log([[1, 'a'], [2, 'b']]), log([[1, 'a'], [2, 'b']])]).lostCount, 0);
  assert.equal(checkAcks(acks, [log([[1, 'a'], [2, 'b']]), log([[1, 'a'], [2, 'b']]), log([])]).lostCount, 0);
});

test('a command held by a minority only is lost', () => {
  const r = checkAcks(log([[1, 'a'], [2, 'b']]), [log([[1, 'a'], [2, 'b']]), log([[1, 'a']]), log([[1, 'a']])]);
  assert.equal(r.lostCount, 1);
  assert.match(r.lost[0], /index 2 \(b\) is on 1 of 3 peers \(peer 1: nothing, peer 2: nothing\)/);
});

test('a command overwritten by another at its index is lost', () => {
  const r = checkAcks(log([[1, 'a']]), [log([[1, 'x']]), log([[1, 'x']]), log([[1, 'a']])]);
  assert.equal(r.lostCount, 1);
  assert.match(r.lost[0], /peer 0: x, peer 1: x/);
});

test('a command present but at another index is lost (order matters)', () => {
  const r = checkAcks(log([[1, 'a'], [2, 'b']]), [log([[1, 'b'], [2, 'a']]), log([[1, 'b'], [2, 'a']]), log([[1, 'b'], [2, 'a']])]);
  assert.equal(r.lostCount, 2);
});

test('every loss is counted, the first ten are described', () => {
  const acks = log(Array.from({ length: 25 }, (_, i) => [i + 1, `k${i}`] as [number, string]));
  const r = checkAcks(acks, [log([]), log([]), log([])]);
  assert.equal(r.checked, 25);
  assert.equal(r.lostCount, 25);
  assert.equal(r.lost.length, 10);
});

test('the ack log flags a second, different command at an acknowledged index', () => {
  const a = new AckLog();
  a.add(1, 'a', 'round 1');
  a.add(1, 'a', 'round 2'); // re-applied after a restart: the same command
  assert.deepEqual(a.conflicts, []);
  a.add(1, 'b', 'round 3');
  assert.equal(a.conflicts.length, 1);
  assert.match(a.conflicts[0], /index 1: a was acknowledged, then round 3 acknowledged b/);
});
