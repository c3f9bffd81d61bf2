import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { validateBenchFile } from '../../bench/schema.js';

// Smoke tests of the harness CLI as `npm run bench` runs it. No assertion on timing values
// (DESIGN.md: benchmarks are not tests), only that the harness ran and wrote what it promises.
const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
const COMPARE = fileURLToPath(new URL('../../bench/compare.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../../bench/probes/fsync-counter.js', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-smoke-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function node(args: string[]) {
  return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
}

test('bench: 3 peers for 1 s writes a valid result file, an HTML report and plots', () => {
  const out = path.join(dir, 'smoke.json');
  const r = node([RUN, '--duration', '1', '--warmup', '0.2', '--no-limits', '--no-progress', '--out', out]);
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const f = validateBenchFile(JSON.parse(fs.readFileSync(out, 'utf8')));
  assert.equal(f.runs.length, 1);
  const run = f.runs[0];
  assert.equal(run.config.peers, 3);
  assert.ok(run.throughput.perSec > 0, 'no commit');
  assert.ok(run.latency.count > 0);
  assert.equal(typeof f.environment.node, 'string');
  assert.ok(fs.readFileSync(path.join(dir, 'smoke.html'), 'utf8').includes('<svg'));
  assert.ok(fs.readFileSync(path.join(dir, 'smoke-latency.svg'), 'utf8').startsWith('<svg'));
  // one sample cannot give a verdict: compared with itself it is inconclusive (exit 2), not a regression
  const c = node([COMPARE, out, out]);
  assert.equal(c.status, 2, c.stdout + c.stderr);
  assert.match(c.stdout, /fewer than 3 samples/);
});

test('bench: --read-ratio reports reads and writes separately, in the file and the text', () => {
  const out = path.join(dir, 'reads.json');
  const r = node([RUN, '--read-ratio', '0.75', '--read-mode', 'follower', '--window', '64', '--duration', '1', '--warmup', '0.2', '--no-limits', '--no-progress', '--out', out]);
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const run = validateBenchFile(JSON.parse(fs.readFileSync(out, 'utf8'))).runs[0];
  assert.ok(run.mix, 'no mix section');
  assert.equal(run.mix.readMode, 'follower');
  assert.ok(run.mix.reads.completed > 0 && run.mix.writes.completed > 0, JSON.stringify(run.mix));
  assert.equal(run.mix.reads.latency.count, run.mix.reads.completed);
  assert.equal(run.mix.reads.completed + run.mix.writes.completed, run.throughput.committed);
  // interleaved evenly: three reads for every write (give or take the ones in flight at the edges)
  const share = run.mix.reads.completed / run.throughput.committed;
  assert.ok(share > 0.7 && share < 0.8, `reads were ${share} of the operations`);
  assert.match(r.stdout, /reads : [\d,]+\/s/);
  assert.match(r.stdout, /writes: [\d,]+\/s/);
});

test('bench: --reads runs writes only and each read mode, saturated and one in flight, and ends with their ratios', () => {
  const out = path.join(dir, 'reads-all.json');
  const r = node([RUN, '--reads', '--window', '64', '--duration', '0.3', '--warmup', '0', '--no-limits', '--no-progress', '--out', out]);
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const f = validateBenchFile(JSON.parse(fs.readFileSync(out, 'utf8')));
  const modes = ['', ' reads=0.9 index', ' reads=0.9 lease', ' reads=0.9 follower'];
  assert.deepEqual(f.runs.map((x) => x.name), ['window=64', 'window=1'].flatMap((w) => modes.map((m) => `3p 16B memory ${w}${m}`)));
  for (const x of f.runs.filter((x) => x.config.readRatio !== undefined)) assert.ok(x.mix && x.mix.reads.completed > 0, `${x.name}: no read completed`);
  assert.deepEqual(f.pairRatios?.map((p) => [p.run, p.figure, p.rounds]), f.runs.filter((x) => x.config.readRatio !== undefined)
    .map((x) => [x.name, x.config.load.mode === 'closed' && x.config.load.window === 1 ? 'read-p50' : 'reads-per-sec', 1]));
  for (const p of f.pairRatios ?? []) assert.ok(p.ratio > 0 && Number.isFinite(p.ratio), JSON.stringify(p));
  const summary = r.stdout.slice(r.stdout.lastIndexOf('\nratios ('));
  assert.equal(summary.match(/reads\/s : writes-only commits\/s/g)?.length, 3, summary);
  assert.equal(summary.match(/read p50 : writes-only p50/g)?.length, 3, summary);
  const html = fs.readFileSync(path.join(dir, 'reads-all.html'), 'utf8');
  const ratios = html.slice(html.indexOf('<h2>Ratios</h2>'), html.indexOf('</table>', html.indexOf('<h2>Ratios</h2>')));
  assert.equal(ratios.match(/reads\/s : writes-only commits\/s<\/td><td class="n">[0-9.]+x</g)?.length, 3, 'the HTML report shows the ratios');
});

test('bench: file storage (fsync batch) with the fdatasync counter preload', () => {
  const out = path.join(dir, 'file.json');
  const r = node(['--import', PRELOAD, RUN, '--storage', 'file', '--dir', dir, '--window', '64', '--duration', '0.5', '--warmup', '0', '--no-limits', '--no-progress', '--out', out]);
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const run = validateBenchFile(JSON.parse(fs.readFileSync(out, 'utf8'))).runs[0];
  assert.ok(run.throughput.perSec > 0);
  assert.equal(run.config.storage.kind, 'file');
  assert.ok(run.storage && run.storage.fdatasyncCalls !== null && run.storage.fdatasyncCalls > 0, 'fdatasync calls not counted');
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('raft-bench-')), [], 'temporary data directory left behind');
});

test('bench: --transport tcp --sessions measures raw and RemoteSession over TCP in one run, a row each', () => {
  const out = path.join(dir, 'tcp-sessions.json');
  const r = node([RUN, '--transport', 'tcp', '--sessions', '--window', '1', '--duration', '0.5', '--warmup', '0.2', '--no-limits', '--no-progress', '--out', out]);
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const runs = validateBenchFile(JSON.parse(fs.readFileSync(out, 'utf8'))).runs;
  assert.deepEqual(runs.map((x) => [x.name, x.config.transport, x.config.sessions ?? false]), [
    ['3p 16B memory window=1 tcp', 'tcp', false], ['3p 16B memory window=1 sessions tcp', 'tcp', true],
  ]);
  for (const x of runs) assert.ok(x.throughput.committed > 0, `${x.name}: nothing committed`);
  for (const name of runs.map((x) => x.name)) assert.ok(r.stdout.includes(name), `no row for ${name} in:\n${r.stdout}`);
});

test('bench: an invalid option exits 2 naming the option, before starting anything', () => {
  const r = node([RUN, '--window', '8', '--rate', '100']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--rate/);
  const z = node([RUN, '--duration', '0']);
  assert.equal(z.status, 2);
  assert.match(z.stderr, /--duration/);
});
