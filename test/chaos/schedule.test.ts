/** Seeded: the same seed gives the same faults and the same operation mix; the nemesis heals what it broke. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Nemesis, nemesisSchedule, type FaultTarget } from '../../src/chaos/nemesis.js';
import { Workload } from '../../src/chaos/workload.js';

test('the nemesis schedule is a function of the seed, and never cuts off a majority', () => {
  for (const peers of [3, 5]) {
    for (let seed = 0; seed < 50; seed++) {
      const s = nemesisSchedule(seed, 20, peers);
      assert.deepEqual(nemesisSchedule(seed, 20, peers), s);
      assert.ok(s.length >= 5, `seed ${seed}: ${s.length} faults in 20 s`);
      let end = 0;
      for (const f of s) {
        assert.ok(f.atMs >= end, 'one fault at a time, each healed before the next');
        end = f.atMs + f.durationMs;
        if (f.kind === 'partition-minority') assert.ok(Array.isArray(f.peers) && f.peers.length >= 1 && f.peers.length < peers / 2);
        if (f.kind === 'partition-leader') assert.equal(f.peers, 'leader');
      }
    }
  }
  assert.notDeepEqual(nemesisSchedule(1, 20, 3), nemesisSchedule(2, 20, 3));
  const kinds = new Set(Array.from({ length: 20 }, (_, seed) => nemesisSchedule(seed, 20, 5).map((f) => f.kind)).flat());
  assert.deepEqual([...kinds].sort(), ['crash-restart', 'long-reordering', 'partition-leader', 'partition-minority', 'unreliable']);
});

test('the operation mix is a function of the seed and the client', () => {
  const ops = (seed: number, client: number) => { const w = new Workload(seed, client); return Array.from({ length: 200 }, () => w.next()); };
  assert.deepEqual(ops(5, 1), ops(5, 1));
  assert.notDeepEqual(ops(5, 1), ops(5, 2));
  assert.notDeepEqual(ops(5, 1), ops(6, 1));
  const names = new Set(ops(5, 1).map((o) => o.op));
  assert.deepEqual([...names].sort(), ['append', 'cas', 'delete', 'get', 'put', 'scan']);
  for (const o of ops(5, 1)) if (o.op === 'append') assert.match(o.value as string, /^a1\.\d+,$/, 'appended values are unique and end with the delimiter');
});

test('the nemesis injects the schedule and heals everything, also when stopped early', async () => {
  const calls: string[] = [];
  const alive = [true, true, true];
  const target: FaultTarget = {
    size: 3,
    disconnect: (i) => calls.push(`disconnect ${i}`),
    connect: () => {},
    setUnreliable: (on) => { if (on) calls.push('unreliable'); },
    setLongReordering: (on) => { if (on) calls.push('reorder'); },
    crash: async (i) => { alive[i] = false; calls.push(`crash ${i}`); },
    restart: async (i) => { alive[i] = true; calls.push(`restart ${i}`); },
    isAlive: (i) => alive[i],
    waitForLeader: async () => ({ leader: 2 }),
  };
  const n = new Nemesis(target, [
    { kind: 'partition-leader', atMs: 0, durationMs: 5, peers: 'leader' },
    { kind: 'crash-restart', atMs: 10, durationMs: 5, peers: [1] },
    { kind: 'crash-restart', atMs: 20, durationMs: 60_000, peers: 'leader' },
  ]);
  const done = n.run(performance.now());
  await new Promise((r) => setTimeout(r, 100));
  n.stop();
  await done;
  assert.deepEqual(calls, ['disconnect 2', 'crash 1', 'restart 1', 'crash 2', 'restart 2']);
  assert.deepEqual(alive, [true, true, true]);
  assert.equal(n.log.length, 3);
});
