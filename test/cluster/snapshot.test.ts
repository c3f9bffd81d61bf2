import { test } from 'node:test';
import { storageLabel } from './harness.js';
import { snapshotScenarios } from './snapshot-scenarios.js';

// On the default storage (shared memory, or RAFT_STORAGE=file); snapshot-file.test.ts runs them on disk.
for (const s of snapshotScenarios) test(s.name + storageLabel(), { timeout: 150_000 }, () => s.run({}));
