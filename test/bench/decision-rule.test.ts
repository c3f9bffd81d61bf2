import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareFiles, EXIT, type Comparison } from '../../bench/compare.js';
import { SCHEMA, SCHEMA_VERSION, validateBenchFile, type BenchFile } from '../../bench/schema.js';
import { seededRandom } from '../../src/index.js';

// bench:compare's decision rule on synthetic samples drawn from known distributions (seeded):
// how often it cries wolf and how often it catches a slowdown, at a given noise, with the
// default 10 samples a side. Never a real run, never a timing.

const COMMITTED = 1_000_000;
const SAMPLES = 10;

interface Draw { perSec: number; peerCpuUs: number; other: number }

/** A result file of samples; the peers' CPU is split leader 1/2, followers 1/4 each; the main thread is fixed. */
function file(draws: Draw[]): BenchFile {
  const runs = draws.map((d) => {
    const peers = d.peerCpuUs * 3 * COMMITTED; // three peer threads, mean d.peerCpuUs each per commit
    const thread = (name: string, micros: number) => ({ name, tids: [1], userMicros: micros, systemMicros: 0, runMicros: micros, utilization: 0.3 });
    return {
      name: 'saturated',
      throughput: { perSec: d.perSec, committed: COMMITTED },
      latency: { p50: 1000, p99: 5000 },
      leaderChanges: [{ atSec: 0, leader: 0, term: 1 }],
      cpu: {
        processUserMicros: peers + 0.3 * COMMITTED, processSystemMicros: 0, processUtilization: 1.0, otherProcessesUtilization: d.other,
        threads: [thread('main', 0.3 * COMMITTED), thread('peer 0 (leader)', peers / 2), thread('peer 1 (follower)', peers / 4), thread('peer 2 (follower)', peers / 4)],
      },
    };
  });
  return validateBenchFile(JSON.parse(JSON.stringify({
    schema: SCHEMA, version: SCHEMA_VERSION, createdAt: '2026-01-01T00:00:00.000Z', args: [],
    environment: { node: 'v20', v8: '11', platform: 'linux', arch: 'x64', osRelease: '6', cpuModel: 'cpu', cpuCount: 2, memTotalBytes: 1, gitCommit: 'abc', gitDirty: false, loadAvgAtStart: [0, 0, 0] },
    options: {}, limits: null, runs,
  })));
}

/** Log-normal noise: value * exp(sigma * z), z standard normal (Box-Muller). */
function noisy(random: () => number, value: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return value * Math.exp(sigma * z);
}

interface Side { perSec: number; tputSigma: number; peerCpuUs: number; cpuSigma: number; other: number }

/** `trials` comparisons of base against next, each of SAMPLES samples a side. */
function trials(seed: number, count: number, base: Side, next: Side): Comparison[] {
  const random = seededRandom(seed);
  const side = (s: Side) => file(Array.from({ length: SAMPLES }, () => ({ perSec: noisy(random, s.perSec, s.tputSigma), peerCpuUs: noisy(random, s.peerCpuUs, s.cpuSigma), other: s.other })));
  return Array.from({ length: count }, () => compareFiles(side(base), side(next)));
}

const primary = (c: Comparison) => c.runs[0].figures.find((f) => f.figure === 'peerCpuPerCommit')!;
const count = (cs: Comparison[], pred: (c: Comparison) => boolean) => cs.filter(pred).length;

// the spread measured between identical builds on the shared 2-core VM: CPU/commit per peer
// thread about 12% (log sd), commits/s 20-30%
const REAL_CPU_SIGMA = 0.12;

test('identical distributions: never a regression, on a quiet machine and on a busy one', () => {
  for (const other of [0, 0.5, 1.2]) {
    const s: Side = { perSec: 500_000, tputSigma: 0.3, peerCpuUs: 0.5, cpuSigma: REAL_CPU_SIGMA, other };
    const cs = trials(1 + other * 10, 200, s, s);
    assert.equal(count(cs, (c) => c.verdict === 'regression'), 0, `others at ${other} cores`);
    assert.equal(count(cs, (c) => c.runs[0].figures.some((f) => f.role !== 'shown' && f.verdict === 'slower')), 0);
  }
});

test('identical distributions with the measured noise: usually "same", the rest inconclusive', () => {
  const s: Side = { perSec: 500_000, tputSigma: 0.3, peerCpuUs: 0.5, cpuSigma: REAL_CPU_SIGMA, other: 0.5 };
  const cs = trials(2, 200, s, s);
  const same = count(cs, (c) => primary(c).verdict === 'same');
  assert.ok(same >= 100, `same in ${same} of 200`);
  assert.equal(same + count(cs, (c) => primary(c).verdict === 'inconclusive'), 200);
  // the busy machine leaves throughput out, so "same" on CPU is "no regression" (exit 0)
  assert.equal(count(cs, (c) => c.exitCode === EXIT.noRegression), same);
  // steady CPU time: identical builds read same every time
  const steady = trials(3, 200, { ...s, cpuSigma: 0.03 }, { ...s, cpuSigma: 0.03 });
  assert.equal(count(steady, (c) => c.exitCode === EXIT.noRegression), 200);
});

test('25% more CPU per commit per peer: slower every time at 3% noise, never "same" at the measured noise', () => {
  for (const other of [0, 1.2]) {
    const base: Side = { perSec: 500_000, tputSigma: 0.2, peerCpuUs: 0.5, cpuSigma: 0.03, other };
    const cs = trials(4 + other, 200, base, { ...base, peerCpuUs: 0.5 * 1.25 });
    assert.equal(count(cs, (c) => c.exitCode === EXIT.regression && primary(c).verdict === 'slower'), 200, `others at ${other} cores`);
  }
  const base: Side = { perSec: 500_000, tputSigma: 0.2, peerCpuUs: 0.5, cpuSigma: REAL_CPU_SIGMA, other: 0.5 };
  const cs = trials(5, 200, base, { ...base, peerCpuUs: 0.5 * 1.25 });
  assert.equal(count(cs, (c) => c.exitCode === EXIT.noRegression), 0, 'a 25% slowdown is never passed');
  // 40% more (what the planted slowdown cost the peers on the busy VM) is caught nearly always
  const more = trials(6, 200, base, { ...base, peerCpuUs: 0.5 * 1.4 });
  assert.ok(count(more, (c) => c.exitCode === EXIT.regression) >= 190, `${count(more, (c) => c.exitCode === EXIT.regression)} of 200`);
});

test('noisy wall-clock figures with steady CPU time: not slower', () => {
  // a neighbour takes a core now and then: commits/s 30% lower and very noisy on the new side
  const base: Side = { perSec: 500_000, tputSigma: 0.1, peerCpuUs: 0.5, cpuSigma: 0.05, other: 0.4 };
  const cs = trials(7, 200, base, { ...base, perSec: 350_000, tputSigma: 0.4, other: 0.9 });
  assert.equal(count(cs, (c) => c.verdict === 'regression'), 0);
  assert.ok(cs.every((c) => c.runs[0].figures.find((f) => f.figure === 'throughput')!.role === 'untrusted'));
  assert.equal(count(cs, (c) => c.exitCode === EXIT.noRegression), 200);
  // on a quiet machine the same throughput drop is believed: the guard flags it
  const quiet = trials(8, 50, { ...base, other: 0 }, { ...base, perSec: 350_000, other: 0 });
  assert.equal(count(quiet, (c) => c.verdict === 'regression'), 50);
});
