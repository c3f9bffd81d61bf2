import { test } from 'node:test';
import { storageLabel } from './harness.js';
import { persistenceScenarios } from './persistence-scenarios.js';

// On the default storage (shared memory, or RAFT_STORAGE=file); persistence-file.test.ts runs them on disk.
for (const s of persistenceScenarios) test(s.name + storageLabel(), { timeout: 150_000 }, () => s.run({}));
