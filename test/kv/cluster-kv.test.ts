/**
 * End to end on real workers: the key/value state machine loaded by each peer, a KvClient over
 * an exactly-once session, the leader crashed and restarted in between (with automatic
 * snapshots on, so the restarted peer restores the store from one), then the next leader crashed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../../src/index.js';
import { KvClient, KvError } from '../../src/kv/kv-client.js';
import { KvErrorCode } from '../../src/kv/kv-codec.js';

const KV_MODULE = new URL('../../src/kv/kv-state-machine-module.js', import.meta.url);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

test('the key/value store on a 3-peer worker cluster, through a leader crash', async () => {
  const cluster = await Cluster.start({ peers: 3, sessions: true, stateMachine: KV_MODULE, snapshotPolicy: { entries: 20 } });
  try {
    await cluster.waitForLeader();
    const kv = new KvClient(await cluster.session());
    await kv.put('user/1', 'ada');
    await kv.put('user/2', 'grace');
    assert.deepEqual(await kv.cas('user/1', 'ada', 'ada lovelace'), { ok: true });
    assert.equal(await kv.append('log', 'a,'), 2);
    for (let i = 0; i < 25; i++) await kv.put(`fill/${i}`, `${i}`); // past the snapshot threshold

    const { leader } = await cluster.waitForLeader();
    await cluster.crash(leader);
    // Proposed while the leader is down: the session retries until a new leader applies it, once.
    assert.equal(await kv.append('log', 'b,'), 4);
    assert.deepEqual(await kv.cas('user/2', 'nobody', 'x'), { ok: false, current: new TextEncoder().encode('grace') });
    assert.equal(await kv.delete('user/2'), true);
    const { snapshot } = await cluster.restart(leader);
    assert.ok(snapshot, 'the restarted peer restored the store from a snapshot');
    // Crash the new leader too: the restarted peer is now one of the two that must carry on.
    const second = await cluster.waitForLeader();
    if (second.leader !== leader) await cluster.crash(second.leader);

    assert.equal(await kv.getText('user/1'), 'ada lovelace');
    assert.equal(await kv.get('user/2'), undefined);
    assert.equal(await kv.getText('log'), 'a,b,', 'each append applied exactly once');
    const users = await kv.scan('user/');
    assert.deepEqual(users.entries.map((e) => [e.key, text(e.value)]), [['user/1', 'ada lovelace']]);
    const fill = await kv.scan('fill/', { limit: 10 });
    assert.equal(fill.entries.length, 10);
    assert.equal(fill.more, true);
    await assert.rejects(kv.append('log', new Uint8Array(256 * 1024)), (e: unknown) => e instanceof KvError && e.code === KvErrorCode.ValueTooLarge);
    assert.equal(await kv.getText('log'), 'a,b,', 'a refused append changed nothing');
  } finally {
    await cluster.stop();
  }
});
