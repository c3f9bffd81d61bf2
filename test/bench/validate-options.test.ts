import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../bench/validate-compare.js';

test('bench:validate refuses a bad bench option (exit 2, nothing sampled) instead of failing the first sample with exit 1', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-options-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const errors: string[] = [];
  t.mock.method(console, 'error', (s: unknown) => { errors.push(String(s)); });
  for (const argv of [['--duration', '0'], ['--warmup=-1'], ['--', '--window', '0']]) {
    errors.length = 0;
    assert.equal(await main(['--scenarios', 'identical', '--comparisons', '1', '--repeat', '1', '--out-dir', dir, ...argv]), 2, argv.join(' '));
    assert.ok(errors.some((e) => /--(duration|warmup|window)/.test(e)), `the message names the option: ${errors.join(' | ')}`);
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'no sample was taken');
});
