/**
 * `npm run bench:compare -- base.json new.json [--max-throughput-drop 10%] [--max-p99-rise 20%]`
 *
 * Matches the runs of two result files by name and flags a regression when throughput fell,
 * or p99 latency rose, by more than the thresholds. Exit codes: 0 no regression, 1 regression,
 * 2 bad input (unreadable file, not a benchmark result, another schema version, bad option,
 * no run in common): a CI gate must not read "could not compare" as "no regression".
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { int, signedPct, table, us } from './format.js';
import { BenchFileError, validateBenchFile, type BenchFile } from './schema.js';

export interface Thresholds {
  /** Fractions: 0.1 = 10%. */
  maxThroughputDrop: number;
  maxP99Rise: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { maxThroughputDrop: 0.1, maxP99Rise: 0.2 };

export interface CompareRow {
  name: string;
  base: { perSec: number; p50: number; p99: number };
  next: { perSec: number; p50: number; p99: number };
  throughputChange: number;
  p99Change: number;
  /** What regressed, in words; empty when nothing did. */
  regressions: string[];
}

export interface Comparison {
  rows: CompareRow[];
  onlyInBase: string[];
  onlyInNew: string[];
  /** Differences of machine or Node version that make the comparison doubtful. */
  caveats: string[];
  regressed: boolean;
}

export class CompareInputError extends Error {
  constructor(message: string) { super(message); this.name = 'CompareInputError'; }
}

export function compareFiles(base: BenchFile, next: BenchFile, t: Thresholds = DEFAULT_THRESHOLDS): Comparison {
  const nextByName = new Map(next.runs.map((r) => [r.name, r]));
  const baseNames = new Set(base.runs.map((r) => r.name));
  const rows: CompareRow[] = [];
  for (const b of base.runs) {
    const n = nextByName.get(b.name);
    if (!n) continue;
    const throughputChange = change(b.throughput.perSec, n.throughput.perSec);
    const p99Change = change(b.latency.p99, n.latency.p99);
    const regressions: string[] = [];
    if (throughputChange < -t.maxThroughputDrop) regressions.push(`throughput ${signedPct(throughputChange)} (limit -${pct(t.maxThroughputDrop)})`);
    if (p99Change > t.maxP99Rise) regressions.push(`p99 ${signedPct(p99Change)} (limit +${pct(t.maxP99Rise)})`);
    rows.push({
      name: b.name,
      base: { perSec: b.throughput.perSec, p50: b.latency.p50, p99: b.latency.p99 },
      next: { perSec: n.throughput.perSec, p50: n.latency.p50, p99: n.latency.p99 },
      throughputChange, p99Change, regressions,
    });
  }
  const caveats: string[] = [];
  // Numbers taken while other processes held cores, or over other durations, are not like for like.
  const busy = (r: BenchFile['runs'][number] | undefined) => r?.cpu?.otherProcessesUtilization ?? 0;
  const disturbed = base.runs.filter((b) => nextByName.has(b.name) && Math.max(busy(b), busy(nextByName.get(b.name))) > 0.15);
  if (disturbed.length > 0) {
    caveats.push(`other processes held CPU during ${disturbed.length} of the compared runs (up to ` +
      `${Math.max(...disturbed.map((b) => Math.max(busy(b), busy(nextByName.get(b.name))))).toFixed(2)} cores): ${disturbed.map((b) => b.name).join('; ')}`);
  }
  const differing = base.runs.filter((b) => {
    const n = nextByName.get(b.name);
    return n && b.config && n.config && (b.config.durationSec !== n.config.durationSec || b.config.warmupSec !== n.config.warmupSec);
  });
  if (differing.length > 0) caveats.push(`different durations or warm-ups: ${differing.map((b) => b.name).join('; ')}`);
  const be = base.environment, ne = next.environment;
  if (be && ne) {
    if (be.cpuModel !== ne.cpuModel || be.cpuCount !== ne.cpuCount) caveats.push(`different machines: ${be.cpuCount} x ${be.cpuModel} vs ${ne.cpuCount} x ${ne.cpuModel}`);
    if (be.node !== ne.node) caveats.push(`different Node versions: ${be.node} vs ${ne.node}`);
  }
  return {
    rows,
    onlyInBase: base.runs.filter((r) => !nextByName.has(r.name)).map((r) => r.name),
    onlyInNew: next.runs.filter((r) => !baseNames.has(r.name)).map((r) => r.name),
    caveats,
    regressed: rows.some((r) => r.regressions.length > 0),
  };
}

/** Relative change from a to b; 0 when both are 0. */
function change(a: number, b: number): number {
  if (a === 0) return b === 0 ? 0 : Infinity;
  return (b - a) / a;
}

function pct(f: number): string {
  return `${Number((f * 100).toFixed(2))}%`;
}

export function formatComparison(c: Comparison, t: Thresholds): string {
  const lines = [table(
    ['run', 'commits/s base', 'commits/s new', 'change', 'p50 base', 'p50 new', 'p99 base', 'p99 new', 'change', ''],
    c.rows.map((r) => [
      r.name, int(r.base.perSec), int(r.next.perSec), signedPct(r.throughputChange),
      us(r.base.p50), us(r.next.p50), us(r.base.p99), us(r.next.p99), signedPct(r.p99Change),
      r.regressions.length > 0 ? 'REGRESSION' : 'ok',
    ]),
  )];
  for (const name of c.onlyInBase) lines.push(`only in base (not compared): ${name}`);
  for (const name of c.onlyInNew) lines.push(`only in new (not compared): ${name}`);
  for (const cv of c.caveats) lines.push(`caveat: ${cv}`);
  const bad = c.rows.filter((r) => r.regressions.length > 0);
  lines.push(bad.length === 0
    ? `no regression (throughput drop up to ${pct(t.maxThroughputDrop)}, p99 rise up to ${pct(t.maxP99Rise)} allowed)`
    : `REGRESSION in ${bad.length} of ${c.rows.length} runs:\n${bad.map((r) => `  ${r.name}: ${r.regressions.join('; ')}`).join('\n')}`);
  return lines.join('\n');
}

/** "10%", "10" (percent) or "0.5%" -> 0.1, 0.1, 0.005. */
export function parseThreshold(option: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) throw new CompareInputError(`option ${option}: must be a percentage such as 10%, got ${JSON.stringify(text)}`);
  return Number(m[1]) / 100;
}

export function parseCompareArgs(argv: string[]): { basePath: string; newPath: string; thresholds: Thresholds } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: { 'max-throughput-drop': { type: 'string' }, 'max-p99-rise': { type: 'string' } },
    });
  } catch (e) {
    throw new CompareInputError((e as Error).message.split('\n')[0]);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) throw new CompareInputError(`expected two result files (base.json new.json), got ${positionals.length}`);
  return {
    basePath: positionals[0],
    newPath: positionals[1],
    thresholds: {
      maxThroughputDrop: values['max-throughput-drop'] !== undefined ? parseThreshold('--max-throughput-drop', values['max-throughput-drop']) : DEFAULT_THRESHOLDS.maxThroughputDrop,
      maxP99Rise: values['max-p99-rise'] !== undefined ? parseThreshold('--max-p99-rise', values['max-p99-rise']) : DEFAULT_THRESHOLDS.maxP99Rise,
    },
  };
}

export function loadBenchFile(file: string): BenchFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new BenchFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BenchFileError(`${file}: not JSON`);
  }
  return validateBenchFile(json, file);
}

/** Returns the exit code. */
export function main(argv: string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): number {
  try {
    const { basePath, newPath, thresholds } = parseCompareArgs(argv);
    const base = loadBenchFile(basePath);
    const next = loadBenchFile(newPath);
    const c = compareFiles(base, next, thresholds);
    if (c.rows.length === 0) {
      err(`bench:compare: no run of ${basePath} has a counterpart (same name) in ${newPath}; nothing to compare`);
      return 2;
    }
    out(`base: ${basePath} (${base.createdAt}, git ${base.environment?.gitCommit?.slice(0, 10) ?? '?'})`);
    out(`new:  ${newPath} (${next.createdAt}, git ${next.environment?.gitCommit?.slice(0, 10) ?? '?'})\n`);
    out(formatComparison(c, thresholds));
    return c.regressed ? 1 : 0;
  } catch (e) {
    if (e instanceof BenchFileError || e instanceof CompareInputError) {
      err(`bench:compare: ${e.message}\nusage: npm run bench:compare -- base.json new.json [--max-throughput-drop 10%] [--max-p99-rise 20%]`);
      return 2;
    }
    // anything else also means "could not compare", which a CI gate must not take for a regression verdict
    err(`bench:compare: could not compare: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
