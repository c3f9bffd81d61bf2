/**
 * The classic lab's snapshot scenarios. Registered by snapshot.test.ts on the default storage
 * and by snapshot-file.test.ts on FileStorage.
 */
import assert from 'node:assert/strict';
import { Harness, ScenarioDef, StorageChoice, cmd, randInt, rounds, scenario } from './harness.js';

const SNAPSHOT_INTERVAL = 10;
const MAX_LOG_SIZE = 2000;

async function checkLogSize(h: Harness): Promise<void> {
  for (let i = 0; i < h.n; i++) {
    if (!h.cluster.isAlive(i)) continue;
    const size = await h.cluster.persistedStateBytes(i);
    assert.ok(size < MAX_LOG_SIZE, `peer ${i}: persisted Raft state is ${size} bytes (>= ${MAX_LOG_SIZE})`);
  }
}

/** The lab's snapCommon: a victim falls behind (disconnected or crashed) and must catch up by snapshot. */
async function snapCommon(s: StorageChoice, disconnect: boolean, reliable: boolean, crash: boolean): Promise<void> {
  const servers = 3;
  await scenario(servers, { ...s, snapshots: true, unreliable: !reliable }, async (h) => {
    await h.one(cmd(randInt(1e9)), servers, true);
    let leader1 = await h.checkOneLeader();
    for (let i = 0; i < rounds(30, 30); i++) {
      let victim = (leader1 + 1) % servers;
      let sender = leader1;
      if (i % 3 === 1) { sender = (leader1 + 1) % servers; victim = leader1; }
      if (disconnect) { h.disconnect(victim); await h.one(cmd(randInt(1e9)), servers - 1, true); }
      if (crash) { await h.crash(victim); await h.one(cmd(randInt(1e9)), servers - 1, true); }
      // perhaps send enough to get a snapshot
      const nn = SNAPSHOT_INTERVAL / 2 + randInt(SNAPSHOT_INTERVAL);
      for (let j = 0; j < nn; j++) {
        if (h.cluster.isAlive(sender)) await h.cluster.peer(sender).start(cmd(randInt(1e9)));
      }
      // let the appliers catch up with the starts
      if (!disconnect && !crash) await h.one(cmd(randInt(1e9)), servers, true);
      else await h.one(cmd(randInt(1e9)), servers - 1, true);
      await checkLogSize(h);
      if (disconnect) {
        // reconnect a follower that may need a snapshot to catch up
        h.connect(victim);
        await h.one(cmd(randInt(1e9)), servers, true);
        leader1 = await h.checkOneLeader();
      }
      if (crash) {
        await h.restart(victim);
        h.connect(victim);
        await h.one(cmd(randInt(1e9)), servers, true);
        leader1 = await h.checkOneLeader();
      }
    }
  });
}

export const snapshotBasic: ScenarioDef = { name: 'snapshot basic', run: (s) => snapCommon(s, false, true, false) };
export const snapshotInstall: ScenarioDef = { name: 'snapshot install (victim disconnected)', run: (s) => snapCommon(s, true, true, false) };
export const snapshotInstallUnreliable: ScenarioDef = { name: 'snapshot install unreliable', run: (s) => snapCommon(s, true, false, false) };
export const snapshotInstallCrash: ScenarioDef = { name: 'snapshot install crash', run: (s) => snapCommon(s, false, true, true) };
export const snapshotInstallUnreliableCrash: ScenarioDef = { name: 'snapshot install unreliable crash', run: (s) => snapCommon(s, false, false, true) };

export const snapshotAllCrash: ScenarioDef = {
  name: 'snapshot all crash',
  run: (s) => scenario(3, { ...s, snapshots: true }, async (h) => {
    const servers = 3;
    await h.one(cmd(randInt(1e9)), servers, true);
    for (let i = 0; i < 5; i++) {
      const nn = SNAPSHOT_INTERVAL / 2 + randInt(SNAPSHOT_INTERVAL);
      for (let j = 0; j < nn; j++) await h.one(cmd(randInt(1e9)), servers, true);
      const index1 = await h.one(cmd(randInt(1e9)), servers, true);
      for (let k = 0; k < servers; k++) await h.crash(k);
      for (let k = 0; k < servers; k++) { await h.restart(k); h.connect(k); }
      const index2 = await h.one(cmd(randInt(1e9)), servers, true);
      assert.ok(index2 >= index1 + 1, `index decreased from ${index1} to ${index2}`);
    }
  }),
};

export const snapshotInit: ScenarioDef = {
  name: 'snapshot init: restart twice right after snapshotting',
  run: (s) => scenario(3, { ...s, snapshots: true }, async (h) => {
    const servers = 3;
    await h.one(cmd(randInt(1e9)), servers, true);
    // enough ops to make a snapshot
    for (let i = 0; i < SNAPSHOT_INTERVAL + 1; i++) await h.one(cmd(randInt(1e9)), servers, true);
    for (let k = 0; k < servers; k++) await h.crash(k);
    for (let k = 0; k < servers; k++) { await h.restart(k); h.connect(k); }
    await h.one(cmd(randInt(1e9)), servers, true);
    for (let k = 0; k < servers; k++) await h.crash(k);
    for (let k = 0; k < servers; k++) { await h.restart(k); h.connect(k); }
    await h.one(cmd(randInt(1e9)), servers, true);
  }),
};

export const snapshotBadIndex: ScenarioDef = {
  name: 'snapshot() with a bad index is refused and changes nothing',
  run: (s) => scenario(3, { ...s }, async (h) => {
    for (let i = 0; i < 12; i++) await h.one(cmd(i + 1), 3, true);
    const p = h.cluster.peer(0);
    await assert.rejects(p.snapshot(1000, new Uint8Array(1)), /snapshot index 1000 is above the commit index/);
    await p.snapshot(5, new TextEncoder().encode(JSON.stringify(['1', '2', '3', '4', '5'])));
    await assert.rejects(p.snapshot(3, new Uint8Array(1)), /not above the last snapshot index 5/);
    await assert.rejects(p.snapshot(-1, new Uint8Array(1)), TypeError);
    await assert.rejects(p.snapshot(6, 'x' as never), /must be a Uint8Array/);
    const stats = await p.stats();
    assert.equal(stats.snapshotIndex, 5);
    await h.one(cmd(99), 3, true);
  }),
};

export const snapshotScenarios: ScenarioDef[] = [
  snapshotBasic, snapshotInstall, snapshotInstallUnreliable, snapshotInstallCrash, snapshotInstallUnreliableCrash,
  snapshotAllCrash, snapshotInit, snapshotBadIndex,
];
