import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeSamples } from '../../bench/alternate.js';
import { parseOptions, scenariosOf, type ScenarioSpec } from '../../bench/options.js';
import { pairRatios, pairRatiosText } from '../../bench/pair-ratios.js';
import { fileText } from '../../bench/report-text.js';
import { SCHEMA, SCHEMA_VERSION, type BenchFile, type PairRatio, type RunResult } from '../../bench/schema.js';

// The ratios of --reads and --sessions, on synthetic samples: no cluster is started.

interface Figures { perSec: number; p50: number; readsPerSec?: number; readP50?: number; cpuUs?: number }

function sample(spec: ScenarioSpec, f: Figures): RunResult {
  const committed = 1_000_000;
  const total = (f.cpuUs ?? 1) * committed;
  const latency = (p50: number) => ({ count: 1000, p50, p90: p50, p99: p50, p999: p50, max: p50, mean: p50, min: p50 });
  return {
    name: spec.name, config: spec,
    throughput: { perSec: f.perSec, committed },
    latency: latency(f.p50),
    cpu: { processUserMicros: total, processSystemMicros: 0, processUtilization: 1, perCommitMicros: f.cpuUs ?? 1, threads: null },
    memory: { peakRssBytes: null, method: 'process-lifetime' },
    ratios: { throughputToRing: null, p50ToPortRoundTrip: null },
    ...(spec.readRatio !== undefined && f.readsPerSec !== undefined ? {
      mix: {
        readRatio: spec.readRatio, readMode: spec.readMode ?? 'index',
        reads: { completed: 900, perSec: f.readsPerSec, failedAndResent: 0, latency: latency(f.readP50 ?? f.p50) },
        writes: { completed: 100, perSec: f.perSec - f.readsPerSec, latency: latency(f.p50) },
      },
    } : {}),
  } as unknown as RunResult;
}

/** Rounds of samples, taken in turns as run.ts does: every configuration once, then again. */
function inTurns(specs: ScenarioSpec[], rounds: Array<(s: ScenarioSpec) => Figures>): RunResult[] {
  return rounds.flatMap((figuresOf) => specs.map((s) => sample(s, figuresOf(s))));
}

const byFigure = (ps: PairRatio[], run: string, figure: PairRatio['figure']) => ps.filter((p) => p.run === run && p.figure === figure);

test('--reads: per read mode, reads/s against writes-only commits/s (saturated) and read p50 against write p50 (one in flight)', () => {
  const specs = scenariosOf(parseOptions(['--reads'])!);
  // writes-only commits/s by round: 100, 120, 80 (median 100); ReadIndex reads/s 150, 120, 100 (median 120)
  const writes = [100, 120, 80];
  const reads: Record<string, number[]> = { index: [150, 120, 100], lease: [200, 300, 160], follower: [90, 100, 110] };
  const runs = inTurns(specs, [0, 1, 2].map((k) => (s: ScenarioSpec) => {
    const oneInFlight = s.load.mode === 'closed' && s.load.window === 1;
    if (s.readMode === undefined) return { perSec: writes[k], p50: oneInFlight ? [200, 100, 300][k] : 1000 };
    return { perSec: 2 * reads[s.readMode][k], readsPerSec: reads[s.readMode][k], p50: 999, readP50: oneInFlight ? [300, 300, 150][k] : 500 };
  }));
  const ps = pairRatios(runs);
  assert.equal(ps.length, 6, JSON.stringify(ps, null, 1));
  const [index] = byFigure(ps, specs[1].name, 'reads-per-sec');
  assert.equal(index.base, specs[0].name);
  assert.equal(index.ratio, 120 / 100, 'the median of the reads/s over the median of the writes-only commits/s');
  assert.equal(index.rounds, 3);
  assert.equal(index.roundMin, 1);
  assert.equal(index.roundMax, 1.5);
  assert.equal(byFigure(ps, specs[2].name, 'reads-per-sec')[0].ratio, 2);
  assert.equal(byFigure(ps, specs[3].name, 'reads-per-sec')[0].roundMax, 110 / 80);
  const [follower1] = byFigure(ps, specs[7].name, 'read-p50');
  assert.equal(follower1.base, specs[4].name);
  assert.equal(follower1.ratio, 300 / 200, 'median read p50 300 us over median write p50 200 us');
  assert.equal(follower1.roundMin, 0.5);
  assert.equal(follower1.roundMax, 3);
  assert.equal(byFigure(ps, specs[1].name, 'read-p50').length, 0, 'no latency ratio for the saturated runs');
  const text = pairRatiosText(ps);
  assert.match(text, /reads\/s : writes-only commits\/s\s+1\.20x\s+3\s+1\.00x \.\. 1\.50x/);
  assert.ok(text.includes(specs[7].name));
});

test('--sessions: commits/s and CPU per commit (saturated) and p50 (one in flight), sessions against raw', () => {
  const specs = scenariosOf(parseOptions(['--sessions', '--window', '512'])!);
  const runs = inTurns(specs, [0, 1].map((k) => (s: ScenarioSpec) => {
    const one = s.load.mode === 'closed' && s.load.window === 1;
    return s.sessions ? { perSec: [70, 90][k], p50: one ? 220 : 1, cpuUs: 3 } : { perSec: 100, p50: one ? 200 : 1, cpuUs: 2 };
  }));
  const ps = pairRatios(runs);
  assert.deepEqual(ps.map((p) => [p.run, p.figure]), [[specs[1].name, 'throughput'], [specs[1].name, 'cpu-per-commit'], [specs[3].name, 'p50']]);
  assert.equal(ps[0].ratio, 0.8);
  assert.deepEqual([ps[0].rounds, ps[0].roundMin, ps[0].roundMax], [2, 0.7, 0.9]);
  assert.equal(ps[1].ratio, 1.5);
  assert.equal(ps[2].ratio, 1.1);
});

test('a run missing a pair gives no line and does not throw', () => {
  const specs = scenariosOf(parseOptions(['--reads'])!);
  const onlyMixed = specs.filter((s) => s.readRatio !== undefined).map((s) => sample(s, { perSec: 10, p50: 5, readsPerSec: 9 }));
  assert.deepEqual(pairRatios(onlyMixed), [], 'no writes-only run: nothing to divide by');
  const noMix = specs.map((s) => sample(s, { perSec: 10, p50: 5 })); // mixed runs without their mix section
  assert.deepEqual(pairRatios(noMix), []);
  assert.deepEqual(pairRatios([]), []);
  assert.deepEqual(pairRatios(scenariosOf(parseOptions(['--window', '8'])!).map((s) => sample(s, { perSec: 1, p50: 1 }))), [], 'a single run is no pair');
  const zeroBase = [sample(specs[4], { perSec: 10, p50: 0 }), sample(specs[5], { perSec: 10, p50: 5, readsPerSec: 9 })];
  assert.deepEqual(pairRatios(zeroBase), [], 'a base of 0 gives no ratio (not Infinity)');
  assert.equal(pairRatiosText([]), '');
  // uneven samples: the medians use all of them, the rounds only those with both sides
  const uneven = [...inTurns(specs.slice(0, 2), [() => ({ perSec: 10, p50: 1, readsPerSec: 10 })]), sample(specs[0], { perSec: 40, p50: 1 })];
  const [p] = pairRatios(uneven);
  assert.equal(p.rounds, 1);
  assert.equal(p.ratio, 10 / 25);
});

test('merged sample files (bench:ab, bench:validate) get the ratios of all their rounds, and the text report prints them', () => {
  const specs = scenariosOf(parseOptions(['--reads', '--window', '1'])!);
  const file = (perSec: number): BenchFile => ({
    schema: SCHEMA, version: SCHEMA_VERSION, createdAt: '2026-01-01T00:00:00.000Z', args: [],
    environment: { node: 'v20', v8: '11', platform: 'linux', arch: 'x64', osRelease: '6', cpuModel: 'cpu', cpuCount: 2, memTotalBytes: 2 ** 30, gitCommit: null, gitDirty: null, loadAvgAtStart: [0, 0, 0] },
    options: parseOptions(['--reads'])!, limits: null,
    runs: specs.map((s) => sample(s, { perSec, p50: 100, readsPerSec: perSec, readP50: perSec })),
    pairRatios: [],
  });
  const merged = mergeSamples([file(100), file(300)]);
  assert.deepEqual(merged.pairRatios?.map((p) => p.rounds), [2, 2, 2]);
  assert.deepEqual(merged.pairRatios?.map((p) => [p.roundMin, p.roundMax]), [[1, 3], [1, 3], [1, 3]]);
  assert.match(fileText(merged), /read p50 : writes-only p50\s+2\.00x\s+2\s+1\.00x \.\. 3\.00x/);
});
