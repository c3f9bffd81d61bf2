import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { compareFiles, main } from '../../bench/compare.js';
import { SCHEMA, SCHEMA_VERSION, validateBenchFile, type BenchFile } from '../../bench/schema.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-compare-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Fig { name: string; perSec: number; p50: number; p99: number }

/** A minimal result file in the current schema (only what compare reads is realistic). */
function file(runs: Fig[], over: Record<string, unknown> = {}): BenchFile {
  const f = {
    schema: SCHEMA, version: SCHEMA_VERSION, createdAt: '2026-01-01T00:00:00.000Z', args: [],
    environment: { node: 'v20.0.0', v8: '11', platform: 'linux', arch: 'x64', osRelease: '6', cpuModel: 'cpu', cpuCount: 2, memTotalBytes: 1, gitCommit: 'abc', gitDirty: false, loadAvgAtStart: [0, 0, 0] },
    options: {}, limits: null,
    runs: runs.map((r) => ({ name: r.name, throughput: { perSec: r.perSec }, latency: { p50: r.p50, p99: r.p99 } })),
    ...over,
  };
  return validateBenchFile(JSON.parse(JSON.stringify(f)));
}

function write(name: string, content: unknown): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = '', err = '';
  const code = main(argv, (s) => { out += s + '\n'; }, (s) => { err += s + '\n'; });
  return { code, out, err };
}

const BASE: Fig[] = [
  { name: 'saturated', perSec: 1_000_000, p50: 5000, p99: 9000 },
  { name: 'one in flight', perSec: 9000, p50: 100, p99: 400 },
];

test('no regression: small changes within the thresholds', () => {
  const next: Fig[] = [
    { name: 'saturated', perSec: 950_000, p50: 5100, p99: 10_000 }, // -5%, p99 +11%
    { name: 'one in flight', perSec: 9500, p50: 95, p99: 380 },
  ];
  const c = compareFiles(file(BASE), file(next));
  assert.equal(c.regressed, false);
  assert.equal(c.rows.length, 2);
  const r = run([write('base.json', file(BASE)), write('ok.json', file(next))]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /no regression/);
  assert.match(r.out, /saturated/);
});

test('a throughput drop beyond the threshold is a regression (exit 1)', () => {
  const next: Fig[] = [{ ...BASE[0], perSec: 800_000 }, BASE[1]];
  const c = compareFiles(file(BASE), file(next), { maxThroughputDrop: 0.1, maxP99Rise: 0.2 });
  assert.equal(c.regressed, true);
  assert.equal(c.rows.find((r) => r.name === 'saturated')!.regressions.length, 1);
  assert.equal(c.rows.find((r) => r.name === 'one in flight')!.regressions.length, 0);
  const base = write('base.json', file(BASE));
  const slow = write('slow.json', file(next));
  const r = run([base, slow]);
  assert.equal(r.code, 1);
  assert.match(r.out, /REGRESSION/);
  assert.match(r.out, /-20\.0%/);
  // a looser threshold accepts it
  assert.equal(run([base, slow, '--max-throughput-drop', '25%']).code, 0);
});

test('a p99 rise beyond the threshold is a regression', () => {
  const next: Fig[] = [BASE[0], { ...BASE[1], p99: 600 }];
  const base = write('base.json', file(BASE));
  const worse = write('p99.json', file(next));
  const r = run([base, worse]);
  assert.equal(r.code, 1);
  assert.match(r.out, /one in flight: p99 \+50\.0%/);
  assert.equal(run([base, worse, '--max-p99-rise=60']).code, 0);
});

test('caveats: runs disturbed by other processes, different machines', () => {
  const base = file(BASE);
  const next = file(BASE, { environment: { ...base.environment, cpuModel: 'other cpu' } });
  (next.runs[0] as { cpu?: unknown }).cpu = { otherProcessesUtilization: 0.9 };
  const c = compareFiles(base, next);
  assert.equal(c.regressed, false);
  assert.ok(c.caveats.some((x) => /different machines/.test(x)), c.caveats.join('\n'));
  assert.ok(c.caveats.some((x) => /other processes held CPU during 1 of the compared runs \(up to 0\.90 cores\): saturated/.test(x)), c.caveats.join('\n'));
});

test('runs present in only one file are listed, not compared', () => {
  const c = compareFiles(file(BASE), file([BASE[0], { name: 'new run', perSec: 1, p50: 1, p99: 1 }]));
  assert.deepEqual(c.onlyInBase, ['one in flight']);
  assert.deepEqual(c.onlyInNew, ['new run']);
  assert.equal(c.rows.length, 1);
});

test('another schema version, a non-benchmark JSON or bad input: exit 2 with the reason', () => {
  const base = write('base.json', file(BASE));
  const v2 = write('v2.json', { ...JSON.parse(fs.readFileSync(base, 'utf8')), version: 2 });
  let r = run([base, v2]);
  assert.equal(r.code, 2);
  assert.match(r.err, /schema version 2 is not supported/);

  r = run([write('pkg.json', { name: 'x', version: '1.0.0' }), base]);
  assert.equal(r.code, 2);
  assert.match(r.err, /not a benchmark result/);

  r = run([base, write('garbage.json', '{ not json')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /not JSON/);

  r = run([base, path.join(dir, 'missing.json')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /cannot read/);

  r = run([base, write('norun.json', file([{ name: 'other', perSec: 1, p50: 1, p99: 1 }]))]);
  assert.equal(r.code, 2);
  assert.match(r.err, /nothing to compare/);

  assert.equal(run([base]).code, 2);
  assert.equal(run([base, base, '--max-p99-rise', 'lots']).code, 2);
  assert.equal(run([base, base, '--bogus']).code, 2);
});
