import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/cluster/cluster.js';

test('busy-poll options of the wrong type or range are refused with their names', async () => {
  await assert.rejects(Cluster.start({ peers: 1, busyPollMicros: -1 }), /option busyPollMicros must be a non-negative integer, got number -1/);
  await assert.rejects(Cluster.start({ peers: 1, busyPollMicros: '50' as unknown as number }), /option busyPollMicros must be a non-negative integer, got string "50"/);
  await assert.rejects(Cluster.start({ peers: 1, busyPollWhen: 'never' as 'always' }), /option busyPollWhen must be "idle-core" or "always", got string "never"/);
});

for (const opts of [{ busyPollWhen: 'always' as const }, { busyPollMicros: 0 }, {}]) {
  test(`one command at a time commits in order with ${JSON.stringify(opts)}`, async () => {
    const c = await Cluster.start({ peers: 3, ...opts });
    try {
      const { leader } = await c.waitForLeader({ timeoutMs: 10_000 });
      const client = c.client();
      client.leader = leader;
      let last = 0;
      for (let i = 0; i < 200; i++) {
        const r = await client.propose(new Uint8Array([i & 0xff, 1]));
        assert.ok(r.index > last, `index ${r.index} after ${last}`);
        last = r.index;
      }
    } finally {
      await c.stop();
    }
  });
}
