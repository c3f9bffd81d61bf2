/**
 * A chaos run: the key/value store on a cluster (worker threads, or peer processes with
 * --processes), concurrent clients, the nemesis, then heal, read the final state and check
 * the history (linearizability split by key, appended values at most once, every
 * acknowledged write in the final state).
 */
import { checkHistory, type CheckResult } from '../kv/linearizability.js';
import { Prng } from '../sim/prng.js';
import type { ChaosCluster } from './chaos-cluster.js';
import { runClient, type ClientCounters } from './client-driver.js';
import { HistoryRecorder, type ChaosHistoryOp } from './history-writer.js';
import { Nemesis, nemesisSchedule, type Fault } from './nemesis.js';
import type { ChaosOptions } from './options.js';
import { plantBug } from './planted-bugs.js';
import { startProcessCluster } from './process-cluster.js';
import { startWorkerCluster } from './worker-cluster.js';
import { CHAOS_KEYS, KEY_PREFIX } from './workload.js';

export interface ChaosResult {
  verdict: CheckResult['verdict'];
  check: CheckResult;
  history: ChaosHistoryOp[];
  finalState: Record<string, string | null>;
  schedule: Fault[];
  /** The faults as injected (the leader resolved). */
  injected: string[];
  counters: ClientCounters;
  snapshotEntries: number;
  readsVia: string;
  elapsedMs: number;
}

/** The snapshot threshold of a run (small, so snapshots are taken and installed throughout). */
export function snapshotThreshold(seed: number): number {
  return new Prng(seed ^ 0x736e6170).range(16, 64);
}

export async function runChaos(o: ChaosOptions, log: (line: string) => void = () => {}): Promise<ChaosResult> {
  const started = performance.now();
  const snapshotEntries = snapshotThreshold(o.seed);
  const cluster: ChaosCluster = o.processes
    ? await startProcessCluster({ peers: o.peers, snapshotEntries, readMode: o.readMode })
    : await startWorkerCluster({ peers: o.peers, seed: o.seed, readMode: o.readMode, snapshotEntries });
  const schedule = nemesisSchedule(o.seed, o.seconds, o.peers, cluster.faultKinds);
  const history = new HistoryRecorder();
  const counters: ClientCounters = { ok: 0, unknownWrites: 0, failedReads: 0, sessions: 0, errors: [] };
  try {
    let clientIds = 0;
    const runStart = performance.now();
    const deadline = runStart + o.seconds * 1000;
    const nemesis = new Nemesis(cluster.target, schedule, o.verbose ? (l) => log(`nemesis: ${l}`) : undefined);
    // A fault that could not be injected or healed ends the run once the clients are done.
    const faults = nemesis.run(runStart).then(() => null, (e: unknown) => e);
    const stopTimer = setTimeout(() => nemesis.stop(), o.seconds * 1000);
    await Promise.all(Array.from({ length: o.clients }, (_, c) => runClient({
      client: c, seed: o.seed, deadline, history, counters,
      open: async () => plantBug(await cluster.openStore(), o.plant),
      nextClientId: () => clientIds++,
    })));
    nemesis.stop();
    clearTimeout(stopTimer);
    const faultError = await faults; // healed
    if (faultError) throw faultError;
    const finalState = await readFinalState(cluster, history, clientIds++);
    // A read that failed changed nothing: it is in the file (return null) but not searched.
    const check = checkHistory(history.ops.filter((h) => !(h.return === null && (h.op === 'get' || h.op === 'scan'))), { finalState });
    return {
      verdict: check.verdict, check, history: history.ops, finalState, schedule, injected: nemesis.log,
      counters, snapshotEntries, readsVia: cluster.readsVia, elapsedMs: performance.now() - started,
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * Every chaos key's value once the cluster is healed, by a linearizable scan (retried until it
 * answers). The scan that answered goes into the history as its last line, under a clientId of
 * its own: checkHistory on the file alone then also finds an acknowledged write that is lost.
 */
async function readFinalState(cluster: ChaosCluster, history: HistoryRecorder, clientId: number): Promise<Record<string, string | null>> {
  const deadline = performance.now() + 30_000;
  let last: unknown = null;
  while (performance.now() < deadline) {
    try {
      const limit = CHAOS_KEYS.length + 1;
      const call = history.now();
      const r = await (await cluster.finalReader()).scan(KEY_PREFIX, limit);
      if (r.more) throw new Error(`the final scan found more than ${CHAOS_KEYS.length} keys under ${JSON.stringify(KEY_PREFIX)}`);
      history.completed(clientId, 'scan', KEY_PREFIX, { limit }, r, call);
      const state: Record<string, string | null> = {};
      for (const k of CHAOS_KEYS) state[k] = null;
      for (const [k, v] of r.entries) state[k] = v;
      return state;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`could not read the final state within 30 s after healing: ${(last as Error)?.message ?? String(last)}`);
}
