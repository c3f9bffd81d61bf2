/**
 * Samples two builds in turns, A B A B ..., one harness process per sample, so that both see
 * the same machine conditions (a busy spell hits both, not just the one that ran during it);
 * then merges each build's samples into one result file for bench:compare. Used by bench:ab
 * (base and head) and bench:validate (head against itself, or against a planted slowdown).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { noiseSummaries } from './figures.js';
import { pairRatios } from './pair-ratios.js';
import { stringify } from './run.js';
import { validateBenchFile, type BenchFile } from './schema.js';

export interface Build {
  /** File-name-safe label: "base", "head". */
  label: string;
  /** The checkout whose dist/bench/run.js runs (the git commit in the result comes from here). */
  dir: string;
  /** Extra node options, e.g. another --import preload. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Runs `repeat` samples of each build in turns; writes `<outDir>/<label>.json` (all samples); returns those paths. */
export async function alternate(builds: Build[], benchArgs: string[], repeat: number, outDirGiven: string, log: (s: string) => void): Promise<string[]> {
  // Each sample runs in its build's own folder: a relative --out would land there, not here.
  const outDir = path.resolve(outDirGiven);
  fs.mkdirSync(outDir, { recursive: true });
  const samples = new Map<string, string[]>(builds.map((b) => [b.label, []]));
  for (let k = 0; k < repeat; k++) {
    for (const b of builds) {
      const out = path.join(outDir, `${b.label}-${k + 1}.json`);
      log(`sample ${k + 1} of ${repeat}: ${b.label} (${b.dir})`);
      await runSample(b, [...benchArgs, '--out', out]);
      samples.get(b.label)!.push(out);
    }
  }
  return builds.map((b) => {
    const merged = mergeSamples(samples.get(b.label)!.map((p) => validateBenchFile(JSON.parse(fs.readFileSync(p, 'utf8')), p)));
    const p = path.join(outDir, `${b.label}.json`);
    fs.writeFileSync(p, stringify(merged));
    return p;
  });
}

/** One harness process; rejects with its output when it fails. */
function runSample(b: Build, args: string[]): Promise<void> {
  const probe = path.join(b.dir, 'dist/bench/probes/fsync-counter.js');
  const nodeArgs = [...(fs.existsSync(probe) ? ['--import', probe] : []), ...(b.nodeArgs ?? []), path.join(b.dir, 'dist/bench/run.js'), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: b.dir, env: b.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${b.label}: bench exited ${code ?? signal}:\n${output.slice(-4000)}`));
    });
  });
}

/** One file holding every sample of several files of one build (each sample numbered in order). */
export function mergeSamples(files: BenchFile[]): BenchFile {
  if (files.length === 0) throw new Error('mergeSamples: no files');
  const versions = new Set(files.map((f) => f.version));
  if (versions.size > 1) throw new Error(`mergeSamples: files of schema versions ${[...versions].join(', ')} cannot be merged`);
  const counts = new Map<string, number>();
  const runs = files.flatMap((f) => f.runs).map((r) => {
    const index = counts.get(r.name) ?? 0;
    counts.set(r.name, index + 1);
    return { ...r, sample: { index, of: 0 } };
  });
  for (const r of runs) r.sample.of = counts.get(r.name)!;
  const { targets: _targets, noise: _noise, pairRatios: _pairs, ...first } = files[0];
  const noise = noiseSummaries(runs, first.environment?.cpuCount ?? 0);
  const pairs = pairRatios(runs);
  return { ...first, runs, ...(noise.length > 0 ? { noise } : {}), ...(pairs.length > 0 ? { pairRatios: pairs } : {}) };
}
