import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { measureFdatasync } from '../../src/storage/fsync-probe.js';
import { rmDir, tmpDir } from './helpers.js';

test('measureFdatasync: reports ordered latency figures and leaves no file behind', () => {
  const dir = tmpDir('raft-fsync-probe');
  try {
    const p = measureFdatasync(dir, 20);
    assert.equal(p.iterations, 20);
    assert.ok(p.minMs >= 0 && p.minMs <= p.p50Ms && p.p50Ms <= p.p99Ms && p.p99Ms <= p.maxMs);
    assert.ok(p.meanMs >= p.minMs && p.meanMs <= p.maxMs);
    assert.ok(p.perSecond > 0);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.throws(() => measureFdatasync(dir, 0), /iterations/);
  } finally {
    rmDir(dir);
  }
});
