/**
 * Cluster.persistedStateBytes means the same on both storages: hard state plus the log after
 * the snapshot, counted alike, so the snapshot scenarios' size bound checks the same thing
 * on shared memory and on FileStorage.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageChoice, cmd, scenario, sleep, storageLabel } from './harness.js';

const HARD_STATE = 12;
/** 20 commands of 8 bytes: the entries record's 12 bytes, then per entry 8 bytes of term and end plus its command. */
const TWENTY = HARD_STATE + 12 + 20 * (8 + 8);

for (const s of [{ storage: 'memory' }, { storage: 'file', fsync: 'batch' }] as StorageChoice[]) {
  test(`persisted Raft state counts the log after the snapshot${storageLabel(s)}`, { timeout: 60_000 }, async () => {
    await scenario(3, s, async (h) => {
      for (let i = 1; i <= 20; i++) await h.one(cmd(i), 3, true);
      for (let p = 0; p < 3; p++) assert.equal(await h.cluster.persistedStateBytes(p), TWENTY, `peer ${p}`);
      await h.cluster.peer(0).snapshot(20, new TextEncoder().encode(JSON.stringify(Array.from({ length: 20 }, (_, i) => String(i + 1)))));
      // the snapshot is persisted with the peer's next flush
      for (let t = 0; t < 100 && (await h.cluster.persistedStateBytes(0)) !== HARD_STATE; t++) await sleep(20);
      assert.equal(await h.cluster.persistedStateBytes(0), HARD_STATE, 'peer 0 after its snapshot');
      assert.equal(await h.cluster.persistedStateBytes(1), TWENTY, 'peer 1 kept its log');
    });
  });
}
