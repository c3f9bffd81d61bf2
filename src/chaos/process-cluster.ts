/**
 * The key/value store on peer processes over TCP (`raft-threads peer`, file storage), for
 * `--processes`. Faults: SIGKILL and restart (from the data directory), and partitions made
 * by a FaultProxy in front of each peer's port (peers reach each other through the proxies;
 * clients connect directly). The network faults of the worker cluster (drops, delays,
 * reordering) live in its shared-memory switchboard and have no TCP counterpart, so they are
 * left out. Gets and scans are RemoteClient reads (ReadIndex or lease reads on the leader, or
 * follower reads, as --read-mode says), the final state a ReadIndex scan. The peers write
 * with `--fsync none`: a SIGKILL loses no written page (the kernel keeps them), and fsync on
 * this shared disk would cut the operation rate fourfold; power loss is not simulated.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '../kv/kv-client.js';
import { FaultProxy } from '../process/fault-proxy.js';
import { RemoteClient } from '../process/remote-client.js';
import { READ_TIMEOUT_MS, WRITE_TIMEOUT_MS, type ChaosCluster } from './chaos-cluster.js';
import type { FaultKind, FaultTarget } from './nemesis.js';
import type { ChaosReadMode } from './options.js';
import { KvStore } from './store-handle.js';
import { freePorts } from '../process/free-ports.js';

const CLI = fileURLToPath(new URL('../process/cli.js', import.meta.url));
const KV_MODULE = fileURLToPath(new URL('../kv/kv-state-machine-module.js', import.meta.url));
const CLUSTER_ID = 'chaos';
const PROCESS_FAULTS: readonly FaultKind[] = ['partition-leader', 'partition-minority', 'crash-restart'];

class PeerProcesses implements FaultTarget {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-chaos-'));
  private readonly procs = new Map<number, ChildProcess>();
  private readonly isolated = new Set<number>();
  /** The last stderr of each peer, for a failure message. */
  private readonly logs = new Map<number, string>();
  proxies: FaultProxy[] = [];
  /** The peers' client ports (direct) and peer ports (the proxies'). */
  clientPorts: number[] = [];
  peerPorts: number[] = [];
  readonly status: RemoteClient;

  constructor(readonly size: number, private readonly snapshotEntries: number, private readonly readMode: ChaosReadMode, ports: number[]) {
    this.clientPorts = ports.slice(0, size);
    this.peerPorts = ports.slice(size);
    this.status = new RemoteClient({ peers: this.addresses(), clusterId: CLUSTER_ID, tls: false });
  }

  addresses(): Record<number, { host: string; port: number }> {
    return Object.fromEntries(this.clientPorts.map((port, id) => [id, { host: '127.0.0.1', port }]));
  }

  async start(): Promise<void> {
    for (let id = 0; id < this.size; id++) this.proxies.push(await FaultProxy.start(this.peerPorts[id], this.clientPorts[id]));
    await Promise.all(Array.from({ length: this.size }, (_, id) => this.restart(id)));
  }

  disconnect(i: number): void {
    this.isolated.add(i);
    this.applyCuts();
  }

  connect(i: number): void {
    if (!this.isolated.delete(i)) return;
    for (const p of this.proxies) p.heal();
    this.applyCuts();
  }

  setUnreliable(on: boolean): void { if (on) throw new Error('peer processes have no unreliable-network fault'); }
  setLongReordering(on: boolean): void { if (on) throw new Error('peer processes have no reordering fault'); }

  isAlive(i: number): boolean { return this.procs.has(i); }

  async crash(i: number): Promise<void> {
    const p = this.procs.get(i);
    if (!p) return;
    this.procs.delete(i);
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  /** Starts peer i (again) from its data directory; resolves once it listens. */
  async restart(i: number): Promise<void> {
    if (this.procs.has(i)) throw new Error(`peer ${i} is running; crash it first`);
    const peers = this.peerPorts.map((port, id) => `${id}=127.0.0.1:${port}`).join(',');
    const p = spawn(process.execPath, [
      CLI, 'peer', '--id', String(i), '--listen', `127.0.0.1:${this.clientPorts[i]}`, '--peers', peers,
      '--dir', path.join(this.dir, `peer-${i}`), '--state-machine', KV_MODULE, '--sessions', '--insecure',
      '--cluster-id', CLUSTER_ID, '--fsync', 'none', '--snapshot-entries', String(this.snapshotEntries),
      ...(this.readMode === 'lease' ? ['--read-mode', 'lease'] : []),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.set(i, p);
    p.stderr!.on('data', (b: Buffer) => this.logs.set(i, ((this.logs.get(i) ?? '') + b.toString()).slice(-4000)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('listening on')) resolve(); });
      p.once('exit', (code, signal) => reject(new Error(`peer ${i} exited (${code ?? signal}) before listening: ${this.logs.get(i) ?? ''}`)));
    });
  }

  /** A live peer that says it leads (the highest term if two do). */
  async waitForLeader(opts: { timeoutMs?: number } = {}): Promise<{ leader: number }> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      let best: { leader: number; term: number } | null = null;
      for (const id of this.procs.keys()) {
        const s = await this.status.status(id);
        if (s && s.leaderId === id && (!best || s.term > best.term)) best = { leader: id, term: s.term };
      }
      if (best) return best;
      if (Date.now() > deadline) throw new Error(`no leader among the peer processes within ${opts.timeoutMs ?? 10_000} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.status.close();
    await Promise.all([...this.procs.keys()].map((id) => this.crash(id)));
    await Promise.all(this.proxies.map((p) => p.close()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private applyCuts(): void {
    for (const id of this.isolated) {
      for (let other = 0; other < this.size; other++) {
        if (other === id) this.proxies[id].cut('all');
        else this.proxies[other].cut([id]);
      }
    }
  }
}


export async function startProcessCluster(o: { peers: number; snapshotEntries: number; readMode: ChaosReadMode }): Promise<ChaosCluster> {
  const procs = new PeerProcesses(o.peers, o.snapshotEntries, o.readMode, await freePorts(2 * o.peers));
  try {
    await procs.start();
    await procs.waitForLeader({ timeoutMs: 15_000 });
  } catch (e) {
    await procs.stop();
    throw e;
  }
  const client = new RemoteClient({ peers: procs.addresses(), clusterId: CLUSTER_ID, tls: false });
  const mode = o.readMode === 'follower' ? 'follower' as const : 'leader' as const;
  const reader = { read: (q: Uint8Array) => client.read(q, { mode, timeoutMs: READ_TIMEOUT_MS }) };
  return {
    target: procs,
    faultKinds: PROCESS_FAULTS,
    readsVia: `RemoteClient.read (${o.readMode === 'follower' ? 'follower reads' : o.readMode === 'lease' ? 'lease reads on the leader' : 'ReadIndex on the leader'})`,
    async openStore() {
      const session = await client.session({ timeoutMs: WRITE_TIMEOUT_MS });
      return new KvStore(new KvClient({ propose: (c) => session.propose(c, { timeoutMs: WRITE_TIMEOUT_MS }) }, {}, reader));
    },
    async finalReader() {
      await procs.waitForLeader({ timeoutMs: 10_000 });
      return new KvStore(new KvClient({ propose: () => Promise.reject(new Error('the final read proposes nothing')) }, {}, {
        read: (q) => client.read(q, { mode: 'leader', timeoutMs: 5000 }),
      }));
    },
    async stop() {
      client.close();
      await procs.stop();
    },
  };
}
