/** The key/value store on a worker-thread Cluster, with every fault of the nemesis. */
import { Cluster } from '../cluster/cluster.js';
import { KvClient } from '../kv/kv-client.js';
import { READ_TIMEOUT_MS, WRITE_TIMEOUT_MS, type ChaosCluster } from './chaos-cluster.js';
import { FAULT_KINDS } from './nemesis.js';
import type { ChaosReadMode } from './options.js';
import { KvStore } from './store-handle.js';

const KV_MODULE = new URL('../kv/kv-state-machine-module.js', import.meta.url);

export async function startWorkerCluster(o: { peers: number; seed: number; readMode: ChaosReadMode; snapshotEntries: number }): Promise<ChaosCluster> {
  const cluster = await Cluster.start({
    peers: o.peers, sessions: true, stateMachine: KV_MODULE, snapshotPolicy: { entries: o.snapshotEntries },
    seed: o.seed % 2 ** 31, checkQuorum: true, applyStream: false,
    ...(o.readMode === 'lease' ? { readMode: 'lease' as const } : {}),
  });
  try {
    await cluster.waitForLeader({ timeoutMs: 10_000 });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  const client = cluster.client();
  const mode = o.readMode === 'follower' ? 'follower' as const : 'leader' as const;
  const reader = { read: (q: Uint8Array) => client.read(q, { mode, timeoutMs: READ_TIMEOUT_MS }) };
  return {
    target: cluster,
    faultKinds: FAULT_KINDS,
    readsVia: `client.read (${o.readMode === 'follower' ? 'follower reads' : o.readMode === 'lease' ? 'lease reads on the leader' : 'ReadIndex on the leader'})`,
    async openStore() {
      const session = await cluster.session({ timeoutMs: WRITE_TIMEOUT_MS });
      return new KvStore(new KvClient({ propose: (c) => session.propose(c, { timeoutMs: WRITE_TIMEOUT_MS }) }, {}, reader));
    },
    async finalReader() {
      await cluster.waitForLeader({ timeoutMs: 10_000 });
      return new KvStore(new KvClient({ propose: () => Promise.reject(new Error('the final read proposes nothing')) }, {}, {
        read: (q) => client.read(q, { mode: 'leader', timeoutMs: 5000 }),
      }));
    },
    stop: () => cluster.stop(),
  };
}
