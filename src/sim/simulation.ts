import { Message, MSG_TYPE_NAMES } from '../core/message.js';
import { Role } from '../core/types.js';
import { SafetyChecker } from './checker.js';
import { describeCommand } from './commands.js';
import { EventQueue, Timed } from './event-queue.js';
import { SimNetwork } from './network.js';
import { ProposeOutcome, SimCoreOptions, SimPeer, Tear } from './peer.js';
import type { Prng } from './prng.js';
import type { Trace } from './trace.js';

/** Virtual milliseconds per core tick. */
export const TICK_MS = 10;

export interface SimulationConfig {
  peers: number;
  core: SimCoreOptions;
  /** Largest virtual delay of the "disk": before a Ready is processed, or (pipelined) before its write lands. */
  maxPersistDelay: number;
  /**
   * Split each Ready around its write: the core takes input while the write is under way, as
   * with a runtime that awaits an asynchronous storage. Otherwise a Ready is one event.
   */
  pipelined: boolean;
  /** Each peer life ticks every TICK_MS +- up to this many ms: clocks run at different rates. */
  tickSkewMs: number;
  /** Run the checker's pairwise log audit every this many events. */
  auditEvery: number;
}

/**
 * Ready: take the next Ready (and, unless pipelined, process all of it); ReadyDone: the
 * pipelined Ready's write lands. Restart brings a crashed peer back; Driver is the scenario's.
 */
const enum TimerKind { Tick = 1, Ready = 2, ReadyDone = 3, Restart = 4, Driver = 5 }

interface TimerEvent extends Timed {
  kind: TimerKind;
  peer: number;
  /** Incarnation of the peer the event belongs to (Tick, Ready). */
  life: number;
}

const ROLE_NAMES = ['follower', 'candidate', 'leader'];

/**
 * Many peers in one thread on virtual time. The next event is always the earliest of a
 * timer (a peer's tick, a peer's Ready processing, a scheduled restart, the fault driver's
 * tick) and a message delivery; timers win ties. After every event the checker looks at the
 * peer the event touched, so a violation is caught at the step that causes it.
 */
export class Simulation {
  now = 0;
  events = 0;
  readonly peers: SimPeer[] = [];
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  /** Called every TICK_MS of virtual time: the scenario injects faults and proposals here. */
  onDriverTick: () => void = () => {};
  readonly stats = { droppedPeerDown: 0, proposals: 0, accepted: 0, notLeader: 0, backpressure: 0 };
  private readonly timers = new EventQueue<TimerEvent>();
  private readonly ids: number[];

  constructor(readonly cfg: SimulationConfig, private readonly rng: Prng, readonly trace: Trace) {
    this.ids = Array.from({ length: cfg.peers }, (_, k) => k + 1);
    this.network = new SimNetwork(rng.fork(), this.ids);
    this.checker = new SafetyChecker(this.ids);
    const env = { send: (m: Message) => this.send(m), checker: this.checker };
    for (const id of this.ids) this.peers.push(new SimPeer(id, this.ids, cfg.core, rng.fork(), env));
  }

  peer(id: number): SimPeer {
    return this.peers[id - 1];
  }

  start(): void {
    for (const p of this.peers) this.startPeer(p);
    this.timers.push({ at: TICK_MS, seq: 0, kind: TimerKind.Driver, peer: 0, life: 0 });
  }

  /** Runs events until virtual time `until` or until `stop()` holds (checked after each event). */
  runUntil(until: number, stop: () => boolean = () => false): boolean {
    for (;;) {
      if (stop()) return true;
      const tAt = this.timers.peek()?.at ?? Infinity;
      const nAt = this.network.nextAt();
      const at = Math.min(tAt, nAt);
      if (at > until) {
        this.now = until;
        return stop();
      }
      this.now = at;
      if (tAt <= nAt) this.runTimer(this.timers.pop()!); else this.deliver();
      this.events++;
      this.trace.events = this.events;
      if (this.events > this.maxEvents(at)) {
        throw new Error(`event storm: ${this.events} events by ${at} virtual ms (a few per ms is normal): peers keep messaging each other without pause`);
      }
      if (this.cfg.auditEvery > 0 && this.events % this.cfg.auditEvery === 0) this.checker.audit();
    }
  }

  // ------------------------------------------------------------------ faults and inputs (the scenario's levers)

  /**
   * Crashes a peer now, or, with `tear`, inside its next Ready (if one is pending): the
   * crash then interrupts that Ready at the given point.
   */
  crash(id: number, downMs: number, tear: Tear = 'none'): void {
    const p = this.peer(id);
    if (!p.up) return;
    if (tear !== 'none') {
      p.pendingTear = { tear, downMs }; // happens inside its next Ready that writes something
      return;
    }
    p.crash();
    this.trace.mix(0xc4, id, this.now);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} CRASH (down ${downMs} ms)`);
    this.timers.push({ at: this.now + downMs, seq: 0, kind: TimerKind.Restart, peer: id, life: p.incarnation });
  }

  /** Brings a down peer back now (its pending restart event, if any, becomes a no-op). */
  restart(id: number): void {
    const p = this.peer(id);
    if (p.up) return;
    this.startPeer(p);
  }

  propose(id: number, cmd: Uint8Array): ProposeOutcome {
    const p = this.peer(id);
    const r = p.propose(cmd);
    this.stats.proposals++;
    if (r === 'accepted') this.stats.accepted++;
    else if (r === 'not-leader') this.stats.notLeader++;
    else if (r === 'backpressure') this.stats.backpressure++;
    this.trace.mix(0x9a, id, cmd.byteLength, r.length);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} propose ${describeCommand(cmd)} -> ${r}`);
    if (p.up) this.afterInput(p);
    return r;
  }

  compact(id: number, rng: Prng): void {
    const p = this.peer(id);
    const index = p.compact(rng);
    if (index === 0) return;
    this.trace.mix(0x5a, id, index);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} compact through ${index}`);
    this.afterInput(p);
  }

  /** The peers that are up and believe they lead, highest term first. */
  leaders(): SimPeer[] {
    return this.peers.filter((p) => p.isLeader).sort((a, b) => b.core!.term - a.core!.term);
  }

  describePeers(): string {
    return this.peers.map((p) => {
      const c = p.core;
      if (!c) return `${p.id}:down(store term ${p.store.hardState.term}, last ${p.store.lastIndex})`;
      return `${p.id}:${ROLE_NAMES[c.role]} t${c.term} last ${c.log.lastIndex}/${c.log.lastTerm} commit ${c.commitIndex} applied ${p.sm.applied} snap ${c.log.snapshotIndex}`;
    }).join(' | ');
  }

  // ------------------------------------------------------------------ internals

  /** Generous bound on the events a healthy run has by virtual time `t`; beyond it something loops. */
  private maxEvents(t: number): number {
    return 100000 + 50 * this.cfg.peers * t;
  }

  private startPeer(p: SimPeer): void {
    p.start();
    this.trace.mix(0x51, p.id, this.now, p.store.lastIndex);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${p.id} START from store (term ${p.store.hardState.term}, snapshot ${p.store.snapshot?.index ?? 0}, last ${p.store.lastIndex})`);
    // Ticks start at a random phase, so peers' clocks are not in lockstep, and with skew each
    // life has its own clock rate.
    p.tickMs = TICK_MS + (this.cfg.tickSkewMs > 0 ? this.rng.range(-this.cfg.tickSkewMs, this.cfg.tickSkewMs) : 0);
    this.timers.push({ at: this.now + 1 + this.rng.int(p.tickMs), seq: 0, kind: TimerKind.Tick, peer: p.id, life: p.incarnation });
    this.afterInput(p);
  }

  private send(m: Message): void {
    this.network.send(m, this.now);
  }

  private runTimer(e: TimerEvent): void {
    if (e.kind === TimerKind.Driver) {
      this.trace.mix(0xd1, this.now);
      this.onDriverTick();
      this.timers.push({ at: this.now + TICK_MS, seq: 0, kind: TimerKind.Driver, peer: 0, life: 0 });
      return;
    }
    const p = this.peer(e.peer);
    if (e.kind === TimerKind.Restart) {
      if (p.up || e.life !== p.incarnation) return; // already restarted by someone else
      this.startPeer(p);
      return;
    }
    if (!p.up || e.life !== p.incarnation) return; // belongs to a life that crashed
    if (e.kind === TimerKind.Tick) {
      const before = p.core!.term * 4 + p.core!.role;
      p.tick();
      // Ticks are most events; show only those that change something (a campaign, a step-down).
      if (this.trace.verbose && p.core!.term * 4 + p.core!.role !== before) this.trace.line(this.now, `peer ${p.id} tick -> ${this.describePeer(p)}`);
      this.timers.push({ at: this.now + p.tickMs, seq: 0, kind: TimerKind.Tick, peer: p.id, life: p.incarnation });
      this.mixPeer(0x71, p);
      this.afterInput(p);
    } else if (e.kind === TimerKind.Ready && this.cfg.pipelined) {
      // Take the Ready and start its write; the write lands at ReadyDone, and until then the
      // core keeps stepping (as src/node does while it awaits storage.save).
      p.beginReady();
      this.mixPeer(0x4b, p);
      this.timers.push({ at: this.now + this.rng.int(this.cfg.maxPersistDelay + 1), seq: 0, kind: TimerKind.ReadyDone, peer: p.id, life: p.incarnation });
      this.afterInput(p);
    } else {
      const torn = p.pendingTear;
      if (!this.cfg.pipelined) p.beginReady();
      if (torn && p.finishReady(torn.tear)) {
        p.crash();
        this.trace.mix(0xc5, p.id, this.now);
        if (this.trace.verbose) this.trace.line(this.now, `peer ${p.id} CRASH inside a Ready (${torn.tear}) (down ${torn.downMs} ms)`);
        this.timers.push({ at: this.now + torn.downMs, seq: 0, kind: TimerKind.Restart, peer: p.id, life: p.incarnation });
        return;
      }
      if (!torn) p.finishReady();
      p.readyScheduled = false;
      this.mixPeer(0x4e, p);
      if (this.trace.verbose) this.trace.line(this.now, `peer ${p.id} ready processed -> ${this.describePeer(p)}`);
      this.afterInput(p);
    }
  }

  private deliver(): void {
    const m = this.network.pop();
    if (!m) return; // cut by the partition of the moment
    const p = this.peer(m.to);
    this.trace.mix(m.type, m.from * 64 + m.to, m.term, m.index * 4 + (m.reject ? 1 : 0) + (m.done ? 2 : 0));
    this.trace.mix(m.logTerm, m.commit, m.entries?.count ?? 0, m.offset);
    if (!p.up) {
      this.stats.droppedPeerDown++;
      return;
    }
    p.step(m);
    this.mixPeer(0xde, p);
    if (this.trace.verbose) this.trace.line(this.now, `${describeMessage(m)} -> ${this.describePeer(p)}`);
    this.afterInput(p);
  }

  /** Checks the peer, then schedules its next Ready if it has one and none is under way. */
  private afterInput(p: SimPeer): void {
    const c = p.core!;
    this.checker.observe({ id: p.id, term: c.term, isLeader: c.role === Role.Leader, commitIndex: c.commitIndex, log: c.log });
    // readyScheduled also covers a pipelined Ready in flight: the next one is taken only after it.
    if (!p.readyScheduled && c.hasReady()) {
      p.readyScheduled = true;
      const delay = this.cfg.pipelined ? this.rng.int(2) : this.rng.int(this.cfg.maxPersistDelay + 1);
      this.timers.push({ at: this.now + delay, seq: 0, kind: TimerKind.Ready, peer: p.id, life: p.incarnation });
    }
  }

  private mixPeer(tag: number, p: SimPeer): void {
    const c = p.core!;
    this.trace.mix(tag, p.id * 4 + c.role, c.term, c.log.lastIndex * 65536 + c.commitIndex);
  }

  private describePeer(p: SimPeer): string {
    const c = p.core;
    if (!c) return `${p.id}:down`;
    return `${p.id}:${ROLE_NAMES[c.role]} t${c.term} last ${c.log.lastIndex} commit ${c.commitIndex} snap ${c.log.snapshotIndex}`;
  }
}

export function describeMessage(m: Message): string {
  let s = `${MSG_TYPE_NAMES[m.type] ?? m.type} ${m.from}->${m.to} t${m.term} idx ${m.index}`;
  if (m.logTerm) s += ` lt ${m.logTerm}`;
  if (m.commit) s += ` commit ${m.commit}`;
  if (m.hint) s += ` hint ${m.hint}`;
  if (m.offset) s += ` off ${m.offset}`;
  if (m.entries) s += ` entries ${m.entries.count}`;
  if (m.data) s += ` data ${m.data.byteLength}B`;
  if (m.reject) s += ' REJECT';
  if (m.done) s += ' done';
  return s;
}
