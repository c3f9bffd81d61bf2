import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../../src/cluster/cluster.js';
import { LeaderTransferError } from '../../src/core/leader-transfer.js';
import { withSeed } from './harness.js';

const ENV_SEED = process.env.RAFT_SEED ? Number(process.env.RAFT_SEED) : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withCluster(peers: number, body: (c: Cluster) => Promise<void>): Promise<void> {
  const c = await Cluster.start({ peers, seed: ENV_SEED, applyStream: false });
  try {
    await body(c);
  } catch (e) {
    throw withSeed(e, c.seed);
  } finally {
    await c.stop();
  }
}

test('leadership moves under a stream of proposals; commits go on (the gap is printed)', async (t) => {
  await withCluster(3, async (c) => {
    const { leader, term } = await c.waitForLeader();
    const client = c.client();
    const commits: number[] = [];
    let stop = false;
    let n = 0;
    const stream = async () => {
      while (!stop) {
        await client.propose(new TextEncoder().encode(`c${n++}`), { timeoutMs: 10_000 });
        commits.push(performance.now());
      }
    };
    const streams = [stream(), stream(), stream(), stream()];
    await sleep(300);
    const to = (leader + 1) % 3;
    const began = performance.now();
    await c.transferLeader(to);
    const ended = performance.now();
    const before = commits.length;
    await sleep(300);
    stop = true;
    await Promise.all(streams);
    assert.ok(commits.length > before, 'commits go on after the transfer');
    const now = await c.waitForLeader();
    assert.equal(now.leader, to, 'the target leads');
    assert.ok(now.term > term);
    const old = await c.peer(leader).getState();
    assert.equal(old.isLeader, false);
    assert.equal(old.leaderHint, to, 'the old leader follows the target');
    // Diagnostic only (shared machine): the longest stretch with no commit around the transfer.
    let gap = 0;
    for (let k = 1; k < commits.length; k++) {
      if (commits[k] >= began - 50 && commits[k - 1] <= ended + 50) gap = Math.max(gap, commits[k] - commits[k - 1]);
    }
    t.diagnostic(`transfer ${leader} -> ${to} took ${(ended - began).toFixed(1)} ms; longest gap without a commit around it: ${gap.toFixed(1)} ms; ${commits.length} commits`);
  });
});

test('refused and aborted transfers name the problem, and the cluster keeps working', async () => {
  await withCluster(3, async (c) => {
    const { leader } = await c.waitForLeader();
    await assert.rejects(c.transferLeader(leader), (e: Error) => e instanceof RangeError && /already leads/.test(e.message));
    await assert.rejects(c.transferLeader(7), (e: Error) => e instanceof RangeError && /out of range/.test(e.message));
    const target = (leader + 1) % 3;
    await c.crash(target);
    await assert.rejects(c.transferLeader(target), (e: Error) => e instanceof RangeError && /crashed/.test(e.message));
    await c.restart(target);
    c.disconnect(target); // it cannot hear TimeoutNow: the leader aborts after an election timeout
    await assert.rejects(c.transferLeader(target), (e: Error) => e instanceof LeaderTransferError && e.reason === 'aborted' && /did not win/.test(e.message));
    c.connect(target);
    const r = await c.client().propose(new Uint8Array([1]), { timeoutMs: 10_000 });
    assert.ok(r.index > 0, 'proposals commit again');
  });
});
