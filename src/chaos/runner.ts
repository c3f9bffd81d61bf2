/**
 * A chaos run: the key/value store on a worker cluster, concurrent clients, the nemesis, then
 * heal, read the final state and check the history (linearizability split by key, appended
 * values at most once, every acknowledged write in the final state).
 */
import { Cluster } from '../cluster/cluster.js';
import { KvClient } from '../kv/kv-client.js';
import { checkHistory, type CheckResult } from '../kv/linearizability.js';
import { Prng } from '../sim/prng.js';
import { runClient, type ClientCounters } from './client-driver.js';
import { HistoryRecorder, type ChaosHistoryOp } from './history-writer.js';
import { Nemesis, nemesisSchedule, type Fault } from './nemesis.js';
import type { ChaosOptions } from './options.js';
import { plantBug } from './planted-bugs.js';
import { KvStore } from './store-handle.js';
import { CHAOS_KEYS, KEY_PREFIX } from './workload.js';

const KV_MODULE = new URL('../kv/kv-state-machine-module.js', import.meta.url);
/** A write not applied within this long is recorded as unknown. */
const WRITE_TIMEOUT_MS = 1500;
const READ_TIMEOUT_MS = 1000;

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
  elapsedMs: number;
}

/** The snapshot threshold of a run (small, so snapshots are taken and installed throughout). */
export function snapshotThreshold(seed: number): number {
  return new Prng(seed ^ 0x736e6170).range(16, 64);
}

export async function runChaos(o: ChaosOptions, log: (line: string) => void = () => {}): Promise<ChaosResult> {
  const schedule = nemesisSchedule(o.seed, o.seconds, o.peers);
  const snapshotEntries = snapshotThreshold(o.seed);
  const cluster = await Cluster.start({
    peers: o.peers, sessions: true, stateMachine: KV_MODULE, snapshotPolicy: { entries: snapshotEntries },
    seed: o.seed % 2 ** 31, checkQuorum: true, applyStream: false,
    ...(o.readMode === 'lease' ? { readMode: 'lease' as const } : {}),
  });
  const history = new HistoryRecorder();
  const counters: ClientCounters = { ok: 0, unknownWrites: 0, failedReads: 0, sessions: 0, errors: [] };
  const started = performance.now();
  try {
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    const client = cluster.client();
    const readMode = o.readMode === 'follower' ? 'follower' : 'leader';
    const reader = { read: (q: Uint8Array) => client.read(q, { mode: readMode, timeoutMs: READ_TIMEOUT_MS }) };
    const open = async () => {
      const session = await cluster.session({ timeoutMs: WRITE_TIMEOUT_MS });
      const proposer = { propose: (c: Uint8Array) => session.propose(c, { timeoutMs: WRITE_TIMEOUT_MS }) };
      return plantBug(new KvStore(new KvClient(proposer, {}, reader)), o.plant);
    };
    let clientIds = 0;
    const runStart = performance.now();
    const deadline = runStart + o.seconds * 1000;
    const nemesis = new Nemesis(cluster, schedule, o.verbose ? (l) => log(`nemesis: ${l}`) : undefined);
    const faults = nemesis.run(runStart);
    const stopTimer = setTimeout(() => nemesis.stop(), o.seconds * 1000);
    await Promise.all(Array.from({ length: o.clients }, (_, c) => runClient({
      client: c, seed: o.seed, deadline, history, open, nextClientId: () => clientIds++, counters,
    })));
    nemesis.stop();
    clearTimeout(stopTimer);
    await faults; // healed
    const finalState = await readFinalState(cluster);
    const check = checkHistory(history.ops.filter((h) => !(h.return === null && (h.op === 'get' || h.op === 'scan'))), { finalState });
    return {
      verdict: check.verdict, check, history: history.ops, finalState, schedule, injected: nemesis.log,
      counters, snapshotEntries, elapsedMs: performance.now() - started,
    };
  } finally {
    await cluster.stop();
  }
}

/** Every chaos key's value once the cluster is healed, by a ReadIndex scan on the leader (retried until it answers). */
async function readFinalState(cluster: Cluster): Promise<Record<string, string | null>> {
  const deadline = performance.now() + 30_000;
  let last: unknown = null;
  while (performance.now() < deadline) {
    try {
      await cluster.waitForLeader({ timeoutMs: 10_000 });
      const kv = new KvStore(new KvClient({ propose: () => Promise.reject(new Error('the final read proposes nothing')) }, {}, {
        read: (q) => cluster.client().read(q, { mode: 'leader', timeoutMs: 5000 }),
      }));
      const r = await kv.scan(KEY_PREFIX, CHAOS_KEYS.length + 1);
      if (r.more) throw new Error(`the final scan found more than ${CHAOS_KEYS.length} keys under ${JSON.stringify(KEY_PREFIX)}`);
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
