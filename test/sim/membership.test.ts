import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSeed } from '../../src/sim/scenario.js';
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
