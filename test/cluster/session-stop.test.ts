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
