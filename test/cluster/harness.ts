import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, ClusterOptions, ApplyEvent, FsyncPolicy, PeerDownError } from '../../src/index.js';
import { seededRandom } from '../../src/core/random.js';

/** Scenario round counts: small in `npm test`, the classic lab's in `npm run test:full`. */
export const FULL = process.env.RAFT_FULL === '1';
export function rounds(quick: number, full: number): number {
  return FULL ? full : quick;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The seed of a scenario: RAFT_SEED replays a failing run (same fault choices in the
 * transports, same election-timeout draws, same scenario choices below); otherwise drawn per
 * scenario. A failing scenario's error names it. Real workers still race on real time, so a
 * replay makes the same choices for the same sequence of events, not the same sequence.
 */
export const ENV_SEED = parseSeed(process.env.RAFT_SEED);
function parseSeed(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`RAFT_SEED must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/** The scenario's own choices (which peer to cut off, what to propose), reseeded by each Harness. */
let scenarioRandom = seededRandom(randomInt(2 ** 31));
export const randInt = (n: number) => Math.floor(scenarioRandom() * n);

/** Commands are numbers encoded as 8 bytes, or arbitrary bytes keyed by their content. */
export function cmd(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}
function keyOf(c: Uint8Array): string {
  if (c.byteLength === 8) return String(new DataView(c.buffer, c.byteOffset, 8).getFloat64(0, true));
  return `${c.byteLength}:${Buffer.from(c.subarray(0, 32)).toString('hex')}`;
}

export const ELECTION_WAIT_MS = 5000;

/**
 * Where scenario peers keep their state: the shared-memory journal, or FileStorage in a
 * fresh temporary directory per scenario (removed afterwards). RAFT_STORAGE=file makes file
 * storage the default for every scenario; RAFT_FSYNC picks its policy (default 'batch').
 */
export type StorageKind = 'memory' | 'file';
export interface StorageChoice { storage?: StorageKind; fsync?: FsyncPolicy }
export const DEFAULT_STORAGE: Required<StorageChoice> = {
  storage: envChoice('RAFT_STORAGE', ['memory', 'file'], 'memory'),
  fsync: envChoice('RAFT_FSYNC', ['batch', 'always', 'none'], 'batch'),
};
function envChoice<T extends string>(name: string, allowed: readonly T[], dflt: T): T {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}
/** Test-name suffix saying which storage a scenario ran on. */
export function storageLabel(s: StorageChoice = {}): string {
  const kind = s.storage ?? DEFAULT_STORAGE.storage;
  return kind === 'memory' ? '' : ` [file, fsync ${s.fsync ?? DEFAULT_STORAGE.fsync}]`;
}

/**
 * The scenario harness, after the classic Raft lab's test config: starts a real worker
 * cluster, checks every applied message (same command at the same index on every peer, no
 * gaps, in order, snapshot contents agree), and offers the lab's helpers (checkOneLeader,
 * one, nCommitted, ...).
 */
export class Harness {
  readonly logs: Array<Map<number, string>>;
  readonly lastApplied: number[];
  private readonly byIndex = new Map<number, string>();
  maxIndex = 0;
  errors: string[] = [];
  private readonly started = Date.now();
  private pendingSnapshots: Array<Promise<unknown>> = [];

  private constructor(readonly cluster: Cluster, readonly n: number, readonly snapshots: boolean, readonly dir: string | null) {
    this.logs = Array.from({ length: n }, () => new Map());
    this.lastApplied = new Array(n).fill(0);
    cluster.onApply((e) => this.onApply(e));
  }

  static async create(n: number, opts: { unreliable?: boolean; snapshots?: boolean; cluster?: Partial<ClusterOptions> } & StorageChoice = {}): Promise<Harness> {
    const kind = opts.storage ?? DEFAULT_STORAGE.storage;
    const dir = kind === 'file' ? fs.mkdtempSync(path.join(os.tmpdir(), 'raft-scenario-')) : null;
    let cluster: Cluster;
    try {
      const storage = dir ? { dir, fsync: opts.fsync ?? DEFAULT_STORAGE.fsync } : undefined;
      // The lab's scenarios expect the first command of a term at the next index: no no-op entries.
      const seed = opts.cluster?.seed ?? ENV_SEED ?? randomInt(2 ** 31);
      cluster = await Cluster.start({ peers: n, storage, noopOnElection: false, ...opts.cluster, seed });
    } catch (e) {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const h = new Harness(cluster, n, opts.snapshots ?? false, dir);
    scenarioRandom = seededRandom(cluster.seed ^ 0x5ce7a210);
    cluster.setUnreliable(opts.unreliable ?? false);
    return h;
  }

  private fail(msg: string): void {
    this.errors.push(msg);
  }

  private onApply(e: ApplyEvent): void {
    const p = e.peer;
    while (this.logs.length <= p) { this.logs.push(new Map()); this.lastApplied.push(0); } // a peer added by addPeer()
    if (e.type === 'snapshot') {
      if (e.index <= this.lastApplied[p]) this.fail(`peer ${p} applied snapshot ${e.index} at or below its applied index ${this.lastApplied[p]}`);
      this.ingestSnapshot(p, e.index, e.snapshot);
      return;
    }
    const key = e.type === 'membership' ? 'membership entry' : keyOf(e.command);
    if (e.index !== this.lastApplied[p] + 1) {
      this.fail(`peer ${p} applied index ${e.index} out of order (expected ${this.lastApplied[p] + 1})`);
    }
    const other = this.byIndex.get(e.index);
    if (other !== undefined && other !== key) this.fail(`commit index=${e.index} peer=${p} ${key} != ${other}`);
    this.byIndex.set(e.index, key);
    this.logs[p].set(e.index, key);
    this.lastApplied[p] = e.index;
    if (e.index > this.maxIndex) this.maxIndex = e.index;
    if (this.snapshots && e.index % 10 === 0) {
      // The state machine snapshots every 10 entries; its snapshot holds every command so far.
      const keys: string[] = [];
      for (let i = 1; i <= e.index; i++) keys.push(this.logs[p].get(i) ?? '?');
      const data = new TextEncoder().encode(JSON.stringify(keys));
      this.pendingSnapshots.push(this.cluster.peer(p).snapshot(e.index, data).catch((err) => {
        if (!(err instanceof PeerDownError) && !/peer .* crashed|not above the last snapshot/.test(String(err))) this.fail(`snapshot(${e.index}) on ${p}: ${err}`);
      }));
    }
  }

  private ingestSnapshot(p: number, index: number, data: Uint8Array): void {
    let keys: string[];
    try {
      keys = JSON.parse(new TextDecoder().decode(data));
    } catch {
      this.fail(`peer ${p}: snapshot ${index} does not decode`);
      return;
    }
    if (keys.length !== index) this.fail(`peer ${p}: snapshot ${index} holds ${keys.length} commands`);
    const log = new Map<number, string>();
    keys.forEach((k, i) => {
      const other = this.byIndex.get(i + 1);
      if (k === '?') return;
      if (other !== undefined && other !== k) this.fail(`snapshot of peer ${p}: index ${i + 1} holds ${k}, others applied ${other}`);
      this.byIndex.set(i + 1, k);
      log.set(i + 1, k);
    });
    this.logs[p] = log;
    this.lastApplied[p] = index;
    if (index > this.maxIndex) this.maxIndex = index;
  }

  async crash(i: number): Promise<void> {
    await this.cluster.crash(i);
  }

  /** Restarts peer i; its state machine starts from its persisted snapshot (or empty). */
  async restart(i: number): Promise<void> {
    const { snapshot } = await this.cluster.restart(i);
    this.logs[i] = new Map();
    this.lastApplied[i] = 0;
    if (snapshot) this.ingestSnapshot(i, snapshot.index, snapshot.data);
  }

  disconnect(i: number): void { this.cluster.disconnect(i); }
  connect(i: number): void { this.cluster.connect(i); }
  up(i: number): boolean { return this.cluster.isAlive(i) && this.cluster.isConnected(i); }

  private async state(i: number): Promise<{ term: number; isLeader: boolean } | null> {
    try { return await this.cluster.peer(i).getState(); } catch (e) { if (e instanceof PeerDownError) return null; throw e; }
  }

  async checkOneLeader(): Promise<number> {
    for (let iter = 0; iter < 10; iter++) {
      await sleep(450 + randInt(100));
      const leaders = new Map<number, number[]>();
      for (let i = 0; i < this.n; i++) {
        if (!this.up(i)) continue;
        const s = await this.state(i);
        if (s?.isLeader) leaders.set(s.term, [...(leaders.get(s.term) ?? []), i]);
      }
      let last = -1;
      for (const [term, ls] of leaders) {
        if (ls.length > 1) throw new Error(`term ${term} has ${ls.length} (>1) leaders`);
        if (term > last) last = term;
      }
      if (leaders.size > 0) return leaders.get(last)![0];
    }
    throw new Error('expected one leader, got none');
  }

  async checkTerms(): Promise<number> {
    let term = -1;
    for (let i = 0; i < this.n; i++) {
      if (!this.up(i)) continue;
      const s = await this.state(i);
      if (!s) continue;
      if (term === -1) term = s.term;
      else if (term !== s.term) throw new Error('servers disagree on term');
    }
    return term;
  }

  async checkNoLeader(): Promise<void> {
    for (let i = 0; i < this.n; i++) {
      if (!this.up(i)) continue;
      const s = await this.state(i);
      if (s?.isLeader) throw new Error(`expected no leader among connected servers, but ${i} claims to be leader`);
    }
  }

  /** How many peers have applied `index`, and the command there. */
  nCommitted(index: number): { count: number; key: string | undefined } {
    this.throwIfErrors();
    let count = 0;
    let key: string | undefined;
    for (let i = 0; i < this.logs.length; i++) {
      const k = this.logs[i].get(index);
      if (k === undefined) continue;
      if (count > 0 && k !== key) throw new Error(`committed values do not match: index ${index}, ${key}, ${k}`);
      count++;
      key = k;
    }
    return { count, key };
  }

  /** Waits until at least n peers have applied `index`; gives up if the term moves on. */
  async wait(index: number, n: number, startTerm: number): Promise<string | undefined> {
    let to = 10;
    for (let iters = 0; iters < 30; iters++) {
      const { count } = this.nCommitted(index);
      if (count >= n) break;
      await sleep(to);
      if (to < 1000) to *= 2;
      if (startTerm > -1) {
        for (let r = 0; r < this.n; r++) {
          const s = this.cluster.isAlive(r) ? await this.state(r) : null;
          if (s && s.term > startTerm) return undefined; // someone moved on; can't expect success
        }
      }
    }
    const { count, key } = this.nCommitted(index);
    if (count < n) throw new Error(`only ${count} decided for index ${index}; wanted ${n}`);
    return key;
  }

  /**
   * Submits a command until it commits on `expected` peers (the lab's one()); with retry it
   * resubmits after a leader failure. Returns the index.
   */
  async one(c: Uint8Array, expected: number, retry: boolean): Promise<number> {
    const want = keyOf(c);
    const deadline = Date.now() + 10_000;
    let starts = 0;
    while (Date.now() < deadline) {
      let index = -1;
      const n = this.cluster.size; // peers added by addPeer() included
      for (let si = 0; si < n; si++) {
        starts = (starts + 1) % n;
        if (!this.up(starts)) continue;
        try {
          const r = await this.cluster.peer(starts).start(c);
          if (r.isLeader) { index = r.index; break; }
        } catch (e) { if (!(e instanceof PeerDownError)) throw e; }
      }
      if (index !== -1) {
        const t1 = Date.now();
        while (Date.now() - t1 < 2000) {
          const { count, key } = this.nCommitted(index);
          if (count > 0 && count >= expected && key === want) return index;
          await sleep(20);
        }
        if (!retry) throw new Error(`one(${want}) failed to reach agreement`);
      } else {
        await sleep(50);
      }
    }
    throw new Error(`one(${want}) failed to reach agreement within 10 s`);
  }

  throwIfErrors(): void {
    if (this.cluster.fatal) this.errors.push(this.cluster.fatal);
    if (this.errors.length > 0) throw new Error(`apply checker: ${this.errors.slice(0, 5).join('; ')}`);
  }

  /** Stops the cluster and fails on any checker error; call in finally. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.pendingSnapshots);
    await this.cluster.stop();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    if (Date.now() - this.started > 120_000) this.errors.push(`scenario took ${Date.now() - this.started} ms (> 120 s)`);
    this.throwIfErrors();
  }
}

/** A named scenario that can run on either storage (registered by the *.test.ts files). */
export interface ScenarioDef {
  name: string;
  run(storage: StorageChoice): Promise<void>;
}

/** Runs a scenario with a fresh harness and always cleans up. */
export async function scenario(n: number, opts: Parameters<typeof Harness.create>[1], body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await Harness.create(n, opts);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('scenario ran over 120 s')), 120_000);
  });
  try {
    try {
      await Promise.race([body(h), limit]);
    } finally {
      clearTimeout(timer);
      await h.cleanup();
    }
  } catch (e) {
    throw withSeed(e, h.cluster.seed);
  }
}

/** The error, its message naming the seed that replays the run. */
export function withSeed(e: unknown, seed: number): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  err.message += ` (seed ${seed}; replay with RAFT_SEED=${seed})`;
  return err;
}

/** Polls `cond` every 10 ms until it holds; throws, naming `what`, after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
