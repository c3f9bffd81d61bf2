import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OptionError } from '../../bench/options.js';
import { main } from '../../bench/run.js';
import { SNAPSHOT_EVERY_ENTRIES, snapshotEveryEntries } from '../../bench/scenario.js';

test('RAFT_BENCH_SNAPSHOT_EVERY: a count, the default when unset or empty, else refused by its name', () => {
  assert.equal(snapshotEveryEntries({}), SNAPSHOT_EVERY_ENTRIES);
  assert.equal(snapshotEveryEntries({ RAFT_BENCH_SNAPSHOT_EVERY: '' }), SNAPSHOT_EVERY_ENTRIES);
  assert.equal(snapshotEveryEntries({ RAFT_BENCH_SNAPSHOT_EVERY: '1000' }), 1000);
  for (const bad of ['abc', '0', '-5', '1.5']) {
    assert.throws(() => snapshotEveryEntries({ RAFT_BENCH_SNAPSHOT_EVERY: bad }),
      (e: unknown) => e instanceof OptionError && /RAFT_BENCH_SNAPSHOT_EVERY/.test(e.message) && e.message.includes(JSON.stringify(bad)), bad);
  }
});

test('npm run bench refuses a bad RAFT_BENCH_SNAPSHOT_EVERY with exit 2 before it starts a cluster (not exit 1 as a failed run)', async (t) => {
  const before = process.env.RAFT_BENCH_SNAPSHOT_EVERY;
  process.env.RAFT_BENCH_SNAPSHOT_EVERY = 'abc';
  t.after(() => { if (before === undefined) delete process.env.RAFT_BENCH_SNAPSHOT_EVERY; else process.env.RAFT_BENCH_SNAPSHOT_EVERY = before; });
  t.mock.method(console, 'error', () => {});
  t.mock.method(console, 'log', () => {});
  assert.equal(await main(['--no-limits', '--duration', '0.2', '--warmup', '0', '--window', '8', '--out', '/nonexistent-dir/never.json']), 2);
});
