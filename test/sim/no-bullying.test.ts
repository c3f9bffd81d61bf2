import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELIABLE } from '../../src/sim/network.js';
import { Prng } from '../../src/sim/prng.js';
import { Simulation } from '../../src/sim/simulation.js';
import { Trace } from '../../src/sim/trace.js';

/**
 * A healed 3-peer cluster, one follower cut off for 3 s (many election timeouts) and healed:
 * returns the highest term before the cut and after the heal, and the leaders then.
 */
function partitionedFollower(preVote: boolean, seed: number): { before: number; after: number; leaderBefore: number; leaderAfter: number } {
  const sim = new Simulation({
    peers: 3, core: { electionTicks: 10, heartbeatTicks: 2, checkQuorum: true, preVote, noopOnElection: true },
    maxPersistDelay: 2, pipelined: true, tickSkewMs: 0, auditEvery: 1000,
  }, new Prng(seed), new Trace());
  sim.network.faults = { ...RELIABLE };
  sim.start();
  sim.runUntil(2000);
  const maxTerm = () => Math.max(...sim.peers.map((p) => p.core!.term));
  const leaderBefore = sim.leaders()[0].id;
  const before = maxTerm();
  const cut = sim.peers.find((p) => p.id !== leaderBefore)!.id;
  sim.network.partition([[cut], sim.peers.map((p) => p.id).filter((id) => id !== cut)]);
  sim.runUntil(5000);
  sim.network.heal();
  sim.runUntil(7000);
  sim.checker.audit();
  return { before, after: maxTerm(), leaderBefore, leaderAfter: sim.leaders()[0]?.id ?? -1 };
}

describe('no bullying: a follower partitioned then healed', () => {
  for (const seed of [1, 2, 3]) {
    it(`does not raise the term or depose the leader with pre-vote on (seed ${seed})`, () => {
      const r = partitionedFollower(true, seed);
      assert.equal(r.after, r.before, `term went from ${r.before} to ${r.after}`);
      assert.equal(r.leaderAfter, r.leaderBefore);
    });
  }

  it('raises the term with pre-vote off (the check above can fail)', () => {
    const r = partitionedFollower(false, 1);
    assert.ok(r.after > r.before, `term stayed ${r.before}`);
  });
});
