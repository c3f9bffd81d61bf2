import { test } from 'node:test';
import { FULL, StorageChoice, storageLabel } from './harness.js';
import { snapshotAllCrash, snapshotBasic, snapshotInit, snapshotInstallCrash, snapshotScenarios } from './snapshot-scenarios.js';

/**
 * The snapshot scenarios on FileStorage (fsync 'batch', a fresh temporary directory per
 * scenario): snapshot files and compaction survive restarts, a restarted peer takes an
 * InstallSnapshot onto its disk, and the Raft state stays small. `npm test` runs a subset;
 * RAFT_FULL=1 runs them all.
 */
const file: StorageChoice = { storage: 'file', fsync: 'batch' };
const chosen = FULL ? snapshotScenarios : [snapshotBasic, snapshotInstallCrash, snapshotAllCrash, snapshotInit];
for (const s of chosen) test(s.name + storageLabel(file), { timeout: 150_000 }, () => s.run(file));
