import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Cluster } from '../../src/index.js';
import { sleep } from './harness.js';

const SM = new URL('./apply-log-state-machine.js', import.meta.url);
const idCommand = (id: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setUint32(0, id, true); return b; };

test('a command held by a leader cut off from the other peers is resent after resendAfterMs and applied once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'raft-silence-'));
  process.env.RAFT_TEST_APPLY_DIR = dir;
  const c = await Cluster.start({ peers: 3, stateMachine: SM, sessions: true });
  try {
    const { leader } = await c.waitForLeader();
    const s = await c.session();
    await s.propose(idCommand(1));
    assert.throws(() => { s.resendAfterMs = 0; }, /resendAfterMs must be a positive number/);
    s.resendAfterMs = 300;
    // The client still reaches the old leader through its ring, so the command goes there and is
    // accepted; the old leader cannot commit it and never hears of its successor.
    c.disconnect(leader);
    const started = performance.now();
    const r = await s.propose(idCommand(2), { timeoutMs: 15_000 });
    const took = performance.now() - started;
    assert.equal(r.result[0], 1, 'applied once on the peer that answered');
    assert.ok(took >= 300, `answered after ${took.toFixed(0)} ms: before any resend could have been sent`);
    const { leader: next } = await c.waitForLeader({ timeoutMs: 10_000 });
    assert.notEqual(next, leader);
    // Heal: the old leader learns the new log; every peer applied each command once.
    c.connect(leader);
    await s.propose(idCommand(3));
    for (let tries = 0; tries < 100; tries++) {
      const logs = [0, 1, 2].map((p) => existsSync(path.join(dir, `peer-${p}.log`)) ? readFileSync(path.join(dir, `peer-${p}.log`), 'utf8') : '');
      if (logs.every((l) => /(^|\n)3\n/.test(l))) break;
      await sleep(100);
    }
    for (let p = 0; p < 3; p++) {
      const ids = readFileSync(path.join(dir, `peer-${p}.log`), 'utf8').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
      assert.deepEqual(ids, [1, 2, 3], `peer ${p} applied ${ids.join(', ')}`);
    }
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
