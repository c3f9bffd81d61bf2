import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Cluster, SessionError } from '../../src/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('cluster.stop() closes its sessions at once, and a session no longer holds the stopped rings', async () => {
  let c: Cluster | null = await Cluster.start({ peers: 3, sessions: true });
  const { leader } = await c.waitForLeader();
  const s = await c.session();
  await s.propose(new Uint8Array([1]));
  // The client ring the session wrote its frames into (the session keeps a view of it).
  const ring = new WeakRef((c.client() as unknown as { channels: Array<{ link: { out: { bytes: Uint8Array } } }> }).channels[leader].link.out.bytes.buffer);
  await c.stop();
  c = null;
  // Without being told, the session would learn of the stop only at its next submit, and its
  // deadline timer (30 s) would keep it, and through it the ring, alive until then.
  assert.ok(s.closed instanceof SessionError, 'the session is closed by the stop');
  assert.equal(s.closed.reason, 'stopped');
  assert.throws(() => s.submit(new Uint8Array([2])), (e: unknown) => e instanceof SessionError && e.reason === 'stopped');
  for (let i = 0; i < 10 && ring.deref() !== undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    gc();
  }
  assert.equal(ring.deref(), undefined, 'the stopped cluster\'s client ring is still reachable');
});

test('a stop fails every outstanding command once; the later ones carry the first failure as their cause, without stacks of their own', async () => {
  const c = await Cluster.start({ peers: 3, sessions: true });
  const failures = new Map<number, SessionError>();
  try {
    const { leader } = await c.waitForLeader();
    const s = await c.session();
    s.onFailed = (seq, e) => { assert.ok(!failures.has(seq), `seq ${seq} failed twice`); failures.set(seq, e); };
    s.onCommitted = (seq) => assert.fail(`seq ${seq} committed without a quorum`);
    // Without its followers the leader commits nothing: every command is outstanding at the stop.
    for (const p of [0, 1, 2]) if (p !== leader) await c.crash(p);
    for (let k = 0; k < 2000; k++) s.submit(new Uint8Array([k & 0xff]));
    await c.stop();
    const outstanding = [...failures.keys()].sort((a, b) => a - b);
    assert.deepEqual([outstanding.length, outstanding[0], outstanding.at(-1)], [2000, 1, 2000]);
    const first = failures.get(outstanding[0])!;
    assert.equal(first.reason, 'stopped');
    for (const seq of outstanding.slice(1)) {
      const e = failures.get(seq)!;
      assert.equal(e.reason, 'stopped');
      assert.equal(e.cause, first, `seq ${seq}: the first failure is its cause`);
      assert.match(e.message, new RegExp(`command ${seq} not applied: .*commands apply in seq order`));
      assert.doesNotMatch(e.stack ?? '', /\n\s+at /, 'no stack frames captured');
    }
  } finally {
    await c.stop();
  }
});
