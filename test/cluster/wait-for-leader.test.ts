import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../../src/index.js';

const hello = new TextEncoder().encode('hello');

test('waitForLeader resolves with the peer that leads, and start() there is accepted', async () => {
  const c = await Cluster.start({ peers: 3 });
  try {
    const { leader, term } = await c.waitForLeader({ timeoutMs: 10_000 });
    assert.ok(Number.isInteger(leader) && leader >= 0 && leader < 3, `leader ${leader}`);
    assert.ok(term >= 1, `term ${term}`);
    const s = await c.peer(leader).getState();
    // Under load a new election may have happened meanwhile; then the term moved on.
    if (s.term === term) assert.equal(s.isLeader, true);
    else assert.ok(s.term > term);
  } finally {
    await c.stop();
  }
});

test('a non-leader answers start() with a hint naming the leader; the leader hints itself', async () => {
  const c = await Cluster.start({ peers: 3 });
  try {
    const deadline = Date.now() + 10_000;
    let checked = false;
    while (!checked && Date.now() < deadline) {
      const { leader } = await c.waitForLeader();
      const follower = (leader + 1) % 3;
      const r = await c.peer(follower).start(hello);
      if (r.leaderHint < 0) { await new Promise((res) => setTimeout(res, 20)); continue; } // has not heard a heartbeat yet
      assert.equal(r.isLeader, false);
      assert.equal(r.index, -1);
      // The hint must name a peer that leads (or led in a term it has not heard the end of).
      const hinted = await c.peer(r.leaderHint).start(hello);
      if (hinted.term !== r.term) continue; // an election in between: try again
      assert.equal(hinted.isLeader, true, `peer ${follower} named peer ${r.leaderHint}, which does not lead term ${r.term}`);
      assert.equal(hinted.leaderHint, r.leaderHint);
      assert.ok(hinted.index > 0);
      checked = true;
    }
    assert.ok(checked, 'no follower gave a leader hint within 10 s');
  } finally {
    await c.stop();
  }
});

test('waitForLeader times out with an error naming the timeout and every peer\'s state', async () => {
  const c = await Cluster.start({ peers: 3, electionTimeoutMs: 200, heartbeatMs: 50 });
  try {
    for (let i = 0; i < 3; i++) c.disconnect(i); // no majority can form
    await c.crash(2);
    // A leader elected before the disconnect steps down after an election timeout (check-quorum),
    // and each follower forgets it once its own timeout fires; on a busy machine that can take
    // a while, so wait for it rather than race it.
    const settled = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all([c.peer(0).getState(), c.peer(1).getState()]);
      if (states.every((s) => !s.isLeader && s.leaderHint < 0)) break;
      assert.ok(Date.now() < settled, `peers still report a leader 20 s after the disconnect: ${JSON.stringify(states)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await assert.rejects(c.waitForLeader({ timeoutMs: 300 }), (e: Error) => {
      assert.match(e.message, /no leader elected within 300 ms/);
      assert.match(e.message, /peer 0: term \d+, not leader, knows no leader/);
      assert.match(e.message, /peer 1: term \d+, not leader, knows no leader/);
      assert.match(e.message, /peer 2: crashed/);
      return true;
    });
    await assert.rejects(c.waitForLeader({ timeoutMs: -1 }), /timeoutMs must be a non-negative number, got -1/);
    await assert.rejects(c.waitForLeader({ timeout: 300 } as never), (e: Error) => e instanceof TypeError && /unknown option timeout for waitForLeader: did you mean timeoutMs\?/.test(e.message));
  } finally {
    await c.stop();
  }
});
