/**
 * Helpers for the core's unit tests: build a core with a given term/log/snapshot, drain its
 * Ready records, build messages, and run a few peers (real RaftNodes on a hand-turned clock)
 * against each other on a synchronous in-memory "mini network".
 */
import assert from 'node:assert/strict';
import { CoreConfig, SHARED_CORE_OPTIONS } from '../../src/core/config.js';
import { EntryBatch, batchCommand, makeBatch } from '../../src/core/entry-batch.js';
import { Message, MsgType, MSG_TYPE_NAMES, message } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { PersistedState, Ready, Role } from '../../src/core/types.js';
import { seededRandom } from '../../src/core/random.js';
import { RaftNode } from '../../src/node/raft-node.js';
import type { Scheduler } from '../../src/node/scheduler.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

/** A seeded source in [0, 1) (the core's own mulberry32). */
export const seeded = (seed: number): (() => number) => seededRandom(seed);

/** A "random" source that always returns `v`: election timeouts become exactly predictable. */
export const fixed = (v: number) => (): number => v;

export const ELECTION = 10;
export const HEARTBEAT = 2;

export function config(over: Partial<CoreConfig> = {}): CoreConfig {
  // No no-op entry on election unless a test asks: the tests count indexes from the proposals alone.
  // No pre-vote unless a test asks: most tests drive the election of Figure 2 step by step.
  return { id: 1, peers: [1, 2, 3], electionTicks: ELECTION, heartbeatTicks: HEARTBEAT, random: fixed(0), noopOnElection: false, preVote: false, ...over };
}

/** The command stored in test entries: readable, and unique per (index, term). */
export const cmdOf = (index: number, term: number): string => `e${index}t${term}`;

/** Entries `firstIndex..` with the given terms and commands cmdOf(index, term). */
export function ents(firstIndex: number, terms: number[]): EntryBatch {
  return makeBatch(firstIndex, terms.map((term, k) => ({ term, command: bytes(cmdOf(firstIndex + k, term)) })));
}

export interface CoreSetup extends Partial<CoreConfig> {
  term?: number;
  votedFor?: number;
  /** Terms of the log entries after the snapshot (index snapshot.index + 1 on). */
  log?: number[];
  snapshot?: { index: number; term: number; data?: Uint8Array };
}

export function persisted(s: CoreSetup): PersistedState {
  const snapIndex = s.snapshot?.index ?? 0;
  return {
    hardState: { term: s.term ?? 0, votedFor: s.votedFor ?? -1 },
    snapshot: s.snapshot ? { index: s.snapshot.index, term: s.snapshot.term, data: s.snapshot.data ?? bytes(`snap${s.snapshot.index}`) } : null,
    entries: s.log && s.log.length > 0 ? ents(snapIndex + 1, s.log) : null,
  };
}

/** A core restarted from a PersistedState built from term/votedFor/log/snapshot. */
export function newCore(s: CoreSetup = {}): RaftCore {
  const { term, votedFor, log, snapshot, ...cfg } = s;
  const hasState = term !== undefined || votedFor !== undefined || log !== undefined || snapshot !== undefined;
  return new RaftCore(config(cfg), hasState ? persisted(s) : null);
}

/** Terms of every entry the core holds after its snapshot. */
export function logTerms(c: RaftCore): number[] {
  const out: number[] = [];
  for (let i = c.log.firstIndex; i <= c.log.lastIndex; i++) out.push(c.log.term(i));
  return out;
}

export function batchTerms(b: EntryBatch | null): number[] {
  return b ? Array.from(b.terms.subarray(0, b.count)) : [];
}

export function batchIndexes(b: EntryBatch | null): number[] {
  const out: number[] = [];
  if (b) for (let k = 0; k < b.count; k++) out.push(b.firstIndex + k);
  return out;
}

export function batchTexts(b: EntryBatch | null): string[] {
  const out: string[] = [];
  if (b) for (let k = 0; k < b.count; k++) out.push(text(batchCommand(b, k)));
  return out;
}

/** Takes one Ready and advances it (the runtime's whole job, minus the I/O). */
export function takeReady(c: RaftCore): Ready {
  const rd = c.ready();
  c.advance(rd);
  return rd;
}

/** Takes and advances Readys until the core has nothing left to hand out. */
export function drain(c: RaftCore): Ready[] {
  const out: Ready[] = [];
  for (let n = 0; c.hasReady(); n++) {
    if (n > 1000) throw new Error('core never runs out of Ready');
    out.push(takeReady(c));
  }
  return out;
}

/** Every message of the given Readys, in order (sendNow before sendAfterPersist per Ready). */
export function allMsgs(rds: Ready[]): Message[] {
  return rds.flatMap((rd) => [...rd.sendNow, ...rd.sendAfterPersist]);
}

export function msgsOfType(rds: Ready[], type: MsgType, to?: number): Message[] {
  return allMsgs(rds).filter((m) => m.type === type && (to === undefined || m.to === to));
}

/** Steps a message in and drains. */
export function stepDrain(c: RaftCore, m: Message): Ready[] {
  c.step(m);
  return drain(c);
}

/** Ticks n times, draining after each tick; returns all Readys. */
export function tickDrain(c: RaftCore, n: number): Ready[] {
  const out: Ready[] = [];
  for (let i = 0; i < n; i++) {
    c.tick();
    out.push(...drain(c));
  }
  return out;
}

// ------------------------------------------------------------------ message builders

export function msg(type: MsgType, from: number, to: number, term: number, fields: Partial<Message> = {}): Message {
  return Object.assign(message(type, from, to, term), fields);
}

export const requestVote = (from: number, to: number, term: number, lastIndex: number, lastTerm: number): Message =>
  msg(MsgType.RequestVote, from, to, term, { index: lastIndex, logTerm: lastTerm });

export const voteReply = (from: number, to: number, term: number, granted: boolean): Message =>
  msg(MsgType.RequestVoteReply, from, to, term, { reject: !granted });

export const appendEntries = (from: number, to: number, term: number, prevIndex: number, prevTerm: number,
  entries: EntryBatch | null = null, commit = 0): Message =>
  msg(MsgType.AppendEntries, from, to, term, { index: prevIndex, logTerm: prevTerm, entries, commit });

export const appendOk = (from: number, to: number, term: number, match: number): Message =>
  msg(MsgType.AppendEntriesReply, from, to, term, { index: match });

export const heartbeat = (from: number, to: number, term: number, commit = 0): Message =>
  msg(MsgType.Heartbeat, from, to, term, { commit });

export const installSnapshot = (from: number, to: number, term: number, index: number, snapTerm: number,
  total: number, offset: number, data: Uint8Array, done: boolean): Message =>
  msg(MsgType.InstallSnapshot, from, to, term, { index, logTerm: snapTerm, hint: total, offset, data, done });

export function describe(m: Message): string {
  return `${MSG_TYPE_NAMES[m.type]} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} c${m.commit} h${m.hint} o${m.offset}` +
    `${m.reject ? ' reject' : ''}${m.done ? ' done' : ''}${m.entries ? ` [${batchIndexes(m.entries).join(',')}]` : ''}`;
}

/** Ticks a follower until it campaigns, then grants it the votes of `voters`; returns every Ready. */
export function makeLeader(c: RaftCore, voters: number[] = c.others.slice(0, Math.floor(c.peers.length / 2))): Ready[] {
  const out: Ready[] = [];
  for (let n = 0; c.role === Role.Follower; n++) {
    if (n > 10 * c.cfg.electionTicks) throw new Error('never campaigned');
    c.tick();
    out.push(...drain(c));
  }
  for (const v of voters) {
    if (c.role !== Role.Candidate) break;
    out.push(...stepDrain(c, voteReply(v, c.id, c.term, true)));
  }
  assert.equal(c.role, Role.Leader, 'makeLeader: core did not become leader');
  return out;
}

/** Elects the core (see makeLeader) and returns what the new leader sends (its first heartbeats). */
export function leaderHello(c: RaftCore, voters?: number[]): Message[] {
  return allMsgs(makeLeader(c, voters)).filter((m) => m.type !== MsgType.RequestVote);
}

// ------------------------------------------------------------------ the mini network

export interface NetOptions {
  ids?: number[];
  config?: Partial<CoreConfig>;
  seed?: number;
  /** Per-peer persisted state to start from. */
  setup?: Record<number, CoreSetup>;
}

/** A clock the mini network turns by hand: ticks when told, deferred work when processed. */
class HandScheduler implements Scheduler {
  private tickFn: (() => void) | null = null;
  private readonly pending: Array<() => void> = [];
  every(_ms: number, fn: () => void): () => void {
    this.tickFn = fn;
    return () => { this.tickFn = null; };
  }
  soon(fn: () => void): void { this.pending.push(fn); }
  tick(): void { this.tickFn?.(); }
  /** Runs the deferred Ready loops until none is left. */
  run(id: number, node: RaftNode): void {
    node.poke(); // a test may have driven the core directly (tick, propose, transferLeader...)
    for (let n = 0; this.pending.length > 0; n++) {
      if (n > 1000) throw new Error(`peer ${id} never runs out of Ready`);
      this.pending.shift()!();
    }
  }
}

/**
 * A few peers in one thread: real RaftNodes (the runtime the cluster and the simulation run)
 * on a hand-turned clock, each with a MemoryStorage that outlives restarts. Messages go into
 * one FIFO queue and are delivered by deliverAll(); a drop rule can lose any of them. Every
 * Ready is checked by the runtime's own ReadyContract (nothing promised before it is durable,
 * no message for a term not durable, applies in order), and here: every peer applies the same
 * command at each index, and a restored snapshot matches what was applied.
 */
export class Net {
  readonly ids: number[];
  readonly nodes = new Map<number, RaftNode>();
  readonly stores = new Map<number, MemoryStorage>();
  private readonly clocks = new Map<number, HandScheduler>();
  /** The "state machine": last applied index and the commands applied, per peer. */
  readonly applied = new Map<number, { index: number; commands: string[] }>();
  /** Every command applied at each index by any peer (must agree). */
  readonly appliedAt = new Map<number, string>();
  readonly queue: Message[] = [];
  readonly down = new Set<number>();
  /** Return true to lose the message. */
  drop: (m: Message) => boolean = () => false;
  /** Set to a random source to deliver messages out of order (within a window of 8). */
  reorder: (() => number) | null = null;
  /** Return true to deliver the message twice (the copy goes to the back of the queue). */
  duplicate: (m: Message) => boolean = () => false;
  /** Every read each peer's Readys reported, in order: its index, or 'failed'. */
  readonly reads: Array<{ peer: number; id: number; index: number | 'failed' }> = [];
  /** Called with every message that is delivered. */
  onDeliver: (m: Message) => void = () => {};
  /** Called after a peer has handled its Readys (after every delivery and every tick). */
  afterProcess: (id: number) => void = () => {};
  private readonly cfg: Partial<CoreConfig>;
  private readonly seed: number;

  constructor(o: NetOptions = {}) {
    this.ids = o.ids ?? [1, 2, 3];
    this.cfg = o.config ?? {};
    this.seed = o.seed ?? 1;
    for (const id of this.ids) {
      const st = new MemoryStorage();
      const s = o.setup?.[id];
      if (s) {
        const p = persisted(s);
        st.save(p.hardState, p.snapshot, p.entries);
      }
      this.stores.set(id, st);
      this.start(id);
    }
  }

  core(id: number): RaftCore { return this.nodes.get(id)!.core; }

  private start(id: number): void {
    const cfg: Partial<CoreConfig> = { ...config({ id, peers: this.ids }), ...this.cfg };
    const clock = new HandScheduler();
    this.clocks.set(id, clock);
    this.applied.set(id, { index: 0, commands: [] });
    // One tick of the node is one tick of the core: 10 ms per tick.
    const node = RaftNode.startSync({
      id, peers: this.ids, seed: this.seed * 1000 + id, scheduler: clock, storage: this.stores.get(id)!, checkReadyContract: true,
      tickMs: 10, heartbeatMs: (cfg.heartbeatTicks ?? HEARTBEAT) * 10, electionTimeoutMs: (cfg.electionTicks ?? ELECTION) * 10,
      ...Object.fromEntries(SHARED_CORE_OPTIONS.map((k) => [k, cfg[k]])), noopOnElection: cfg.noopOnElection ?? false,
      transport: { send: (ms) => { for (const m of ms) this.queue.push(m); } },
      onApply: (b) => this.onApply(id, b),
      onReady: (rd) => {
        for (const r of rd.readStates) this.reads.push({ peer: id, id: r.id, index: r.index });
        for (const f of rd.readsFailed) this.reads.push({ peer: id, id: f, index: 'failed' });
      },
      onRestore: (snap) => {
        const a = this.applied.get(id)!;
        assert.ok(snap.index > a.index || a.index === 0, `peer ${id} restores snapshot ${snap.index} at applied ${a.index}`);
        a.index = snap.index;
        a.commands = decodeSnap(snap.data);
      },
    });
    this.nodes.set(id, node);
  }

  /** Simulates a crash and restart: everything not on storage is lost. */
  restart(id: number): void {
    this.queue.splice(0, this.queue.length, ...this.queue.filter((m) => m.to !== id && m.from !== id));
    this.nodes.get(id)!.halt();
    this.start(id);
  }

  /** Runs the peer's Ready loop (the runtime checks the Ready contract on each). */
  process(id: number): void {
    this.clocks.get(id)!.run(id, this.nodes.get(id)!);
    this.afterProcess(id);
  }

  /** The peer's state machine holds everything through `index` in `data`: compact its log. */
  snapshot(id: number, index: number, data: Uint8Array): void {
    this.nodes.get(id)!.snapshot(index, data);
    this.process(id);
  }

  private onApply(id: number, b: EntryBatch): void {
    const a = this.applied.get(id)!;
    assert.equal(b.firstIndex, a.index + 1, `peer ${id} applies from ${b.firstIndex} after ${a.index}`);
    for (let k = 0; k < b.count; k++) {
      const idx = b.firstIndex + k;
      const cmd = text(batchCommand(b, k));
      const seen = this.appliedAt.get(idx);
      if (seen === undefined) this.appliedAt.set(idx, cmd);
      else assert.equal(cmd, seen, `peer ${id} applies ${cmd} at ${idx} where another applied ${seen}`);
      a.commands.push(cmd);
    }
    a.index = b.firstIndex + b.count - 1;
  }

  /** Delivers queued messages (and whatever they cause) until the queue is empty. */
  deliverAll(limit = 100000): number {
    for (const id of this.ids) if (!this.down.has(id)) this.process(id);
    let n = 0;
    while (this.queue.length > 0) {
      if (++n > limit) throw new Error('network never quiesces');
      const k = this.reorder ? Math.floor(this.reorder() * Math.min(this.queue.length, 8)) : 0;
      const m = this.queue.splice(k, 1)[0];
      if (this.down.has(m.to) || this.down.has(m.from) || this.drop(m)) continue;
      if (this.duplicate(m)) this.queue.push({ ...m });
      this.onDeliver(m);
      this.nodes.get(m.to)!.receive(m);
      this.process(m.to);
    }
    return n;
  }

  /** Ticks every live peer once, then delivers everything. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.ids) {
        if (this.down.has(id)) continue;
        this.clocks.get(id)!.tick();
        this.process(id);
      }
      this.deliverAll();
    }
  }

  /** Ticks peer `id` alone until it campaigns, then delivers: it wins if its log allows. */
  campaign(id: number): void {
    const c = this.core(id);
    const term = c.term;
    for (let n = 0; c.term === term; n++) {
      if (n > 10 * c.cfg.electionTicks) throw new Error('never campaigned');
      this.clocks.get(id)!.tick();
      this.process(id);
    }
    this.deliverAll();
  }

  leaders(): number[] {
    return this.ids.filter((id) => !this.down.has(id) && this.core(id).role === Role.Leader);
  }

  propose(id: number, command: string): number {
    const r = this.nodes.get(id)!.propose(bytes(command));
    assert.ok(r.isLeader, `peer ${id} is not the leader`);
    this.process(id);
    return r.index;
  }

  /** Commands the peer's state machine holds, snapshot included. */
  commands(id: number): string[] {
    return this.applied.get(id)!.commands;
  }
}

/** The last index a stored state holds (its snapshot's when it has no entries). */
function storedLastIndex(p: PersistedState): number {
  return p.entries && p.entries.count > 0 ? p.entries.firstIndex + p.entries.count - 1 : (p.snapshot?.index ?? 0);
}

/** Snapshot data in the mini network: the applied commands, newline-separated. */
export function encodeSnap(commands: string[]): Uint8Array {
  return bytes(commands.join('\n'));
}

export function decodeSnap(data: Uint8Array): string[] {
  const s = text(data);
  return s === '' ? [] : s.split('\n');
}
