import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleCoreWatch } from '../../src/cluster/idle-core-watch.js';
import { SpinGate } from '../../src/transport/spin-gate.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits (up to 5 s) for the watch to take a sample that the CPU counters moved in. */
async function sampled(w: IdleCoreWatch): Promise<void> {
  for (let i = 0; i < 50 && Number.isNaN(w.idleCores); i++) await sleep(100);
  assert.ok(!Number.isNaN(w.idleCores), 'took a sample');
}

test('the gate starts closed, opens when the machine has the idle cores asked for, and closes on stop()', async () => {
  const gate = SpinGate.create(true);
  const w = new IdleCoreWatch(gate, 0); // any machine has 0 idle cores to spare
  assert.equal(gate.isOpen, false, 'closed until the first sample');
  await sampled(w);
  assert.ok(w.idleCores >= 0);
  assert.equal(gate.isOpen, true);
  w.stop();
  assert.equal(gate.isOpen, false);
});

test('no machine has more idle cores than it has cores: the gate stays closed', async () => {
  const gate = SpinGate.create(false);
  const w = new IdleCoreWatch(gate, 1_000_000);
  await sampled(w);
  assert.equal(gate.isOpen, false);
  w.stop();
});

test('time spent spinning counts as idle, so spinning alone does not close the gate', async () => {
  const gate = SpinGate.create(false);
  const w = new IdleCoreWatch(gate, 0);
  await sampled(w);
  const before = w.idleCores;
  w.stop();
  const w2 = new IdleCoreWatch(gate, 0);
  gate.addSpin(10_000); // as if 10 s had been spent spinning in the first interval
  await sampled(w2);
  assert.ok(w2.idleCores > before + 50, `the tally counted as idle (${w2.idleCores} against ${before})`);
  w2.stop();
});
