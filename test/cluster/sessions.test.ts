import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Cluster, SessionError } from '../../src/index.js';
import { sleep } from './harness.js';

const SM = new URL('./apply-log-state-machine.js', import.meta.url);

const idCommand = (id: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setUint32(0, id, true); return b; };

test('with sessions, commands proposed through repeated leader crashes take effect exactly once on every peer', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'raft-sessions-'));
  process.env.RAFT_TEST_APPLY_DIR = dir;
  const c = await Cluster.start({ peers: 3, stateMachine: SM, sessions: true });
  try {
    await c.waitForLeader();
    const s = await c.session();
    let next = 0;
    let crashing = true;
    const results: number[] = [];
    const worker = async () => {
      while (crashing || next < 300) {
        const id = next++;
        const r = await s.propose(idCommand(id), { timeoutMs: 30_000 });
        results.push(r.result[0]);
      }
    };
    const proposers = Promise.all([worker(), worker(), worker(), worker()]);
    // Crash whoever leads, three times, while the proposals go on.
    for (let k = 0; k < 3; k++) {
      await sleep(150);
      const { leader } = await c.waitForLeader();
      await c.crash(leader);
      await sleep(200);
      await c.restart(leader);
    }
    const duringCrashes = next;
    crashing = false;
    await proposers;
    const total = next;
    assert.ok(duringCrashes > 20, `only ${duringCrashes} commands were proposed during the crashes`);
    assert.equal(results.length, total);
    assert.ok(results.every((n) => n === 1), 'every result says: applied once on the peer that answered');
    // Let every peer catch up, then read what each user state machine applied.
    await c.waitForLeader();
    await s.propose(idCommand(1_000_000));
    for (let tries = 0; tries < 100; tries++) {
      const logs = [0, 1, 2].map((p) => existsSync(path.join(dir, `peer-${p}.log`)) ? readFileSync(path.join(dir, `peer-${p}.log`), 'utf8') : '');
      if (logs.every((l) => l.includes('1000000\n'))) break;
      await sleep(100);
    }
    for (let p = 0; p < 3; p++) {
      // A restarted peer re-applies its log from the start (memory state machine, no snapshot): count per life.
      const lives = readFileSync(path.join(dir, `peer-${p}.log`), 'utf8').split('start\n').filter((l) => l !== '');
      const last = lives[lives.length - 1].trim().split('\n').map(Number);
      const ids = last.filter((id) => id !== 1_000_000);
      assert.equal(new Set(ids).size, ids.length, `peer ${p} applied a command twice: ${ids.length - new Set(ids).size} duplicates`);
      assert.equal(ids.length, total, `peer ${p} applied ${ids.length} of ${total} commands`);
    }
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sessions need the option; a session command too large is refused synchronously', async () => {
  const c = await Cluster.start({ peers: 1, maxCommandBytes: 64 });
  try {
    await assert.rejects(c.session(), /sessions: true/);
  } finally {
    await c.stop();
  }
  const d = await Cluster.start({ peers: 1, maxCommandBytes: 64, sessions: true });
  try {
    await d.waitForLeader();
    const s = await d.session();
    await assert.rejects(s.propose(new Uint8Array(64)), /session header/);
    const r = await s.propose(new Uint8Array([1, 2, 3]));
    assert.equal(r.duplicate, false);
    await d.stop();
    await assert.rejects(s.propose(new Uint8Array([4])), (e: unknown) => e instanceof SessionError && e.reason === 'stopped');
  } finally {
    await d.stop();
  }
});
