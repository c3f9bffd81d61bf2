import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerDownError } from '../../src/index.js';
import { cmd, randInt, scenario, sleep } from './harness.js';

test('basic agree', async () => {
  await scenario(3, {}, async (h) => {
    for (let index = 1; index < 4; index++) {
      assert.equal(h.nCommitted(index).count, 0, 'some have committed before start()');
      const xindex = await h.one(cmd(index * 100), 3, false);
      assert.equal(xindex, index, `got index ${xindex} but expected ${index}`);
    }
  });
});

test('RPC byte count', async () => {
  await scenario(3, {}, async (h) => {
    await h.one(cmd(99), 3, false);
    const bytes0 = h.cluster.bytesTotal();
    const iters = 10;
    let sent = 0;
    for (let index = 2; index < iters + 2; index++) {
      const c = new Uint8Array(5000);
      for (let k = 0; k < c.length; k++) c[k] = randInt(256);
      const xindex = await h.one(c, 3, false);
      assert.equal(xindex, index);
      sent += c.length;
    }
    const got = h.cluster.bytesTotal() - bytes0;
    const expected = 3 * sent; // each command goes to 2 followers; allow a third copy
    assert.ok(got <= expected + 50_000, `too many RPC bytes; got ${got}, expected at most ${expected + 50_000}`);
  });
});

test('follower failure', async () => {
  await scenario(3, {}, async (h) => {
    await h.one(cmd(101), 3, false);
    const leader1 = await h.checkOneLeader();
    h.disconnect((leader1 + 1) % 3);
    await h.one(cmd(102), 2, false); // the leader and the remaining follower agree
    await sleep(500);
    await h.one(cmd(103), 2, false);
    const leader2 = await h.checkOneLeader();
    h.disconnect((leader2 + 1) % 3);
    h.disconnect((leader2 + 2) % 3);
    const r = await h.cluster.peer(leader2).start(cmd(104));
    assert.ok(r.isLeader, 'leader rejected start()');
    assert.equal(r.index, 4, `expected index 4, got ${r.index}`);
    await sleep(2 * 500);
    assert.equal(h.nCommitted(r.index).count, 0, 'committed without a majority');
  });
});

test('leader failure', async () => {
  await scenario(3, {}, async (h) => {
    await h.one(cmd(101), 3, false);
    const leader1 = await h.checkOneLeader();
    h.disconnect(leader1);
    await h.one(cmd(102), 2, false);
    await sleep(500);
    await h.one(cmd(103), 2, false);
    const leader2 = await h.checkOneLeader();
    h.disconnect(leader2);
    // a leader without a majority commits nothing
    for (let i = 0; i < 3; i++) await h.cluster.peer(i).start(cmd(104));
    await sleep(2 * 500);
    assert.equal(h.nCommitted(4).count, 0, `${h.nCommitted(4).count} committed but no majority`);
  });
});

test('fail agree: a disconnected follower rejoins', async () => {
  await scenario(3, {}, async (h) => {
    await h.one(cmd(101), 3, false);
    const leader = await h.checkOneLeader();
    h.disconnect((leader + 1) % 3);
    await h.one(cmd(102), 2, false);
    await h.one(cmd(103), 2, false);
    await sleep(500);
    await h.one(cmd(104), 2, false);
    await h.one(cmd(105), 2, false);
    h.connect((leader + 1) % 3);
    await h.one(cmd(106), 3, true);
    await sleep(500);
    await h.one(cmd(107), 3, true);
  });
});

test('fail no agree: no majority, no commit', async () => {
  await scenario(5, {}, async (h) => {
    await h.one(cmd(10), 5, false);
    const leader = await h.checkOneLeader();
    h.disconnect((leader + 1) % 5);
    h.disconnect((leader + 2) % 5);
    h.disconnect((leader + 3) % 5);
    const r = await h.cluster.peer(leader).start(cmd(20));
    assert.ok(r.isLeader, 'leader rejected start()');
    assert.equal(r.index, 2, `expected index 2, got ${r.index}`);
    await sleep(2 * 500);
    assert.equal(h.nCommitted(r.index).count, 0, 'committed without a majority');
    h.connect((leader + 1) % 5);
    h.connect((leader + 2) % 5);
    h.connect((leader + 3) % 5);
    const leader2 = await h.checkOneLeader();
    const r2 = await h.cluster.peer(leader2).start(cmd(30));
    assert.ok(r2.isLeader, 'leader2 rejected start()');
    assert.ok(r2.index >= 2 && r2.index <= 3, `unexpected index ${r2.index}`);
    await h.one(cmd(1000), 5, true);
  });
});

test('concurrent starts', async () => {
  await scenario(3, {}, async (h) => {
    let success = false;
    for (let attempt = 0; attempt < 5 && !success; attempt++) {
      if (attempt > 0) await sleep(3000);
      const leader = await h.checkOneLeader();
      const r0 = await h.cluster.peer(leader).start(cmd(1));
      if (!r0.isLeader) continue;
      const iters = 5;
      const results = await Promise.all(Array.from({ length: iters }, (_, i) => h.cluster.peer(leader).start(cmd(100 + i))));
      if (results.some((r) => !r.isLeader || r.term !== r0.term)) continue;
      const stillSame = await Promise.all([0, 1, 2].map((j) => h.cluster.peer(j).getState()));
      if (stillSame.some((s) => s.term !== r0.term)) continue;
      const cmds: string[] = [];
      let failed = false;
      for (const r of results) {
        const k = await h.wait(r.index, 3, r0.term);
        if (k === undefined) { failed = true; break; }
        cmds.push(k);
      }
      if (failed) continue;
      for (let i = 0; i < iters; i++) assert.ok(cmds.includes(String(100 + i)), `cmd ${100 + i} missing in ${cmds}`);
      success = true;
    }
    assert.ok(success, 'term changed too often');
  });
});

test('rejoin of a partitioned leader', async () => {
  await scenario(3, {}, async (h) => {
    await h.one(cmd(101), 3, true);
    const leader1 = await h.checkOneLeader();
    h.disconnect(leader1);
    // the old leader accepts commands it cannot commit
    await h.cluster.peer(leader1).start(cmd(102));
    await h.cluster.peer(leader1).start(cmd(103));
    await h.cluster.peer(leader1).start(cmd(104));
    await h.one(cmd(103), 2, true); // new leader commits, also for index 2
    const leader2 = await h.checkOneLeader();
    h.disconnect(leader2);
    h.connect(leader1); // old leader connected again
    await h.one(cmd(104), 2, true);
    h.connect(leader2);
    await h.one(cmd(105), 3, true);
  });
});

test('backup: leader backs up quickly over incorrect follower logs', async () => {
  await scenario(5, {}, async (h) => {
    await h.one(cmd(randInt(1e9)), 5, true);
    const leader1 = await h.checkOneLeader();
    h.disconnect((leader1 + 2) % 5); h.disconnect((leader1 + 3) % 5); h.disconnect((leader1 + 4) % 5);
    for (let i = 0; i < 50; i++) await h.cluster.peer(leader1).start(cmd(randInt(1e9)));
    await sleep(500 / 2);
    h.disconnect((leader1 + 0) % 5); h.disconnect((leader1 + 1) % 5);
    h.connect((leader1 + 2) % 5); h.connect((leader1 + 3) % 5); h.connect((leader1 + 4) % 5);
    for (let i = 0; i < 50; i++) await h.one(cmd(randInt(1e9)), 3, true);
    const leader2 = await h.checkOneLeader();
    let other = (leader1 + 2) % 5;
    if (leader2 === other) other = (leader2 + 1) % 5;
    h.disconnect(other);
    for (let i = 0; i < 50; i++) await h.cluster.peer(leader2).start(cmd(randInt(1e9)));
    await sleep(500 / 2);
    for (let i = 0; i < 5; i++) h.disconnect(i);
    h.connect((leader1 + 0) % 5); h.connect((leader1 + 1) % 5); h.connect(other);
    for (let i = 0; i < 50; i++) await h.one(cmd(randInt(1e9)), 3, true);
    for (let i = 0; i < 5; i++) h.connect(i);
    await h.one(cmd(randInt(1e9)), 5, true);
  });
});

test('RPC counts are not too high', async () => {
  await scenario(3, {}, async (h) => {
    const rpcs = () => h.cluster.rpcTotal();
    const leader = await h.checkOneLeader();
    const total1 = rpcs();
    assert.ok(total1 <= 30 && total1 >= 1, `too many or few RPCs (${total1}) to elect initial leader`);
    let success = false;
    let total2 = 0;
    for (let attempt = 0; attempt < 5 && !success; attempt++) {
      if (attempt > 0) await sleep(3000);
      const l = await h.checkOneLeader();
      const t1 = rpcs();
      const iters = 10;
      const r0 = await h.cluster.peer(l).start(cmd(1));
      if (!r0.isLeader) continue;
      const cmds: number[] = [];
      let bad = false;
      for (let i = 1; i < iters + 2; i++) {
        const x = randInt(1e9);
        cmds.push(x);
        const r = await h.cluster.peer(l).start(cmd(x));
        if (r.term !== r0.term || !r.isLeader) { bad = true; break; }
        assert.equal(r.index, r0.index + i, 'start() failed');
      }
      if (bad) continue;
      for (let i = 1; i < iters + 1; i++) {
        const k = await h.wait(r0.index + i, 3, r0.term);
        if (k === undefined) { bad = true; break; }
        assert.equal(k, String(cmds[i - 1]), `wrong value ${k} committed for index ${r0.index + i}`);
      }
      if (bad) continue;
      const states = await Promise.all([0, 1, 2].map((j) => h.cluster.peer(j).getState()));
      if (states.some((s) => s.term !== r0.term)) continue;
      total2 = rpcs() - t1;
      assert.ok(total2 <= (iters + 1 + 3) * 3, `too many RPCs (${total2}) for ${iters} entries`);
      success = true;
    }
    assert.ok(success, 'term changed too often');
    void leader;
    await sleep(1000);
    const t3 = rpcs();
    await sleep(1000);
    const idle = rpcs() - t3;
    assert.ok(idle <= 3 * 20, `too many RPCs (${idle}) for 1 second of idleness`);
  });
});

test('bad input to start() is refused and the cluster keeps working', async () => {
  await scenario(3, { cluster: { maxCommandBytes: 1024 } }, async (h) => {
    const leader = await h.checkOneLeader();
    const p = h.cluster.peer(leader);
    assert.throws(() => p.start('hello' as never), { name: 'TypeError', message: /command must be a Uint8Array, got string/ });
    assert.throws(() => p.start([1, 2] as never), { name: 'TypeError', message: /got Array/ });
    assert.throws(() => p.start(new Uint8Array(1025)), { name: 'RangeError', message: /1025 bytes exceeds maxCommandBytes \(1024\)/ });
    // a peer id of the wrong type says so, rather than "peer index 0 out of range 0..2"
    assert.throws(() => h.cluster.peer('0' as never), { name: 'TypeError', message: /peer index must be an integer, got string "0"/ });
    assert.throws(() => h.cluster.peer(3), { name: 'RangeError', message: /peer index 3 out of range 0..2/ });
    await h.one(cmd(7), 3, true);
    await assert.rejects(h.cluster.crash(leader).then(() => h.cluster.peer(leader).start(cmd(8))), PeerDownError);
  });
});
