import { test } from 'node:test';
import { FULL, storageLabel } from './harness.js';
import { snapshotInstallCrash, snapshotInstallUnreliable, snapshotScenarios } from './snapshot-scenarios.js';

/**
 * On the default storage (shared memory, or RAFT_STORAGE=file); snapshot-file.test.ts runs them
 * on disk. `npm test` leaves out the two install scenarios that 'snapshot install unreliable
 * crash' combines (an unreliable network and a crash; the crash alone also runs on disk in
 * snapshot-file.test.ts), half a minute each; RAFT_FULL=1 runs them all.
 */
const subsumed = new Set([snapshotInstallUnreliable, snapshotInstallCrash]);
for (const s of snapshotScenarios) {
  if (!FULL && subsumed.has(s)) continue;
  test(s.name + storageLabel(), { timeout: 150_000 }, () => s.run({}));
}
