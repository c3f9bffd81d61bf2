/**
 * The process the crash tests kill. Two modes, on a 3-peer cluster on FileStorage:
 *
 *   load    starts the cluster on the directories (recovering whatever a kill left), prints
 *           `ready`, then proposes commands without pause and prints `ack <index> <key>` for
 *           each index the first time any peer applies it (applied = committed). It runs
 *           until the parent kills it with SIGKILL.
 *   verify  starts the cluster, gets one new command applied on every peer (the cluster
 *           goes on committing), stops it cleanly, reads every peer's directory back and
 *           checks the acknowledged commands (a file of `<index> <key>` lines) against
 *           them; prints `result <json>`.
 *
 * Lines go out with fs.writeSync, so a line the parent has read was written before the kill;
 * a torn last line is ignored by the parent. Run without arguments (as a test runner that
 * picks up every file would) it does nothing.
 */
import fs from 'node:fs';
import { Cluster, PeerDownError } from '../../src/index.js';
import { peerDir } from '../../src/cluster/cluster.js';
import { checkAcks } from './ack-checker.js';
import { readPeerLog } from './peer-log-reader.js';
import { commandKey, encodeCommand } from './recording-state-machine.js';

export const PEERS = 3;

export interface ChildConfig {
  dir: string;
  fsync: 'always' | 'batch' | 'none';
  clusterId: string;
  /** Small segments make rotation and segment deletion happen under the kills. */
  segmentBytes?: number;
  /** Automatic snapshot every this many entries (none if absent). */
  snapshotEntries?: number;
  /** Distinguishes the commands of successive children. */
  round: number;
  /** verify: the file of acknowledged `<index> <key>` lines. */
  acksFile?: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  lostCount: number;
  lost: string[];
  probeIndex: number;
  probeKey: string;
  peers: Array<{ snapshotIndex: number; lastIndex: number; term: number }>;
  error?: string;
}

function out(line: string): void {
  const b = Buffer.from(line);
  for (let at = 0; at < b.length;) {
    try { at += fs.writeSync(1, b, at); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e; }
  }
}

function startCluster(cfg: ChildConfig): Promise<Cluster> {
  return Cluster.start({
    peers: PEERS,
    noopOnElection: false, // the recording state machine checks that every index holds a command
    storage: { dir: cfg.dir, fsync: cfg.fsync, clusterId: cfg.clusterId, segmentBytes: cfg.segmentBytes },
    stateMachine: new URL('./recording-state-machine.js', import.meta.url),
    snapshotPolicy: cfg.snapshotEntries ? { entries: cfg.snapshotEntries } : undefined,
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Proposes through whichever peer leads; resolves with the index, or -1 if none leads now. */
async function propose(c: Cluster, command: Uint8Array, hint: { leader: number }): Promise<number> {
  for (let k = 0; k < PEERS; k++) {
    const i = (hint.leader + k) % PEERS;
    try {
      const r = await c.peer(i).start(command);
      if (r.isLeader) { hint.leader = i; return r.index; }
    } catch (e) {
      if (!(e instanceof PeerDownError)) throw e;
    }
  }
  return -1;
}

async function load(cfg: ChildConfig): Promise<never> {
  const c = await startCluster(cfg);
  const seen = new Map<number, string>();
  let pending = '';
  let flushQueued = false;
  let acked = 0;
  const flush = () => { flushQueued = false; if (pending) { out(pending); pending = ''; } };
  c.onApply((e) => {
    if (e.type !== 'command') return;
    const key = commandKey(e.command);
    const before = seen.get(e.index);
    if (before === undefined) {
      seen.set(e.index, key);
      acked++;
      pending += `ack ${e.index} ${key}\n`;
      if (!flushQueued) { flushQueued = true; setImmediate(flush); }
    } else if (before !== key) {
      out(`error peer ${e.peer} applied ${key} at index ${e.index}, another peer applied ${before}\n`);
    }
  });
  out('ready\n');
  // Proposals run ahead of acknowledgements by at most `window`, so the log keeps moving
  // without an unbounded backlog, and at most about 5,000 per second: the snapshots hold
  // every command ever applied, so the history must stay small enough to rewrite often.
  const window = 256;
  const hint = { leader: 0 };
  let seq = 0;
  for (;;) {
    if (c.fatal) throw new Error(c.fatal);
    if (seq - acked >= window) { await sleep(2); continue; }
    const index = await propose(c, encodeCommand(cfg.round, 0, seq), hint);
    if (index < 0) { await sleep(20); continue; }
    if (++seq % 50 === 0) await sleep(10);
  }
}

async function verify(cfg: ChildConfig): Promise<VerifyResult> {
  const acks = new Map<number, string>();
  for (const line of fs.readFileSync(cfg.acksFile!, 'utf8').split('\n')) {
    if (!line) continue;
    const [index, key] = line.split(' ');
    acks.set(Number(index), key);
  }
  const c = await startCluster(cfg);
  const probe = encodeCommand(cfg.round, 0xffffffff, 0);
  const probeKey = commandKey(probe);
  const probeAt: number[] = new Array(PEERS).fill(-1);
  let probeIndex = -1;
  try {
    const onAll = new Promise<void>((resolve) => c.onApply((e) => {
      if (e.type !== 'command' || commandKey(e.command) !== probeKey || probeAt[e.peer] >= 0) return;
      probeAt[e.peer] = e.index;
      if (probeAt.every((x) => x >= 0)) resolve();
    }));
    const hint = { leader: 0 };
    const deadline = Date.now() + 30_000;
    let done = false;
    onAll.then(() => { done = true; });
    while (!done) {
      if (Date.now() > deadline) throw new Error(`the restarted cluster did not commit a new command on every peer within 30 s (applied at ${probeAt.join(', ')})`);
      if (c.fatal) throw new Error(c.fatal);
      if ((await propose(c, probe, hint)) < 0) { await sleep(50); continue; }
      for (let t = 0; t < 40 && !done; t++) await sleep(50); // give it 2 s, then propose again
    }
    probeIndex = probeAt[0];
  } finally {
    await c.stop();
  }
  const logs = Array.from({ length: PEERS }, (_, i) => readPeerLog(peerDir(cfg.dir, i), cfg.clusterId, i));
  const check = checkAcks(acks, logs.map((l) => l.commands));
  return {
    ok: check.lostCount === 0, ...check, probeIndex, probeKey,
    peers: logs.map((l) => ({ snapshotIndex: l.snapshotIndex, lastIndex: l.lastIndex, term: l.term })),
  };
}

const [mode, json] = process.argv.slice(2);
if (mode === 'load') {
  load(JSON.parse(json) as ChildConfig).catch((e) => { out(`error ${e instanceof Error ? e.stack : String(e)}\n`); process.exit(1); });
} else if (mode === 'verify') {
  verify(JSON.parse(json) as ChildConfig).then(
    (r) => { out(`result ${JSON.stringify(r)}\n`); process.exit(0); },
    (e) => { out(`result ${JSON.stringify({ ok: false, error: e instanceof Error ? e.stack : String(e) })}\n`); process.exit(1); },
  );
}
