import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, ProposalError, StateMachineError } from '../../src/index.js';

const SM = new URL('./throwing-state-machine.js', import.meta.url);

test('a state machine that throws stops its peer, raises an event naming peer, index and error, and rejects the proposal', async () => {
  const c = await Cluster.start({ peers: 3, stateMachine: SM });
  try {
    const errors: Error[] = [];
    c.onFatal((e) => errors.push(e));
    const { leader } = await c.waitForLeader();
    const client = c.client();
    client.leader = leader;
    const ok = await client.propose(new Uint8Array([1]));
    assert.ok(ok.index > 0);
    const bad = client.propose(new Uint8Array([0xee]));
    await assert.rejects(bad, (e: unknown) => e instanceof ProposalError && e.reason === 'unknown' && e.cause instanceof StateMachineError && /bad command 0xee/.test((e.cause as Error).message));
    await new Promise((r) => setTimeout(r, 200));
    // The leader applies it first and stops; followers that learn the commit before it stopped do too.
    assert.ok(errors.length >= 1 && errors.some((e) => (e as StateMachineError).peer === leader), `fatal events: ${errors.map(String).join('; ')}`);
    for (const e of errors) {
      assert.ok(e instanceof StateMachineError);
      assert.equal(e.index, ok.index + 1);
      assert.match(e.message, /state machine of peer \d threw while applying entry \d+ .*bad command 0xee/);
      // the original error's name and message, not "Error: bad command 0xee" folded into a message
      assert.equal((e.cause as Error).message, 'bad command 0xee');
      assert.equal((e.cause as Error).name, 'RangeError');
    }
  } finally {
    await c.stop();
  }
});

test('after a state machine threw on a majority of the peers, no stopped peer passes for the leader and a later propose settles by its deadline instead of waiting forever', { timeout: 60_000 }, async () => {
  const c = await Cluster.start({ peers: 3, stateMachine: SM });
  try {
    const stopped = new Set<number>();
    c.onFatal((e) => { if (e instanceof StateMachineError) stopped.add(e.peer); });
    await c.waitForLeader();
    const client = c.client();
    await assert.rejects(client.propose(new Uint8Array([0xee])), (e: unknown) => e instanceof ProposalError && e.reason === 'unknown');
    // The leader applies it and stops; whichever peer leads next applies it too: then no majority is left.
    while (stopped.size < 2) await new Promise((r) => setTimeout(r, 20));
    // A stopped peer does not pass for the leader: no majority is left, so waitForLeader finds none.
    for (const i of stopped) assert.deepEqual(await c.peer(i).getState().then((st) => [st.isLeader, st.leaderHint]), [false, -1]);
    await assert.rejects(c.waitForLeader({ timeoutMs: 500 }), /no leader elected within 500 ms/);
    await assert.rejects(client.propose(new Uint8Array([1]), { timeoutMs: 1000 }), (e: unknown) => e instanceof ProposalError && e.reason === 'timeout');
    assert.equal(client.pending, 0);
  } finally {
    await c.stop();
  }
});

test('a peer stopped by its state machine comes back with crash(i) and restart(i) once the state machine is fixed, and applies on from where it stopped', { timeout: 60_000 }, async () => {
  process.env.RAFT_TEST_APPLY_THROWS = '1';
  const c = await Cluster.start({ peers: 3, stateMachine: new URL('./fixable-state-machine.js', import.meta.url) });
  try {
    const stopped = new Set<number>();
    c.onFatal((e) => { if (e instanceof StateMachineError) stopped.add(e.peer); });
    const applied = new Map<number, number[]>(); // peer -> first byte of each command it applied
    c.onApply((e) => { if (e.type === 'command') applied.set(e.peer, [...(applied.get(e.peer) ?? []), e.command[0]]); });
    await c.waitForLeader();
    const client = c.client();
    await client.propose(new Uint8Array([1]));
    await assert.rejects(client.propose(new Uint8Array([0xee])), (e: unknown) => e instanceof ProposalError && e.reason === 'unknown');
    while (stopped.size < 2) await new Promise((r) => setTimeout(r, 20)); // no majority is left
    delete process.env.RAFT_TEST_APPLY_THROWS; // the fix: workers started from now on do not throw
    // Every peer runs the old state machine (the one still up would stop on the entry as it learns of its commit): restart each.
    for (const i of [0, 1, 2]) { await c.crash(i); await c.restart(i); }
    await c.waitForLeader({ timeoutMs: 10_000 });
    await client.propose(new Uint8Array([2]), { timeoutMs: 10_000 });
    const until = Date.now() + 10_000;
    while ([0, 1, 2].some((i) => !(applied.get(i) ?? []).includes(2)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    for (const i of [0, 1, 2]) {
      const seen = applied.get(i) ?? [];
      assert.ok(seen.includes(2), `peer ${i} applied ${JSON.stringify(seen)}: not the command after the fix`);
      if (stopped.has(i)) assert.ok(seen.lastIndexOf(0xee) > seen.indexOf(1) && seen.lastIndexOf(0xee) < seen.indexOf(2), `restarted peer ${i} applied ${JSON.stringify(seen)}: the entry it stopped on, then the next`);
    }
  } finally {
    delete process.env.RAFT_TEST_APPLY_THROWS;
    await c.stop();
  }
});
