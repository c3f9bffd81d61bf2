/**
 * Reads on real workers: ClusterClient.read over each peer's read link, leader and follower
 * routes, lease mode, a crashed leader, and the errors of bad input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, ReadFailedError } from '../../src/index.js';
import { KvClient, KvError } from '../../src/kv/kv-client.js';
import { KvErrorCode, KvOp, encodeCommand } from '../../src/kv/kv-codec.js';

const KV_MODULE = new URL('../../src/kv/kv-state-machine-module.js', import.meta.url);

test('reads on a 3-peer key/value cluster: leader and follower routes, through a leader crash', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE });
  try {
    await cluster.waitForLeader();
    const client = cluster.client();
    const kv = new KvClient(await cluster.session(), {}, client); // get and scan as reads
    const follower = new KvClient(await cluster.session(), {}, { read: (q) => client.read(q, { mode: 'follower' }) });
    for (let i = 0; i < 10; i++) {
      await kv.put(`k/${i}`, `v${i}`);
      // Read-your-writes through every route: the read index covers the acknowledged put.
      assert.equal(await kv.getText(`k/${i}`), `v${i}`);
      assert.equal(await follower.getText(`k/${i}`), `v${i}`);
    }
    assert.deepEqual((await follower.scan('k/', { limit: 3 })).entries.map((e) => e.key), ['k/0', 'k/1', 'k/2']);
    // Follower reads spread over the peers, every one of them answers.
    for (let p = 0; p < 3; p++) {
      const r = await client.read(encodeCommand({ op: KvOp.Get, key: new TextEncoder().encode('k/3') }), { peer: p });
      assert.ok(r.byteLength > 0, `peer ${p} answered`);
    }

    const { leader } = await cluster.waitForLeader();
    await cluster.crash(leader);
    // The read follows the next leader (retried on the crash and on not-leader refusals).
    assert.equal(await kv.getText('k/9'), 'v9');
    await kv.put('after', 'crash');
    assert.equal(await follower.getText('after'), 'crash');
    await assert.rejects(client.read(new Uint8Array([1]), { peer: leader }), (e: unknown) =>
      e instanceof ReadFailedError && e.reason === 'crashed' && new RegExp(`peer ${leader} is crashed`).test(e.message));
    // A query the state machine refuses comes back as its error, and changes nothing.
    const put = encodeCommand({ op: KvOp.Put, key: new TextEncoder().encode('after'), value: new Uint8Array([1]) });
    await assert.rejects(new KvClient({ propose: async () => ({ result: await client.read(put) }) }).put('after', 'x'),
      (e: unknown) => e instanceof KvError && e.code === KvErrorCode.NotAQuery);
    assert.equal(await kv.getText('after'), 'crash');
    await cluster.restart(leader);
  } finally {
    await cluster.stop();
  }
});

test('lease reads on a 3-peer cluster', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE, readMode: 'lease', checkQuorum: true });
  try {
    await cluster.waitForLeader();
    const kv = new KvClient(await cluster.session(), {}, cluster.client());
    await kv.put('a', '1');
    assert.equal(await kv.getText('a'), '1');
    await kv.put('a', '2');
    assert.equal(await kv.getText('a'), '2');
  } finally {
    await cluster.stop();
  }
});

test('bad input: a cluster without a query method, a bad query, bad options, a stopped cluster', async () => {
  const cluster = await Cluster.start({ peers: 1 });
  const client = cluster.client();
  try {
    await cluster.waitForLeader();
    await assert.rejects(client.read(new Uint8Array([1])), (e: unknown) => e instanceof ReadFailedError && e.reason === 'no-query' && /no query\(query\) method/.test(e.message));
    assert.throws(() => client.read('x' as unknown as Uint8Array), /a read query must be a Uint8Array, got string/);
    assert.throws(() => client.read(new Uint8Array(1), { timeoutMs: 0 }), /option timeoutMs must be a positive number, got 0/);
    assert.throws(() => client.read(new Uint8Array(1), { mode: 'any' as 'leader' }), /option mode must be 'leader' or 'follower', got any/);
    assert.throws(() => client.read(new Uint8Array(1), { peer: 3 }), /option peer must be a peer index 0..0, got 3/);
    // A misspelt option would otherwise be ignored and the read run with the default.
    assert.throws(() => client.read(new Uint8Array(1), { timeout: 100 } as never), (e: unknown) => e instanceof TypeError && /unknown read option timeout: did you mean timeoutMs\?/.test(e.message));
    assert.throws(() => client.submitRead(new Uint8Array(1), { peers: 0 } as never), /unknown read option peers: did you mean peer\?/);
    assert.throws(() => client.read(new Uint8Array(1), null as never), (e: unknown) => e instanceof TypeError && /read options must be an object, got null/.test(e.message));
    // A value of the wrong type says so (not "got 100", which hides that it is a string).
    assert.throws(() => client.read(new Uint8Array(1), { timeoutMs: '100' } as never), (e: unknown) => e instanceof TypeError && /option timeoutMs must be a number, got string "100"/.test(e.message));
    assert.throws(() => client.read(new Uint8Array(1), { peer: '0' } as never), (e: unknown) => e instanceof TypeError && /option peer must be a number, got string "0"/.test(e.message));
    assert.equal(client.readsPending, 0, 'a refused call leaves nothing behind');
  } finally {
    await cluster.stop();
  }
  await assert.rejects(client.read(new Uint8Array([1])), (e: unknown) => e instanceof ReadFailedError && e.reason === 'stopped');
});

test('streamed reads (submitRead): every seq answered once through onReadDone or onReadFailed, more in flight than the table starts with', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE });
  const client = cluster.client();
  try {
    await cluster.waitForLeader();
    const kv = new KvClient(await cluster.session(), {}, client);
    await kv.put('s', 'streamed');
    const get = encodeCommand({ op: KvOp.Get, key: new TextEncoder().encode('s') });
    const expected = await client.read(get);
    const done = new Map<number, Uint8Array>();
    const failed = new Map<number, ReadFailedError>();
    let settle: () => void = () => {};
    const all = new Promise<void>((resolve) => { settle = resolve; });
    const total = 3000;
    client.onReadDone = (seq, result) => { assert.ok(!done.has(seq) && !failed.has(seq), `seq ${seq} settled twice`); done.set(seq, result); if (done.size + failed.size === total) settle(); };
    client.onReadFailed = (seq, e) => { assert.ok(!done.has(seq) && !failed.has(seq), `seq ${seq} settled twice`); failed.set(seq, e); if (done.size + failed.size === total) settle(); };
    const put = encodeCommand({ op: KvOp.Put, key: new TextEncoder().encode('s'), value: new Uint8Array([1]) });
    const seqs: number[] = [];
    const refused = new Set<number>();
    for (let i = 0; i < total; i++) {
      const follower = i % 3 === 1;
      const seq = i % 500 === 7 ? client.submitRead(put) : client.submitRead(get, follower ? { mode: 'follower' } : {});
      if (i % 500 === 7) refused.add(seq);
      seqs.push(seq);
    }
    assert.equal(new Set(seqs).size, total, 'distinct seqs');
    assert.equal(done.size + failed.size, 0, 'no outcome from inside submitRead');
    assert.ok(client.readsPending > 0);
    await all;
    assert.equal(failed.size, 0, 'no read failed');
    for (const seq of seqs) {
      if (refused.has(seq)) {
        // The store answers a write sent as a query with its NotAQuery error, as a result.
        assert.ok(done.has(seq) && done.get(seq)!.byteLength > 0, `seq ${seq} answered`);
        assert.notDeepEqual(done.get(seq), expected, `seq ${seq}: a write is not answered as a get`);
      } else {
        assert.deepEqual(done.get(seq), expected, `seq ${seq} answered the value written`);
      }
    }
    assert.equal(client.readsPending, 0);
    // A fixed peer that is down fails the read through onReadFailed, never inside submitRead.
    const { leader } = await cluster.waitForLeader();
    await cluster.crash(leader);
    const lost = new Promise<ReadFailedError>((resolve) => { client.onReadFailed = (_seq, e) => resolve(e); });
    client.submitRead(get, { peer: leader });
    assert.equal((await lost).reason, 'crashed');
    assert.throws(() => client.submitRead('q' as unknown as Uint8Array), /a read query must be a Uint8Array, got string/);
    assert.throws(() => client.submitRead(get, { timeoutMs: -1 }), /option timeoutMs must be a positive number, got -1/);
    await cluster.restart(leader);
  } finally {
    await cluster.stop();
  }
  assert.throws(() => client.submitRead(new Uint8Array([1])), (e: unknown) => e instanceof ReadFailedError && e.reason === 'stopped');
});

test('streamed reads in place (onReadResult): results in batches and a result too large for one, beside promise reads', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE });
  const client = cluster.client();
  try {
    await cluster.waitForLeader();
    const kv = new KvClient(await cluster.session(), {}, client);
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 13) & 0xff); // more than a 64 KiB batch
    await kv.put('small', 'v');
    await kv.put('big', big);
    const key = (k: string) => encodeCommand({ op: KvOp.Get, key: new TextEncoder().encode(k) });
    const expected = { small: await client.read(key('small')), big: await client.read(key('big')) };
    assert.ok(expected.big.byteLength > big.byteLength, 'the get answers the value');
    const got = new Map<number, Uint8Array>();
    const total = 600;
    let settle: () => void = () => {};
    const all = new Promise<void>((resolve) => { settle = resolve; });
    client.onReadDone = () => assert.fail('onReadDone is not called while onReadResult is set');
    client.onReadResult = (seq, bytes, offset, length) => {
      assert.ok(!got.has(seq), `seq ${seq} settled twice`);
      got.set(seq, bytes.slice(offset, offset + length)); // valid only during the call: copied
      if (got.size === total) settle();
    };
    client.onReadFailed = (seq, e) => assert.fail(`seq ${seq} failed: ${e.message}`);
    const which = new Map<number, 'small' | 'big'>();
    const promised: Array<Promise<Uint8Array>> = [];
    for (let i = 0; i < total; i++) {
      const k = i % 100 === 50 ? 'big' : 'small';
      which.set(client.submitRead(key(k), i % 2 === 1 ? { mode: 'follower' } : {}), k);
      if (i % 150 === 0) promised.push(client.read(key('small')));
    }
    await all;
    for (const [seq, k] of which) assert.deepEqual(got.get(seq), expected[k], `seq ${seq} (${k}) answered the value written`);
    for (const r of await Promise.all(promised)) assert.deepEqual(r, expected.small, 'promise reads still get their own copy');
    assert.equal(client.readsPending, 0);
  } finally {
    await cluster.stop();
  }
});

/** Settles with 'hang' if `p` has not settled within `ms` (a guard against a read that never settles, not a speed check). */
function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), ms); });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

test('a read sent to a leader cut off from the others (checkQuorum off, so it never steps down) fails at its timeoutMs', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE, checkQuorum: false });
  try {
    const { leader } = await cluster.waitForLeader();
    const client = cluster.client();
    const get = encodeCommand({ op: KvOp.Get, key: new TextEncoder().encode('a') });
    await client.read(get); // the read link to the leader works
    await cluster.disconnect(leader);
    // Its heartbeat round can never be confirmed: only the read's own deadline can end it.
    const pinned = settledWithin(client.read(get, { peer: leader, timeoutMs: 300 }).then(() => 'answered', (e: unknown) => e), 20_000);
    const outcome = await pinned;
    assert.ok(outcome instanceof ReadFailedError && outcome.reason === 'timeout', `expected a timeout, got ${String(outcome)}`);
    await cluster.connect(leader);
  } finally {
    await cluster.stop();
  }
});

test('a read pinned to a peer that knows no leader yet is retried on that peer until its timeoutMs, not failed at once', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE });
  try {
    const { leader } = await cluster.waitForLeader();
    const client = cluster.client();
    const kv = new KvClient(await cluster.session(), {}, client);
    await kv.put('a', '1');
    await cluster.disconnect(leader);
    // Check-quorum makes the cut-off leader step down; alone, it knows no leader and refuses reads.
    while ((await cluster.peer(leader).getState()).isLeader) await new Promise((r) => setTimeout(r, 20));
    const get = encodeCommand({ op: KvOp.Get, key: new TextEncoder().encode('a') });
    let settled = false;
    const read = client.read(get, { peer: leader, timeoutMs: 30_000 }).finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false, 'the refused read is still being retried on its peer');
    await cluster.connect(leader); // it hears of the new leader and can serve the read
    const kvOnOld = new KvClient({ propose: () => { throw new Error('unused'); } }, {}, { read: () => read });
    assert.equal(await kvOnOld.getText('a'), '1');
  } finally {
    await cluster.stop();
  }
});

test('a query result too large for the read link fails that read with query-failed, naming the sizes; the peer goes on serving reads', async () => {
  const cluster = await Cluster.start({ peers: 3, stateMachine: new URL('./sized-result-state-machine.js', import.meta.url) });
  try {
    await cluster.waitForLeader();
    const client = cluster.client();
    const asking = (n: number) => { const q = new Uint8Array(4); new DataView(q.buffer).setUint32(0, n, true); return q; };
    assert.equal((await client.read(asking(1 << 20))).byteLength, 1 << 20);
    for (const mode of ['leader', 'follower'] as const) {
      const outcome = await settledWithin(client.read(asking(5 << 20), { mode, timeoutMs: 5000 }).then(() => 'answered', (e: unknown) => e), 20_000);
      assert.ok(outcome instanceof ReadFailedError && outcome.reason === 'query-failed', `${mode}: expected query-failed, got ${String(outcome)}`);
      assert.match(outcome.message, /a result of 5242880 bytes, which exceeds the \d+ bytes a read answer can carry/);
    }
    for (let p = 0; p < 3; p++) assert.equal((await client.read(asking(3), { peer: p })).byteLength, 3, `peer ${p} still serves reads`);
    // A query too large for the link is refused at once, naming the limit; nothing is left pending.
    assert.throws(() => client.submitRead(new Uint8Array(5 << 20)), (e: unknown) => e instanceof RangeError && /read query of 5242880 bytes exceeds the \d+ bytes a read link carries/.test(e.message));
    assert.throws(() => client.read(new Uint8Array(5 << 20)), RangeError);
    assert.equal(client.readsPending, 0);
  } finally {
    await cluster.stop();
  }
});
