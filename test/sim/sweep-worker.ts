/**
 * Piscina worker of the seed sweep: runs a batch of seeds and returns a small summary of
 * each (the full stats stay here: copying them back costs more than the run is worth).
 */
import { runSeed } from '../../src/sim/scenario.js';
import type { RunOptions } from '../../src/sim/scenario.js';

export interface SweepTask {
  seeds: number[];
  options: Pick<RunOptions, 'peers' | 'snapshots' | 'steps' | 'sessions'>;
}

export interface SeedSummary {
  seed: number;
  ok: boolean;
  error?: string;
  events: number;
  virtualMs: number;
  convergeMs: number;
  committed: number;
  traceHash: string;
}

export default function runBatch(task: SweepTask): SeedSummary[] {
  return task.seeds.map((seed) => {
    const r = runSeed(seed, { ...task.options, tailLines: 40 });
    return {
      seed, ok: r.ok, error: r.error, events: r.stats.events, virtualMs: r.stats.virtualMs,
      convergeMs: r.stats.convergeMs, committed: r.stats.committed, traceHash: r.stats.traceHash,
    };
  });
}
