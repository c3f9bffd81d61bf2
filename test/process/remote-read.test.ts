/**
 * RemoteClient.read against peer processes: ReadIndex on the leader and follower reads see
 * every write acknowledged before them, bad input is named, a query the state machine refuses
 * fails alone, and reads waiting at a leader that is cut off and then killed are answered by
 * the new leader, never from the old leader's state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RemoteClient, RemoteReadError } from '../../src/process/remote-client.js';
import { waitFor } from '../transport/tcp-helpers.js';
import { ProcessCluster, REGISTER_MACHINE } from './peer-cluster.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const readReason = (reason: string, message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof RemoteReadError, `expected a RemoteReadError, got ${String(e)}`);
  assert.equal(e.reason, reason, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

test('RemoteClient.read: leader and follower reads see every acknowledged write; a refused query fails alone; bad input is named', async () => {
  const c = await ProcessCluster.start({ size: 3, memory: true, stateMachine: REGISTER_MACHINE });
  const client = c.client();
  try {
    await c.leader(client);
    for (let i = 1; i <= 20; i++) {
      await client.propose(enc(`a=${i}`));
      // Linearizable: a read that starts after the write was acknowledged sees it, wherever it runs.
      const seen = await Promise.all([
        client.read(enc('a')),
        client.read(enc('a'), { mode: 'follower' }),
        ...c.ids.map((peer) => client.read(enc('a'), { peer })),
      ]);
      assert.deepEqual(seen.map(dec), Array(2 + c.ids.length).fill(String(i)), `after a=${i}`);
    }
    // Many reads of one turn (they leave in one frame per peer and share read indexes).
    const many = await Promise.all(Array.from({ length: 500 }, (_, k) => client.read(enc(k % 2 ? 'a' : 'b'), { mode: k % 3 ? 'leader' : 'follower' })));
    assert.deepEqual(many.map(dec), Array.from({ length: 500 }, (_, k) => (k % 2 ? '20' : '')));

    await assert.rejects(client.read(enc('!a')), readReason('query-failed', /query "!a" refused/));
    const mixed = await Promise.allSettled([client.read(enc('a')), client.read(enc('!b')), client.read(enc('a'))]);
    assert.deepEqual(mixed.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'], 'a refused query fails alone');
    assert.equal(dec(await client.read(enc('a'))), '20', 'a refused query changed nothing');

    await assert.rejects(client.read('a' as unknown as Uint8Array), /a read query must be a Uint8Array, got string/);
    await assert.rejects(client.read(enc('a'), { timeoutMs: 0 }), /option timeoutMs must be a positive number, got 0/);
    await assert.rejects(client.read(enc('a'), { attemptTimeoutMs: -1 }), /option attemptTimeoutMs must be a positive number, got -1/);
    await assert.rejects(client.read(enc('a'), { mode: 'any' as 'leader' }), /option mode must be 'leader' or 'follower', got any/);
    await assert.rejects(client.read(enc('a'), { peer: 7 }), /option peer: 7 is not one of this client's peers \(0, 1, 2\)/);
  } finally {
    client.close();
    await c.stop();
  }
  await assert.rejects(client.read(enc('a')), readReason('closed', /the client is closed/));
});

test('RemoteClient.read: a closed client fails the reads it had in flight; peers without query() answer no-query', async () => {
  const c = await ProcessCluster.start({ size: 3, memory: true }); // applied-log-machine.js: no query()
  const client = c.client();
  try {
    await c.leader(client);
    await assert.rejects(client.read(enc('a')), readReason('no-query', /has no query\(query\) method/));
    await assert.rejects(client.read(enc('a'), { peer: 1 }), readReason('no-query'));
    const inFlight = client.read(enc('a'), { timeoutMs: 10_000 });
    client.close();
    await assert.rejects(inFlight, readReason('closed'));
  } finally {
    client.close();
    await c.stop();
  }
});

/** The leader all peers but `old` agree on, once they do. */
async function newLeaderWithout(c: ProcessCluster, client: RemoteClient, old: number): Promise<number> {
  let leader = -1;
  await waitFor(`a new leader without peer ${old}`, async () => {
    const seen = await Promise.all(c.ids.filter((id) => id !== old).map(async (id) => (await client.status(id))?.leaderId ?? -1));
    leader = seen[0];
    return seen.every((l) => l === leader && l >= 0 && l !== old);
  }, 20_000);
  return leader;
}

test('reads waiting at a leader that is cut off and then killed are answered by the new leader with the newer value, never the old one', async () => {
  const c = await ProcessCluster.start({ size: 3, memory: true, proxied: true, stateMachine: REGISTER_MACHINE });
  const client = c.client();
  const writer = c.client();
  try {
    const old = await c.leader(client);
    await client.propose(enc('k=old'));
    assert.equal(dec(await client.read(enc('k'))), 'old');
    c.isolate(old);
    const next = await newLeaderWithout(c, writer, old);
    writer.leader = next;
    await writer.propose(enc('k=new'));
    // These reads start after k=new was acknowledged and go first to the old leader, which
    // may still believe it leads: ReadIndex cannot confirm there (no majority hears it).
    client.leader = old;
    const reads = Array.from({ length: 50 }, () => client.read(enc('k'), { timeoutMs: 15_000 }));
    await new Promise((r) => setTimeout(r, 100));
    await c.kill(old, 'SIGKILL');
    c.heal();
    assert.deepEqual((await Promise.all(reads)).map(dec), Array(50).fill('new'));
    await assert.rejects(client.read(enc('k'), { peer: old, timeoutMs: 2000 }), readReason('crashed', new RegExp(`peer ${old}`)));
    const survivors = c.ids.filter((id) => id !== old);
    assert.deepEqual((await Promise.all(survivors.map((peer) => client.read(enc('k'), { peer })))).map(dec), ['new', 'new']);
    await c.startPeer(old);
    await waitFor(`peer ${old} serves follower reads again`, async () => dec(await client.read(enc('k'), { peer: old, timeoutMs: 2000 }).catch(() => enc(''))) === 'new', 20_000);
  } finally {
    client.close();
    writer.close();
    await c.stop();
  }
});

/** Records each streamed read's one outcome, failing the test on a second one or on a callback from inside submitRead. */
class StreamedReads {
  readonly done = new Map<number, string>();
  readonly failed = new Map<number, RemoteReadError>();
  private inSubmit = false;
  constructor(private readonly client: RemoteClient) {
    client.onReadDone = (seq, result) => { this.once(seq); this.done.set(seq, dec(result)); };
    client.onReadFailed = (seq, e) => { this.once(seq); assert.ok(e instanceof RemoteReadError); this.failed.set(seq, e); };
  }

  submit(query: string, options?: Parameters<RemoteClient['submitRead']>[1]): number {
    this.inSubmit = true;
    try {
      return this.client.submitRead(enc(query), options);
    } finally {
      this.inSubmit = false;
    }
  }

  get settled(): number {
    return this.done.size + this.failed.size;
  }

  private once(seq: number): void {
    assert.ok(!this.inSubmit, `read ${seq} reported from inside submitRead`);
    assert.ok(!this.done.has(seq) && !this.failed.has(seq), `read ${seq} reported twice`);
  }
}

test('RemoteClient.submitRead: each streamed read reported once with what read() gives; a refused query fails alone; bad input throws; a closed client fails what is in flight', async () => {
  const c = await ProcessCluster.start({ size: 3, memory: true, stateMachine: REGISTER_MACHINE });
  const client = c.client();
  try {
    await c.leader(client);
    const reads = new StreamedReads(client);
    for (let i = 1; i <= 5; i++) {
      await client.propose(enc(`a=${i}`));
      const seqs = [reads.submit('a'), reads.submit('a', { mode: 'follower' }), ...c.ids.map((peer) => reads.submit('a', { peer }))];
      await waitFor('the reads after the write', () => seqs.every((s) => reads.done.has(s) || reads.failed.has(s)));
      assert.deepEqual(seqs.map((s) => reads.done.get(s) ?? reads.failed.get(s)?.message), Array(seqs.length).fill(String(i)), `after a=${i}`);
    }
    const many = Array.from({ length: 2000 }, (_, k) => reads.submit(k % 2 ? 'a' : 'b', { mode: k % 3 ? 'leader' : 'follower' }));
    const refused = reads.submit('!b');
    await waitFor('many reads in one turn', () => reads.settled === 5 * 5 + many.length + 1, 20_000);
    assert.deepEqual(many.map((s) => reads.done.get(s)), many.map((_, k) => (k % 2 ? '5' : '')));
    assert.equal(reads.failed.get(refused)?.reason, 'query-failed');
    assert.match(reads.failed.get(refused)!.message, /query "!b" refused/);
    assert.equal(client.readsPending, 0);

    const before = reads.settled;
    assert.throws(() => client.submitRead('a' as unknown as Uint8Array), (e: Error) => e instanceof TypeError && /a read query must be a Uint8Array, got string/.test(e.message));
    assert.throws(() => client.submitRead(enc('a'), { timeoutMs: 0 }), (e: Error) => e instanceof RangeError && /option timeoutMs must be a positive number, got 0/.test(e.message));
    assert.throws(() => client.submitRead(enc('a'), { attemptTimeoutMs: -1 }), /option attemptTimeoutMs must be a positive number, got -1/);
    assert.throws(() => client.submitRead(enc('a'), { mode: 'any' as 'leader' }), /option mode must be 'leader' or 'follower', got any/);
    assert.throws(() => client.submitRead(enc('a'), { peer: 7 }), /option peer: 7 is not one of this client's peers \(0, 1, 2\)/);
    assert.equal(client.readsPending, 0, 'a refused call leaves nothing behind');

    const inFlight = Array.from({ length: 20 }, () => reads.submit('a', { timeoutMs: 10_000 }));
    client.close();
    await waitFor('the reads in flight failed', () => reads.settled === before + inFlight.length);
    for (const s of inFlight) assert.equal(reads.failed.get(s)?.reason, 'closed');
    assert.throws(() => client.submitRead(enc('a')), (e: Error) => e instanceof RemoteReadError && e.reason === 'closed');
    await new Promise((r) => setTimeout(r, 100)); // the connections' close events report nothing more
    assert.equal(reads.settled, before + inFlight.length);
  } finally {
    client.close();
    await c.stop();
  }
});

test('RemoteClient.submitRead: streamed reads sent to a paused leader (its connection up and silent) are given up on there and answered by the new leader with the newer value; one fixed on a killed peer fails crashed', async () => {
  const c = await ProcessCluster.start({ size: 3, memory: true, stateMachine: REGISTER_MACHINE });
  const client = c.client();
  const writer = c.client();
  try {
    const old = await c.leader(client);
    await client.propose(enc('k=old'));
    c.procs.get(old)!.kill('SIGSTOP');
    const next = await newLeaderWithout(c, writer, old);
    writer.leader = next;
    await writer.propose(enc('k=new'));
    const reads = new StreamedReads(client);
    client.leader = old;
    const seqs = Array.from({ length: 50 }, () => reads.submit('k', { timeoutMs: 15_000, attemptTimeoutMs: 300 }));
    await waitFor('the streamed reads', () => reads.settled === seqs.length, 20_000);
    assert.deepEqual(seqs.map((s) => reads.done.get(s) ?? reads.failed.get(s)?.message), Array(50).fill('new'));
    assert.notEqual(client.leader, old, 'the client moved on from the paused peer');
    c.procs.get(old)!.kill('SIGCONT');
    await c.kill(old, 'SIGKILL');
    const fixed = reads.submit('k', { peer: old, timeoutMs: 2000 });
    await waitFor('the read fixed on the killed peer', () => reads.failed.has(fixed) || reads.done.has(fixed), 5000);
    assert.equal(reads.failed.get(fixed)?.reason, 'crashed');
  } finally {
    client.close();
    writer.close();
    await c.stop();
  }
});

test('RemoteClient read options: a misspelt or unknown name and a non-object are refused by name, before anything is sent', async () => {
  // No peer listens there: the arguments are checked before any connection is made.
  const client = new RemoteClient({ peers: { 0: { host: '127.0.0.1', port: 9 } }, tls: false });
  try {
    const q = new TextEncoder().encode('a');
    await assert.rejects(client.read(q, { timeout: 100 } as never), (e: unknown) => e instanceof TypeError && /unknown read option timeout: did you mean timeoutMs\?/.test(e.message));
    await assert.rejects(client.read(q, null as never), (e: unknown) => e instanceof TypeError && /read options must be an object, got null/.test(e.message));
    assert.throws(() => client.submitRead(q, { attemptTimeout: 5 } as never), /unknown read option attemptTimeout: did you mean attemptTimeoutMs\?/);
    await assert.rejects(client.read(q, { peer: '0' } as never), (e: unknown) => e instanceof TypeError && /option peer must be a number, got string "0"/.test(e.message));
    assert.throws(() => client.submitRead(q, { attemptTimeoutMs: '5' } as never), (e: unknown) => e instanceof TypeError && /option attemptTimeoutMs must be a number, got string "5"/.test(e.message));
    assert.equal(client.readsPending, 0);
  } finally {
    client.close();
  }
});

test('RemoteClient.read sizes: a result too large for an answer frame fails with query-failed naming the sizes, large results that fit arrive, a query too large for a frame is refused at once', async () => {
  const machine = fileURLToPath(new URL('../cluster/sized-result-state-machine.js', import.meta.url));
  const c = await ProcessCluster.start({ size: 3, memory: true, stateMachine: machine });
  const client = c.client();
  const asking = (n: number) => { const q = new Uint8Array(4); new DataView(q.buffer).setUint32(0, n, true); return q; };
  try {
    await c.leader(client);
    for (const mode of ['leader', 'follower'] as const) {
      await assert.rejects(client.read(asking(5 << 20), { mode, timeoutMs: 5000 }), (e: unknown) =>
        e instanceof RemoteReadError && e.reason === 'query-failed' && /a result of 5242880 bytes, which exceeds the \d+ bytes a read answer frame can carry/.test(e.message));
    }
    // Two results of one turn that fit a frame each but not one together.
    const [a, b] = await Promise.all([client.read(asking(900 << 10)), client.read(asking(3500 << 10))]);
    assert.deepEqual([a.byteLength, b.byteLength], [900 << 10, 3500 << 10]);
    await assert.rejects(client.read(new Uint8Array(5 << 20)), (e: unknown) => e instanceof RangeError && /read query of 5242880 bytes exceeds the \d+ bytes a read frame carries/.test(e.message));
    assert.throws(() => client.submitRead(new Uint8Array(5 << 20)), RangeError);
    assert.equal(client.readsPending, 0);
    assert.equal((await client.read(asking(3))).byteLength, 3, 'the peers go on serving reads');
  } finally {
    client.close();
    await c.stop();
  }
});
