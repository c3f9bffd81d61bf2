import { checkCommand } from './command.js';
import { CoreConfig, ResolvedCoreConfig, resolveCoreConfig } from './config.js';
import { EntryBatch, batchCommand, batchLastIndex } from './entry-batch.js';
import { JointQuorum } from './joint-quorum.js';
import { ConfChange, ConfChangeError, Membership, describeMembership, enterChange, isJoint, isVoter, leaveJoint, membersOf, sameMembership, simpleMembership } from './membership.js';
import { decodeMembership, encodeMembership, isMembershipEntry } from './membership-entry.js';
import { MembershipHistory } from './membership-history.js';
import { RaftLog } from './log.js';
import { Message, MsgType, message } from './message.js';
import { FollowUp, Progress, ProgressState } from './progress.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { BackpressureError, InvariantError, NO_VOTE, PersistedState, ProposeResult, Ready, Role, Snapshot } from './types.js';

/** The command of the entry a new leader appends when noopOnElection is on. */
const NOOP = new Uint8Array(0);

/**
 * The deterministic Raft state machine of one peer (Figure 2 of the Raft paper plus
 * snapshots). No timers, no I/O: time enters through tick(), messages through step(),
 * commands through propose(); everything to do comes out of ready().
 */
export class RaftCore {
  readonly cfg: ResolvedCoreConfig;
  readonly id: number;
  /** Every member of the configuration in force (voters of both halves, learners). */
  peers: readonly number[] = [];
  /** `peers` but this one: whom a leader replicates to. */
  others: readonly number[] = [];

  term = 0;
  votedFor = NO_VOTE;
  role = Role.Follower;
  leaderId = -1;
  readonly log = new RaftLog();
  commitIndex = 0;
  /** Highest index handed to the state machine through ready(). */
  appliedIndex = 0;
  /** Latest snapshot of this peer (taken locally or installed from the leader). */
  snapshot: Snapshot | null = null;

  /** Term of the last hard state known on disk. */
  private durableTerm = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private electionTimeout = 0;
  private readonly votes = new Set<number>();
  private readonly progress = new Map<number, Progress>();
  private readonly snapshotReceiver = new SnapshotReceiver();
  /** What checkInvariants() last saw: term and commit never move back. */
  private checkedTerm = 0;
  private checkedCommit = 0;

  private hardStateDirty = false;
  private snapshotToPersist: Snapshot | null = null;
  private snapshotToApply: Snapshot | null = null;
  private sendNow: Message[] = [];
  private sendAfter: Message[] = [];
  private needBroadcast = false;
  /** The configuration in force at each point of the log (membership.ts has the rules). */
  private readonly memberships: MembershipHistory;
  /** The configuration of the options: what a snapshot without one carries. */
  private readonly initialMembership: Membership;
  private quorum!: JointQuorum;
  /** Voters of the configuration but this one: whom a candidate asks for votes. */
  private voterOthers: readonly number[] = [];
  private progressToPrune = false;
  /** Wire form of the snapshot being sent, when it carries a configuration (its encoding first). */
  private snapshotWire: { snap: Snapshot; bytes: Uint8Array; prefix: number } | null = null;
  private readonly matchOf = (id: number): number => id === this.id ? this.stableIndex : this.progress.get(id)?.match ?? 0;
  private readonly granted = (id: number): boolean => this.votes.has(id);
  private readonly heardFrom = (id: number): boolean => id === this.id || this.progress.get(id)?.recentActive === true;

  constructor(config: CoreConfig, persisted?: PersistedState | null) {
    this.cfg = resolveCoreConfig(config);
    this.id = this.cfg.id;
    this.initialMembership = simpleMembership(this.cfg.peers);
    this.memberships = new MembershipHistory(this.initialMembership);
    if (persisted) {
      this.term = this.durableTerm = persisted.hardState.term;
      this.votedFor = persisted.hardState.votedFor;
      if (persisted.snapshot) {
        const s = persisted.snapshot;
        this.snapshot = s;
        this.log.reset(s.index, s.term);
        this.memberships.reset(s.membership ?? this.initialMembership, s.index);
        this.commitIndex = this.appliedIndex = s.index;
      }
      if (persisted.entries && persisted.entries.count > 0) {
        const e = persisted.entries;
        if (e.firstIndex !== this.log.lastIndex + 1) {
          throw new Error(`persisted entries start at ${e.firstIndex}, expected ${this.log.lastIndex + 1}`);
        }
        this.log.appendBatch(e);
        this.noteMembershipEntries(e, 0);
      }
      this.log.markAllStable();
    }
    this.membershipChanged();
    this.checkedTerm = this.term;
    this.checkedCommit = this.commitIndex;
    this.resetElectionTimeout();
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.tickRole();
    this.membershipFollowUp(true);
    this.checkInvariants();
  }

  private tickRole(): void {
    this.electionElapsed++;
    if (this.role === Role.Leader) {
      this.heartbeatElapsed++;
      for (const pr of this.progress.values()) pr.tick();
      if (this.electionElapsed >= this.cfg.electionTicks) {
        this.electionElapsed = 0;
        if (this.cfg.checkQuorum && !this.quorumActive()) {
          this.becomeFollower(this.term, -1);
          return;
        }
      }
      if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
        this.heartbeatElapsed = 0;
        for (const id of this.others) this.sendHeartbeat(id, this.progress.get(id)!);
      } else {
        this.notifyCommit();
      }
    } else if (this.electionElapsed >= this.electionTimeout) {
      this.campaign();
    }
  }

  /**
   * Appends a command to the leader's log. Returns at once; the entry commits later (or
   * never, if leadership is lost). On a non-leader returns isLeader false and changes nothing.
   * So does a leader whose term is not on disk yet (a single-peer cluster elects itself at
   * once): after a crash it could win the same term again and reuse (index, term) for
   * another command, and clients take (index, term) to identify their entry.
   */
  propose(command: Uint8Array): ProposeResult {
    this.checkCommand(command);
    if (this.role !== Role.Leader || this.durableTerm !== this.term) return { index: -1, term: this.term, isLeader: false };
    const uncommitted = this.log.lastIndex - this.commitIndex;
    // Entries of earlier terms commit only behind one of this term (Figure 8): a leader that
    // holds none must accept one whatever the backlog, or nothing would ever commit again.
    if (uncommitted >= this.cfg.maxUncommittedEntries && this.log.lastTerm === this.term) {
      throw new BackpressureError(uncommitted, this.cfg.maxUncommittedEntries);
    }
    const index = this.log.append(this.term, command);
    this.needBroadcast = true;
    return { index, term: this.term, isLeader: true };
  }

  checkCommand(command: Uint8Array): void {
    checkCommand(command, this.cfg.maxCommandBytes, this.cfg.noopOnElection);
  }


  step(m: Message): void {
    this.stepMessage(m);
    this.membershipFollowUp(false);
    this.checkInvariants();
  }

  private stepMessage(m: Message): void {
    // A removed (or not yet added) peer cannot disrupt a cluster that has a leader: not even
    // its term counts. Without a leader it is heard: a peer whose configuration lags may not
    // know that the candidate was (re-)added, and ignoring it could block every election.
    if (m.type === MsgType.RequestVote && !isVoter(this.memberships.current, m.from) && this.hasCurrentLeader()) return;
    if (m.term > this.term) {
      const fromLeader = m.type === MsgType.AppendEntries || m.type === MsgType.Heartbeat || m.type === MsgType.InstallSnapshot;
      const elapsed = this.electionElapsed;
      this.becomeFollower(m.term, fromLeader ? m.from : -1);
      // Figure 2: only a current leader's message or a granted vote restarts the election
      // timer. Otherwise a candidate with a stale log that times out often keeps resetting
      // the up-to-date peers, which then never stand, and no one is ever elected.
      if (!fromLeader) this.electionElapsed = elapsed;
    } else if (m.term < this.term) {
      // Tell a stale leader or candidate about the newer term so it steps down.
      switch (m.type) {
        case MsgType.AppendEntries: {
          const r = this.reply(m, MsgType.AppendEntriesReply);
          r.reject = true; r.index = m.index; r.hint = this.log.lastIndex + 1;
          break;
        }
        case MsgType.Heartbeat: this.reply(m, MsgType.HeartbeatReply); break;
        case MsgType.InstallSnapshot: { const r = this.reply(m, MsgType.InstallSnapshotReply); r.reject = true; r.index = m.index; break; }
        case MsgType.RequestVote: { const r = this.reply(m, MsgType.RequestVoteReply); r.reject = true; break; }
        default: break; // stale replies are dropped
      }
      return;
    }
    switch (m.type) {
      case MsgType.RequestVote: return this.onRequestVote(m);
      case MsgType.RequestVoteReply: return this.onRequestVoteReply(m);
      case MsgType.AppendEntries: return this.onAppendEntries(m);
      case MsgType.Heartbeat: return this.onHeartbeat(m);
      case MsgType.InstallSnapshot: return this.onInstallSnapshot(m);
      case MsgType.AppendEntriesReply:
      case MsgType.HeartbeatReply:
      case MsgType.InstallSnapshotReply: {
        // A follower's reply: only a leader cares, and it hears that the follower is alive.
        if (this.role !== Role.Leader) return;
        const pr = this.progress.get(m.from);
        if (!pr) return;
        pr.recentActive = true;
        if (m.type === MsgType.AppendEntriesReply) this.onAppendEntriesReply(m, pr);
        else if (m.type === MsgType.HeartbeatReply) this.followUp(m.from, pr, pr.heartbeatAnswered(m.index, m.hint, this.log.lastIndex, this.cfg.heartbeatTicks));
        else this.onInstallSnapshotReply(m, pr);
        return;
      }
      default: throw new TypeError(`unknown message type ${(m as Message).type}`);
    }
  }

  /**
   * The state machine holds everything through `index` in `data`: drop the log through
   * `index` and keep `data` as this peer's snapshot (persisted with the next ready()).
   */
  compact(index: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError('snapshot data must be a Uint8Array');
    if (!Number.isInteger(index)) throw new TypeError(`snapshot index must be an integer, got ${index}`);
    if (index > this.commitIndex) throw new RangeError(`snapshot index ${index} is above the commit index ${this.commitIndex}`);
    if (index > this.appliedIndex) throw new RangeError(`snapshot index ${index} is above the applied index ${this.appliedIndex}`);
    if (index <= this.log.snapshotIndex) throw new RangeError(`snapshot index ${index} is not above the last snapshot index ${this.log.snapshotIndex}`);
    const term = this.log.term(index);
    const membership = this.memberships.at(index);
    // A snapshot of the initial configuration carries none: storage formats stay as they were.
    const snap: Snapshot = sameMembership(membership, this.initialMembership) ? { index, term, data } : { index, term, data, membership };
    this.log.compact(index, term);
    this.memberships.compact(index);
    this.snapshot = snap;
    this.snapshotToPersist = snap;
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    return this.needBroadcast || this.hardStateDirty || this.snapshotToPersist !== null || this.log.hasUnstable() ||
      this.commitIndex > this.appliedIndex || this.sendNow.length > 0 || this.sendAfter.length > 0;
  }

  ready(): Ready {
    if (this.needBroadcast) {
      this.needBroadcast = false;
      if (this.role === Role.Leader) this.broadcastAppend();
    }
    if (this.durableTerm !== this.term && this.sendNow.length > 0) {
      // A leader elected alone (one voter) has not stored its term yet: what it sends to
      // learners must wait for the write, like every message of a term not yet durable.
      this.sendAfter = this.sendNow.concat(this.sendAfter);
      this.sendNow = [];
    }
    const rd: Ready = {
      hardState: this.hardStateDirty ? { term: this.term, votedFor: this.votedFor } : null,
      snapshot: this.snapshotToPersist,
      entries: this.log.takeUnstable(),
      sendNow: this.sendNow,
      sendAfterPersist: this.sendAfter,
      applySnapshot: this.snapshotToApply,
      committed: null,
    };
    this.hardStateDirty = false;
    this.snapshotToPersist = null;
    this.snapshotToApply = null;
    this.sendNow = [];
    this.sendAfter = [];
    if (this.commitIndex > this.appliedIndex) {
      rd.committed = this.log.slice(this.appliedIndex + 1, this.commitIndex, this.cfg.maxBatchBytes);
      this.appliedIndex = batchLastIndex(rd.committed);
    }
    this.checkInvariants();
    return rd;
  }

  /** The runtime has done everything `rd` asked. */
  advance(rd: Ready): void {
    if (rd.hardState) this.durableTerm = rd.hardState.term;
    // A snapshot counts as stored from the moment it is taken or installed (RaftLog.compact/reset).
    if (rd.entries) this.log.stableTo(rd.entries);
    if (this.role === Role.Leader && this.maybeCommit()) this.needBroadcast = true;
    this.membershipFollowUp(false);
    this.checkInvariants();
  }

  /**
   * Throws InvariantError if a Raft invariant is broken: the term or the commit index moved
   * back, or applied <= commit <= last index does not hold. O(1); runs after every input.
   */
  checkInvariants(): void {
    if (this.term < this.checkedTerm) throw new InvariantError(`term went back from ${this.checkedTerm} to ${this.term} on ${this.id}`);
    if (this.commitIndex < this.checkedCommit) throw new InvariantError(`commit index went back from ${this.checkedCommit} to ${this.commitIndex} on ${this.id}`);
    if (this.appliedIndex > this.commitIndex) throw new InvariantError(`applied index ${this.appliedIndex} is above the commit index ${this.commitIndex} on ${this.id}`);
    if (this.commitIndex > this.log.lastIndex) throw new InvariantError(`commit index ${this.commitIndex} is above the last log index ${this.log.lastIndex} on ${this.id}`);
    this.checkedTerm = this.term;
    this.checkedCommit = this.commitIndex;
  }

  // ---------------------------------------------------------------- queries

  get isLeader(): boolean {
    return this.role === Role.Leader;
  }

  /** Highest index known to be on this peer's storage. */
  get stableIndex(): number {
    return this.log.stableIndex;
  }

  progressOf(id: number): Progress | undefined {
    return this.progress.get(id);
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: number): void {
    if (term !== this.term) {
      this.term = term;
      this.votedFor = NO_VOTE;
      this.hardStateDirty = true;
    }
    this.role = Role.Follower;
    this.leaderId = leader;
    this.progress.clear();
    this.resetElectionTimeout();
  }

  private campaign(): void {
    if (!this.mayCampaign()) { this.resetElectionTimeout(); return; }
    this.term++;
    this.votedFor = this.id;
    this.hardStateDirty = true;
    this.role = Role.Candidate;
    this.leaderId = -1;
    this.votes.clear();
    this.votes.add(this.id);
    this.resetElectionTimeout();
    if (this.quorum.isQuorum(this.granted)) {
      this.becomeLeader();
      return;
    }
    for (const id of this.voterOthers) {
      const m = message(MsgType.RequestVote, this.id, id, this.term);
      m.index = this.log.lastIndex;
      m.logTerm = this.log.lastTerm;
      this.sendAfter.push(m); // the vote for ourselves must be on disk first
    }
  }

  private becomeLeader(): void {
    this.role = Role.Leader;
    this.leaderId = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress.clear();
    for (const id of this.others) {
      const pr = new Progress(this.log.lastIndex + 1, this.cfg.maxInflight);
      pr.recentActive = true;
      this.progress.set(id, pr);
      this.sendHeartbeat(id, pr); // assert leadership at once
    }
    if (this.cfg.noopOnElection) this.log.append(this.term, NOOP);
    this.needBroadcast = true;
    if (this.maybeCommit()) this.needBroadcast = true;
  }

  private resetElectionTimeout(): void {
    this.electionElapsed = 0;
    this.electionTimeout = this.cfg.electionTicks + Math.floor(this.cfg.random() * this.cfg.electionTicks);
  }

  private quorumActive(): boolean {
    const active = this.quorum.isQuorum(this.heardFrom);
    for (const pr of this.progress.values()) pr.recentActive = false;
    return active;
  }

  // ---------------------------------------------------------------- votes

  private onRequestVote(m: Message): void {
    const r = this.reply(m, MsgType.RequestVoteReply);
    const canVote = this.votedFor === NO_VOTE || this.votedFor === m.from;
    const upToDate = m.logTerm > this.log.lastTerm || (m.logTerm === this.log.lastTerm && m.index >= this.log.lastIndex);
    if (canVote && upToDate && this.role === Role.Follower) {
      if (this.votedFor !== m.from) { this.votedFor = m.from; this.hardStateDirty = true; }
      this.resetElectionTimeout();
    } else {
      r.reject = true;
    }
  }

  private onRequestVoteReply(m: Message): void {
    if (this.role !== Role.Candidate || m.reject) return;
    this.votes.add(m.from);
    if (this.quorum.isQuorum(this.granted)) this.becomeLeader();
  }

  // ---------------------------------------------------------------- replication, follower side

  private acceptLeader(m: Message): void {
    if (this.role === Role.Leader) throw new InvariantError(`two leaders in term ${this.term}: ${this.id} and ${m.from}`);
    if (this.role === Role.Candidate) this.becomeFollower(this.term, m.from);
    this.leaderId = m.from;
    this.electionElapsed = 0;
  }

  private onAppendEntries(m: Message): void {
    this.acceptLeader(m);
    const r = this.reply(m, MsgType.AppendEntriesReply);
    const entries = m.entries;
    const count = entries ? entries.count : 0;
    let prev = m.index;
    let prevTerm = m.logTerm;
    let k = 0; // first entry of the batch still to look at
    if (prev < this.log.snapshotIndex) {
      // Entries through the snapshot are committed, so they match the leader's: skip them.
      const skip = Math.min(count, this.log.snapshotIndex - prev);
      if (skip < this.log.snapshotIndex - prev) { // the batch ends inside the snapshot
        r.index = prev + count;
        return;
      }
      k = skip;
      prev = this.log.snapshotIndex;
      prevTerm = this.log.snapshotTerm;
    }
    if (this.log.term(prev) !== prevTerm) {
      r.reject = true;
      r.index = m.index;
      if (prev > this.log.lastIndex) {
        r.logTerm = 0;
        r.hint = this.log.lastIndex + 1;
      } else {
        r.logTerm = this.log.term(prev);
        r.hint = this.log.firstIndexOfTermAt(prev);
      }
      return;
    }
    // Find the first entry we lack or that conflicts; never truncate entries that match.
    for (; k < count; k++) {
      const idx = entries!.firstIndex + k;
      if (idx > this.log.lastIndex) break;
      if (this.log.term(idx) !== entries!.terms[k]) {
        if (idx <= this.commitIndex) throw new InvariantError(`leader ${m.from} conflicts with committed entry ${idx} on ${this.id}`);
        if (this.role === Role.Leader) throw new InvariantError(`leader ${this.id} would truncate its own log at ${idx}`);
        this.log.truncateFrom(idx);
        if (this.memberships.truncateFrom(idx)) this.membershipChanged();
        break;
      }
    }
    if (k < count) {
      this.log.appendBatch(entries!, k);
      this.noteMembershipEntries(entries!, k);
    }
    const lastNew = m.index + count;
    if (m.commit > this.commitIndex) this.commitIndex = Math.max(this.commitIndex, Math.min(m.commit, lastNew));
    r.index = lastNew;
  }

  private onHeartbeat(m: Message): void {
    this.acceptLeader(m);
    // The leader sends min(its commit, our match), so our log agrees with it up to there.
    const c = Math.min(m.commit, this.log.lastIndex);
    if (c > this.commitIndex) this.commitIndex = c;
    const r = this.reply(m, MsgType.HeartbeatReply);
    r.index = this.log.lastIndex;
    r.hint = m.hint;
  }

  private onInstallSnapshot(m: Message): void {
    this.acceptLeader(m);
    const r = this.reply(m, MsgType.InstallSnapshotReply);
    r.index = m.index;
    if (m.index <= this.commitIndex) {
      // Stale or duplicate: we already have everything it covers.
      this.snapshotReceiver.discard();
      r.done = true;
      return;
    }
    const got = this.snapshotReceiver.receive(m);
    switch (got.kind) {
      case 'next': r.offset = got.offset; return;
      case 'refused': r.reject = true; r.offset = 0; return;
      case 'complete': r.offset = got.snapshot.data.byteLength; this.installSnapshot(got.snapshot); r.done = true; return;
    }
  }

  private installSnapshot(s: Snapshot): void {
    if (this.role === Role.Leader) throw new InvariantError(`leader ${this.id} would replace its own log by a snapshot`);
    // Figure 13 step 6: keep the entries that follow a snapshot the log agrees with; otherwise
    // discard the log, and the next Ready truncates storage after the snapshot.
    if (this.log.term(s.index) === s.term) {
      this.log.compact(s.index, s.term);
      this.memberships.compact(s.index);
    } else {
      this.log.reset(s.index, s.term);
      this.memberships.reset(s.membership ?? this.initialMembership, s.index);
    }
    this.membershipChanged();
    this.commitIndex = s.index;
    this.appliedIndex = s.index;
    this.snapshot = s;
    this.snapshotToPersist = s;
    this.snapshotToApply = s;
  }

  // ---------------------------------------------------------------- replication, leader side

  private onAppendEntriesReply(m: Message, pr: Progress): void {
    if (!m.reject) {
      if (pr.appendAccepted(m.index) && this.maybeCommit()) this.needBroadcast = true;
      this.sendAppends(m.from, pr, false);
      return;
    }
    // Retry after the follower's conflicting term if we hold it too, else at its hint.
    let retryAt = m.hint;
    if (m.logTerm > 0) {
      const li = this.log.lastIndexOfTerm(m.logTerm);
      if (li > 0) retryAt = li + 1;
    }
    this.followUp(m.from, pr, pr.appendRejected(m.index, retryAt, this.log.lastIndex));
  }

  private onInstallSnapshotReply(m: Message, pr: Progress): void {
    const match = pr.match;
    const next = pr.snapshotAnswered(m.index, m.done, m.reject, m.offset);
    if (pr.match > match && this.maybeCommit()) this.needBroadcast = true;
    this.followUp(m.from, pr, next);
  }

  private followUp(to: number, pr: Progress, what: FollowUp): void {
    switch (what) {
      case FollowUp.Nothing: return;
      case FollowUp.AppendOrProbe: this.sendAppends(to, pr, true); return;
      case FollowUp.SnapshotChunk: this.sendSnapshotChunk(to, pr); return;
    }
  }

  private broadcastAppend(): void {
    for (const id of this.others) this.sendAppends(id, this.progress.get(id)!, false);
  }

  /**
   * Tells followers about a commit that no AppendEntries has carried yet. Done once per tick,
   * not at every commit: under load the next append carries it for free, and with one command
   * at a time an extra round of messages per commit would double the leader's work.
   */
  private notifyCommit(): void {
    for (const id of this.others) {
      const pr = this.progress.get(id)!;
      if (Math.min(pr.match, this.commitIndex) > pr.sentCommit) this.sendHeartbeat(id, pr);
    }
  }

  /** Sends what the follower's state allows; returns whether anything went out. */
  private sendAppends(to: number, pr: Progress, sendIfEmpty: boolean): boolean {
    let sent = false;
    for (;;) {
      if (!pr.canSendAppend) return sent;
      if (pr.next > this.log.lastIndex + 1) pr.next = this.log.lastIndex + 1;
      const prev = pr.next - 1;
      const prevTerm = this.log.term(prev);
      if (prevTerm < 0) {
        // The follower needs entries we have compacted: send the snapshot instead.
        pr.becomeSnapshot(this.snapshot!.index);
        this.sendSnapshotChunk(to, pr);
        return true;
      }
      const hasEntries = pr.next <= this.log.lastIndex;
      if (!hasEntries && !(sendIfEmpty && !sent)) return sent;
      const m = message(MsgType.AppendEntries, this.id, to, this.term);
      m.index = prev;
      m.logTerm = prevTerm;
      m.commit = this.commitIndex;
      let last = prev;
      if (hasEntries) {
        m.entries = this.log.slice(pr.next, Math.min(this.log.lastIndex, pr.next + this.cfg.maxBatchEntries - 1), this.cfg.maxBatchBytes);
        last = batchLastIndex(m.entries);
      }
      const told = Math.min(this.commitIndex, last);
      if (told > pr.sentCommit) pr.sentCommit = told;
      this.sendNow.push(m);
      sent = true;
      if (!pr.sentAppend(last, hasEntries)) return sent;
    }
  }

  private sendHeartbeat(to: number, pr: Progress): void {
    const m = message(MsgType.Heartbeat, this.id, to, this.term);
    m.commit = Math.min(pr.match, this.commitIndex);
    m.hint = pr.next - 1;
    if (m.commit > pr.sentCommit) pr.sentCommit = m.commit;
    this.sendNow.push(m);
  }

  private sendSnapshotChunk(to: number, pr: Progress): void {
    const snap = this.snapshot!;
    if (pr.snapshotIndex !== snap.index) pr.becomeSnapshot(snap.index);
    const wire = this.snapshotBytes(snap);
    const total = wire.bytes.byteLength;
    const end = Math.min(total, pr.snapshotOffset + this.cfg.snapshotChunkBytes);
    const m = message(MsgType.InstallSnapshot, this.id, to, this.term);
    m.index = snap.index;
    m.logTerm = snap.term;
    m.hint = total;
    m.offset = pr.snapshotOffset;
    m.data = wire.bytes.subarray(pr.snapshotOffset, end);
    m.commit = wire.prefix;
    m.done = end >= total;
    pr.snapshotIdleTicks = 0;
    this.sendNow.push(m);
  }

  /** Commits the highest index stored on a majority, if it belongs to the current term (Figure 8). */
  private maybeCommit(): boolean {
    const mi = this.quorum.committedIndex(this.matchOf);
    if (mi > this.commitIndex && this.log.term(mi) === this.term) {
      this.commitIndex = mi;
      return true;
    }
    return false;
  }

  private reply(m: Message, type: MsgType): Message {
    const r = message(type, this.id, m.from, this.term);
    this.sendAfter.push(r);
    return r;
  }

  // ---------------------------------------------------------------- membership (rules in membership.ts)

  /** The configuration in force: the latest in the log (committed or not), else the snapshot's. */
  get membership(): Membership {
    return this.memberships.current;
  }

  /** Index of the entry that set `membership`, or of the snapshot that holds it; 0 for the options' peers. */
  get membershipIndex(): number {
    return this.memberships.currentIndex;
  }

  /**
   * Starts a membership change on the leader: appends C_old,new (or, when only learners come
   * or go, the new configuration at once). Once C_old,new commits the leader appends C_new
   * by itself; a leader that is not a voter of C_new steps down once C_new commits.
   * Throws ConfChangeError on bad input or while another change is in progress; on a
   * non-leader returns isLeader false and changes nothing (as propose does).
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    if (this.role !== Role.Leader || this.durableTerm !== this.term) return { index: -1, term: this.term, isLeader: false };
    const pending = this.memberships.currentIndex;
    if (pending > this.commitIndex) {
      throw new ConfChangeError(`a change is already in progress (${describeMembership(this.memberships.current)} at index ${pending}, not committed yet)`);
    }
    const next = enterChange(this.memberships.current, change);
    const index = this.appendMembership(next);
    return { index, term: this.term, isLeader: true };
  }

  /**
   * Voters stand for election; learners and peers outside the configuration do not. But a
   * voter of C_old,new that C_new removes still stands until it knows C_new committed: it may
   * hold the only log that can win (dissertation 4.2.2, Figure 4.6).
   */
  private mayCampaign(): boolean {
    if (isVoter(this.memberships.current, this.id)) return true;
    const at = this.memberships.currentIndex;
    return at > this.commitIndex && isVoter(this.memberships.at(at - 1), this.id);
  }

  /** Heard from a leader (or is one) within the minimum election timeout. */
  private hasCurrentLeader(): boolean {
    return this.leaderId !== -1 && this.electionElapsed < this.cfg.electionTicks;
  }

  private appendMembership(m: Membership): number {
    const index = this.log.append(this.term, encodeMembership(m));
    this.memberships.appended(index, m);
    this.membershipChanged();
    this.needBroadcast = true;
    return index;
  }

  /** Membership entries among entries fromK.. of a batch just appended to the log. */
  private noteMembershipEntries(b: EntryBatch, fromK: number): void {
    let changed = false;
    for (let k = fromK; k < b.count; k++) {
      const start = k === 0 ? 0 : b.ends[k - 1];
      if (b.data[start] !== 0xff || b.ends[k] - start < 8) continue; // cheap test first: this runs on every append
      const command = batchCommand(b, k);
      if (!isMembershipEntry(command)) continue;
      this.memberships.appended(b.firstIndex + k, decodeMembership(command));
      changed = true;
    }
    if (changed) this.membershipChanged();
  }

  /** The configuration in force changed: who is replicated to, asked for votes, counted. */
  private membershipChanged(): void {
    const m = this.memberships.current;
    this.quorum = new JointQuorum(m);
    this.peers = membersOf(m);
    this.others = this.peers.filter((p) => p !== this.id);
    this.voterOthers = this.others.filter((p) => isVoter(m, p));
    if (this.role !== Role.Leader) return;
    for (const id of this.others) {
      if (this.progress.has(id)) continue;
      // Probe from the entry before last: the newcomer's refusal tells where to start.
      const pr = new Progress(Math.max(1, this.log.lastIndex), this.cfg.maxInflight);
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
    // Peers that left are no longer sent to; their progress goes at the next tick, so that an
    // observer still sees the matches behind the decision that made the leader leave C_old,new.
    this.progressToPrune = this.progress.size > this.others.length;
  }

  /**
   * After each input, on the leader: leave a committed joint configuration. On a tick: step
   * down once removed (not in the input that commits C_new, so that the commit is seen from a
   * leader before it goes).
   */
  private membershipFollowUp(onTick: boolean): void {
    if (onTick && this.progressToPrune) {
      this.progressToPrune = false;
      for (const id of [...this.progress.keys()]) if (!this.others.includes(id)) this.progress.delete(id);
    }
    if (this.role !== Role.Leader || this.memberships.currentIndex > this.commitIndex) return;
    const m = this.memberships.current;
    if (isJoint(m)) {
      this.appendMembership(leaveJoint(m));
      return;
    }
    if (!onTick || m.voters.includes(this.id)) return;
    // Removed: tell the followers about the commit of C_new, then stop leading.
    for (const id of this.others) this.sendHeartbeat(id, this.progress.get(id)!);
    this.becomeFollower(this.term, -1);
  }

  /** The bytes an InstallSnapshot stream carries: the snapshot's configuration (if any), then its data. */
  private snapshotBytes(snap: Snapshot): { bytes: Uint8Array; prefix: number } {
    if (!snap.membership) return { bytes: snap.data, prefix: 0 };
    if (this.snapshotWire?.snap !== snap) {
      const head = encodeMembership(snap.membership);
      const bytes = new Uint8Array(head.byteLength + snap.data.byteLength);
      bytes.set(head, 0);
      bytes.set(snap.data, head.byteLength);
      this.snapshotWire = { snap, bytes, prefix: head.byteLength };
    }
    return this.snapshotWire;
  }
}
