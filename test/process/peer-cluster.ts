/**
 * Peer processes for tests: spawns the built `raft-threads peer` command per peer on
 * loopback, keeps each one's stderr, kills and restarts them, and reads the applied logs
 * that applied-log-machine.js writes.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteClient } from '../../src/process/remote-client.js';
import type { TlsFiles } from '../../src/transport/tcp-tls.js';
import { freePorts, waitFor } from '../transport/tcp-helpers.js';
import { TestCerts } from '../transport/tls-certs.js';
import { FaultProxy } from '../../src/process/fault-proxy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLI = path.resolve(here, '../../src/process/cli.js');
const MACHINE = path.resolve(here, 'applied-log-machine.js');
/** register-machine.js: registers set by "key=value", read by query "key". */
export const REGISTER_MACHINE = path.resolve(here, 'register-machine.js');

export interface ProcessClusterOptions {
  size: number;
  sessions?: boolean;
  /** Certificates peer-<id> and client, or none for --insecure. */
  certs?: TestCerts;
  memory?: boolean;
  clusterId?: string;
  extraArgs?: string[];
  /** Peers reach each other through a FaultProxy each (plain TCP only); clients connect directly. */
  proxied?: boolean;
  /** State machine module (default applied-log-machine.js); null: none. */
  stateMachine?: string | null;
}

export class ProcessCluster {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-procs-'));
  readonly ids: number[];
  readonly procs = new Map<number, ChildProcess>();
  /** All stderr of each peer, across restarts. */
  readonly logs = new Map<number, string>();
  /** By peer id, with `proxied`: the proxy in front of that peer's port. */
  readonly proxies: FaultProxy[] = [];
  private constructor(readonly o: ProcessClusterOptions, readonly ports: number[], private readonly peerPorts: number[]) {
    this.ids = Array.from({ length: o.size }, (_, i) => i);
  }

  static async start(o: ProcessClusterOptions): Promise<ProcessCluster> {
    const ports = await freePorts(o.proxied ? 2 * o.size : o.size);
    const c = new ProcessCluster(o, ports.slice(0, o.size), o.proxied ? ports.slice(o.size) : ports.slice(0, o.size));
    if (o.proxied) for (const id of c.ids) c.proxies.push(await FaultProxy.start(c.peerPorts[id], c.ports[id]));
    await Promise.all(c.ids.map((id) => c.startPeer(id)));
    return c;
  }

  /** The addresses peers reach each other at (the proxies', with `proxied`). */
  get peersArg(): string {
    return this.ids.map((id) => `${id}=127.0.0.1:${this.peerPorts[id]}`).join(',');
  }

  /** Cuts every link into and out of `id` (needs `proxied`); heal() restores them. */
  isolate(id: number): void {
    for (const other of this.ids) {
      if (other === id) this.proxies[id].cut('all');
      else this.proxies[other].cut([id]);
    }
  }

  heal(): void {
    for (const p of this.proxies) p.heal();
  }

  get clusterId(): string {
    return this.o.clusterId ?? 'test-cluster';
  }

  clientTls(): TlsFiles | false {
    return this.o.certs ? this.o.certs.of('client') : false;
  }

  client(): RemoteClient {
    return new RemoteClient({ peers: Object.fromEntries(this.ids.map((id) => [id, { host: '127.0.0.1', port: this.ports[id] }])), clusterId: this.clusterId, tls: this.clientTls() });
  }

  /** Starts (or restarts) peer `id`; resolves once it listens. */
  async startPeer(id: number): Promise<void> {
    const args = [CLI, 'peer', '--id', String(id), '--listen', `127.0.0.1:${this.ports[id]}`, '--peers', this.peersArg, '--cluster-id', this.clusterId];
    const machine = this.o.stateMachine === undefined ? MACHINE : this.o.stateMachine;
    if (machine !== null) args.push('--state-machine', machine);
    args.push(...(this.o.memory ? ['--memory'] : ['--dir', path.join(this.dir, `data-${id}`)]));
    if (this.o.sessions) args.push('--sessions');
    if (this.o.certs) {
      const f = this.o.certs.of(`peer-${id}`);
      args.push('--tls-cert', f.certPath, '--tls-key', f.keyPath, '--tls-ca', f.caPath);
    } else {
      args.push('--insecure');
    }
    args.push(...(this.o.extraArgs ?? []));
    const p = spawn(process.execPath, args, { env: { ...process.env, RAFT_APPLIED_LOG_DIR: this.dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.set(id, p);
    p.stderr!.on('data', (b: Buffer) => this.logs.set(id, (this.logs.get(id) ?? '') + b.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('listening on')) resolve(); });
      p.once('exit', (code, signal) => reject(new Error(`peer ${id} exited (${code ?? signal}) before listening:\n${this.logs.get(id) ?? ''}`)));
    });
  }

  /** Sends `signal` to peer `id` and waits for it to exit; resolves with its exit code. */
  async kill(id: number, signal: NodeJS.Signals): Promise<number | null> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    const code = await exited;
    this.procs.delete(id);
    return code;
  }

  /** The peer every live peer names as leader, once they agree. */
  async leader(client: RemoteClient, ms = 15_000): Promise<number> {
    let leader = -1;
    await waitFor('a leader all live peers agree on', async () => {
      const seen = new Set<number>();
      for (const id of this.procs.keys()) seen.add((await client.status(id))?.leaderId ?? -1);
      leader = seen.size === 1 ? [...seen][0] : -1;
      return leader >= 0 && this.procs.has(leader);
    }, ms);
    return leader;
  }

  /** index -> command hex of peer `id`'s applied log; throws if a replay after a restart disagrees. */
  applied(id: number): Map<number, string> {
    const file = path.join(this.dir, `applied-${id}.log`);
    const m = new Map<number, string>();
    if (!fs.existsSync(file)) return m;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      const [i, hex] = line.split(' ');
      const index = Number(i);
      const before = m.get(index);
      if (before !== undefined && before !== hex) throw new Error(`peer ${id} applied two commands at index ${index}: ${before} and ${hex}`);
      m.set(index, hex);
    }
    return m;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id, 'SIGKILL')));
    await Promise.all(this.proxies.map((p) => p.close()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Every peer applied the same commands at the same indexes, and has applied through
 * `lastIndex`; returns the commands (hex) in index order.
 */
export function checkSameApplied(c: ProcessCluster, lastIndex: number): string[] {
  const logs = c.ids.map((id) => c.applied(id));
  const ref = logs[0];
  for (const [k, m] of logs.entries()) {
    const max = Math.max(0, ...m.keys());
    if (max < lastIndex) throw new Error(`peer ${k} applied only through ${max}, not ${lastIndex}`);
    for (const [index, hex] of m) {
      if (index > lastIndex) continue;
      if (ref.get(index) !== hex) throw new Error(`peer ${k} applied ${hex} at ${index}, peer 0 applied ${ref.get(index)}`);
    }
    for (const index of ref.keys()) if (index <= lastIndex && !m.has(index)) throw new Error(`peer ${k} did not apply index ${index}`);
  }
  return [...ref.entries()].filter(([i]) => i <= lastIndex).sort((a, b) => a[0] - b[0]).map(([, hex]) => hex);
}
