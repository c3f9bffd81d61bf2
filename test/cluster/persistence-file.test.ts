import { test } from 'node:test';
import { FULL, StorageChoice, storageLabel } from './harness.js';
import { figure8, persist1, persist3, persistenceScenarios } from './persistence-scenarios.js';

/**
 * The persistence scenarios on FileStorage (fsync 'batch', a fresh temporary directory per
 * scenario): every crash/restart reopens the peer's directory. `npm test` runs a subset that
 * covers restart of all peers, of a partitioned leader, and Figure 8's hundreds of crashes;
 * RAFT_FULL=1 runs them all.
 */
const file: StorageChoice = { storage: 'file', fsync: 'batch' };
const chosen = FULL ? persistenceScenarios : [persist1, persist3, figure8];
for (const s of chosen) test(s.name + storageLabel(file), { timeout: 150_000 }, () => s.run(file));
