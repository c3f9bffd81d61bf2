/**
 * The classic lab's persistence scenarios (crashes, restarts, Figure 8, churn). Registered by
 * persistence.test.ts on the default storage and by persistence-file.test.ts on FileStorage.
 */
import assert from 'node:assert/strict';
import { PeerDownError } from '../../src/index.js';
import { Harness, ScenarioDef, cmd, randInt, rounds, scenario, sleep } from './harness.js';

const ELECTION_TIMEOUT = 1000;

/** The lab's start1(): crash the peer if it runs, then restart it from what it persisted. */
async function reboot(h: Harness, i: number): Promise<void> {
  await h.crash(i);
  await h.restart(i);
}

async function tryStart(h: Harness, i: number, c: Uint8Array): Promise<boolean> {
  try { return (await h.cluster.peer(i).start(c)).isLeader; } catch (e) { if (e instanceof PeerDownError) return false; throw e; }
}

export const persist1: ScenarioDef = {
  name: 'persist 1: crash and restart all, the leader, the followers',
  run: (s) => scenario(3, { ...s }, async (h) => {
    await h.one(cmd(11), 3, true);
    for (let i = 0; i < 3; i++) await reboot(h, i);
    for (let i = 0; i < 3; i++) { h.disconnect(i); h.connect(i); }
    await h.one(cmd(12), 3, true);
    const leader1 = await h.checkOneLeader();
    h.disconnect(leader1);
    await reboot(h, leader1);
    h.connect(leader1);
    await h.one(cmd(13), 3, true);
    const leader2 = await h.checkOneLeader();
    h.disconnect(leader2);
    await h.one(cmd(14), 2, true);
    await reboot(h, leader2);
    h.connect(leader2);
    await h.wait(4, 3, -1); // wait for leader2 to join before killing i3
    const i3 = ((await h.checkOneLeader()) + 1) % 3;
    h.disconnect(i3);
    await h.one(cmd(15), 2, true);
    await reboot(h, i3);
    h.connect(i3);
    await h.one(cmd(16), 3, true);
  }),
};

export const persist2: ScenarioDef = {
  name: 'persist 2: more crashes and partitions',
  run: (s) => scenario(5, { ...s }, async (h) => {
    let index = 1;
    for (let iters = 0; iters < 5; iters++) {
      await h.one(cmd(10 + index), 5, true); index++;
      const leader1 = await h.checkOneLeader();
      h.disconnect((leader1 + 1) % 5);
      h.disconnect((leader1 + 2) % 5);
      await h.one(cmd(10 + index), 3, true); index++;
      h.disconnect((leader1 + 0) % 5);
      h.disconnect((leader1 + 3) % 5);
      h.disconnect((leader1 + 4) % 5);
      await reboot(h, (leader1 + 1) % 5);
      await reboot(h, (leader1 + 2) % 5);
      h.connect((leader1 + 1) % 5);
      h.connect((leader1 + 2) % 5);
      await sleep(ELECTION_TIMEOUT);
      await reboot(h, (leader1 + 3) % 5);
      h.connect((leader1 + 3) % 5);
      await h.one(cmd(10 + index), 3, true); index++;
      h.connect((leader1 + 4) % 5);
      h.connect((leader1 + 0) % 5);
    }
    await h.one(cmd(1000), 5, true);
  }),
};

export const persist3: ScenarioDef = {
  name: 'persist 3: partitioned leader and one follower crash, leader restarts',
  run: (s) => scenario(3, { ...s }, async (h) => {
    await h.one(cmd(101), 3, true);
    const leader = await h.checkOneLeader();
    h.disconnect((leader + 2) % 3);
    await h.one(cmd(102), 2, true);
    await h.crash((leader + 0) % 3);
    await h.crash((leader + 1) % 3);
    h.connect((leader + 2) % 3);
    await h.restart((leader + 0) % 3);
    h.connect((leader + 0) % 3);
    await h.one(cmd(103), 2, true);
    await h.restart((leader + 1) % 3);
    h.connect((leader + 1) % 3);
    await h.one(cmd(104), 3, true);
  }),
};

export const figure8: ScenarioDef = {
  name: 'Figure 8',
  run: (s) => scenario(5, { ...s }, async (h) => {
    await h.one(cmd(randInt(1e9)), 1, true);
    let nup = 5;
    for (let iters = 0; iters < rounds(150, 1000); iters++) {
      let leader = -1;
      for (let i = 0; i < 5; i++) {
        if (h.cluster.isAlive(i) && (await tryStart(h, i, cmd(randInt(1e9))))) leader = i;
      }
      if (randInt(1000) < 100) await sleep(randInt(ELECTION_TIMEOUT / 2));
      else await sleep(randInt(13));
      if (leader !== -1) { await h.crash(leader); nup--; }
      if (nup < 3) {
        const s = randInt(5);
        if (!h.cluster.isAlive(s)) { await h.restart(s); h.connect(s); nup++; }
      }
    }
    for (let i = 0; i < 5; i++) if (!h.cluster.isAlive(i)) { await h.restart(i); h.connect(i); }
    await h.one(cmd(randInt(1e9)), 5, true);
  }),
};

export const unreliableAgree: ScenarioDef = {
  name: 'unreliable agree',
  run: (s) => scenario(5, { ...s, unreliable: true }, async (h) => {
    const all: Array<Promise<number>> = [];
    for (let iters = 1; iters < rounds(20, 50); iters++) {
      for (let j = 0; j < 4; j++) all.push(h.one(cmd(100 * iters + j), 1, true));
      await h.one(cmd(iters), 1, true);
    }
    h.cluster.setUnreliable(false);
    await Promise.all(all);
    await h.one(cmd(100), 5, true);
  }),
};

export const figure8Unreliable: ScenarioDef = {
  name: 'Figure 8 unreliable',
  run: (s) => scenario(5, { ...s, unreliable: true }, async (h) => {
    await h.one(cmd(randInt(10000)), 1, true);
    let nup = 5;
    const total = rounds(300, 1000);
    const longFrom = rounds(60, 200);
    for (let iters = 0; iters < total; iters++) {
      if (iters === longFrom) h.cluster.setLongReordering(true);
      let leader = -1;
      for (let i = 0; i < 5; i++) {
        if ((await tryStart(h, i, cmd(randInt(10000)))) && h.cluster.isConnected(i)) leader = i;
      }
      if (randInt(1000) < 100) await sleep(randInt(ELECTION_TIMEOUT / 2));
      else await sleep(randInt(13));
      if (leader !== -1 && randInt(1000) < ELECTION_TIMEOUT / 2) { h.disconnect(leader); nup--; }
      if (nup < 3) {
        const s = randInt(5);
        if (!h.cluster.isConnected(s)) { h.connect(s); nup++; }
      }
    }
    for (let i = 0; i < 5; i++) h.connect(i);
    await h.one(cmd(randInt(10000)), 5, true);
  }),
};

function churn(unreliable: boolean, s: Parameters<ScenarioDef['run']>[0]): Promise<void> {
  return scenario(5, { ...s, unreliable }, async (h) => {
    let stop = false;
    const clients = Array.from({ length: 3 }, async (_, me) => {
      const values: number[] = [];
      while (!stop) {
        const x = randInt(1e9);
        let index = -1;
        for (let i = 0; i < 5 && index < 0; i++) {
          try {
            const r = await h.cluster.peer(i).start(cmd(x));
            if (r.isLeader) index = r.index;
          } catch (e) { if (!(e instanceof PeerDownError)) throw e; }
        }
        if (index > 0) {
          // poll for a while to see whether the value commits
          for (const to of [10, 20, 50, 100, 200]) {
            const { count, key } = h.nCommitted(index);
            if (count > 0) { if (key === String(x)) values.push(x); break; }
            await sleep(to);
          }
        } else {
          await sleep(79 + me * 17);
        }
      }
      return values;
    });
    for (let iters = 0; iters < 20; iters++) {
      if (randInt(1000) < 200) h.disconnect(randInt(5));
      if (randInt(1000) < 500) {
        const i = randInt(5);
        if (!h.cluster.isAlive(i)) await h.restart(i);
        h.connect(i);
      }
      if (randInt(1000) < 200) {
        const i = randInt(5);
        if (h.cluster.isAlive(i)) await h.crash(i);
      }
      await sleep((ELECTION_TIMEOUT * 7) / 10);
    }
    await sleep(ELECTION_TIMEOUT);
    h.cluster.setUnreliable(false);
    for (let i = 0; i < 5; i++) {
      if (!h.cluster.isAlive(i)) await h.restart(i);
      h.connect(i);
    }
    stop = true;
    const values = (await Promise.all(clients)).flat();
    await sleep(ELECTION_TIMEOUT);
    const lastIndex = await h.one(cmd(randInt(1e9)), 5, true);
    const really = new Set<string>();
    for (let index = 1; index <= lastIndex; index++) {
      const v = await h.wait(index, 5, -1);
      if (v !== undefined) really.add(v);
    }
    for (const v of values) assert.ok(really.has(String(v)), `a value a client saw committed (${v}) is not in the log`);
  });
}

export const reliableChurn: ScenarioDef = { name: 'reliable churn', run: (s) => churn(false, s) };
export const unreliableChurn: ScenarioDef = { name: 'unreliable churn', run: (s) => churn(true, s) };

export const persistenceScenarios: ScenarioDef[] = [
  persist1, persist2, persist3, figure8, unreliableAgree, figure8Unreliable, reliableChurn, unreliableChurn,
];
