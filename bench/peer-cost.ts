/**
 * The peers' CPU per commit, raw against client sessions, without threads: three RaftNodes in
 * this thread, the real codec between them (encoded by the sender, decoded by the receiver),
 * SharedJournal storage and the bench's counting state machine, raw or through the session
 * layer. The leader takes commands as the client endpoint does (proposeFrom out of a buffer of
 * records: 16 B commands, or CompactCommand frames of one session that acknowledges as the
 * streaming client does) and its outcomes go through uniformByte as the endpoint's do. Each
 * node's work (its flushes, its receive and propose calls) is charged to it, so the figures
 * split leader and follower without the scheduling noise of worker threads on a busy machine;
 * what they leave out is the rings, the wake-ups and the main thread.
 *
 *   node dist/bench/peer-cost.js [--entries N] [--batch N] [--size BYTES] [--repeat K] [--dist DIR]
 *
 * --size sets the command (the payload, with sessions); raw with the size of a session frame
 * (--size 25 against 16) separates what the frame's header bytes cost from the session layer's work.
 *
 * Prints each sample (raw and sessions in turns) and the median and minimum per role.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

export interface PeerCostSample {
  mode: 'raw' | 'sessions';
  commits: number;
  /** CPU nanoseconds per commit: [leader, follower, follower]. */
  nsPerCommit: [number, number, number];
}

/** Modules of one build (the dist folder of a checkout), so that two builds can be compared. */
async function load(dist: string) {
  const at = (p: string) => import(pathToFileURL(path.join(dist, p)).href);
  return {
    ...(await at('src/node/raft-node.js')) as typeof import('../src/node/raft-node.js'),
    ...(await at('src/storage/shared-journal.js')) as typeof import('../src/storage/shared-journal.js'),
    ...(await at('src/transport/codec.js')) as typeof import('../src/transport/codec.js'),
    ...(await at('src/node/session-state-machine.js')) as typeof import('../src/node/session-state-machine.js'),
    ...(await at('src/node/session-protocol.js')) as typeof import('../src/node/session-protocol.js'),
    ...(await at('src/cluster/client-protocol.js')) as typeof import('../src/cluster/client-protocol.js'),
    ...(await at('bench/state-machines/counting-state-machine.js')) as typeof import('./state-machines/counting-state-machine.js'),
  };
}
type Modules = Awaited<ReturnType<typeof load>>;

/** Commands in flight, as the bench's saturated load keeps them: the client's acknowledgements trail its seqs by this much. */
const WINDOW = 20_000;

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

export function runPeerCost(m: Modules, mode: 'raw' | 'sessions', entries: number, batch: number, commandBytes = 16): PeerCostSample {
  const sessions = mode === 'sessions';
  const queue: Array<[number, () => void]> = [];
  const spent = [0, 0, 0];
  const ids = [1, 2, 3];
  const nodes: import('../src/node/raft-node.js').RaftNode[] = [];
  let committed = 0;
  let nonUniform = 0;
  for (let i = 0; i < 3; i++) {
    const host = m.SharedJournalHost.create();
    const user = m.createStateMachine();
    nodes.push(m.RaftNode.startSync({
      id: ids[i], peers: ids, seed: 7 + i, tickMs: 1000, heartbeatMs: 1000, electionTimeoutMs: 10_000,
      scheduler: { every: () => () => {}, soon: (fn) => { queue.push([i, fn]); } },
      storage: new m.SharedJournal(host.control, host.slots, host.currentEpoch),
      stateMachine: sessions ? new m.SessionStateMachine(user) : user,
      snapshotPolicy: { entries: 500_000 },
      transport: {
        send: (ms) => {
          for (const msg of ms) {
            const bytes = m.encode(msg), to = msg.to - 1;
            queue.push([to, () => nodes[to].receive(m.decode(bytes))]);
          }
        },
      },
      onOutcome: (outcome, _firstTag, count, _firstIndex, _term, results, resultOffset) => {
        if (outcome !== 1) throw new Error(`peer-cost: a proposal's outcome was ${outcome}, not committed`);
        committed += count;
        if (sessions && (!results || m.uniformByte(results, resultOffset, count) !== 0)) nonUniform += count;
      },
    }));
  }
  const pump = () => {
    while (queue.length > 0) {
      const [i, fn] = queue.shift()!;
      const c0 = cpuMicros();
      fn();
      spent[i] += cpuMicros() - c0;
    }
  };
  const leader = nodes[0];
  for (let t = 0; t < 200 && !leader.getState().isLeader; t++) { leader.core.tick(); leader.poke(); pump(); }
  if (!leader.getState().isLeader) throw new Error('peer-cost: peer 1 was not elected');
  if (sessions) { leader.propose(m.encodeRegister(), -1); pump(); }
  const clientId = leader.core.log.lastIndex;
  const rec = new Uint8Array(batch * (commandBytes + m.COMMAND_HEADER_BYTES));
  const offs = new Uint32Array(batch), lens = new Uint32Array(batch);
  spent.fill(0);
  committed = 0;
  nonUniform = 0; // the registration answered Registered
  let seq = 0, tag = 0;
  for (let sent = 0; sent < entries; sent += batch) {
    let at = 0;
    for (let k = 0; k < batch; k++) {
      seq++;
      const start = at;
      if (sessions) at = m.putCompactHeader(rec, at, clientId, seq, Math.max(0, seq - WINDOW));
      for (let j = 0; j < commandBytes; j++) rec[at + j] = (seq + j) & 255;
      at += commandBytes;
      offs[k] = start;
      lens[k] = at - start;
    }
    const c0 = cpuMicros();
    for (let k = 0; k < batch; k++) if (!leader.proposeFrom(rec, offs[k], lens[k], tag++)) throw new Error('peer-cost: the leader refused a proposal');
    spent[0] += cpuMicros() - c0;
    pump();
  }
  for (const n of nodes) n.halt();
  if (committed !== seq) throw new Error(`peer-cost: ${committed} of ${seq} proposals committed`);
  if (nonUniform > 0) throw new Error(`peer-cost: ${nonUniform} session commands were not answered Applied`);
  const per = spent.map((us) => (us * 1000) / committed) as [number, number, number];
  return { mode, commits: committed, nsPerCommit: per };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entries: { type: 'string' }, batch: { type: 'string' }, size: { type: 'string' }, repeat: { type: 'string' }, dist: { type: 'string' } } });
  const num = (name: string, v: string | undefined, dflt: number) => {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--${name} must be an integer >= 1, got ${v}`);
    return n;
  };
  const entries = num('entries', values.entries, 1_000_000), batch = num('batch', values.batch, 5000), repeat = num('repeat', values.repeat, 5);
  const size = num('size', values.size, 16);
  const m = await load(values.dist ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), '..'));
  const samples: PeerCostSample[] = [];
  for (let r = 0; r < repeat; r++) {
    for (const mode of ['raw', 'sessions'] as const) {
      const s = runPeerCost(m, mode, entries, batch, size);
      samples.push(s);
      console.log(`${mode.padEnd(8)} leader ${s.nsPerCommit[0].toFixed(0)} ns, followers ${s.nsPerCommit[1].toFixed(0)} ${s.nsPerCommit[2].toFixed(0)} ns CPU per commit`);
    }
  }
  for (const mode of ['raw', 'sessions'] as const) {
    const of = samples.filter((s) => s.mode === mode);
    const leader = of.map((s) => s.nsPerCommit[0]), follower = of.map((s) => (s.nsPerCommit[1] + s.nsPerCommit[2]) / 2);
    console.log(`${mode}: leader median ${median(leader).toFixed(0)} min ${Math.min(...leader).toFixed(0)} | follower median ${median(follower).toFixed(0)} min ${Math.min(...follower).toFixed(0)} ns CPU per commit (${repeat} samples)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
