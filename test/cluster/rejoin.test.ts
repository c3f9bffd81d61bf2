import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../../src/cluster/cluster.js';
import { withSeed } from './harness.js';

// Pre-vote and vote stickiness on real workers: a follower cut off for longer than several
// election timeouts, or restarted, comes back without an election. The election timeout is
// long (1 s) so that the busy test machine does not starve the healthy peers into one.
const ENV_SEED = process.env.RAFT_SEED ? Number(process.env.RAFT_SEED) : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const peers of [3, 5]) {
  test(`${peers} peers: a partitioned follower and a restarted follower rejoin without changing the leader or the term`, { timeout: 120_000 }, async () => {
    const c = await Cluster.start({ peers, seed: ENV_SEED, electionTimeoutMs: 1000, heartbeatMs: 100 });
    try {
      const { leader, term } = await c.waitForLeader();
      const client = c.client();
      client.leader = leader;
      let stop = false;
      let n = 0;
      const load = (async () => {
        while (!stop) await client.propose(new TextEncoder().encode(`c${n++}`), { timeoutMs: 20_000 });
      })();
      const follower = (leader + 1) % peers;
      const steady = async (what: string) => {
        const at = n;
        const deadline = Date.now() + 20_000;
        while (n < at + 20 && Date.now() < deadline) await sleep(20); // commits go on after the rejoin
        assert.ok(n >= at + 20, `${what}: commits stalled`);
        const s = await c.peer(leader).getState();
        assert.equal(s.isLeader, true, `${what}: peer ${leader} no longer leads`);
        assert.equal(s.term, term, `${what}: the term moved from ${term} to ${s.term}`);
        const f = await c.peer(follower).getState();
        assert.equal(f.term, term, `${what}: the follower is at term ${f.term}, the leader at ${term}`);
        assert.equal(f.leaderHint, leader, `${what}: the follower does not follow peer ${leader}`);
      };

      c.disconnect(follower);
      await sleep(3000); // three election timeouts: without pre-vote the follower would raise its term
      c.connect(follower);
      await sleep(500);
      await steady('after a 3 s partition');

      await c.crash(follower);
      await sleep(1500);
      await c.restart(follower);
      await sleep(500);
      await steady('after a restart');
      stop = true;
      await load;
    } catch (e) {
      throw withSeed(e, c.seed);
    } finally {
      await c.stop();
    }
  });
}
