import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { compareFiles, EXIT, formatComparison, main, verdictOf, DEFAULT_COMPARE_OPTIONS } from '../../bench/compare.js';
import { SCHEMA, SCHEMA_VERSION, validateBenchFile, type BenchFile } from '../../bench/schema.js';

// bench:compare on synthetic result files: the statistics and the exit codes, never a real run.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-bench-compare-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One sample's figures; CPU is given per commit and turned into the /proc-style totals the harness records. */
interface Sample { perSec: number; p50?: number; p99?: number; cpuUs?: number; other?: number }

const COMMITTED = 1_000_000;

function sample(name: string, s: Sample) {
  const cpuUs = s.cpuUs ?? 1;
  const total = cpuUs * COMMITTED;
  const thread = (n: string, share: number) => ({ name: n, tids: [1], userMicros: total * share, systemMicros: 0, runMicros: total * share, utilization: 0.3 });
  return {
    name,
    throughput: { perSec: s.perSec, committed: COMMITTED },
    latency: { p50: s.p50 ?? 1000, p99: s.p99 ?? 5000 },
    leaderChanges: [{ atSec: 0, leader: 0, term: 1 }],
    cpu: {
      processUserMicros: total, processSystemMicros: 0, processUtilization: 1.0, otherProcessesUtilization: s.other ?? 0,
      threads: [thread('main', 0.3), thread('peer 0 (leader)', 0.5), thread('peer 1 (follower)', 0.1), thread('peer 2 (follower)', 0.1)],
    },
  };
}

function file(runs: Record<string, Sample[]>, over: Record<string, unknown> = {}): BenchFile {
  const f = {
    schema: SCHEMA, version: SCHEMA_VERSION, createdAt: '2026-01-01T00:00:00.000Z', args: [],
    environment: { node: 'v20.0.0', v8: '11', platform: 'linux', arch: 'x64', osRelease: '6', cpuModel: 'cpu', cpuCount: 2, memTotalBytes: 1, gitCommit: 'abc', gitDirty: false, loadAvgAtStart: [0, 0, 0] },
    options: {}, limits: null,
    runs: Object.entries(runs).flatMap(([name, ss]) => ss.map((s) => sample(name, s))),
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

/** Five samples around `perSec` (spread +-`spread` of it), CPU per commit `cpuUs` with the same spread. */
function five(perSec: number, spread: number, cpuUs = 1, other = 0): Sample[] {
  return [-1, -0.5, 0, 0.5, 1].map((k) => ({ perSec: perSec * (1 + k * spread), cpuUs: cpuUs * (1 - k * spread), other }));
}

const verdicts = (f: BenchFile, g: BenchFile) => Object.fromEntries(compareFiles(f, g).runs[0].figures.map((x) => [x.figure, x.verdict]));

test('verdictOf: same inside the band, slower/faster beyond it, inconclusive across an edge', () => {
  // lower is better (latency, CPU), threshold 10%: band [1/1.1, 1.1]
  assert.equal(verdictOf(0.95, 1.05, 0.1, false), 'same');
  assert.equal(verdictOf(1.15, 1.3, 0.1, false), 'slower');
  assert.equal(verdictOf(0.7, 0.85, 0.1, false), 'faster');
  assert.equal(verdictOf(1.02, 1.3, 0.1, false), 'inconclusive');
  assert.equal(verdictOf(0, Infinity, 0.1, false), 'inconclusive');
  // higher is better (throughput): band [0.9, 1/0.9]
  assert.equal(verdictOf(0.7, 0.85, 0.1, true), 'slower');
  assert.equal(verdictOf(1.2, 1.3, 0.1, true), 'faster');
  assert.equal(verdictOf(0.92, 1.08, 0.1, true), 'same');
});

test('identical samples: every figure same, exit 0', () => {
  const f = file({ saturated: five(1e6, 0.02) });
  const v = verdicts(f, f);
  for (const [fig, verdict] of Object.entries(v)) assert.equal(verdict, 'same', fig);
  assert.equal(Object.keys(v).length, 8, 'throughput, p50, p99 and five CPU-per-commit figures');
  const p = write('same.json', f);
  const r = run([p, p]);
  assert.equal(r.code, EXIT.noRegression, r.out + r.err);
  assert.match(r.out, /no regression: 0 slower, 0 faster, 8 same, .*decided by: CPU\/commit per peer thread same/);
});

test('clearly separated samples: slower (exit 1) one way, faster (exit 0) the other', () => {
  const base = file({ saturated: five(1e6, 0.02, 1) });
  const slow = file({ saturated: five(0.75e6, 0.02, 1.3) }); // 25% fewer commits/s, 30% more CPU per commit
  const v = verdicts(base, slow);
  assert.equal(v.throughput, 'slower');
  assert.equal(v.peerCpuPerCommit, 'slower');
  assert.equal(v.cpuPerCommit, 'slower');
  assert.equal(v.leaderCpuPerCommit, 'slower');
  assert.equal(v.followerCpuPerCommit, 'slower');
  assert.equal(v.p99, 'same', 'latency was not changed');
  const b = write('base.json', base), s = write('slow.json', slow);
  const r = run([b, s]);
  assert.equal(r.code, EXIT.regression, r.out + r.err);
  assert.match(r.out, /REGRESSION/);
  assert.equal(verdicts(slow, base).throughput, 'faster');
  assert.equal(run([s, b]).code, EXIT.noRegression);
  // a looser threshold for every figure that moved accepts the slow build
  assert.equal(run([b, s, '--max-throughput-drop', '40%', '--max-peer-cpu-rise', '50%']).code, EXIT.noRegression);
  assert.equal(run([b, s, '--max-throughput-drop', '40%']).code, EXIT.regression, 'the primary figure alone');
  assert.equal(run([b, s, '--max-peer-cpu-rise', '50%']).code, EXIT.regression, 'the throughput guard alone (a quiet machine)');
  // --gate: only the gated figures decide the exit code
  assert.equal(run([b, s, '--gate', 'p50,p99']).code, EXIT.noRegression);
  assert.equal(run([b, s, '--gate', 'cpu-time']).code, EXIT.regression);
});

test('overlapping wide samples: inconclusive (exit 2), not a regression', () => {
  const base = file({ saturated: five(1e6, 0.3) });
  const next = file({ saturated: five(0.92e6, 0.3) });
  const v = verdicts(base, next);
  assert.equal(v.throughput, 'inconclusive');
  const r = run([write('wide-a.json', base), write('wide-b.json', next)]);
  assert.equal(r.code, EXIT.inconclusive, r.out + r.err);
  assert.match(r.out, /INCONCLUSIVE/);
  assert.match(r.out, /noise wider than the threshold/);
});

test('one or two samples a side give no interval: inconclusive', () => {
  const one = file({ saturated: [{ perSec: 1e6 }] });
  const c = compareFiles(one, one);
  assert.ok(c.runs[0].figures.every((f) => f.verdict === 'inconclusive'));
  assert.equal(c.exitCode, EXIT.inconclusive);
  assert.ok(c.caveats.some((x) => /fewer than 3 samples/.test(x)), c.caveats.join('\n'));
});

test('samples taken while other processes used CPU: wall-clock figures are shown but left out, and the output says why', () => {
  const base = file({ saturated: five(1e6, 0.02, 1) });
  // clearly slower in throughput, but a neighbour took 0.5 cores; CPU per commit unchanged
  const next = file({ saturated: five(0.7e6, 0.02, 1, 0.5) });
  const c = compareFiles(base, next);
  const tp = c.runs[0].figures.find((f) => f.figure === 'throughput')!;
  assert.equal(tp.verdict, 'inconclusive');
  assert.equal(tp.role, 'untrusted');
  assert.match(tp.why ?? '', /slower, but not trusted/);
  assert.equal(c.runs[0].figures.find((f) => f.figure === 'peerCpuPerCommit')!.verdict, 'same', 'CPU-time figures are still trusted (1.0 + 0.5 of 2 cores: idle CPU left)');
  assert.ok(c.caveats.some((x) => /wall-clock figures .* not trusted .*does not count.*other processes used CPU \(up to 0\.50 cores\)/.test(x)), c.caveats.join('\n'));
  assert.equal(c.exitCode, EXIT.noRegression, 'the primary figure decided: same');
  // with no idle CPU left (1.0 ours + 0.9 others on 2 cores) a CPU-time figure is judged on the same 90% interval, with a caveat
  const cpuBase = [0.95, 0.96, 1.0, 1.01, 1.02].map((cpuUs) => ({ perSec: 1e6, cpuUs }));
  const cpuNext = (other: number) => [1.12, 1.3, 1.31, 1.32, 1.33].map((cpuUs) => ({ perSec: 1e6, cpuUs, other }));
  for (const other of [0, 0.9]) {
    const c2 = compareFiles(file({ saturated: cpuBase }), file({ saturated: cpuNext(other) }));
    assert.equal(c2.runs[0].figures.find((f) => f.figure === 'peerCpuPerCommit')!.verdict, 'slower', `others at ${other} cores`);
    assert.equal(c2.caveats.some((x) => /no idle CPU .* noisier/.test(x)), other > 0, c2.caveats.join('\n'));
  }
  // a clear CPU-time slowdown is still caught on a busy machine, also when others hold most of it
  for (const other of [0.9, 1.5]) {
    const clear = compareFiles(base, file({ saturated: five(1e6, 0.02, 1.5, other) }));
    assert.equal(clear.runs[0].figures.find((f) => f.figure === 'peerCpuPerCommit')!.verdict, 'slower', `others at ${other} cores`);
    assert.equal(clear.exitCode, EXIT.regression);
  }
});

test('the decision rule: roles of the figures and the exit code', () => {
  const quiet = file({ saturated: five(1e6, 0.02, 1) });
  const c = compareFiles(quiet, quiet);
  const role = (id: string) => c.runs[0].figures.find((f) => f.figure === id)!.role;
  assert.equal(role('peerCpuPerCommit'), 'decides');
  assert.equal(role('throughput'), 'guard', 'trusted on a quiet machine: may add a regression');
  assert.equal(role('p99'), 'shown');
  assert.equal(role('cpuPerCommit'), 'shown');
  // only wall-clock figures gated: they decide on a quiet machine, and cannot on a busy one
  const wall = { ...DEFAULT_COMPARE_OPTIONS, gate: ['throughput' as const] };
  assert.equal(compareFiles(quiet, quiet, wall).exitCode, EXIT.noRegression);
  const busy = file({ saturated: five(1e6, 0.02, 1, 0.5) });
  const b = compareFiles(busy, busy, wall);
  assert.equal(b.runs[0].figures.find((f) => f.figure === 'throughput')!.role, 'untrusted');
  assert.equal(b.exitCode, EXIT.inconclusive, 'no trusted gated figure');
  assert.match(formatComparison(b), /decided by: no trusted gated figure/);
  // no per-thread CPU (no /proc): the gated throughput decides on a quiet machine
  const noThreads = (f: BenchFile) => validateBenchFile(JSON.parse(JSON.stringify({ ...f, runs: f.runs.map((r) => ({ ...r, cpuPerCommit: undefined, cpu: { ...r.cpu, threads: [] } })) })));
  const bare = compareFiles(noThreads(quiet), noThreads(quiet));
  assert.equal(bare.runs[0].figures.some((f) => f.figure === 'peerCpuPerCommit'), false);
  assert.equal(bare.runs[0].figures.find((f) => f.figure === 'throughput')!.role, 'decides');
  assert.equal(bare.exitCode, EXIT.noRegression);
});

test('--json and --markdown', () => {
  const b = write('j-base.json', file({ saturated: five(1e6, 0.02) }));
  const s = write('j-slow.json', file({ saturated: five(0.7e6, 0.02) }));
  const j = run([b, s, '--json']);
  assert.equal(j.code, EXIT.regression);
  const parsed = JSON.parse(j.out);
  assert.equal(parsed.verdict, 'regression');
  assert.equal(parsed.exitCode, EXIT.regression);
  assert.equal(parsed.runs[0].figures.find((f: { figure: string }) => f.figure === 'throughput').verdict, 'slower');
  const m = run([b, s, '--markdown']);
  assert.equal(m.code, EXIT.regression);
  assert.match(m.out, /^\| run \| figure \|/m);
  assert.match(m.out, /^\| saturated \| commits\/s \| 1,000,000 \| 700,000 \|/m);
  assert.equal(run([b, s, '--json', '--markdown']).code, EXIT.inputError);
});

test('--help prints the usage and the exit codes, exit 0', () => {
  const r = run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /usage: npm run bench:compare/);
  assert.match(r.out, /3 {2}input error/);
});

test('runs present in only one file are listed, not compared', () => {
  const c = compareFiles(file({ a: five(1, 0), b: five(1, 0) }), file({ a: five(1, 0), c: five(1, 0) }));
  assert.deepEqual(c.onlyInBase, ['b']);
  assert.deepEqual(c.onlyInNew, ['c']);
  assert.deepEqual(c.runs.map((r) => r.name), ['a']);
});

test('a version 1 file (one sample per run, no recorded CPU per commit) is read', () => {
  const v1 = file({ saturated: [{ perSec: 1e6 }] }, { version: 1 });
  const c = compareFiles(v1, file({ saturated: five(1e6, 0.01) }), DEFAULT_COMPARE_OPTIONS);
  assert.equal(c.runs[0].figures.length, 8, 'CPU per commit derived from cpu.threads');
});

test('input errors exit 3 with the reason: missing file, not JSON, another schema, bad option, nothing in common', () => {
  const base = write('base3.json', file({ saturated: five(1e6, 0.02) }));
  let r = run([base, path.join(dir, 'missing.json')]);
  assert.equal(r.code, EXIT.inputError);
  assert.match(r.err, /missing\.json: cannot read \(ENOENT\)/);

  r = run([base, write('v99.json', { ...JSON.parse(fs.readFileSync(base, 'utf8')), version: 99 })]);
  assert.equal(r.code, EXIT.inputError);
  assert.match(r.err, /schema version 99 is not supported/);

  r = run([write('pkg.json', { name: 'x', version: '1.0.0' }), base]);
  assert.equal(r.code, EXIT.inputError);
  assert.match(r.err, /not a benchmark result/);

  r = run([base, write('garbage.json', '{ not json')]);
  assert.equal(r.code, EXIT.inputError);
  assert.match(r.err, /not JSON/);

  r = run([base, write('norun.json', file({ other: five(1, 0) }))]);
  assert.equal(r.code, EXIT.inputError);
  assert.match(r.err, /nothing to compare/);

  assert.equal(run([base]).code, EXIT.inputError);
  assert.match(run([base, base, '--max-p99-rise', 'lots']).err, /--max-p99-rise/);
  assert.equal(run([base, base, '--bogus']).code, EXIT.inputError);
  assert.match(run([base, base, '--gate', 'speed']).err, /unknown figure "speed"/);
});

test('the side-by-side report has a column per file and a gap where a file lacks a configuration', async () => {
  const { renderSideBySide } = await import('../../bench/report-side-by-side.js');
  const a = file({ saturated: five(1e6, 0.02), 'one in flight': five(9000, 0.02) });
  const b = file({ saturated: five(0.7e6, 0.02) });
  const c = file({ saturated: five(1e6, 0.02), 'one in flight': five(9000, 0.02) });
  const html = renderSideBySide([{ label: 'a.json', file: a }, { label: 'b.json', file: b }, { label: 'c.json', file: c }]);
  assert.match(html, /<th>#1<\/th><th>#2<\/th><th>#3<\/th>/);
  assert.match(html, /#2 against #1: regression/);
  // "one in flight" is missing from #2: its series breaks there (two sub-paths), no line through #2
  const svg = html.split('<svg').find((s) => s.includes('commits/s by file'))!;
  const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(paths.some((d) => (d.match(/M/g) ?? []).length === 2 && !d.includes('L')), paths.join('\n'));
});

test('a negative threshold given as a separate word is refused with a message that says how to write it (not "argument is ambiguous")', () => {
  const errors: string[] = [];
  const code = main(['a.json', 'b.json', '--max-p50-rise', '-5%'], () => {}, (s) => errors.push(s));
  assert.equal(code, EXIT.inputError);
  assert.match(errors.join('\n'), /--max-p50-rise: needs a value.*--max-p50-rise=VALUE/);
  assert.doesNotMatch(errors.join('\n'), /ambiguous/);
});

test('a threshold or confidence written as a fraction (0.9) is refused, not read as 0.9%', () => {
  for (const argv of [['--confidence', '0.9'], ['--max-peer-cpu-rise', '0.15'], ['--max-cpu-rise=0.1']]) {
    const errors: string[] = [];
    assert.equal(main(['a.json', 'b.json', ...argv], () => {}, (s) => errors.push(s)), EXIT.inputError, argv.join(' '));
    assert.match(errors.join('\n'), /write it with %/, argv.join(' '));
  }
  // percentages, with or without the sign, still read as percentages
  const errors: string[] = [];
  assert.equal(main(['/nonexistent/a.json', 'b.json', '--confidence', '95', '--max-peer-cpu-rise', '0.5%'], () => {}, (s) => errors.push(s)), EXIT.inputError);
  assert.match(errors.join('\n'), /a\.json: cannot read/, 'the options pass; only the missing file is refused');
});
