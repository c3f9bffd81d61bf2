/**
 * RemoteClient's streaming form against 3 peer processes: submit() many commands per turn
 * (one batch frame each turn, answered in runs), each reported exactly once; a follower
 * refuses a whole batch with its leader hint; a killed leader's commands in flight report
 * 'unknown' and every committed one is in every peer's log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FailReason } from '../../src/process/remote-client.js';
import { RemoteClient, RemoteProposalError } from '../../src/process/remote-client.js';
import { waitFor } from '../transport/tcp-helpers.js';
import { ProcessCluster, checkSameApplied } from './peer-cluster.js';

test('streaming submit: batches commit each command once; a follower refuses with the leader; a killed leader leaves in-flight commands unknown', async () => {
  const c = await ProcessCluster.start({ size: 3 });
  const client = c.client();
  try {
    await client.propose(Buffer.from('warm-up'));
    const leader = await c.leader(client);
    const follower = c.ids.find((id) => id !== leader)!;
    const committed = new Map<number, number>(); // seq -> index
    const failed = new Map<number, { reason: FailReason; hint: number }>();
    client.onCommitted = (seq, index) => { assert.ok(!committed.has(seq) && !failed.has(seq), `seq ${seq} reported twice`); committed.set(seq, index); };
    client.onFailed = (seq, reason, hint) => { assert.ok(!committed.has(seq) && !failed.has(seq), `seq ${seq} reported twice`); failed.set(seq, { reason, hint }); };
    const cmd = (seq: number) => Buffer.from(`s-${seq}`);

    // A follower refuses the whole batch, naming the leader.
    const refusedSeqs = Array.from({ length: 300 }, (_, k) => client.submit(cmd(k), follower));
    await waitFor('the follower\'s refusals', () => client.pending === 0, 10_000);
    for (const s of refusedSeqs) assert.deepEqual(failed.get(s), { reason: 'not-leader', hint: leader }, `seq ${s}`);
    assert.equal(client.leader, leader, 'the client follows the hint');

    // To the leader: several turns of many commands, with promise proposals mixed in.
    const sent: number[] = [];
    let promised = 0;
    for (let turn = 0; turn < 5; turn++) {
      for (let k = 0; k < 2000; k++) sent.push(client.submit(cmd(sent.length + 1000)));
      void client.propose(Buffer.from(`promise-${turn}`)).then(() => promised++);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor('every submitted command settled', () => client.pending === 0 && promised === 5, 20_000);
    for (const s of sent) assert.ok(committed.has(s), `seq ${s} committed (got ${JSON.stringify(failed.get(s))})`);
    const indexes = sent.map((s) => committed.get(s)!);
    assert.equal(new Set(indexes).size, indexes.length, 'each at its own index');
    for (let k = 1; k < indexes.length; k++) assert.ok(indexes[k] > indexes[k - 1], 'in submission order');
    const last = indexes.at(-1)!;
    await waitFor(`every peer applied through ${last}`, () => c.ids.every((id) => Math.max(0, ...c.applied(id).keys()) >= last), 20_000);
    const log = checkSameApplied(c, last);
    for (let k = 0; k < sent.length; k += 997) assert.equal(c.applied(0).get(indexes[k]), cmd(k + 1000).toString('hex'));
    assert.ok(log.length >= sent.length);

    // Kill the leader with commands in flight: each is reported once, committed or unknown.
    const before = committed.size;
    const inflight = Array.from({ length: 3000 }, (_, k) => client.submit(cmd(100_000 + k)));
    await c.kill(leader, 'SIGKILL');
    await waitFor('the in-flight commands settled', () => client.pending === 0, 20_000);
    for (const s of inflight) {
      const f = failed.get(s);
      assert.ok(committed.has(s) || f?.reason === 'unknown' || f?.reason === 'crashed', `seq ${s}: ${JSON.stringify(f)}`);
    }
    assert.ok(committed.size >= before);
    client.close();
    assert.throws(() => client.submit(cmd(1)), (e: Error) => e instanceof RemoteProposalError && e.reason === 'closed');
  } finally {
    client.close();
    await c.stop();
  }
});

test('streaming submit: the maxInFlight window refuses with backpressure, naming the limit', async () => {
  const c = await ProcessCluster.start({ size: 1, memory: true });
  const client = new RemoteClient({ peers: { 0: { host: '127.0.0.1', port: c.ports[0] } }, clusterId: c.clusterId, tls: false, maxInFlight: 10 });
  try {
    for (let k = 0; k < 10; k++) client.submit(Uint8Array.of(k));
    assert.throws(() => client.submit(Uint8Array.of(1)), (e: Error) => e instanceof RemoteProposalError && e.reason === 'backpressure' && /maxInFlight 10/.test(e.message));
    assert.throws(() => new RemoteClient({ peers: { 0: { host: '127.0.0.1', port: 1 } }, tls: false, maxInFlight: 0 }), /maxInFlight must be a positive integer/);
    assert.throws(() => client.submit(Uint8Array.of(1), 5), /peer 5 is not one of this client's peers/);
  } finally {
    client.close();
    await c.stop();
  }
});
