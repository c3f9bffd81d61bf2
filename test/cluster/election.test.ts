import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randInt, rounds, scenario, sleep } from './harness.js';

test('initial election', async () => {
  await scenario(3, {}, async (h) => {
    await h.checkOneLeader();
    await sleep(50);
    const term1 = await h.checkTerms();
    assert.ok(term1 >= 1, `term is ${term1}, but should be at least 1`);
    // the term does not change over 2 s without faults
    await sleep(2000);
    const term2 = await h.checkTerms();
    assert.equal(term2, term1, 'term changed even though there were no failures');
    await h.checkOneLeader();
  });
});

test('re-election', async () => {
  await scenario(3, {}, async (h) => {
    const leader1 = await h.checkOneLeader();
    h.disconnect(leader1);
    await h.checkOneLeader(); // a new leader
    h.connect(leader1);
    const leader2 = await h.checkOneLeader(); // old leader back: still one leader
    h.disconnect(leader2);
    h.disconnect((leader2 + 1) % 3);
    await sleep(2 * 500);
    await h.checkNoLeader(); // no majority: no leader
    h.connect((leader2 + 1) % 3);
    await h.checkOneLeader(); // majority back
    h.connect(leader2);
    await h.checkOneLeader();
  });
});

test('many elections (7 peers, rounds of 3 random disconnects)', async () => {
  await scenario(7, {}, async (h) => {
    await h.checkOneLeader();
    for (let ii = 1; ii < rounds(4, 10); ii++) {
      const i1 = randInt(7), i2 = randInt(7), i3 = randInt(7);
      h.disconnect(i1); h.disconnect(i2); h.disconnect(i3);
      // either the current leader is still alive, or the remaining four elect a new one
      await h.checkOneLeader();
      h.connect(i1); h.connect(i2); h.connect(i3);
    }
    await h.checkOneLeader();
  });
});
