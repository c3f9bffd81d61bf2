import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../bench/render.js';

// a result file from the repository (dist/test/bench -> bench/results)
const SUITE = fileURLToPath(new URL('../../../bench/results/dev-2cpu-suite.json', import.meta.url));

test('bench:report with one file re-renders that file\'s report next to it (as bench/README says); two files give side-by-side.html', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-render-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = path.join(dir, 'a.json');
  const b = path.join(dir, 'b.json');
  fs.copyFileSync(SUITE, a);
  fs.copyFileSync(SUITE, b);
  t.mock.method(console, 'log', () => {});
  assert.equal(main([a]), 0);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a-latency-vs-window.svg', 'a-latency.svg', 'a-throughput.svg', 'a.html', 'a.json', 'b.json']);
  assert.equal(main([a, b]), 0);
  assert.ok(fs.existsSync(path.join(dir, 'side-by-side.html')));
  assert.match(fs.readFileSync(path.join(dir, 'side-by-side.html'), 'utf8'), /<svg/);
});
