import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { randInt, scenario } from './harness.js';

test('cluster.seed is the seed option, or a drawn integer when none is given', async () => {
  const given = await Cluster.start({ peers: 1, seed: 1234 });
  const drawn = await Cluster.start({ peers: 1 });
  try {
    assert.equal(given.seed, 1234);
    assert.ok(Number.isSafeInteger(drawn.seed), `drawn seed ${drawn.seed}`);
  } finally {
    await given.stop();
    await drawn.stop();
  }
});

test('a seed that is not a safe integer is refused with the option named', async () => {
  await assert.rejects(Cluster.start({ peers: 1, seed: 1.5 }), /option seed must be a safe integer \(at most 2\^53 - 1 in magnitude\), got number 1.5/);
  await assert.rejects(Cluster.start({ peers: 1, seed: 'x' as unknown as number }), /option seed must be a safe integer \(at most 2\^53 - 1 in magnitude\), got string "x"/);
  await assert.rejects(Cluster.start({ peers: 1, seed: 2 ** 60 }), /option seed must be a safe integer \(at most 2\^53 - 1 in magnitude\), got number 1152921504606847000/);
});

test('a failing scenario names its seed, and the same seed replays the scenario\'s own choices', async () => {
  const draws: number[][] = [];
  for (let run = 0; run < 2; run++) {
    await assert.rejects(
      scenario(1, { cluster: { seed: 777 } }, async () => {
        draws.push(Array.from({ length: 5 }, () => randInt(1e9)));
        throw new Error('boom');
      }),
      /boom \(seed 777; replay with RAFT_SEED=777\)/,
    );
  }
  assert.deepEqual(draws[0], draws[1]);
});
