import { Message, MSG_TYPE_NAMES } from '../core/message.js';
import type { ConfChange } from '../core/membership.js';
import { describeMembership } from '../core/membership.js';
import { Role } from '../core/types.js';
import type { SnapshotPolicy } from '../node/options.js';
import type { Outcome } from '../node/proposal-tracker.js';
import type { ReadListener } from '../node/read-tracker.js';
import type { Scheduler } from '../node/scheduler.js';
import { decode, encode } from '../transport/codec.js';
import { SafetyChecker } from './checker.js';
import { MembershipChecker } from './membership-checker.js';
import { describeCommand } from './commands.js';
import { EventQueue, Timed } from './event-queue.js';
import { SimNetwork } from './network.js';
import { OutcomeChecker } from './outcome-checker.js';
import { SessionChecker } from './session-checker.js';
import { ConfChangeOutcome, ProposeOutcome, SIM_TICK_MS, SimCoreOptions, SimPeer, Tear } from './peer.js';
import type { Prng } from './prng.js';
import type { Trace } from './trace.js';

/** Virtual milliseconds per tick. */
export const TICK_MS = SIM_TICK_MS;

/** How long a stalled write takes, in virtual ms: around and above a leader's stall bound (3 election timeouts). */
const DISK_STALL_MS: [number, number] = [100, 1500];

export interface SimulationConfig {
  peers: number;
  /** Peers 1..initialVoters are the initial voters; the others start outside and wait to be added (default: all). */
  initialVoters?: number;
  core: SimCoreOptions;
  /** RaftNode's own snapshot policy (its state machine snapshots through the applied index). */
  snapshotPolicy?: SnapshotPolicy;
  /** Largest virtual delay of the "disk": before a Ready is processed, or (pipelined) before its write lands. */
  maxPersistDelay: number;
  /**
   * Writes take virtual time: the node keeps taking input while one is under way, as it does
   * with an asynchronous storage. Otherwise a write lands at once, inside the Ready loop.
   */
  pipelined: boolean;
  /** Each peer life ticks every TICK_MS +- up to this many ms: clocks run at different rates. */
  tickSkewMs: number;
  /** Run the checker's pairwise log audit every this many events. */
  auditEvery: number;
  /** Every peer's state machine is a SessionStateMachine around the simulated one (checked by a SessionChecker). */
  sessions?: boolean;
}

/** What a proposer hears of one accepted proposal: its outcome, where it was accepted, and (committed) the apply result if known. */
export type ProposalListener = (outcome: Outcome, index: number, term: number, result: Uint8Array | undefined) => void;

/**
 * Tick: a node's clock; Flush: the node's deferred Ready loop (its scheduler's soon());
 * Landed: a pending write lands; Restart brings a crashed peer back; Driver is the scenario's.
 */
const enum TimerKind { Tick = 1, Flush = 2, Landed = 3, Restart = 4, Driver = 5 }

interface TimerEvent extends Timed {
  kind: TimerKind;
  peer: number;
  /** Incarnation of the peer the event belongs to (Tick, Flush, Landed). */
  life: number;
  fn: (() => void) | null;
}

const ROLE_NAMES = ['follower', 'candidate', 'leader'];

/**
 * Many real RaftNodes in one thread on virtual time. The next event is always the earliest of
 * a timer (a node's tick, a node's deferred Ready loop, a write landing, a scheduled restart,
 * the fault driver's tick) and a message delivery; timers win ties. Messages cross the
 * binary codec, as on the rings. After every event the checkers look at the peer the event
 * touched, so a violation is caught at the step that causes it.
 */
export class Simulation {
  now = 0;
  events = 0;
  readonly peers: SimPeer[] = [];
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  readonly membershipChecker = new MembershipChecker();
  readonly outcomes: OutcomeChecker;
  /** Session mode's checker, or null. */
  readonly sessions: SessionChecker | null;
  /** Called every TICK_MS of virtual time: the scenario injects faults and proposals here. */
  onDriverTick: () => void = () => {};
  /** Where each peer's read results go (set by SimReads before start()); none: peers do not read. */
  onRead: ((peer: number) => ReadListener) | null = null;
  readonly stats = { droppedPeerDown: 0, proposals: 0, accepted: 0, notLeader: 0, backpressure: 0, transfers: 0, transfersDone: 0, diskStalls: 0, confChanges: 0, confChangesAccepted: 0, confChangesRefused: 0 };
  /** Share of writes (pipelined runs) that take DISK_STALL_MS: a hung disk, long enough for a leader to step down. */
  diskStallRate = 0;
  private readonly timers = new EventQueue<TimerEvent>();
  private readonly ids: number[];
  private nextTag = 0;
  /** Proposers waiting for an outcome, by tag. */
  private readonly listeners = new Map<number, ProposalListener>();
  /** Outcomes heard during the event, handed to their proposers once it is over (never inside a node's Ready loop). */
  private readonly heard: Array<{ fn: ProposalListener; outcome: Outcome; index: number; term: number; result: Uint8Array | undefined }> = [];

  constructor(readonly cfg: SimulationConfig, private readonly rng: Prng, readonly trace: Trace) {
    this.ids = Array.from({ length: cfg.peers }, (_, k) => k + 1);
    this.network = new SimNetwork(rng.fork(), this.ids);
    this.checker = new SafetyChecker(this.ids);
    this.sessions = cfg.sessions ? new SessionChecker() : null;
    // With sessions a result is the layer's frame: the session checker verifies what is in it.
    this.outcomes = new OutcomeChecker(this.checker, !cfg.sessions);
    const env = {
      send: (m: Message) => this.send(m), checker: this.checker, onOutcome: (id: number) => this.outcomeListener(id),
      observe: (p: SimPeer) => this.afterInput(p), sessions: this.sessions, onRead: (id: number) => this.onRead?.(id),
    };
    const voters = this.ids.slice(0, cfg.initialVoters ?? cfg.peers);
    for (const id of this.ids) this.peers.push(new SimPeer(id, voters, cfg.core, cfg.snapshotPolicy, rng.fork(), env));
  }

  peer(id: number): SimPeer {
    return this.peers[id - 1];
  }

  start(): void {
    for (const p of this.peers) this.startPeer(p);
    this.timers.push({ at: TICK_MS, seq: 0, kind: TimerKind.Driver, peer: 0, life: 0, fn: null });
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
      this.outcomes.verifyPending();
      this.handOutOutcomes();
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
   * Crashes a peer now, or, with `tear`, inside its next write: the crash then loses that
   * write ('after-send') or lands it and stops before the node hears back ('after-persist').
   */
  crash(id: number, downMs: number, tear: Tear = 'none'): void {
    const p = this.peer(id);
    if (!p.up) return;
    if (tear !== 'none') {
      p.store.tearNext = tear;
      this.tearDownMs.set(id, downMs);
      return; // inside the write under way, or the next one

    }
    this.crashNow(p, downMs, 'CRASH');
  }

  private readonly tearDownMs = new Map<number, number>();

  /** Brings a down peer back now (its pending restart event, if any, becomes a no-op). */
  restart(id: number): void {
    const p = this.peer(id);
    if (p.up) return;
    this.startPeer(p);
  }

  /** Clears a crash that is due inside a peer's next write. */
  cancelTear(id: number): void {
    this.peer(id).store.tearNext = null;
  }

  /** Proposes to a peer; when it is accepted, `onOutcome` hears its outcome after the event that settles it. */
  propose(id: number, cmd: Uint8Array, onOutcome?: ProposalListener): ProposeOutcome {
    const p = this.peer(id);
    const tag = this.nextTag++;
    const r = p.propose(cmd, tag);
    this.stats.proposals++;
    if (r === 'accepted') {
      this.stats.accepted++;
      const c = p.core!;
      this.outcomes.accepted(tag, id, c.log.lastIndex, c.term, cmd);
      if (onOutcome) this.listeners.set(tag, onOutcome);
    } else if (r === 'not-leader') this.stats.notLeader++;
    else if (r === 'backpressure') this.stats.backpressure++;
    this.trace.mix(0x9a, id, cmd.byteLength, r.length);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} propose ${describeCommand(cmd)} -> ${r}`);
    if (p.up) this.afterInput(p);
    return r;
  }

  /** Asks peer `id` (a leader, or it refuses) to hand its leadership to `to`; how it ends is only counted. */
  transferLeader(id: number, to: number): void {
    const p = this.peer(id);
    if (!p.node) return;
    this.stats.transfers++;
    p.node.transferLeader(to).then(() => { this.stats.transfersDone++; }, () => {});
    this.trace.mix(0x7f, id, to);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} TRANSFER leadership to ${to}`);
    this.afterInput(p);
  }

  /** Proposes a membership change to a peer. */
  proposeConfChange(id: number, change: ConfChange): ConfChangeOutcome {
    const p = this.peer(id);
    const r = p.proposeConfChange(change);
    this.stats.confChanges++;
    if (r.kind === 'accepted') this.stats.confChangesAccepted++;
    if (r.kind === 'refused') this.stats.confChangesRefused++;
    this.trace.mix(0xcc, id, r.kind.length);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} membership change ${JSON.stringify(change)} -> ${r.kind === 'refused' ? r.message : r.kind}${r.kind === 'accepted' ? ` (now ${describeMembership(p.core!.membership)})` : ''}`);
    if (p.up) this.afterInput(p);
    return r;
  }

  /** Stops a peer for good (a removed peer the operator shuts down): its open proposals become unknown. */
  retire(id: number): void {
    const p = this.peer(id);
    if (!p.up) return;
    p.crash();
    this.trace.mix(0x7e, id, this.now);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${id} RETIRED (not a member)`);
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

  /** Proposals accepted by peers that are up and still waiting for their outcome. */
  get outstanding(): number {
    let n = 0;
    for (const p of this.peers) n += p.node?.outstanding ?? 0;
    return n;
  }

  describePeers(): string {
    return this.peers.map((p) => {
      const c = p.core;
      if (!c) { const d = p.store.describe(); return `${p.id}:down(store term ${d.term}, last ${d.lastIndex})`; }
      return `${p.id}:${ROLE_NAMES[c.role]} t${c.term} last ${c.log.lastIndex}/${c.log.lastTerm} commit ${c.commitIndex} applied ${p.sm.applied} snap ${c.log.snapshotIndex} outstanding ${p.node!.outstanding} ${describeMembership(c.membership)}@${c.membershipIndex}`;
    }).join(' | ');
  }

  // ------------------------------------------------------------------ internals

  private outcomeListener(id: number) {
    const check = this.outcomes.listener(id);
    return (outcome: Outcome, firstTag: number, count: number, firstIndex: number, term: number,
      results: ReadonlyArray<Uint8Array | undefined> | null, resultOffset: number): void => {
      check(outcome, firstTag, count, firstIndex, term, results, resultOffset);
      if (this.listeners.size === 0) return;
      for (let k = 0; k < count; k++) {
        const fn = this.listeners.get(firstTag + k);
        if (!fn) continue;
        this.listeners.delete(firstTag + k);
        const result = results ? results[resultOffset + k] : undefined;
        this.heard.push({ fn, outcome, index: firstIndex + k, term, result: result?.slice() });
      }
    };
  }

  private handOutOutcomes(): void {
    for (let k = 0; k < this.heard.length; k++) {
      const h = this.heard[k];
      h.fn(h.outcome, h.index, h.term, h.result);
    }
    this.heard.length = 0;
  }

  /** Generous bound on the events a healthy run has by virtual time `t`; beyond it something loops. */
  private maxEvents(t: number): number {
    return 100000 + 50 * this.cfg.peers * t;
  }

  private startPeer(p: SimPeer): void {
    // Ticks start at a random phase, so peers' clocks are not in lockstep, and with skew each
    // life has its own clock rate.
    p.tickMs = TICK_MS + (this.cfg.tickSkewMs > 0 ? this.rng.range(-this.cfg.tickSkewMs, this.cfg.tickSkewMs) : 0);
    p.store.mode = this.cfg.pipelined ? 'later' : 'at-once';
    p.store.tearNext = null;
    const life = p.incarnation + 1; // the one p.start() begins
    p.store.onWriteStarted = () => {
      let delay = this.rng.int(this.cfg.maxPersistDelay + 1);
      if (this.diskStallRate > 0 && this.rng.chance(this.diskStallRate)) {
        delay = this.rng.range(DISK_STALL_MS[0], DISK_STALL_MS[1]);
        this.stats.diskStalls++;
        if (this.trace.verbose) this.trace.line(this.now, `peer ${p.id} DISK STALL (${delay} ms)`);
      }
      this.timers.push({ at: this.now + delay, seq: 0, kind: TimerKind.Landed, peer: p.id, life, fn: () => p.store.land() });
    };
    p.start(this.schedulerFor(p, life));
    this.trace.mix(0x51, p.id, this.now, p.core!.log.lastIndex);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${p.id} START from store (term ${p.core!.term}, snapshot ${p.core!.log.snapshotIndex}, last ${p.core!.log.lastIndex})`);
    this.afterInput(p);
  }

  /** The clock of one peer life, on virtual time. */
  private schedulerFor(p: SimPeer, life: number): Scheduler {
    return {
      every: (_ms, fn) => {
        let on = true;
        const tick = (): void => {
          if (!on) return;
          fn();
          this.timers.push({ at: this.now + p.tickMs, seq: 0, kind: TimerKind.Tick, peer: p.id, life, fn: tick });
        };
        this.timers.push({ at: this.now + 1 + this.rng.int(p.tickMs), seq: 0, kind: TimerKind.Tick, peer: p.id, life, fn: tick });
        return () => { on = false; };
      },
      soon: (fn) => {
        // Without pipelining the whole Ready loop, writes included, runs in this event: its
        // delay stands for the disk's.
        const delay = this.cfg.pipelined ? this.rng.int(2) : this.rng.int(this.cfg.maxPersistDelay + 1);
        this.timers.push({ at: this.now + delay, seq: 0, kind: TimerKind.Flush, peer: p.id, life, fn });
      },
    };
  }

  private send(m: Message): void {
    this.network.send(decode(encode(m)), this.now);
  }

  private crashNow(p: SimPeer, downMs: number, what: string): void {
    p.crash();
    this.trace.mix(0xc4, p.id, this.now);
    if (this.trace.verbose) this.trace.line(this.now, `peer ${p.id} ${what} (down ${downMs} ms)`);
    this.timers.push({ at: this.now + downMs, seq: 0, kind: TimerKind.Restart, peer: p.id, life: p.incarnation, fn: null });
  }

  /** A write tore (a crash due inside it happened): the peer goes down now. */
  private afterTear(p: SimPeer): void {
    if (!p.up || !p.store.torn) return;
    this.crashNow(p, this.tearDownMs.get(p.id) ?? 1, 'CRASH inside a write');
  }

  private runTimer(e: TimerEvent): void {
    if (e.kind === TimerKind.Driver) {
      this.trace.mix(0xd1, this.now);
      this.onDriverTick();
      this.timers.push({ at: this.now + TICK_MS, seq: 0, kind: TimerKind.Driver, peer: 0, life: 0, fn: null });
      return;
    }
    const p = this.peer(e.peer);
    if (e.kind === TimerKind.Restart) {
      if (p.up || e.life !== p.incarnation) return; // already restarted by someone else
      this.startPeer(p);
      return;
    }
    if (!p.up || e.life !== p.incarnation) return; // belongs to a life that crashed
    const before = p.core!.term * 4 + p.core!.role;
    e.fn!();
    this.mixPeer(e.kind === TimerKind.Tick ? 0x71 : e.kind === TimerKind.Flush ? 0x4e : 0x4b, p);
    this.afterTear(p);
    if (!p.up) return;
    // Ticks are most events; show only those that change something (a campaign, a step-down).
    if (this.trace.verbose && (e.kind !== TimerKind.Tick || p.core!.term * 4 + p.core!.role !== before)) {
      this.trace.line(this.now, `peer ${p.id} ${e.kind === TimerKind.Tick ? 'tick' : e.kind === TimerKind.Flush ? 'ready loop' : 'write landed'} -> ${this.describePeer(p)}`);
    }
    this.afterInput(p);
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

  /** Checks the peer after an input. */
  private afterInput(p: SimPeer): void {
    const c = p.core!;
    this.checker.observe({ id: p.id, term: c.term, isLeader: c.role === Role.Leader, commitIndex: c.commitIndex, log: c.log });
    this.membershipChecker.observe(c);
  }

  private mixPeer(tag: number, p: SimPeer): void {
    const c = p.core;
    if (!c) return;
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
