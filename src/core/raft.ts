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
import { LeaderTransferError, TransferInProgressError } from './leader-transfer.js';
import { ReadOnly } from './read-only.js';
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
  /** Linearizable reads under way (see read-only.ts). */
  private readonly reads = new ReadOnly();
  /** Ticks since this core started: the clock of the lease and of forwarded reads. */
  private ticks = 0;
  /**
   * Restarted from a term above 0: this life cannot know whether, just before it went down,
   * it acknowledged a leader whose lease still holds (see ignoresCampaign).
   */
  private readonly restarted: boolean;
  /** This life's nonce on forwarded reads (0: none drawn yet); see readNonce. */
  private forwardNonce = 0;
  /** What checkInvariants() last saw: term and commit never move back. */
  private checkedTerm = 0;
  private checkedCommit = 0;
  /** Asking for pre-votes (role stays Follower, term unchanged): who granted one for term + 1. */
  private preCampaigning = false;
  private readonly preVotes = new Set<number>();
  /** Leader transfer under way: its target (-1: none), ticks since it began, TimeoutNow sent. */
  private transferTo = -1;
  private transferElapsed = 0;
  private timeoutNowSent = false;

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
  private readonly snapshotWire = new WeakMap<Snapshot, { bytes: Uint8Array; prefix: number }>();
  /**
   * The snapshot each follower in a transfer is being sent. A leader that takes a newer
   * snapshot meanwhile finishes the transfer it began instead of starting over at offset 0:
   * with frequent snapshots and a slow link, restarts could keep a follower from ever
   * catching up. The next transfer, if one is needed, sends the newest.
   */
  private readonly sending = new Map<number, Snapshot>();
  private readonly matchOf = (id: number): number => id === this.id ? this.stableIndex : this.progress.get(id)?.match ?? 0;
  private readonly granted = (id: number): boolean => this.votes.has(id);
  private readonly preGranted = (id: number): boolean => this.preVotes.has(id);
  /** Highest read round each voter has echoed (this leader has seen every round it sent). */
  private readonly echoedCtx = (id: number): number => id === this.id ? this.reads.currentCtx : this.reads.ackedCtx(id);
  private readonly heardFrom = (id: number): boolean => id === this.id || this.progress.get(id)?.recentActive === true;

  constructor(config: CoreConfig, persisted?: PersistedState | null) {
    this.cfg = resolveCoreConfig(config);
    this.id = this.cfg.id;
    this.initialMembership = simpleMembership(this.cfg.peers);
    this.memberships = new MembershipHistory(this.initialMembership);
    this.restarted = (persisted?.hardState.term ?? 0) > 0;
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
    this.tickReads();
    this.membershipFollowUp(true);
    this.checkInvariants();
  }

  private tickRole(): void {
    this.electionElapsed++;
    if (this.role === Role.Leader) {
      if (this.transferTo !== -1) this.tickTransfer();
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
        this.startReadRound();
        for (const id of this.others) this.sendHeartbeat(id, this.progress.get(id)!);
      } else {
        this.notifyCommit();
      }
    } else if (this.electionElapsed >= this.electionTimeout) {
      this.startElection();
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
    if (!this.admitsProposal()) return { index: -1, term: this.term, isLeader: false };
    const index = this.log.append(this.term, command);
    this.needBroadcast = true;
    return { index, term: this.term, isLeader: true };
  }

  /**
   * propose() of the command held in `buf[offset, offset + length)` (copied into the log),
   * for a runtime that reads commands out of a shared buffer: no view and no result object
   * per command. Returns the index (its term is `term`), or -1 if this peer does not accept
   * proposals; throws as propose() does.
   */
  proposeFrom(buf: Uint8Array, offset: number, length: number): number {
    if (length === 0 && this.cfg.noopOnElection) checkCommand(buf.subarray(offset, offset), this.cfg.maxCommandBytes, true);
    if (length > this.cfg.maxCommandBytes) checkCommand(buf.subarray(offset, offset + length), this.cfg.maxCommandBytes, this.cfg.noopOnElection);
    if (!this.admitsProposal()) return -1;
    const index = this.log.appendFrom(this.term, buf, offset, length);
    this.needBroadcast = true;
    return index;
  }

  /** Whether a proposal may be appended now: false when not (yet) a leader; throws for a transfer or back-pressure. */
  private admitsProposal(): boolean {
    if (this.role !== Role.Leader || this.durableTerm !== this.term) return false;
    if (this.transferTo !== -1) throw new TransferInProgressError(this.id, this.transferTo);
    const uncommitted = this.log.lastIndex - this.commitIndex;
    // Entries of earlier terms commit only behind one of this term (Figure 8): a leader that
    // holds none must accept one whatever the backlog, or nothing would ever commit again.
    if (uncommitted >= this.cfg.maxUncommittedEntries && this.log.lastTerm === this.term) {
      throw new BackpressureError(uncommitted, this.cfg.maxUncommittedEntries);
    }
    return true;
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
    // Vote stickiness (and, in lease mode, the lease's promise): a peer that hears from a
    // current leader ignores campaigns, unless they come from a leader transfer.
    if (this.ignoresCampaign(m)) return;
    if ((m.type === MsgType.RequestVote || m.type === MsgType.PreVote) && this.ignoresNonVoter(m)) return;
    if (m.term > this.term && !isPreVoteTraffic(m)) {
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
        case MsgType.PreVote: { const r = this.reply(m, MsgType.PreVoteReply); r.reject = true; break; }
        case MsgType.ReadIndex: { const r = this.reply(m, MsgType.ReadIndexReply); r.reject = true; r.hint = m.hint; r.commit = m.commit; break; }
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
      case MsgType.PreVote: return this.onPreVote(m);
      case MsgType.PreVoteReply: return this.onPreVoteReply(m);
      case MsgType.TimeoutNow: return this.onTimeoutNow();
      case MsgType.ReadIndex: return this.onReadIndex(m);
      case MsgType.ReadIndexReply: if (m.commit === this.forwardNonce) this.reads.answered(m.hint, m.from, m.index, m.reject); return;
      case MsgType.AppendEntriesReply:
      case MsgType.HeartbeatReply:
      case MsgType.InstallSnapshotReply: {
        // A follower's reply: only a leader cares, and it hears that the follower is alive.
        if (this.role !== Role.Leader) return;
        const pr = this.progress.get(m.from);
        if (!pr) return;
        pr.recentActive = true;
        if (m.type === MsgType.HeartbeatReply) this.onReadEcho(m);
        if (m.type === MsgType.AppendEntriesReply) this.onAppendEntriesReply(m, pr);
        else if (m.type === MsgType.HeartbeatReply) this.followUp(m.from, pr, pr.heartbeatAnswered(m.index, m.hint, this.log.lastIndex, this.cfg.heartbeatTicks));
        else this.onInstallSnapshotReply(m, pr);
        if (m.from === this.transferTo) this.maybeSendTimeoutNow(pr);
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
    return this.needBroadcast || this.hardStateDirty || this.readsHaveOutput() || this.snapshotToPersist !== null || this.log.hasUnstable() ||
      this.commitIndex > this.appliedIndex || this.sendNow.length > 0 || this.sendAfter.length > 0;
  }

  ready(): Ready {
    if (this.needBroadcast) {
      this.needBroadcast = false;
      if (this.role === Role.Leader) this.broadcastAppend();
    }
    this.flushReads();
    const reads = this.reads.take();
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
      readStates: reads.states,
      readsFailed: reads.failed,
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
    if (this.role === Role.Candidate && this.durableTerm === this.term && this.quorum.isQuorum(this.granted)) this.becomeLeader();
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
    if (this.preCampaigning && this.role !== Role.Follower) throw new InvariantError(`peer ${this.id} asks for pre-votes as a ${Role[this.role]}`);
    if (this.transferTo !== -1 && this.role !== Role.Leader) throw new InvariantError(`peer ${this.id} transfers a leadership it does not hold`);
    this.checkedTerm = this.term;
    this.checkedCommit = this.commitIndex;
  }

  // ---------------------------------------------------------------- queries

  get isLeader(): boolean {
    return this.role === Role.Leader;
  }

  /** Leader with its term on disk: propose() would accept (a new leader's term lands a moment after it wins). */
  get acceptsProposals(): boolean {
    return this.role === Role.Leader && this.durableTerm === this.term;
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
    this.sending.clear();
    this.preCampaigning = false;
    this.transferTo = -1;
    this.resetElectionTimeout();
    this.readsRoleChanged();
  }

  /** `transfer`: the campaign a TimeoutNow asked for; its RequestVotes pass vote stickiness. */
  private campaign(transfer = false): void {
    this.preCampaigning = false;
    if (!this.mayCampaign()) { this.resetElectionTimeout(); return; }
    this.term++;
    this.votedFor = this.id;
    this.hardStateDirty = true;
    this.role = Role.Candidate;
    this.leaderId = -1;
    this.votes.clear();
    this.votes.add(this.id);
    this.resetElectionTimeout();
    this.readsRoleChanged();
    // A voter that is its own quorum wins once its term and vote are on disk (advance): a
    // leader of a term it could lose in a crash would write entries that another life of it
    // could write differently in the same term.
    if (this.quorum.isQuorum(this.granted)) return;
    for (const id of this.voterOthers) {
      const m = message(MsgType.RequestVote, this.id, id, this.term);
      m.index = this.log.lastIndex;
      m.logTerm = this.log.lastTerm;
      m.done = transfer;
      this.sendAfter.push(m); // the vote for ourselves must be on disk first
    }
  }

  private becomeLeader(): void {
    this.role = Role.Leader;
    this.leaderId = this.id;
    this.transferTo = -1;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress.clear();
    this.sending.clear();
    this.readsRoleChanged();
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
    const upToDate = this.isUpToDate(m);
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
    this.preCampaigning = false;
    if (this.leaderId !== m.from) { this.leaderId = m.from; this.readsRoleChanged(); }
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
        this.retractAcksFrom(idx);
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
    r.offset = m.offset; // the read context id, echoed
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
      this.retractAcksFrom(s.index + 1);
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
    if (pr.state !== ProgressState.Snapshot) this.sending.delete(m.from); // installed: the transfer is over
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
        m.entries = this.log.sliceShared(pr.next, Math.min(this.log.lastIndex, pr.next + this.cfg.maxBatchEntries - 1), this.cfg.maxBatchBytes);
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
    m.offset = this.reads.currentCtx;
    if (m.commit > pr.sentCommit) pr.sentCommit = m.commit;
    this.sendNow.push(m);
  }

  private sendSnapshotChunk(to: number, pr: Progress): void {
    let snap = this.sending.get(to);
    if (snap === undefined || snap.index !== pr.snapshotIndex || pr.state !== ProgressState.Snapshot) {
      snap = this.snapshot!;
      this.sending.set(to, snap);
      if (pr.snapshotIndex !== snap.index || pr.state !== ProgressState.Snapshot) pr.becomeSnapshot(snap.index);
    }
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

  // ---------------------------------------------------------------- pre-vote, vote stickiness, leader transfer, stalled disk

  /** Asking for pre-votes before campaigning (the role stays Follower meanwhile). */
  get isPreCandidate(): boolean {
    return this.preCampaigning;
  }

  /** The peer this leader is handing its leadership to, or -1. */
  get transferTarget(): number {
    return this.transferTo;
  }

  /**
   * Hands the leadership to peer `to` (dissertation 3.10): brings its log up to date, then
   * sends it TimeoutNow so that it campaigns at once. Proposals are refused meanwhile
   * (TransferInProgressError); the transfer is aborted if `to` has not won after an election
   * timeout. Throws if this peer does not lead, for itself, an unknown peer, or while one is
   * under way.
   */
  transferLeader(to: number): void {
    if (!Number.isInteger(to)) throw new TypeError(`leader transfer target must be a peer id, got ${String(to)}`);
    if (this.role !== Role.Leader) {
      throw new LeaderTransferError('not-leader', `leader transfer to peer ${to} refused: peer ${this.id} is not the leader (${this.leaderId >= 0 ? `peer ${this.leaderId} is` : 'no leader is known'})`);
    }
    if (to === this.id) throw new RangeError(`leader transfer to peer ${to} refused: it is this leader itself`);
    if (!this.peers.includes(to)) throw new RangeError(`leader transfer to peer ${to} refused: not a peer of this cluster (peers ${this.peers.join(', ')})`);
    if (!this.memberships.current.voters.includes(to)) throw new RangeError(`leader transfer to peer ${to} refused: it is not a voter of the configuration in force (${describeMembership(this.memberships.current)})`);
    if (this.transferTo !== -1) throw new TransferInProgressError(this.id, this.transferTo, `leader transfer to peer ${to} refused`);
    this.transferTo = to;
    this.transferElapsed = 0;
    this.timeoutNowSent = false;
    const pr = this.progress.get(to)!;
    if (!this.maybeSendTimeoutNow(pr)) this.sendAppends(to, pr, true);
  }

  /**
   * The runtime saw this leader's own log write hang past its bound: stop leading (and so
   * heartbeating), so that a peer with a working disk takes over. Returns whether it led.
   * The core has no clock; the runtime measures the stall.
   */
  stepDownForStall(): boolean {
    if (this.role !== Role.Leader) return false;
    this.becomeFollower(this.term, -1);
    return true;
  }

  private tickTransfer(): void {
    if (++this.transferElapsed >= this.cfg.electionTicks) this.transferTo = -1; // the target did not win: abort
  }

  /** Sends TimeoutNow once the transfer's target holds the whole log; returns whether it went out. */
  private maybeSendTimeoutNow(pr: Progress): boolean {
    if (this.timeoutNowSent || pr.match !== this.log.lastIndex) return false;
    this.timeoutNowSent = true;
    this.sendNow.push(message(MsgType.TimeoutNow, this.id, this.transferTo, this.term));
    return true;
  }

  private onTimeoutNow(): void {
    if (this.role === Role.Leader) return;
    this.campaign(true); // no pre-vote: the leader asked for it
  }

  /**
   * Vote stickiness (dissertation 4.2.3): a peer that heard from a current leader within the
   * minimum election timeout ignores requests to elect a newer one, unless a leader transfer
   * asked for them. Only with check-quorum, which deposes a leader cut off from a majority:
   * without it, a leader that reaches its followers but not the reverse could hold them forever.
   */
  private ignoresCampaign(m: Message): boolean {
    if ((m.type !== MsgType.RequestVote && m.type !== MsgType.PreVote) || m.term <= this.term || m.done) return false;
    // Lease reads: a peer that acknowledged a leader and then restarted has forgotten it heard
    // from one. Its vote could elect a new leader while the old one's lease (resting on that
    // acknowledgement) still holds, so it votes for no one until a whole election timeout of
    // its new life has passed: by then any lease it took part in has run out.
    if (this.cfg.readMode === 'lease' && this.restarted && this.ticks < this.cfg.electionTicks) return true;
    return this.cfg.checkQuorum && this.leaderId !== -1 && (this.role === Role.Leader || this.electionElapsed < this.cfg.electionTicks);
  }

  private startElection(): void {
    if (!this.mayCampaign()) { this.resetElectionTimeout(); return; } // learners and removed peers wait
    if (this.cfg.preVote) this.preCampaign();
    else this.campaign();
  }

  /** Asks every peer whether it would vote for us in term + 1; nothing changes on disk. */
  private preCampaign(): void {
    if (this.role !== Role.Follower) this.becomeFollower(this.term, -1);
    this.leaderId = -1; // we timed out on it
    this.resetElectionTimeout();
    this.preCampaigning = true;
    this.preVotes.clear();
    this.preVotes.add(this.id);
    if (this.quorum.isQuorum(this.preGranted)) {
      this.campaign();
      return;
    }
    for (const id of this.voterOthers) {
      const m = message(MsgType.PreVote, this.id, id, this.term + 1);
      m.index = this.log.lastIndex;
      m.logTerm = this.log.lastTerm;
      this.sendAfter.push(m);
    }
  }

  /** Grants a pre-vote for a newer term to an up-to-date log; the grant carries that term. */
  private onPreVote(m: Message): void {
    const upToDate = this.isUpToDate(m);
    const r = this.reply(m, MsgType.PreVoteReply);
    if (m.term > this.term && upToDate) r.term = m.term;
    else r.reject = true;
  }

  private onPreVoteReply(m: Message): void {
    if (!this.preCampaigning || m.reject || m.term !== this.term + 1) return;
    this.preVotes.add(m.from);
    if (this.quorum.isQuorum(this.preGranted)) this.campaign();
  }

  /**
   * Entries from `index` on are about to go: a success reply still waiting in sendAfter
   * (a slow write holds it back) must not claim them, or a leader could count entries this
   * peer no longer holds. The leader learns the truth from the next exchange.
   */
  private retractAcksFrom(index: number): void {
    if (this.sendAfter.length === 0) return;
    this.sendAfter = this.sendAfter.filter((r) => !(r.type === MsgType.AppendEntriesReply && !r.reject && r.index >= index));
  }

  private reply(m: Message, type: MsgType): Message {
    const r = message(type, this.id, m.from, this.term);
    this.sendAfter.push(r);
    return r;
  }

  // ---------------------------------------------------------------- reads (read-only.ts keeps the state)

  /**
   * Asks for a linearizable read under `id` (a non-negative integer the caller chooses, unique
   * among its reads under way). A later Ready reports it in readStates with the index the
   * state machine must have applied before the read may be served, or in readsFailed (this
   * peer lost or has no leader, or a forwarded read timed out): never both, exactly once.
   * On the leader (dissertation 6.4): the commit index, once an entry of this term has
   * committed, confirmed by a heartbeat round to a majority (or by the lease in readMode
   * 'lease'). On a follower: the read is forwarded to the leader, which answers the index.
   */
  readIndex(id: number): void {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`read id must be a non-negative safe integer, got ${id}`);
    if (this.role === Role.Leader) {
      this.leaderRead(id, -1);
    } else if (this.leaderId >= 0) {
      this.reads.forward(id, this.leaderId, this.ticks);
      const m = message(MsgType.ReadIndex, this.id, this.leaderId, this.term);
      m.hint = id;
      m.commit = this.readNonce();
      this.sendAfter.push(m); // our term may not be on disk yet
    } else {
      this.reads.fail(id);
    }
  }

  /** Reads this peer has under way: its own and forwarded ones on a leader, forwarded ones on a follower. */
  get readsPending(): number {
    return this.reads.pendingCount + this.reads.forwardedCount;
  }

  /** Lease reads: the lease a majority's acknowledgement gives, in this peer's ticks. */
  get leaseTicks(): number {
    return this.cfg.electionTicks - this.cfg.leaseDriftTicks;
  }

  /**
   * Read ids restart with every life of a peer, so a forwarded read also carries this life's
   * nonce (drawn at the first forward), and an answer meant for an earlier life is ignored.
   */
  private readNonce(): number {
    if (this.forwardNonce === 0) this.forwardNonce = 1 + Math.floor(this.cfg.random() * 2 ** 48);
    return this.forwardNonce;
  }

  /**
   * Lease reads: the index a read taken now may be served at without a read id, or -1 when it
   * must go through readIndex (not the leader, not readMode 'lease', no entry of this term
   * committed yet, a transfer under way, or the lease has run out). It is the answer
   * readIndex would report for the read, so a runtime may use it to serve a read in the turn
   * it arrives instead of a Ready later.
   */
  leaseReadIndex(): number {
    return this.role === Role.Leader && this.leaseServesReads() ? this.commitIndex : -1;
  }

  /** On the leader: whether a read taken now is confirmed by the lease alone. */
  private leaseServesReads(): boolean {
    // Not while handing leadership over: the target may win before the lease runs out.
    return this.cfg.readMode === 'lease' && this.transferTo === -1 && this.committedInTerm() && this.reads.leaseValid(this.ticks, this.leaseTicks);
  }

  private leaderRead(id: number, from: number, nonce = 0): void {
    if (this.leaseServesReads()) {
      this.answerRead(id, from, this.commitIndex, nonce);
      return;
    }
    this.reads.enqueue(id, from, this.committedInTerm() ? this.commitIndex : -1, nonce);
  }

  private answerRead(id: number, from: number, index: number, nonce: number): void {
    if (from < 0) { this.reads.ready(id, index); return; }
    const r = message(MsgType.ReadIndexReply, this.id, from, this.term);
    r.index = index;
    r.hint = id;
    r.commit = nonce;
    this.sendNow.push(r); // a leader's term is on disk (it voted for itself first)
  }

  /** A new leader serves reads only once an entry of its own term has committed (the no-op). */
  private committedInTerm(): boolean {
    return this.log.term(this.commitIndex) === this.term;
  }

  private onReadIndex(m: Message): void {
    if (this.role !== Role.Leader) {
      const r = this.reply(m, MsgType.ReadIndexReply);
      r.reject = true;
      r.hint = m.hint;
      r.commit = m.commit;
      return;
    }
    this.leaderRead(m.hint, m.from, m.commit);
  }

  private readsHaveOutput(): boolean {
    return this.reads.hasOutput() || (this.role === Role.Leader && this.reads.needsRound(this.committedInTerm()));
  }

  /** Before a Ready: reads taken since the last round get one heartbeat round, all together. */
  private flushReads(): void {
    if (this.role !== Role.Leader) return;
    if (this.committedInTerm()) this.reads.termCommitted(this.commitIndex);
    if (!this.reads.needsRound(false)) return;
    this.startReadRound();
    for (const id of this.others) this.sendHeartbeat(id, this.progress.get(id)!);
    this.confirmReads(); // a single peer is its own majority
  }

  private startReadRound(): void {
    this.reads.startRound(this.ticks, this.leaseTicks);
  }

  private onReadEcho(m: Message): void {
    if (m.offset <= 0) return;
    this.reads.echoed(m.from, m.offset);
    this.confirmReads();
  }

  private confirmReads(): void {
    for (const r of this.reads.confirm(this.quorum.committedIndex(this.echoedCtx))) {
      if (r.from >= 0) this.answerRead(r.id, r.from, r.index, r.nonce);
    }
  }

  /** Leadership began, ended or moved: reads that depended on the old one fail. */
  private readsRoleChanged(): void {
    for (const r of this.reads.resetLeader()) {
      const m = message(MsgType.ReadIndexReply, this.id, r.from, this.term);
      m.hint = r.id;
      m.commit = r.nonce;
      m.reject = true;
      this.sendAfter.push(m); // a new term may not be on disk yet
    }
    this.reads.expireForwarded(this.role === Role.Leader ? -1 : this.leaderId, this.ticks, this.cfg.electionTicks);
    if (this.role === Role.Leader) this.startReadRound(); // the first heartbeats start the lease
  }

  private tickReads(): void {
    this.ticks++;
    // A forwarded read whose request or answer was lost fails after an election timeout.
    if (this.reads.forwardedCount > 0) this.reads.expireForwarded(this.role === Role.Leader ? -1 : this.leaderId, this.ticks, this.cfg.electionTicks);
  }

  /**
   * Lease reads rest on this: a follower that heard from its leader within electionTicks
   * ignores vote requests (as etcd does with checkQuorum), so no other leader can be elected
   * while the leader's lease holds.
   */

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

  /**
   * A removed (or not yet added) peer cannot disrupt the cluster: not even its term counts
   * while a leader is heard, nor when its log is behind this one (a removed peer never gets
   * the entries after its removal, and without pre-vote its ever higher terms would keep
   * deposing candidates). A non-voter with an up-to-date log is heard when no leader is: this
   * peer's configuration may lag, not knowing that the candidate was (re-)added.
   */
  private ignoresNonVoter(m: Message): boolean {
    if (isVoter(this.memberships.current, m.from)) return false;
    return this.hasCurrentLeader() || !this.isUpToDate(m);
  }

  /** The candidate's last (index, term) in `m` is at least as up to date as this log's (section 5.4.1). */
  private isUpToDate(m: Message): boolean {
    return m.logTerm > this.log.lastTerm || (m.logTerm === this.log.lastTerm && m.index >= this.log.lastIndex);
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
   * leader before it goes), or promote a caught-up learner (autoPromoteLearners).
   */
  private membershipFollowUp(onTick: boolean): void {
    if (onTick && this.progressToPrune) {
      this.progressToPrune = false;
      for (const id of [...this.progress.keys()]) if (!this.others.includes(id)) { this.progress.delete(id); this.sending.delete(id); }
    }
    if (this.role !== Role.Leader || this.memberships.currentIndex > this.commitIndex) return;
    const m = this.memberships.current;
    if (isJoint(m)) {
      this.appendMembership(leaveJoint(m));
      return;
    }
    if (m.voters.includes(this.id)) {
      if (onTick) this.maybePromoteLearner(m);
      return;
    }
    if (!onTick) return;
    // Removed: tell the followers about the commit of C_new, then stop leading.
    for (const id of this.others) this.sendHeartbeat(id, this.progress.get(id)!);
    this.becomeFollower(this.term, -1);
  }

  /**
   * autoPromoteLearners: with no change in progress (the caller checked) and no transfer, the
   * first learner whose match is within the bound of this leader's last index becomes a voter
   * (through C_old,new, as any change of voters).
   */
  private maybePromoteLearner(m: Membership): void {
    const within = this.cfg.autoPromoteLearners;
    if (within < 0 || m.learners.length === 0 || this.transferTo !== -1 || this.durableTerm !== this.term) return;
    for (const id of m.learners) {
      const pr = this.progress.get(id);
      if (pr && pr.match > 0 && pr.match + within >= this.log.lastIndex) {
        this.appendMembership(enterChange(m, { promoteLearners: [id] }));
        return;
      }
    }
  }

  /** The bytes an InstallSnapshot stream carries: the snapshot's configuration (if any), then its data. */
  private snapshotBytes(snap: Snapshot): { bytes: Uint8Array; prefix: number } {
    if (!snap.membership) return { bytes: snap.data, prefix: 0 };
    let wire = this.snapshotWire.get(snap);
    if (!wire) {
      const head = encodeMembership(snap.membership);
      const bytes = new Uint8Array(head.byteLength + snap.data.byteLength);
      bytes.set(head, 0);
      bytes.set(snap.data, head.byteLength);
      wire = { bytes, prefix: head.byteLength };
      this.snapshotWire.set(snap, wire);
    }
    return wire;
  }
}


/** A pre-vote or a granted pre-vote reply: they name a term no one is in yet, and change no one's term. */
function isPreVoteTraffic(m: Message): boolean {
  return m.type === MsgType.PreVote || (m.type === MsgType.PreVoteReply && !m.reject);
}
