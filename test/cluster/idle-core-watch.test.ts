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

test('the gate is closed until the first sample, then holds the idle cores sampled; stop() closes it', async () => {
  const gate = SpinGate.create(true);
  const w = new IdleCoreWatch(gate);
  assert.equal(gate.allows(0.01), false, 'closed until the first sample');
  await sampled(w);
  const idle = w.idleCores;
  assert.ok(idle >= 0);
  assert.equal(gate.allows(Math.floor(idle * 100) / 100), true, `allows the ${idle} idle cores sampled`);
  assert.equal(gate.allows(idle + 0.02), false, 'and no more');
  w.stop();
  assert.equal(gate.allows(0.01), false);
});

test('a margin of spare cores larger than the machine keeps the gate closed', async () => {
  const gate = SpinGate.create(false);
  const w = new IdleCoreWatch(gate, 1_000_000);
  await sampled(w);
  assert.equal(gate.allows(0.01), false);
  assert.equal(w.openSamples, 0);
  assert.ok(w.samples >= 1);
  w.stop();
});

test('time spent spinning counts as idle, so spinning alone does not close the gate', async () => {
  const gate = SpinGate.create(false);
  const w = new IdleCoreWatch(gate);
  await sampled(w);
  const before = w.idleCores;
  w.stop();
  const w2 = new IdleCoreWatch(gate);
  gate.addSpin(10_000); // as if 10 s had been spent spinning in the first interval
  await sampled(w2);
  assert.ok(w2.idleCores > before + 50, `the tally counted as idle (${w2.idleCores} against ${before})`);
  assert.equal(w2.spinMicros, 10_000_000);
  assert.equal(gate.allows(50), true);
  w2.stop();
});
