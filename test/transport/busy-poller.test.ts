import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyPoller, REST_REQUESTS, SPIN_ROUND } from '../../src/transport/busy-poller.js';
import { RingBuffer } from '../../src/transport/ring.js';
import { SpinGate } from '../../src/transport/spin-gate.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
/** Lets the poller's spin (queued with setImmediate) run. */
const afterSpin = async () => { await turn(); await turn(); };

test('a spin with nothing to read polls for its whole budget, at the end of the turn', async () => {
  const gate = SpinGate.create(true);
  const p = new BusyPoller(3000, gate, () => true);
  p.watch(RingBuffer.create(1024));
  p.expectAnswer();
  assert.equal(gate.takeSpinMicros(), 0, 'nothing spun inside the call');
  await afterSpin();
  assert.ok(gate.takeSpinMicros() >= 3000, 'spun for the 3 ms budget');
});

test('a spin ends as soon as a watched ring holds data', async () => {
  const gate = SpinGate.create(true);
  const quiet = RingBuffer.create(1024), busy = RingBuffer.create(1024);
  const p = new BusyPoller(10_000_000, gate, () => true); // 10 s: the data must end it
  p.watch(quiet);
  p.watch(busy);
  assert.ok(busy.tryWrite(new Uint8Array([1, 2, 3])));
  p.expectAnswer();
  await afterSpin();
  assert.ok(gate.takeSpinMicros() < 10_000_000, 'left before its budget');
  assert.equal(busy.read()?.length, 3, 'and left the record for the ring\'s reader');
});

test('a closed gate, a heavy load or a zero budget spin not at all', async () => {
  const gate = SpinGate.create(false);
  let asked = 0;
  const closed = new BusyPoller(5000, gate, () => { asked++; return true; });
  closed.watch(RingBuffer.create(1024));
  closed.expectAnswer();
  await afterSpin();
  assert.equal(gate.takeSpinMicros(), 0);
  assert.equal(asked, 0, 'a closed gate is seen before anything is scheduled');

  gate.setIdleCores(Infinity);
  const heavy = new BusyPoller(5000, gate, () => { asked++; return false; });
  heavy.watch(RingBuffer.create(1024));
  heavy.expectAnswer();
  await afterSpin();
  assert.equal(asked, 1);
  assert.equal(gate.takeSpinMicros(), 0, 'too many commands in flight: no spin');

  const off = new BusyPoller(0, null, () => { asked++; return true; });
  assert.equal(off.enabled, false);
  off.expectAnswer();
  await afterSpin();
  assert.equal(asked, 1, 'a zero budget schedules nothing');
});

test('a spinner runs only while the gate reports the idle cores it needs', async () => {
  const gate = SpinGate.create(false);
  gate.setIdleCores(1.5);
  const ring = RingBuffer.create(1024);
  const needsTwo = new BusyPoller(2000, gate, () => true, 2);
  needsTwo.watch(ring);
  needsTwo.expectAnswer();
  await afterSpin();
  assert.equal(gate.takeSpinMicros(), 0, '1.5 idle cores: not enough for a spinner that needs 2');
  const needsOne = new BusyPoller(2000, gate, () => true, 1);
  needsOne.watch(ring);
  needsOne.expectAnswer();
  await afterSpin();
  assert.ok(gate.takeSpinMicros() >= 2000, 'enough for one that needs 1');
});

test('requests sent within one turn share one spin; an unwatched ring is not polled', async () => {
  const gate = SpinGate.create(true);
  let spins = 0;
  const ring = RingBuffer.create(1024);
  const p = new BusyPoller(2000, gate, () => { spins++; return true; });
  p.watch(ring);
  p.watch(ring); // watched once
  p.unwatch(ring);
  assert.ok(ring.tryWrite(new Uint8Array([9])), 'data in a ring the poller no longer watches');
  p.expectAnswer();
  p.expectAnswer();
  await afterSpin();
  assert.equal(spins, 1);
  assert.ok(gate.takeSpinMicros() >= 2000, 'the unwatched ring\'s data did not end the spin');
});

test('spins that keep missing their answer rest for a while; spins that catch it go on', async () => {
  const gate = SpinGate.create(true);
  let missed = 0;
  const missing = new BusyPoller(100, gate, () => { missed++; return true; });
  missing.watch(RingBuffer.create(1024));
  for (let k = 0; k < SPIN_ROUND; k++) { missing.expectAnswer(); await afterSpin(); }
  assert.equal(missed, SPIN_ROUND);
  assert.ok(gate.takeSpinMicros() >= SPIN_ROUND * 100, 'a round of spins, each to its budget');
  for (let k = 0; k < REST_REQUESTS; k++) { missing.expectAnswer(); if (k % 64 === 0) await afterSpin(); }
  await afterSpin();
  assert.equal(missed, SPIN_ROUND, `the next ${REST_REQUESTS} requests went without`);
  assert.equal(gate.takeSpinMicros(), 0);
  missing.expectAnswer();
  await afterSpin();
  assert.equal(missed, SPIN_ROUND + 1, 'then it tries again');

  let caught = 0;
  const catching = new BusyPoller(1_000_000, gate, () => { caught++; return true; });
  const full = RingBuffer.create(1024);
  assert.ok(full.tryWrite(new Uint8Array([1])));
  catching.watch(full);
  for (let k = 0; k < 3 * SPIN_ROUND; k++) { catching.expectAnswer(); await afterSpin(); }
  assert.equal(caught, 3 * SPIN_ROUND, 'every spin found its answer: no rest');
});

test('a budget that is not a finite number >= 0 is refused with its name', () => {
  assert.throws(() => new BusyPoller(-1, null, () => true), /busy poll: maxMicros must be a finite number >= 0, got -1/);
  assert.throws(() => new BusyPoller(Infinity, null, () => true), RangeError);
});

test('the spin gate is shared through its buffer, holds the idle cores and tallies the spinning time', () => {
  const a = SpinGate.create(false);
  const b = new SpinGate(a.sab);
  assert.equal(b.allows(0.01), false, 'created closed');
  a.setIdleCores(2.5);
  assert.equal(b.allows(2.5), true);
  assert.equal(b.allows(2.6), false);
  a.setIdleCores(Infinity);
  assert.equal(b.allows(1e6), true, 'always: open to any spinner');
  assert.equal(SpinGate.create(true).allows(64), true);
  b.addSpin(1.5); // ms
  a.addSpin(0.25);
  assert.equal(a.takeSpinMicros(), 1750);
  assert.equal(b.takeSpinMicros(), 0, 'taking restarts the tally');
  assert.throws(() => new SpinGate(new SharedArrayBuffer(4)), /spin gate: expected a SharedArrayBuffer of at least 8 bytes/);
});
