/**
 * The machine's reference limits, measured in the same process just before the cluster runs
 * (bench/reference-limits.ts, src/storage/fsync-probe.ts), and each result's ratio to them:
 * DESIGN.md asks that these limits, not our code, set the speed, so the report puts the two
 * side by side.
 */
import { measureFdatasync } from '../src/storage/fsync-probe.js';
import { loadAvg, fsType } from './environment.js';
import { measureMessagePortRoundTrip, measureRingThroughput } from './reference-limits.js';
import type { ReferenceLimits, RunResult } from './schema.js';

export interface LimitsPlan {
  /** Command sizes of the runs: ring throughput is measured for records of each. */
  commandSizes: number[];
  /** Where file-storage runs keep their data (the fdatasync probe runs there); null: no file runs. */
  fileDir: string | null;
}

const RING_MS = 1000;
const PORT_ROUND_TRIPS = 2000;
const FDATASYNC_ITERATIONS = 300;

export async function measureLimits(plan: LimitsPlan, log: (line: string) => void): Promise<ReferenceLimits> {
  const loadAvgBefore = loadAvg();
  log('reference limits: MessagePort round trip (main <-> worker)...');
  const messagePortRoundTrip = await measureMessagePortRoundTrip(PORT_ROUND_TRIPS);
  const ringThroughput = [];
  for (const size of [...new Set(plan.commandSizes)].sort((a, b) => a - b)) {
    log(`reference limits: ring throughput, ${size} B records, two spinning workers (${RING_MS} ms)...`);
    // the ring must hold a few records of this size (plus the ring's own record header)
    const ringBytes = Math.max(1 << 18, 2 ** Math.ceil(Math.log2(4 * (size + 16))));
    ringThroughput.push(await measureRingThroughput(size, RING_MS, ringBytes));
  }
  let fdatasync: ReferenceLimits['fdatasync'] = null;
  if (plan.fileDir) {
    log(`reference limits: fdatasync of 4 KiB appends in ${plan.fileDir}...`);
    fdatasync = { ...measureFdatasync(plan.fileDir, FDATASYNC_ITERATIONS), dir: plan.fileDir, fsType: fsType(plan.fileDir) };
  }
  return { messagePortRoundTrip, ringThroughput, fdatasync, loadAvgBefore };
}

/** A run's figures divided by the limits (null where a limit was not measured). */
export function ratiosFor(run: Pick<RunResult, 'config' | 'throughput' | 'latency'>, limits: ReferenceLimits | null): RunResult['ratios'] {
  if (!limits) return { throughputToRing: null, p50ToPortRoundTrip: null };
  const ring = limits.ringThroughput.find((r) => r.recordBytes === run.config.commandBytes);
  const out: RunResult['ratios'] = {
    throughputToRing: ring && ring.recordsPerSec > 0 ? run.throughput.perSec / ring.recordsPerSec : null,
    p50ToPortRoundTrip: limits.messagePortRoundTrip.p50Us > 0 ? run.latency.p50 / limits.messagePortRoundTrip.p50Us : null,
  };
  if (run.config.storage.kind === 'file') {
    out.p50ToFdatasync = limits.fdatasync && limits.fdatasync.p50Ms > 0 ? run.latency.p50 / (limits.fdatasync.p50Ms * 1000) : null;
  }
  return out;
}
