import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

// The peer-cost harness as its command line runs it. No assertion on the figures (benchmarks
// are not tests): the harness itself throws unless every proposal commits and, with sessions,
// every command is answered Applied; this checks that it ran both modes and printed them.
const TOOL = fileURLToPath(new URL('../../bench/peer-cost.js', import.meta.url));

test('bench peer-cost: raw and sessions samples, every proposal committed', () => {
  const r = spawnSync(process.execPath, [TOOL, '--entries', '20000', '--batch', '2000', '--repeat', '1'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  for (const mode of ['raw', 'sessions']) assert.match(r.stdout, new RegExp(`^${mode}: leader median \\d+ min \\d+ \\| follower median \\d+ min \\d+ ns CPU per commit`, 'm'));
});

test('bench peer-cost: a bad option is refused with its name', () => {
  const r = spawnSync(process.execPath, [TOOL, '--entries', 'many'], { encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--entries must be an integer >= 1, got many/);
});
