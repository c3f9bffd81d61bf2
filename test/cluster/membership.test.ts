import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProposalError } from '../../src/cluster/client.js';
import { Cluster, ReadFailedError } from '../../src/index.js';
import { KvClient } from '../../src/kv/kv-client.js';
import { KvOp, encodeCommand } from '../../src/kv/kv-codec.js';
import { ENV_SEED, Harness, cmd, scenario, sleep, withSeed } from './harness.js';

/**
 * Membership changes on real workers (cluster.addPeer/removePeer/replacePeer), under a stream
 * of proposals from the ring client; the harness checks every peer's applied log (same entry
 * at each index, in order, no gaps), the added peers' included.
 */

/** Proposes numbered commands from `streams` concurrent loops until stopped; counts commits. */
function load(h: Harness, streams = 4): { stop: () => Promise<number> } {
  const client = h.cluster.client();
  let stopped = false;
  let committed = 0;
  const loop = async (s: number) => {
    for (let k = 0; !stopped; k++) {
      try {
        await client.propose(cmd(s * 1e9 + k), { timeoutMs: 20_000 });
        committed++;
      } catch (e) {
        // A removed leader cannot learn whether what it accepted last committed: honest 'unknown'.
        if (!(e instanceof ProposalError && e.reason === 'unknown')) throw e;
      }
    }
  };
  const all = Array.from({ length: streams }, (_, s) => loop(s + 1));
  return { stop: async () => { stopped = true; await Promise.all(all); return committed; } };
}

/** Waits until every running peer has applied at least `index`. */
async function allApplied(h: Harness, index: number, peers: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (peers.some((p) => (h.lastApplied[p] ?? 0) < index)) {
    if (Date.now() > deadline) throw new Error(`peers did not apply ${index}: ${peers.map((p) => `${p}@${h.lastApplied[p] ?? 0}`).join(' ')}`);
    await sleep(20);
  }
  h.throwIfErrors();
}

test('addPeer under load: the new peer catches up, votes, and applies the same log', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    await c.waitForLeader();
    const traffic = load(h);
    await sleep(200);
    const id = await c.addPeer();
    assert.equal(id, 3);
    const m = await c.membership();
    assert.deepEqual(m.voters, [0, 1, 2, 3]);
    assert.deepEqual(m.learners, []);
    assert.ok(m.committed);
    await sleep(200);
    const n = await traffic.stop();
    assert.ok(n > 0);
    const idx = await h.one(cmd(-1), 4, true); // all four apply it
    await allApplied(h, idx, [0, 1, 2, 3]);
    assert.deepEqual(c.peerIds(), [0, 1, 2, 3]);
  });
});

test('grow 3 to 5 and shrink 5 to 3 under load', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    await c.waitForLeader();
    const traffic = load(h);
    assert.deepEqual([await c.addPeer(), await c.addPeer()], [3, 4]);
    assert.deepEqual((await c.membership()).voters, [0, 1, 2, 3, 4]);
    await c.removePeer(0);
    await c.removePeer(1);
    assert.deepEqual((await c.membership()).voters, [2, 3, 4]);
    assert.ok((await traffic.stop()) > 0);
    const idx = await h.one(cmd(-6), 3, true);
    await allApplied(h, idx, [2, 3, 4]);
  });
});

test('addPeer({ voter: false }) adds a learner; the client reaches a peer added as voter once it leads', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    await c.waitForLeader();
    const learner = await c.addPeer({ voter: false });
    let m = await c.membership();
    assert.deepEqual(m.learners, [learner]);
    assert.deepEqual(m.voters, [0, 1, 2]);
    await assert.rejects(c.transferLeader(learner), /not a voter/);
    const voter = await c.addPeer();
    m = await c.membership();
    assert.deepEqual(m.voters, [0, 1, 2, voter]);
    await c.transferLeader(voter);
    // The client was made before: it must have attached the new peer's ring to commit through it.
    const r = await c.client().propose(cmd(7), { timeoutMs: 10_000 });
    assert.equal((await c.peer(voter).getState()).isLeader, true);
    await allApplied(h, r.index, [0, 1, 2, learner, voter]);
  });
});

test('removePeer of a follower under load: commits go on, the peer is stopped and cannot come back', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    const { leader } = await c.waitForLeader();
    const follower = (leader + 1) % 3;
    const traffic = load(h);
    await sleep(200);
    await c.removePeer(follower);
    const m = await c.membership();
    assert.deepEqual(m.voters, [0, 1, 2].filter((p) => p !== follower));
    assert.equal(c.isAlive(follower), false);
    assert.equal(c.isRemoved(follower), true);
    await sleep(200);
    await traffic.stop();
    const idx = await h.one(cmd(-2), 2, true);
    await allApplied(h, idx, m.voters);
    await assert.rejects(c.restart(follower), /was removed/);
    await assert.rejects(c.peer(follower).getState(), /was removed/);
    assert.throws(() => c.client().submit(cmd(1), follower), (e: unknown) => e instanceof ProposalError && e.reason === 'crashed');
  });
});

test('removePeer of the leader under load: it hands the leadership to another voter first, then leaves; commits go on', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    const { leader } = await c.waitForLeader();
    const traffic = load(h);
    await sleep(200);
    await c.removePeer(leader);
    const next = await c.waitForLeader();
    assert.notEqual(next.leader, leader);
    await sleep(200);
    const n = await traffic.stop();
    assert.ok(n > 0);
    const rest = [0, 1, 2].filter((p) => p !== leader);
    assert.deepEqual((await c.membership()).voters, rest);
    const idx = await h.one(cmd(-3), 2, true);
    await allApplied(h, idx, rest);
  });
});

test('replacePeer of a crashed peer: a fresh peer with empty storage takes its place', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    const { leader } = await c.waitForLeader();
    for (let k = 0; k < 20; k++) await h.one(cmd(k), 3, true);
    const dead = (leader + 2) % 3;
    await c.crash(dead);
    const fresh = await c.replacePeer(dead);
    assert.equal(fresh, 3);
    assert.deepEqual((await c.membership()).voters, [0, 1, 2, 3].filter((p) => p !== dead));
    const idx = await h.one(cmd(-4), 3, true);
    await allApplied(h, idx, [0, 1, 2, 3].filter((p) => p !== dead));
  });
});

test('bad membership changes are refused with a message that names the problem; the cluster keeps working', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    await c.waitForLeader();
    await assert.rejects(c.removePeer(7), (e: Error) => e instanceof RangeError && /peer 7 is not a member/.test(e.message));
    // a peer id of the wrong type names its type, not 'peer 0 is not a member' while 0 is one
    await assert.rejects(c.removePeer('0' as never), (e: Error) => e instanceof TypeError && /peer id must be an integer, got string "0"/.test(e.message));
    await assert.rejects(c.replacePeer('0' as never), (e: Error) => e instanceof TypeError && /got string "0"/.test(e.message));
    await assert.rejects(c.addPeer({ voter: 'yes' as never }), (e: Error) => e instanceof TypeError && /option voter must be a boolean, got string "yes"/.test(e.message));
    await assert.rejects(c.addPeer({ votr: false } as never), (e: Error) => e instanceof TypeError && /unknown option votr for addPeer\(\): did you mean voter\?/.test(e.message));
    await assert.rejects(c.addPeer({ timeoutMs: -1 }), RangeError);
    // a misspelt option name is refused rather than meaning the default deadline
    for (const call of [() => c.removePeer(1, { timeout: 5 } as never), () => c.replacePeer(1, { timeout: 5 } as never),
      () => c.membership({ timeout: 5 } as never), () => c.transferLeader(1, { timeout: 5 } as never)]) {
      await assert.rejects(call(), (e: Error) => e instanceof TypeError && /unknown option timeout for \w+\(\d?\): did you mean timeoutMs\?/.test(e.message));
    }
    // queued behind the first, a deadline past setTimeout's limit (Infinity) must not expire at once
    assert.deepEqual(await Promise.all([c.addPeer(), c.addPeer({ timeoutMs: Infinity })]), [3, 4]);
    await c.removePeer(4);
    await c.removePeer(3);
    await assert.rejects(c.removePeer(3), /not a member/);
    await assert.rejects(c.transferLeader(3), /removed from the cluster/);
    await h.one(cmd(-5), 3, true);
  });
});

test('membership changes called together run one at a time, in call order; one that cannot start by its deadline fails and never starts', async () => {
  await scenario(3, {}, async (h) => {
    const c = h.cluster;
    await c.waitForLeader();
    // Called in one turn: each starts from the configuration the one before left.
    const adding = c.addPeer();
    const late = c.addPeer({ timeoutMs: 50 }); // still waiting for the first when its deadline passes
    const removing = c.removePeer(1);
    const learner = c.addPeer({ voter: false });
    await assert.rejects(late, (e: Error) => e.name === 'ConfChangeError' && /addPeer\(\) timed out waiting for addPeer\(\) of peer 3 to finish/.test(e.message));
    assert.equal(await adding, 3);
    await removing;
    assert.equal(await learner, 4, 'the timed-out addPeer took no id');
    const m = await c.membership();
    assert.deepEqual([...m.voters].sort(), [0, 2, 3]);
    assert.deepEqual(m.learners, [4]);
    assert.ok(c.isRemoved(1));
    const idx = await h.one(cmd(-6), 3, true);
    await allApplied(h, idx, [0, 2, 3, 4]);
  });
});

test('removing the last voter is refused', async () => {
  await scenario(1, {}, async (h) => {
    const c = h.cluster;
    await c.waitForLeader();
    await assert.rejects(c.removePeer(0), (e: Error) => e.name === 'ConfChangeError' && /last voter/.test(e.message));
    await h.one(cmd(1), 1, true);
  });
});

test('sessions and reads follow the membership: a read on an added peer, writes after its leader was removed', async () => {
  const KV_MODULE = new URL('../../src/kv/kv-state-machine-module.js', import.meta.url);
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE, seed: ENV_SEED });
  try {
    await cluster.waitForLeader();
    const client = cluster.client();
    const kv = new KvClient(await cluster.session(), {}, client);
    await kv.put('a', '1');
    const id = await cluster.addPeer();
    await kv.put('b', '2');
    const get = (key: string) => encodeCommand({ op: KvOp.Get, key: new TextEncoder().encode(key) });
    // The client made before addPeer reads on the new peer through its read ring.
    const r = await client.read(get('b'), { peer: id, mode: 'follower' });
    assert.ok(r.byteLength > 0, 'the added peer answered');
    const { leader } = await cluster.waitForLeader();
    await cluster.removePeer(leader);
    await kv.put('c', '3'); // the session finds the new leader
    assert.equal(await kv.getText('c'), '3');
    assert.equal(await kv.getText('a'), '1');
    await assert.rejects(client.read(get('a'), { peer: leader }), (e: unknown) => e instanceof ReadFailedError && e.reason === 'crashed');
  } catch (e) {
    throw withSeed(e, cluster.seed);
  } finally {
    await cluster.stop();
  }
});
