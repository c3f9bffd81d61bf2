import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simpleMembership } from '../../src/core/membership.js';
import { RELIABLE } from '../../src/sim/network.js';
import { Prng } from '../../src/sim/prng.js';
import { runSeed } from '../../src/sim/scenario.js';
import { Simulation } from '../../src/sim/simulation.js';
import { Trace } from '../../src/sim/trace.js';
import type { RunOptions } from '../../src/sim/scenario.js';

/** Membership changes under the simulation: every seed passes, and the runs did change membership. */
function sweep(seeds: number, options: RunOptions): { failures: string[]; accepted: number; jointDecisions: number; refused: number } {
  const failures: string[] = [];
  let accepted = 0, jointDecisions = 0, refused = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSeed(seed, { ...options, membership: true });
    if (!r.ok) failures.push(r.error!);
    accepted += r.stats.membership.accepted;
    refused += r.stats.membership.refused;
    jointDecisions += r.stats.membership.jointDecisionsChecked;
  }
  return { failures, accepted, jointDecisions, refused };
}

describe('membership changes under the simulation', () => {
  it('60 seeds, 3 peers: safe and live, joint decisions checked', () => {
    const s = sweep(60, { peers: 3, steps: 800 });
    assert.deepEqual(s.failures, []);
    assert.ok(s.accepted > 20, `only ${s.accepted} changes accepted`);
    assert.ok(s.refused > 0, 'no change was refused (bad input and changes in progress must be)');
    assert.ok(s.jointDecisions > 0, 'no commit decision in a joint configuration was checked');
  });

  it('30 seeds, 5 peers, snapshots', () => {
    const s = sweep(30, { peers: 5, steps: 800, snapshots: true });
    assert.deepEqual(s.failures, []);
    assert.ok(s.accepted > 10);
  });
});

describe('autoPromoteLearners under the simulation', () => {
  for (const within of [undefined, 0, 5]) {
    it(`a learner added to 3 voters is ${within === undefined ? 'left a learner (option off)' : `promoted once within ${within} entries`}`, () => {
      const sim = new Simulation({
        peers: 4, initialVoters: 3, core: { electionTicks: 10, heartbeatTicks: 2, checkQuorum: true, noopOnElection: true, autoPromoteLearners: within },
        maxPersistDelay: 2, pipelined: true, tickSkewMs: 0, auditEvery: 1000,
      }, new Prng(7), new Trace());
      sim.network.faults = { ...RELIABLE };
      sim.start();
      sim.runUntil(1000);
      const leader = sim.leaders()[0];
      assert.ok(leader, 'a leader');
      for (let k = 0; k < 50; k++) sim.propose(leader.id, new Uint8Array([1, k]));
      assert.equal(sim.proposeConfChange(leader.id, { addLearners: [4] }).kind, 'accepted');
      sim.runUntil(3000);
      sim.checker.audit();
      const m = sim.leaders()[0].core!.membership;
      if (within === undefined) assert.deepEqual(m, simpleMembership([1, 2, 3], [4]));
      else assert.deepEqual(m, simpleMembership([1, 2, 3, 4]));
      assert.ok(sim.membershipChecker.counts.jointCommitDecisions > 0 || within === undefined, 'the promotion went through a joint configuration');
    });
  }
});
