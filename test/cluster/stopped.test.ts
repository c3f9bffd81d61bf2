import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, ClusterStoppedError, PeerDownError, ProposalError } from '../../src/index.js';

const isStopped = (e: unknown) => {
  assert.ok(e instanceof ClusterStoppedError, `expected ClusterStoppedError, got ${String(e)}`);
  assert.ok(!(e instanceof PeerDownError), 'a stopped cluster is not a crashed peer');
  assert.match((e as Error).message, /cluster is stopped/);
  return true;
};

test('every call on a stopped cluster says that the cluster is stopped', async () => {
  const c = await Cluster.start({ peers: 3 });
  const client = c.client();
  await c.waitForLeader();
  assert.equal(c.isStopped, false);
  await c.stop();
  assert.equal(c.isStopped, true);
  await c.stop(); // a second stop is a no-op

  await assert.rejects(c.peer(0).start(new Uint8Array([1])), isStopped);
  await assert.rejects(c.peer(1).getState(), isStopped);
  await assert.rejects(c.peer(2).stats(), isStopped);
  await assert.rejects(c.peer(0).snapshot(0, new Uint8Array(0)), isStopped);
  await assert.rejects(c.persistedStateBytes(0), isStopped);
  await assert.rejects(c.crash(0), isStopped);
  await assert.rejects(c.restart(0), isStopped);
  await assert.rejects(c.waitForLeader({ timeoutMs: 100 }), isStopped);
  assert.throws(() => c.disconnect(0), isStopped);
  assert.throws(() => c.connect(0), isStopped);
  assert.throws(() => c.setUnreliable(true), isStopped);
  assert.throws(() => c.setLongReordering(true), isStopped);
  assert.throws(() => c.client(), isStopped);
  assert.match(String(await c.peer(0).start(new Uint8Array([1])).catch((e) => e)), /peer\(0\)\.start\(\) called after cluster\.stop\(\)/);
  // Counters still read.
  assert.equal(typeof c.rpcTotal(), 'number');
  assert.equal(c.isAlive(0), false);
  // The client created before stop() refuses too, saying why.
  await assert.rejects(client.propose(new Uint8Array([1])), (e: unknown) => e instanceof ProposalError && e.reason === 'stopped' && /cluster is stopped/.test(e.message));
  assert.throws(() => client.submit(new Uint8Array([1])), /cluster is stopped/);
});

test('a proposal in flight when stop() is called rejects as unknown (it may have committed), with a cause that says the cluster stopped', async () => {
  const c = await Cluster.start({ peers: 3 });
  const { leader } = await c.waitForLeader();
  // Without its followers the leader accepts the command but cannot commit it: it stays in flight.
  await Promise.all([c.crash((leader + 1) % 3), c.crash((leader + 2) % 3)]);
  const client = c.client();
  client.leader = leader;
  const inFlight = client.propose(new Uint8Array([1])).then(() => null, (e) => e);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(client.pending, 1, 'the command was sent and is not settled');
  await c.stop();
  const e = await inFlight;
  assert.ok(e instanceof ProposalError && e.reason === 'unknown', String(e));
  assert.ok(e.cause instanceof ClusterStoppedError, `cause: ${String(e.cause)}`);
  assert.match(e.message, /cluster is stopped/);
  assert.doesNotMatch(e.message, /crashed/);
});

test('a waitForLeader in progress when stop() is called rejects with ClusterStoppedError', async () => {
  // Two of three peers crash before the first election can time out: no leader can ever be elected.
  const c = await Cluster.start({ peers: 3, electionTimeoutMs: 2000, heartbeatMs: 100 });
  await Promise.all([c.crash(1), c.crash(2)]);
  const waiting = c.waitForLeader({ timeoutMs: 60_000 }).then(() => 'resolved', (e) => e);
  await new Promise((r) => setTimeout(r, 50)); // let it poll a few rounds
  await c.stop();
  isStopped(await waiting);
});
