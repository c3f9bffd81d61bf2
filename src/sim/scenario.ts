import { ConfChange, isMember } from '../core/membership.js';
import { encodeUnregister } from '../node/session-protocol.js';
import { bytesEqual, makeCommand } from './commands.js';
import { NetworkFaults, RELIABLE } from './network.js';
import type { SimCoreOptions, Tear } from './peer.js';
import { Prng } from './prng.js';
import { ClientProfile, ClientStats, SessionClients } from './session-clients.js';
import { SimReadMode, SimReads } from './read-driver.js';
import { Simulation, TICK_MS } from './simulation.js';
import { Trace } from './trace.js';

export interface RunOptions {
  /** Cluster size (default 3). */
  peers?: number;
  /** Peers compact their logs at random points (default false). */
  snapshots?: boolean;
  /** Length of the fault phase, in ticks of TICK_MS virtual ms (default 1000). */
  steps?: number;
  /**
   * Virtual ms the healed cluster gets to elect a leader and commit a new command everywhere
   * (default 20000), plus one worst-case round trip (network both ways, a disk write at each
   * end) per entry the most lagging peer must catch up on: with one entry per append and one
   * append in flight, catching up costs a round trip per entry.
   */
  livenessMs?: number;
  /** Pairwise log audit every this many events (default 1000). */
  auditEvery?: number;
  /** Receives one line per event (replaying a seed verbosely). */
  log?: (line: string) => void;
  /** Keep this many last event lines and put them in a failure's message (default 0). */
  tailLines?: number;
  /** Overrides the seed's own pre-vote choice (the other draws stay the same). */
  preVote?: boolean;
  /**
   * Client sessions (default false): every peer's state machine is a SessionStateMachine, and
   * 2-4 simulated session clients replace the raw proposals, checked for exactly-once effect.
   */
  sessions?: boolean;
  /** Clients also read, in this mode, and every answer is checked for linearizability (default: no reads). */
  reads?: SimReadMode;
  /** Lease reads: the drift bound in ticks (default: what the seed's clock skew needs, see leaseDriftFor). */
  leaseDriftTicks?: number;
  /**
   * Membership changes among the faults (default true; drawn per seed, off in some): some
   * peers start outside the cluster, and learners are added, promoted, voters removed and
   * re-added, with now and then a change that must be refused. False: never.
   */
  membership?: boolean;
}

/**
 * The drift bound lease reads need under a clock skew of +-`skewMs` per TICK_MS tick: a
 * follower's election timeout of e ticks may pass in e * (TICK_MS - skew) ms while the
 * leader's lease of e - d ticks takes (e - d) * (TICK_MS + skew) ms; one tick of margin.
 */
export function leaseDriftFor(electionTicks: number, skewMs: number): number {
  return Math.ceil((electionTicks * 2 * skewMs) / (TICK_MS + skewMs)) + 1;
}

/** What one seed chose: printed when it fails, so a reader knows what kind of run it was. */
export interface Profile {
  core: SimCoreOptions;
  /** RaftNode's automatic snapshots, or none. */
  snapshotPolicy: { entries: number } | null;
  faults: NetworkFaults;
  maxPersistDelay: number;
  pipelined: boolean;
  tickSkewMs: number;
  partitionRate: number;
  /** Rate of making one peer's inbound link lossy or one-way (it is heard but hears little or nothing). */
  lossyLinkRate: number;
  healRate: number;
  crashRate: number;
  /** Extra crashes aimed at a peer that believes it leads: leadership changes are where Raft gets hard. */
  leaderCrashRate: number;
  maxDownMs: number;
  proposeRate: number;
  snapshotRate: number;
  /** Rate of asking a leader to hand its leadership to another peer. */
  transferRate: number;
  /** Share of writes that stall (pipelined runs only: the node waits on them). */
  diskStallRate: number;
  /** Session mode's clients, or null. */
  clients: ClientProfile | null;
  /** Peers 1..initialVoters start as voters; the others wait outside to be added. */
  initialVoters: number;
  /** Rate of membership changes proposed to the leader (0: none). */
  membershipRate: number;
}

export interface RunStats {
  virtualMs: number;
  events: number;
  /** Virtual ms from healing until a probe command was applied on every peer. */
  convergeMs: number;
  maxTerm: number;
  termsWithLeader: number;
  committed: number;
  /** Outcomes the runtime reported for accepted proposals. */
  outcomes: { committed: number; overwritten: number; unknown: number };
  proposals: number;
  accepted: number;
  crashes: number;
  restarts: number;
  partitions: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  /** Membership changes proposed, accepted by a leader, refused (in progress or bad input, on purpose). */
  membership: { proposed: number; accepted: number; refused: number; jointDecisionsChecked: number };
  messages: { sent: number; delivered: number; dropped: number; duplicated: number; delayedLong: number; cutByPartition: number; toDownPeer: number };
  checks: { observations: number; entriesChecked: number; applies: number; restores: number; leaderChecks: number; audits: number };
  /** Session mode: what the clients did, and what the session checker checked. */
  sessions: (ClientStats & { checks: { entries: number; userApplies: number; results: number; duplicateAnswers: number; snapshotTables: number } }) | null;
  traceHash: string;
  profile: Profile;
  /** Reads issued and how they ended (runs with reads only). */
  reads?: SimReads['stats'];
}

export interface RunResult {
  seed: number;
  ok: boolean;
  error?: string;
  stats: RunStats;
}

const TEARS: readonly Tear[] = ['none', 'none', 'after-send', 'after-persist'];

export const DEFAULTS = { peers: 3, snapshots: false, steps: 1000, livenessMs: 20000, auditEvery: 1000, sessions: false, membership: true };

/** The command that replays a seed exactly, for failure messages. */
export function replayCommand(seed: number, o: RunOptions): string {
  const peers = o.peers ?? DEFAULTS.peers;
  const steps = o.steps ?? DEFAULTS.steps;
  return `node dist/test/sim/sweep.js --seed ${seed} --peers ${peers}${o.snapshots ? ' --snapshots' : ''}${o.sessions ? ' --sessions' : ''}${o.membership === false ? ' --no-membership' : ''} --steps ${steps}${o.reads ? ` --reads ${o.reads}` : ''}`;
}

/** Draws the seed's personality: some seeds are calm, some are storms. */
function chooseProfile(rng: Prng, snapshots: boolean, sessions: boolean, peers: number, membership: boolean): Profile {
  const core: SimCoreOptions = {
    electionTicks: 10,
    heartbeatTicks: rng.pick([1, 2, 3]),
    maxInflight: rng.pick([1, 2, 4, 64]),
    maxBatchEntries: rng.pick([1, 3, 16, 65536]),
    maxBatchBytes: rng.pick([48, 512, 1 << 20]),
    snapshotChunkBytes: rng.pick([64, 1024, 65536]),
    checkQuorum: rng.chance(0.75),
    noopOnElection: rng.chance(0.5),
    maxUncommittedEntries: rng.pick([8, 64, 1 << 20]),
  };
  const faults: NetworkFaults = {
    dropRequest: rng.pick([0, 0.01, 0.05, 0.15, 0.3]),
    dropReply: rng.pick([0, 0.01, 0.05, 0.15, 0.3]),
    duplicate: rng.pick([0, 0, 0.01, 0.05]),
    minDelay: 1,
    maxDelay: rng.pick([3, 10, 25, 60]),
    longDelay: rng.pick([0, 0.002, 0.01, 0.03]),
    longDelayMin: 100,
    longDelayMax: rng.pick([500, 1500, 3000]),
  };
  return {
    core,
    snapshotPolicy: snapshots && rng.chance(0.5) ? { entries: rng.pick([3, 10, 40, 200]) } : null,
    faults,
    maxPersistDelay: rng.pick([0, 1, 3, 8, 20]),
    pipelined: rng.chance(0.5),
    tickSkewMs: rng.pick([0, 0, 1, 3]),
    partitionRate: rng.pick([0, 0.003, 0.01, 0.03]),
    lossyLinkRate: rng.pick([0, 0, 0.003, 0.01]),
    healRate: rng.pick([0.01, 0.03, 0.1]),
    crashRate: rng.pick([0, 0.002, 0.005, 0.015, 0.04]),
    leaderCrashRate: rng.pick([0, 0.005, 0.02, 0.05, 0.1]),
    maxDownMs: rng.pick([20, 50, 300, 1500]),
    proposeRate: rng.pick([0.02, 0.05, 0.2, 0.5, 1]),
    snapshotRate: snapshots ? rng.pick([0.003, 0.01, 0.04, 0.1]) : 0,
    // Drawn last, so that the choices above stay what they were for each seed.
    ...laterChoices(rng, core),
    // Drawn last, and only with sessions: the other draws (and so runs without sessions) stay as they were.
    clients: sessions ? {
      clients: rng.range(2, 4), maxInFlight: rng.pick([1, 2, 4]), timeoutMs: rng.pick([150, 400, 1000]),
      lostReplyRate: rng.pick([0, 0.05, 0.2]),
    } : null,
    ...chooseMembership(rng, peers, membership, core),
  };
}

function laterChoices(rng: Prng, core: SimCoreOptions): { transferRate: number; diskStallRate: number } {
  core.preVote = rng.chance(0.75);
  return { transferRate: rng.pick([0, 0, 0.003, 0.01, 0.03]), diskStallRate: rng.pick([0, 0, 0.002, 0.01]) };
}

/** Drawn after everything else, so that the other draws of a seed stay as they were. */
function chooseMembership(rng: Prng, peers: number, on: boolean, core: SimCoreOptions): { initialVoters: number; membershipRate: number } {
  const membershipRate = on ? rng.pick([0, 0, 0.003, 0.01, 0.03]) : 0;
  if (membershipRate === 0 || peers < 2) return { initialVoters: peers, membershipRate: 0 };
  const initialVoters = rng.range(Math.max(1, peers - 2), peers);
  const promote = rng.pick([-1, -1, 0, 3, 50]); // leaders promote caught-up learners in some seeds
  if (promote >= 0) core.autoPromoteLearners = promote;
  return { initialVoters, membershipRate };
}

/**
 * A membership change for the leader's configuration `m`: add a peer from outside (as a
 * learner, or as a voter), promote or remove a learner, remove a voter (the leader too).
 * With `bad`, a change that must be refused instead (the caller checks that it is).
 */
function randomChange(rng: Prng, ids: readonly number[], m: { voters: readonly number[]; learners: readonly number[] }, bad: boolean): ConfChange {
  const outside = ids.filter((id) => !m.voters.includes(id) && !m.learners.includes(id));
  if (bad) {
    const cases: ConfChange[] = [{ addVoters: [rng.pick(m.voters)] }];
    if (m.voters.length === 1) cases.push({ removeVoters: [...m.voters] });
    if (outside.length > 0) cases.push({ removeVoters: [rng.pick(outside)] }, { promoteLearners: [rng.pick(outside)] });
    if (m.learners.length > 0) cases.push({ addLearners: [rng.pick(m.learners)] });
    return rng.pick(cases);
  }
  const cases: ConfChange[] = [];
  if (outside.length > 0) cases.push({ addLearners: [rng.pick(outside)] }, { addLearners: [rng.pick(outside)] }, { addVoters: [rng.pick(outside)] });
  if (m.learners.length > 0) cases.push({ promoteLearners: [rng.pick(m.learners)] }, { promoteLearners: [rng.pick(m.learners)] }, { removeLearners: [rng.pick(m.learners)] });
  if (m.voters.length > 1) cases.push({ removeVoters: [rng.pick(m.voters)] });
  if (m.voters.length > 1 && outside.length > 0) cases.push({ removeVoters: [rng.pick(m.voters)], addVoters: [rng.pick(outside)] });
  return cases.length > 0 ? rng.pick(cases) : { addLearners: [] };
}

/** A random split of the peers into 2 or 3 groups (some possibly empty), often cutting off the leader. */
function randomPartition(rng: Prng, ids: readonly number[], leader: number | undefined): number[][] {
  if (leader !== undefined && rng.chance(0.4)) {
    // The leader with a minority (possibly alone): the rest must elect another one.
    const minority = [leader, ...ids.filter((p) => p !== leader && rng.chance(0.3))].slice(0, Math.ceil(ids.length / 2) - 1 || 1);
    return [minority, ids.filter((p) => !minority.includes(p))];
  }
  if (rng.chance(0.3)) {
    const lone = rng.pick(ids);
    return [[lone], ids.filter((p) => p !== lone)];
  }
  const k = rng.range(2, 3);
  const groups: number[][] = Array.from({ length: k }, () => []);
  for (const p of ids) groups[rng.int(k)].push(p);
  return groups;
}

/**
 * One seeded run:
 * - phase 1 (safety), `steps` ticks: drops, delays, duplicates, long reordering, partitions,
 *   crashes and restarts, client proposals to whoever thinks it leads, random snapshots;
 * - phase 2 (liveness): everything healed (all up, all connected, reliable network); a
 *   leader must emerge and a command proposed to it must be applied by every peer within
 *   `livenessMs` virtual ms.
 * The checker runs after every event of both phases. Same seed + options = same run.
 * With `sessions`, simulated session clients make the commands instead (phase 1 only) and keep
 * resending in both phases; the run converges once every client has all its answers, and then
 * every command issued must have been applied exactly once.
 */
export function runSeed(seed: number, options: RunOptions = {}): RunResult {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as typeof DEFAULTS & RunOptions;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  for (const k of ['peers', 'steps', 'livenessMs', 'auditEvery'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < (k === 'peers' ? 1 : 0)) throw new RangeError(`option ${k} must be a non-negative integer${k === 'peers' ? ' above 0' : ''}, got ${o[k]}`);
  }
  const rng = new Prng(seed);
  const profile = chooseProfile(rng.fork(), o.snapshots, o.sessions, o.peers, o.membership);
  if (o.preVote !== undefined) profile.core.preVote = o.preVote;
  const trace = new Trace(o.log ?? null, o.tailLines ?? 0);
  if (o.reads === 'lease') {
    profile.core.checkQuorum = true;
    profile.core.readMode = 'lease';
    profile.core.leaseDriftTicks = o.leaseDriftTicks ?? leaseDriftFor(profile.core.electionTicks, profile.tickSkewMs);
  }
  const sim = new Simulation(
    { peers: o.peers, initialVoters: profile.initialVoters, core: profile.core, snapshotPolicy: profile.snapshotPolicy ?? undefined, maxPersistDelay: profile.maxPersistDelay, pipelined: profile.pipelined, tickSkewMs: profile.tickSkewMs, auditEvery: o.auditEvery, sessions: o.sessions },
    rng.fork(), trace);
  const faultRng = rng.fork();
  const reads = o.reads ? new SimReads(sim, rng.fork(), o.reads, 0.3) : null;
  const ids = sim.peers.map((p) => p.id);
  let nextCommand = 1;
  let partitions = 0;
  let phase = 'safety';
  let convergeMs = -1;
  const clients = profile.clients ? new SessionClients(sim, rng.fork(), sim.sessions!, profile.clients) : null;
  const memberRng = rng.fork(); // its own stream: seeds without membership changes run as before

  const changeMembership = (): void => {
    if (profile.membershipRate === 0 || !memberRng.chance(profile.membershipRate)) return;
    const leader = sim.leaders()[0];
    if (!leader) return;
    const bad = memberRng.chance(0.15);
    const change = randomChange(memberRng, ids, leader.core!.membership, bad);
    const r = sim.proposeConfChange(leader.id, change);
    if (bad && r.kind === 'accepted') throw new Error(`membership change ${JSON.stringify(change)} should have been refused, but leader ${leader.id} accepted it`);
    if (r.kind === 'refused' && !bad && !/already in progress|is empty/.test(r.message)) throw new Error(`valid membership change ${JSON.stringify(change)} refused: ${r.message}`);
  };

  /** The members of the configuration of the leader, once it is committed (else null). */
  const settledMembers = (): number[] | null => {
    const c = sim.leaders()[0]?.core;
    if (!c || c.membershipIndex > c.commitIndex) return null;
    return ids.filter((id) => isMember(c.membership, id));
  };

  const propose = (id: number): void => {
    if (clients) { clients.issue(faultRng); return; } // with sessions, clients make the commands
    const cmd = makeCommand(nextCommand++, id, faultRng.int(24));
    sim.propose(id, cmd);
  };

  const phase1 = (): void => {
    const f = faultRng;
    if (profile.partitionRate > 0 && f.chance(profile.partitionRate)) {
      const groups = randomPartition(f, ids, sim.leaders()[0]?.id);
      sim.network.partition(groups);
      partitions++;
      if (trace.verbose) trace.line(sim.now, `PARTITION ${sim.network.describe()}`);
    } else if (profile.lossyLinkRate > 0 && f.chance(profile.lossyLinkRate)) {
      const to = f.pick(ids);
      sim.network.setInboundLoss(to, f.pick([0.5, 0.9, 1]));
      partitions++;
      if (trace.verbose) trace.line(sim.now, `LOSSY LINK ${sim.network.describe()}`);
    } else if (f.chance(profile.healRate) && sim.network.describe() !== 'healed') {
      sim.network.heal();
      if (trace.verbose) trace.line(sim.now, 'HEAL network');
    }
    if (f.chance(profile.crashRate)) {
      const up = sim.peers.filter((p) => p.up);
      if (up.length > 0) sim.crash(f.pick(up).id, f.range(1, profile.maxDownMs), f.pick(TEARS));
    }
    if (f.chance(profile.leaderCrashRate)) {
      const leaders = sim.leaders();
      if (leaders.length > 0) sim.crash(f.pick(leaders).id, f.range(1, profile.maxDownMs), f.pick(TEARS));
    }
    if (f.chance(profile.proposeRate)) {
      // Mostly to a peer that believes it leads; sometimes to anyone (it must refuse harmlessly).
      const leaders = sim.leaders();
      const n = f.range(1, 3);
      for (let k = 0; k < n; k++) {
        if (leaders.length > 0 && f.chance(0.9)) propose(f.pick(leaders).id);
        else propose(f.pick(ids));
      }
    }
    if (profile.transferRate > 0 && f.chance(profile.transferRate)) {
      const leaders = sim.leaders();
      if (leaders.length > 0) {
        const from = leaders[0].id;
        sim.transferLeader(from, f.chance(0.9) ? f.pick(ids.filter((p) => p !== from)) : f.pick(ids)); // sometimes itself: refused
      }
    }
    clients?.tick();
    compactSome();
    reads?.tick();
    changeMembership();
  };

  const compactSome = (): void => {
    if (profile.snapshotRate === 0) return;
    // Leaders compact more often: followers then fall behind their snapshot and need InstallSnapshot.
    for (const p of sim.peers) {
      if (p.up && faultRng.chance(p.isLeader ? Math.min(1, 3 * profile.snapshotRate) : profile.snapshotRate)) sim.compact(p.id, faultRng);
    }
  };

  // Phase 2 state: probes proposed to leaders; success once one is applied everywhere and
  // every proposal has its outcome. A peer that accepted proposals at indexes beyond the
  // healed log settles them only once the log reaches them: more probes push it there.
  const probes: { index: number; cmd: Uint8Array }[] = [];
  let probeLeader = -1, probeTerm = -1;
  // Every member of the settled configuration: peers outside it are retired once it is committed.
  const appliedEverywhere = (pr: { index: number; cmd: Uint8Array }): boolean =>
    sim.peers.every((p) => !p.up || (p.sm.applied >= pr.index && bytesEqual(p.sm.command(pr.index), pr.cmd)));
  const phase2 = (): void => {
    clients?.tick();
    compactSome();
    reads?.tick();
    const members = settledMembers();
    if (members) for (const p of sim.peers) if (p.up && !members.includes(p.id)) sim.retire(p.id);
    const leader = sim.leaders()[0];
    if (!leader) return;
    const term = leader.core!.term;
    const same = leader.id === probeLeader && term === probeTerm;
    const last = probes[probes.length - 1];
    if (same && !(appliedEverywhere(last) && sim.outstanding > 0)) return; // its probe is still on its way
    const n = same ? Math.min(64, sim.outstanding) : 1;
    for (let k = 0; k < n; k++) {
      // With sessions a probe must be a session frame: the unregistering of a session that cannot exist.
      const cmd = clients ? encodeUnregister(2 ** 40 + nextCommand++) : makeCommand(nextCommand++, leader.id, 3);
      if (sim.propose(leader.id, cmd) !== 'accepted') break;
      probes.push({ index: leader.core!.log.lastIndex, cmd });
      probeLeader = leader.id;
      probeTerm = term;
    }
  };
  const converged = (): boolean => settledMembers() !== null && sim.outstanding === 0 && probes.some(appliedEverywhere) && (!clients || clients.idle);

  const stats = (): RunStats => {
    const n = sim.network.stats;
    let maxTerm = 0;
    for (const p of sim.peers) maxTerm = Math.max(maxTerm, p.core?.term ?? p.store.describe().term);
    const sum = (k: 'crashes' | 'restarts' | 'snapshotsTaken' | 'snapshotsInstalled'): number => sim.peers.reduce((a, p) => a + p.stats[k], 0);
    return {
      virtualMs: sim.now, events: sim.events, convergeMs, maxTerm, termsWithLeader: sim.checker.termsWithLeader,
      committed: sim.checker.committedIndex,
      outcomes: { committed: sim.outcomes.counts.committed, overwritten: sim.outcomes.counts.overwritten, unknown: sim.outcomes.counts.unknown },
      proposals: sim.stats.proposals, accepted: sim.stats.accepted,
      crashes: sum('crashes'), restarts: sum('restarts'), partitions,
      snapshotsTaken: sum('snapshotsTaken'), snapshotsInstalled: sum('snapshotsInstalled'),
      messages: { ...n, toDownPeer: sim.stats.droppedPeerDown },
      membership: { proposed: sim.stats.confChanges, accepted: sim.stats.confChangesAccepted, refused: sim.stats.confChangesRefused, jointDecisionsChecked: sim.membershipChecker.counts.jointCommitDecisions },
      checks: { ...sim.checker.counts }, traceHash: trace.digest(), profile,
      sessions: clients ? { ...clients.stats, checks: { ...sim.sessions!.counts } } : null,
      ...(reads ? { reads: { ...reads.stats } } : {}),
    };
  };

  try {
    sim.network.faults = { ...profile.faults };
    if (profile.pipelined) sim.diskStallRate = profile.diskStallRate;
    sim.onDriverTick = phase1;
    sim.start();
    sim.runUntil(o.steps * TICK_MS);
    sim.checker.audit();

    phase = 'liveness';
    const healedAt = sim.now;
    if (trace.verbose) trace.line(sim.now, '=== HEAL: all up, all connected, reliable network ===');
    sim.network.heal();
    sim.network.faults = { ...RELIABLE };
    sim.diskStallRate = 0;
    for (const p of sim.peers) {
      sim.cancelTear(p.id); // no crash is still due
      sim.restart(p.id);
    }
    sim.onDriverTick = phase2;
    if (clients) clients.lossy = false;
    const top = Math.max(...sim.peers.map((p) => p.core!.log.lastIndex));
    const backlog = top - Math.min(...sim.peers.map((p) => p.sm.applied)) + sim.outstanding;
    const roundTrip = 2 * RELIABLE.maxDelay + 2 * profile.maxPersistDelay + 2;
    const bound = o.livenessMs + roundTrip * backlog;
    const ok = sim.runUntil(healedAt + bound, converged);
    if (!ok) {
      const leaders = sim.leaders().map((p) => `${p.id}(t${p.core!.term})`).join(', ') || 'none';
      throw new Error(`liveness: no command committed on every peer within ${bound} ms of healing (backlog ${backlog} entries) ` +
        `(leaders now: ${leaders}; probes proposed: ${probes.length}; peers: ${sim.describePeers()})` +
        (clients && !clients.idle ? ` (clients not done: ${clients.describe()})` : ''));
    }
    convergeMs = sim.now - healedAt;
    sim.checker.audit();
    sim.outcomes.verifyAllSettled();
    clients?.verify();
    return { seed, ok: true, stats: stats() };
  } catch (e) {
    const err = e as Error;
    const tail = trace.lastLines();
    const msg = `seed ${seed} failed in the ${phase} phase at ${sim.now} virtual ms (event ${sim.events}): ${err.name}: ${err.message}\n` +
      `  peers: ${sim.describePeers()}\n` +
      `  replay: ${replayCommand(seed, options)}` +
      (tail.length > 0 ? `\n  last events:\n    ${tail.join('\n    ')}` : '') +
      (err.name !== 'SafetyViolation' && err.stack ? `\n  stack: ${err.stack.split('\n').slice(1, 6).join('\n        ')}` : '');
    return { seed, ok: false, error: msg, stats: stats() };
  }
}
