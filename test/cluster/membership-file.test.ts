import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Cluster } from '../../src/cluster/cluster.js';
import { cmd, withSeed } from './harness.js';

/** A cluster restarted on its data directory comes back with the membership it had grown to. */

const ENV_SEED = process.env.RAFT_SEED ? Number(process.env.RAFT_SEED) : undefined;

test('restart on file storage after addPeer and removePeer: the grown membership comes back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-membership-'));
  const options = { peers: 3, storage: { dir, fsync: 'batch' as const }, seed: ENV_SEED };
  let c = await Cluster.start(options);
  try {
    await c.waitForLeader();
    await c.client().propose(cmd(1));
    assert.equal(await c.addPeer(), 3);
    await c.removePeer(0);
    await c.client().propose(cmd(2));
    await c.stop();

    c = await Cluster.start(options);
    assert.deepEqual(c.peerIds(), [1, 2, 3]);
    assert.equal(c.isAlive(0), false, 'a removed peer is not started again');
    await c.waitForLeader();
    const m = await c.membership();
    assert.deepEqual(m.voters, [1, 2, 3]);
    const applied = new Promise<void>((resolve) => c.onApply((e) => { if (e.peer === 3 && e.type === 'command' && e.command[7] === cmd(3)[7]) resolve(); }));
    await c.client().propose(cmd(3));
    await applied; // the added peer runs again, from its own directory
    await c.stop();

    // The current count is accepted too; any other count is refused, naming both.
    c = await Cluster.start({ ...options, peers: 3 });
    await c.stop();
    await assert.rejects(Cluster.start({ ...options, peers: 5 }), /created with 3 peers that now has 3/);
  } catch (e) {
    throw withSeed(e, c.seed);
  } finally {
    await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
