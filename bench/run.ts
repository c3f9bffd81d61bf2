/**
 * The benchmark harness CLI (`npm run bench -- [options]`, see --help and bench/README.md).
 * Measures the machine's reference limits, runs each configuration on a fresh in-process
 * cluster, prints the results beside the limits and writes a versioned JSON file, an HTML
 * report and SVG plots. Exit codes: 0 done, 1 a run failed, 2 invalid options.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chartsFor } from './charts.js';
import { environment } from './environment.js';
import { noiseSummaries } from './figures.js';
import { measureLimits, ratiosFor } from './limits.js';
import { pairRatios, pairRatiosText } from './pair-ratios.js';
import { OptionError, USAGE, parseOptions, scenariosOf, type BenchOptions, type ScenarioSpec } from './options.js';
import { createProgress } from './progress.js';
import { renderHtml } from './report-html.js';
import { environmentText, limitsText, noiseText, runText, summaryTable, targetsTable } from './report-text.js';
import { runScenario, snapshotEveryEntries } from './scenario.js';
import { runTcpScenario } from './tcp-scenario.js';
import { SCHEMA, SCHEMA_VERSION, type BenchFile, type RunResult } from './schema.js';
import { checkTargets, suiteItemOf, suiteSteps } from './suite.js';

export async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseOptions(argv);
    snapshotEveryEntries(); // the environment's option too, before any cluster starts
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    console.error(`bench: ${e.message}\n(npm run bench -- --help lists the options)`);
    return 2;
  }
  if (!opts) { console.log(USAGE); return 0; }

  const createdAt = new Date().toISOString();
  const env = environment();
  console.log(`raft-bench · ${environmentText(env)}`);
  if (env.loadAvgAtStart[0] > 0.5 * env.cpuCount) {
    console.log(`note: the machine is busy (load ${env.loadAvgAtStart[0]} on ${env.cpuCount} cores); numbers will be lower and noisier than on an idle machine`);
  }

  const steps: Array<{ id: string; spec: (done: Map<string, RunResult>) => ScenarioSpec }> = opts.mode === 'suite'
    ? suiteSteps(opts)
    : scenariosOf(opts).map((s, i) => ({ id: String(i), spec: () => s }));
  const usesFile = opts.mode === 'suite' || opts.storage.kind === 'file';

  try {
    const limits = opts.limits
      ? await measureLimits({ commandSizes: opts.mode === 'suite' ? [16] : [opts.commandBytes], fileDir: usesFile ? (opts.storage.parentDir ?? os.tmpdir()) : null }, (l) => console.error(l))
      : null;
    if (limits) console.log(`\n${limitsText(limits)}`);

    const progress = createProgress(opts.progress);
    const runs: RunResult[] = [];
    // the first sample of each step: the suite's later steps and its targets are built from these
    const done = new Map<string, RunResult>();
    const repeat = opts.repeat ?? 1;
    // in turns (a b c a b c ...), so that a slow spell of the machine spreads over the configurations
    for (let k = 0; k < repeat; k++) {
      for (const step of steps) {
        const spec = step.spec(done);
        console.error(`\nrunning ${spec.name}${repeat > 1 ? ` [sample ${k + 1} of ${repeat}]` : ''} (${spec.warmupSec} s warm-up, ${spec.durationSec} s measured)...`);
        const r = spec.transport === 'tcp' ? await runTcpScenario(spec, progress) : await runScenario(spec, progress);
        const run: RunResult = {
          ...(opts.mode === 'suite' ? { suiteItem: suiteItemOf(step.id) } : {}), ...r, ratios: ratiosFor(r, limits),
          sample: { index: k, of: repeat },
        };
        runs.push(run);
        if (!done.has(step.id)) done.set(step.id, run);
        console.log(`\n${runText(run)}`);
      }
    }

    const noise = noiseSummaries(runs, env.cpuCount);
    const pairs = pairRatios(runs);
    const file: BenchFile = {
      schema: SCHEMA, version: SCHEMA_VERSION, createdAt, args: argv, environment: env, options: opts, limits, runs,
      ...(opts.mode === 'suite' ? { targets: checkTargets(done) } : {}),
      ...(noise.length > 0 ? { noise } : {}),
      ...(pairs.length > 0 ? { pairRatios: pairs } : {}),
    };
    const written = writeOutputs(file, opts.out ?? path.join('bench-results', `${createdAt.replace(/[:.]/g, '-')}.json`));
    console.log(`\n${summaryTable(runs)}`);
    if (file.targets) console.log(`\n${targetsTable(file.targets)}`);
    console.log(`\n${noiseText(runs, noise, env.cpuCount)}`);
    if (pairs.length > 0) console.log(`\n${pairRatiosText(pairs)}`);
    console.log(`\nwrote ${written.join(', ')}`);
    return 0;
  } catch (e) {
    console.error(`bench: run failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  }
}

/** Writes the JSON, the HTML report and one SVG per plot next to it; returns the paths. */
export function writeOutputs(file: BenchFile, jsonPath: string): string[] {
  fs.mkdirSync(path.dirname(path.resolve(jsonPath)), { recursive: true });
  const stem = jsonPath.replace(/\.json$/, '');
  const written = [jsonPath];
  fs.writeFileSync(jsonPath, stringify(file));
  fs.writeFileSync(`${stem}.html`, renderHtml(file));
  written.push(`${stem}.html`);
  for (const c of chartsFor(file)) {
    fs.writeFileSync(`${stem}-${c.id}.svg`, c.svg + '\n');
    written.push(`${stem}-${c.id}.svg`);
  }
  return written;
}

/** Indented JSON, except that arrays of numbers stay on one line (the curves and timelines are long). */
export function stringify(x: unknown): string {
  return JSON.stringify(x, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.replace(/,\s*/g, ', ')}]`) + '\n';
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // a leaked handle must not hang CI: the harness has nothing left to do
      setTimeout(() => process.exit(code), 3000).unref();
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
