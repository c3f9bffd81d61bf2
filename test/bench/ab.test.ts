import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alternate, mergeSamples } from '../../bench/alternate.js';
import { AbInputError, DEFAULT_AB_REPEAT, parseAbArgs } from '../../bench/ab.js';
import { SCHEMA, SCHEMA_VERSION, type BenchFile } from '../../bench/schema.js';

test('bench:ab splits its own options, bench:compare\'s and the harness\'s', () => {
  const a = parseAbArgs(['--base', 'origin/main', '--repeat=3', '--max-cpu-rise', '15%', '--markdown', '--duration', '2', '--window', '64'])!;
  assert.equal(a.base, 'origin/main');
  assert.equal(a.repeat, 3);
  assert.deepEqual(a.compareArgs, ['--max-cpu-rise', '15%', '--markdown']);
  assert.deepEqual(a.benchArgs, ['--duration', '2', '--window', '64', '--warmup', '0.5', '--no-limits', '--no-progress']);
  // short samples unless asked otherwise: many of them beat a few long ones
  assert.deepEqual(parseAbArgs(['--base', 'x'])!.benchArgs, ['--window', '1000', '--duration', '1', '--warmup', '0.5', '--no-limits', '--no-progress']);
  assert.deepEqual(parseAbArgs(['--base', 'x', '--warmup=2', '--rate', '100k'])!.benchArgs, ['--warmup=2', '--rate', '100k', '--duration', '1', '--no-limits', '--no-progress']);
  assert.equal(parseAbArgs(['--base', 'x'])!.repeat, DEFAULT_AB_REPEAT);
  assert.equal(parseAbArgs(['--help']), null);
});

test('bench:ab refuses what it cannot run, naming the option', () => {
  const refused = (argv: string[], why: RegExp) => assert.throws(() => parseAbArgs(argv), (e: unknown) => e instanceof AbInputError && why.test(e.message));
  refused([], /--base: needed/);
  refused(['--base'], /--base: needs a value/);
  refused(['--base', 'x', '--repeat', '0'], /--repeat/);
  refused(['--base', 'x', '--out', 'a.json'], /--out/);
  refused(['--base', 'x', '--duration', '0'], /bench option --duration/);
  refused(['--base', 'x', '--bogus'], /--bogus/);
});

test('mergeSamples numbers the samples of each run in order and refuses mixed schema versions', () => {
  const f = (perSec: number, version = SCHEMA_VERSION) => ({
    schema: SCHEMA, version, createdAt: 't', args: [], environment: { cpuCount: 2 }, options: {}, limits: null,
    runs: [{ name: 'r', throughput: { perSec, committed: 1 }, latency: { p50: 1, p99: 2 } }],
  }) as unknown as BenchFile;
  const m = mergeSamples([f(1), f(2), f(3)]);
  assert.deepEqual(m.runs.map((r) => [r.throughput.perSec, r.sample!.index, r.sample!.of]), [[1, 0, 3], [2, 1, 3], [3, 2, 3]]);
  assert.throws(() => mergeSamples([f(1, 1), f(2, 2)]), /schema versions 1, 2/);
});

test('alternate writes the samples where it was asked, also for a relative out-dir (each sample runs in its own build folder)', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-ab-test-'));
  const here = process.cwd();
  try {
    // Two fake builds whose "harness" writes a minimal result file to its --out argument.
    const fake = (label: string, perSec: number): { label: string; dir: string } => {
      const dir = path.join(root, label);
      fs.mkdirSync(path.join(dir, 'dist/bench'), { recursive: true });
      const file = { schema: SCHEMA, version: SCHEMA_VERSION, createdAt: 't', args: [], environment: { cpuCount: 2 }, options: {}, limits: null, runs: [{ name: 'r', throughput: { perSec, committed: 1 }, latency: { p50: 1, p99: 2 } }] };
      fs.writeFileSync(path.join(dir, 'dist/bench/run.js'), `import fs from 'node:fs';\nconst a = process.argv; fs.writeFileSync(a[a.indexOf('--out') + 1], ${JSON.stringify(JSON.stringify(file))});\n`);
      fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      return { label, dir };
    };
    const caller = path.join(root, 'caller');
    fs.mkdirSync(caller);
    process.chdir(caller);
    const [a, b] = await alternate([fake('base', 1), fake('head', 2)], [], 2, 'out', () => {});
    assert.equal(a, path.join(caller, 'out', 'base.json'));
    assert.deepEqual(JSON.parse(fs.readFileSync(b, 'utf8')).runs.map((r: { throughput: { perSec: number } }) => r.throughput.perSec), [2, 2]);
    assert.ok(fs.existsSync(path.join(caller, 'out', 'head-2.json')));
  } finally {
    process.chdir(here);
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('bench:ab refuses bad compare options before it samples (not minutes later, after the whole A/B)', () => {
  for (const [argv, why] of [
    [['--max-peer-cpu-rise', '0'], /--max-peer-cpu-rise/],
    [['--confidence', '150%'], /--confidence/],
    [['--gate', 'nothing'], /--gate/],
    [['--json', '--markdown'], /--json/],
  ] as const) {
    assert.throws(() => parseAbArgs(['--base', 'x', ...argv]), (e: unknown) => e instanceof AbInputError && why.test(e.message), argv.join(' '));
  }
});
