import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../../src/index.js';
import { sleep } from './harness.js';

const SM = new URL('../../bench/state-machines/hash-state-machine.js', import.meta.url);

async function leaderOf(c: Cluster): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    for (let i = 0; i < c.size; i++) if (c.isAlive(i) && c.isConnected(i) && (await c.peer(i).getState()).isLeader) return i;
    await sleep(50);
  }
  throw new Error('no leader');
}

test('automatic snapshots inside the worker compact the log, and a lagging peer catches up by InstallSnapshot', async () => {
  const c = await Cluster.start({ peers: 3, stateMachine: SM, snapshotPolicy: { entries: 100 }, snapshotChunkBytes: 4 });
  try {
    const events: Array<{ peer: number; type: string; index: number }> = [];
    c.onApply((e) => { if (e.type === 'snapshot') events.push({ peer: e.peer, type: e.type, index: e.index }); });
    const client = c.client();
    const leader = await leaderOf(c);
    client.leader = leader;
    const lagging = (leader + 1) % 3;
    c.disconnect(lagging);
    const all: Array<Promise<{ index: number }>> = [];
    for (let k = 0; k < 1000; k++) all.push(client.propose(new Uint8Array([k & 255, k >> 8])));
    const results = await Promise.all(all);
    const last = Math.max(...results.map((r) => r.index));
    assert.equal(last, 1001, 'the 1000 commands follow the leader\'s no-op entry at index 1');
    const s = await c.peer(leader).stats();
    assert.ok(s.snapshotIndex >= 900, `leader snapshot index ${s.snapshotIndex}`);
    assert.ok(s.logEntries < 200, `leader still holds ${s.logEntries} entries`);
    c.connect(lagging);
    for (let tries = 0; tries < 100; tries++) {
      if ((await c.peer(lagging).stats()).appliedIndex >= last) break;
      await sleep(50);
    }
    const lag = await c.peer(lagging).stats();
    assert.ok(lag.appliedIndex >= last, `lagging peer applied only ${lag.appliedIndex}`);
    const installed = events.filter((e) => e.peer === lagging);
    assert.ok(installed.length >= 1, 'the lagging peer never installed a snapshot');
    assert.ok(installed[0].index >= 900);
  } finally {
    await c.stop();
  }
});

test('snapshotPolicy without a stateMachine module is refused', async () => {
  await assert.rejects(Cluster.start({ peers: 3, snapshotPolicy: { entries: 10 } }), /snapshotPolicy needs option stateMachine/);
  await assert.rejects(Cluster.start({ peers: 3, stateMachine: SM, snapshotPolicy: { entries: 0 } }), /snapshotPolicy.entries must be a positive integer/);
});

test('invalid cluster options are refused with the option named', async () => {
  await assert.rejects(Cluster.start({ peers: 0 }), /option peers must be a positive integer/);
  await assert.rejects(Cluster.start({ peers: 3, heartbeatMs: -5 }), /option heartbeatMs must be a positive number/);
  await assert.rejects(Cluster.start({ peers: 3, heartbeatMs: 100, electionTimeoutMs: 100 }), /option electionTimeoutMs \(100\) must be larger than heartbeatMs \(100\)/);
  await assert.rejects(Cluster.start({ peers: 3, maxCommandBytes: 1.5 }), /option maxCommandBytes must be a positive integer/);
});

test('no-op entries: a new leader appends one, the apply stream skips it, and 0-byte commands are refused', async () => {
  const c = await Cluster.start({ peers: 3 });
  try {
    const seen: number[] = [];
    c.onApply((e) => { if (e.type === 'command') { assert.ok(e.command.byteLength > 0, 'a no-op reached the apply stream'); seen.push(e.index); } });
    const client = c.client();
    client.leader = await leaderOf(c);
    const { index } = await client.propose(new Uint8Array([7]));
    assert.equal(index, 2, 'index 1 holds the first leader\'s no-op');
    assert.throws(() => c.peer(client.leader).start(new Uint8Array(0)), { name: 'RangeError', message: /reserved for the no-op/ });
    for (let tries = 0; tries < 100 && seen.length < 3; tries++) await sleep(20);
    assert.deepEqual(seen, [2, 2, 2]);
  } finally {
    await c.stop();
  }
});
