/** Membership changes by joint consensus, with learners: the rules of membership.ts and their hooks in RaftCore. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeBatch } from '../../src/core/entry-batch.js';
import { ConfChangeError, Membership, enterChange, simpleMembership } from '../../src/core/membership.js';
import { decodeMembership, encodeMembership, isMembershipEntry } from '../../src/core/membership-entry.js';
import { MsgType } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { Role } from '../../src/core/types.js';
import {
  allMsgs, appendEntries, appendOk, bytes, config, drain, installSnapshot, makeLeader, msg, msgsOfType, requestVote, stepDrain, tickDrain, voteReply,
} from './helpers.js';

const joint = (outgoing: number[], voters: number[], learners: number[] = []): Membership => ({ voters, outgoing, learners });

/** A leader of term 1 over `peers` whose no-op-free log is empty and durable. */
function leaderOf(peers = [1, 2, 3]): RaftCore {
  const c = new RaftCore(config({ id: 1, peers }));
  makeLeader(c);
  drain(c);
  return c;
}

/** Acknowledges everything through `index` from each of `ids`. */
function ack(c: RaftCore, ids: number[], index: number): void {
  for (const id of ids) stepDrain(c, appendOk(id, c.id, c.term, index));
}

describe('membership rules (enterChange)', () => {
  const m = simpleMembership([1, 2, 3], [4]);

  test('a change of voters enters a joint configuration; learners alone change at once', () => {
    assert.deepEqual(enterChange(m, { addVoters: [5], removeVoters: [1] }), joint([1, 2, 3], [2, 3, 5], [4]));
    assert.deepEqual(enterChange(m, { promoteLearners: [4] }), joint([1, 2, 3], [1, 2, 3, 4]));
    assert.deepEqual(enterChange(m, { addLearners: [6], removeLearners: [4] }), simpleMembership([1, 2, 3], [6]));
  });

  test('bad input is refused with a message that names the problem', () => {
    const refused = (change: object, re: RegExp): void => assert.throws(() => enterChange(m, change), (e: Error) => e instanceof ConfChangeError && re.test(e.message));
    refused({ addVoters: [2] }, /peer 2 is already a voter/);
    refused({ addLearners: [4] }, /peer 4 is already a learner/);
    refused({ removeVoters: [9] }, /cannot remove voter 9: it is not a member \(unknown id\)/);
    refused({ removeVoters: [4] }, /cannot remove voter 4: it is a learner \(use removeLearners\)/);
    refused({ promoteLearners: [2] }, /peer 2 is not a learner: it is a voter/);
    refused({ removeVoters: [1, 2, 3] }, /would remove the last voters/);
    refused({ addVoters: [5], addLearners: [5] }, /peer 5 appears in both addVoters and addLearners/);
    refused({}, /the change is empty/);
    assert.throws(() => enterChange(simpleMembership([7]), { removeVoters: [7] }), /would remove the last voter \(7\)/);
    assert.throws(() => enterChange(joint([1, 2, 3], [1, 2]), { addVoters: [5] }), /a change is already in progress/);
    assert.throws(() => enterChange(m, { addVoter: [5] } as object), /unknown membership change field addVoter/);
    assert.throws(() => enterChange(m, { addVoters: [-1] }), /addVoters: -1 is not a peer id/);
  });

  test('a membership entry round-trips and user commands cannot look like one', () => {
    const e = encodeMembership(joint([1, 2, 3], [2, 3, 5], [4]));
    assert.ok(isMembershipEntry(e));
    assert.deepEqual(decodeMembership(e), joint([1, 2, 3], [2, 3, 5], [4]));
    assert.ok(!isMembershipEntry(bytes('hello world')));
    const c = leaderOf();
    assert.throws(() => c.propose(e), /reserved|mark membership entries/);
  });
});

describe('joint consensus on the leader', () => {
  test('a joint configuration commits only with a majority of the old and of the new voters, then the leader leaves it', () => {
    const c = leaderOf();
    const r = c.proposeConfChange({ addVoters: [4, 5], removeVoters: [2, 3] });
    assert.ok(r.isLeader);
    assert.deepEqual(c.membership, joint([1, 2, 3], [1, 4, 5]), 'in force as soon as appended');
    const rds = drain(c);
    assert.ok(msgsOfType(rds, MsgType.AppendEntries, 4).length + msgsOfType(rds, MsgType.AppendEntries, 5).length > 0, 'the new voters are replicated to');
    ack(c, [4, 5], r.index);
    assert.equal(c.commitIndex, 0, 'the new voters alone (3 of 3 with the leader) are not a majority of the old ones (1 of 3)');
    ack(c, [2], r.index);
    assert.equal(c.commitIndex, r.index, 'majority of both: committed');
    assert.deepEqual(c.membership, simpleMembership([1, 4, 5]), 'the leader appended C_new by itself');
    assert.equal(c.log.lastIndex, r.index + 1);
    assert.throws(() => c.proposeConfChange({ addLearners: [6] }), /a change is already in progress \(voters \[1,4,5\] at index 2, not committed yet\)/);
    ack(c, [2, 3], r.index + 1);
    assert.equal(c.commitIndex, r.index, 'removed voters do not count for C_new');
    ack(c, [4], r.index + 1);
    assert.equal(c.commitIndex, r.index + 1);
    const later = tickDrain(c, 1);
    assert.equal(c.progressOf(2), undefined, 'a removed peer is forgotten at the next tick');
    assert.equal(allMsgs(later).filter((m) => m.to === 2 || m.to === 3).length, 0, 'and no longer sent to');
    assert.ok(c.progressOf(5));
    assert.ok(c.proposeConfChange({ addLearners: [6] }).isLeader, 'the next change is accepted once C_new commits');
  });

  test('a second change while one is in progress is refused, and the cluster keeps working', () => {
    const c = leaderOf();
    c.proposeConfChange({ addVoters: [4] });
    assert.throws(() => c.proposeConfChange({ addVoters: [5] }), (e: Error) => e instanceof ConfChangeError && /already in progress/.test(e.message));
    const p = c.propose(bytes('x'));
    assert.ok(p.isLeader);
    drain(c);
    ack(c, [2, 4], p.index);
    assert.equal(c.commitIndex, p.index);
  });

  test('a non-leader changes nothing', () => {
    const c = new RaftCore(config({ id: 2 }));
    assert.deepEqual(c.proposeConfChange({ addVoters: [4] }), { index: -1, term: 0, isLeader: false });
    assert.deepEqual(c.membership, simpleMembership([1, 2, 3]));
  });

  test('a leader removed from the configuration steps down once C_new commits, and never campaigns', () => {
    const c = leaderOf();
    const r = c.proposeConfChange({ removeVoters: [1] });
    drain(c);
    ack(c, [2, 3], r.index);
    assert.equal(c.commitIndex, r.index);
    assert.deepEqual(c.membership, simpleMembership([2, 3]));
    drain(c);
    ack(c, [2], r.index + 1);
    assert.equal(c.role, Role.Leader, 'C_new needs both of [2, 3]: the leader no longer counts itself');
    stepDrain(c, appendOk(3, 1, c.term, r.index + 1));
    assert.equal(c.commitIndex, r.index + 1);
    assert.equal(c.role, Role.Leader, 'steps down on the next tick, not inside the input that commits');
    const rds = tickDrain(c, 1);
    assert.equal(c.role, Role.Follower, 'stepped down');
    assert.ok(msgsOfType(rds, MsgType.Heartbeat).some((m) => m.commit === r.index + 1), 'the followers hear of the commit of C_new');
    const later = tickDrain(c, 10 * c.cfg.electionTicks);
    assert.equal(msgsOfType(later, MsgType.RequestVote).length, 0, 'a removed peer never campaigns');
    assert.equal(c.role, Role.Follower);
  });

  test('learners receive the log but count toward no quorum', () => {
    const c = leaderOf();
    const r = c.proposeConfChange({ addLearners: [4] });
    assert.deepEqual(c.membership, simpleMembership([1, 2, 3], [4]), 'no joint configuration for learners');
    const p = c.propose(bytes('x'));
    const rds = drain(c);
    assert.ok(msgsOfType(rds, MsgType.AppendEntries, 4).length > 0, 'the learner is replicated to');
    ack(c, [4], p.index);
    assert.equal(c.commitIndex, 0, 'leader + learner are not a majority of 3 voters');
    ack(c, [2], p.index);
    assert.equal(c.commitIndex, p.index);
    assert.ok(r.index < p.index);
    const pr = c.proposeConfChange({ promoteLearners: [4] });
    assert.deepEqual(c.membership, joint([1, 2, 3], [1, 2, 3, 4]));
    drain(c);
    ack(c, [2], pr.index);
    assert.equal(c.commitIndex, pr.index - 1, '2 of the new 4 voters are not a majority');
    ack(c, [4], pr.index);
    assert.equal(c.commitIndex, pr.index);
  });
});

describe('elections and followers under a changing configuration', () => {
  /** A follower whose log holds, at index 1, the joint configuration [1,2,3] -> [1,4,5]. */
  function jointFollower(id: number, m: Membership = joint([1, 2, 3], [1, 4, 5])): RaftCore {
    return new RaftCore(config({ id, peers: [1, 2, 3], joining: ![1, 2, 3].includes(id) }), {
      hardState: { term: 1, votedFor: -1 }, snapshot: null, entries: makeBatch(1, [{ term: 1, command: encodeMembership(m) }]),
    });
  }

  test('a candidate in a joint configuration asks every voter and needs a majority of each half', () => {
    const c = jointFollower(1);
    const rds = tickDrain(c, c.cfg.electionTicks); // fixed(0): the timeout is exactly electionTicks
    assert.equal(c.role, Role.Candidate);
    assert.deepEqual(msgsOfType(rds, MsgType.RequestVote).map((m) => m.to).sort(), [2, 3, 4, 5]);
    stepDrain(c, voteReply(4, 1, c.term, true));
    stepDrain(c, voteReply(5, 1, c.term, true));
    assert.equal(c.role, Role.Candidate, 'all of the new voters, 1 of 3 old ones');
    stepDrain(c, voteReply(2, 1, c.term, true));
    assert.equal(c.role, Role.Leader);
  });

  test('a peer that is not a voter does not campaign: a learner, a peer waiting to join', () => {
    for (const c of [jointFollower(6, simpleMembership([1, 2, 3], [6])), new RaftCore(config({ id: 6, peers: [1, 2, 3], joining: true }))]) {
      const rds = tickDrain(c, 10 * c.cfg.electionTicks);
      assert.equal(c.role, Role.Follower);
      assert.equal(allMsgs(rds).length, 0);
    }
  });

  test('a vote request from a peer outside the configuration is ignored, term and all, while a leader is heard', () => {
    const c = new RaftCore(config({ id: 2 }));
    stepDrain(c, appendEntries(1, 2, 1, 0, 0));
    const rds = stepDrain(c, requestVote(9, 2, 5, 10, 4));
    assert.equal(c.term, 1);
    assert.equal(allMsgs(rds).length, 0);
    const l = leaderOf();
    stepDrain(l, requestVote(9, 1, 5, 10, 4));
    assert.equal(l.role, Role.Leader, 'the leader is not deposed');
    // Without a leader the request is heard: this peer's configuration may lag behind the candidate's.
    const lone = new RaftCore(config({ id: 3 }));
    const reply = msgsOfType(stepDrain(lone, requestVote(9, 3, 5, 10, 4)), MsgType.RequestVoteReply)[0];
    assert.equal(lone.term, 5);
    assert.ok(reply && !reply.reject);
  });

  test('without a leader, a vote request from outside the configuration with a log behind this one is ignored, term and all', () => {
    // Peer 3 was removed: it never got the entries after C_new, and with pre-vote off its
    // ever higher terms would depose every candidate of the remaining voters.
    const c = new RaftCore(config({ id: 1, peers: [1, 2, 3] }), {
      hardState: { term: 2, votedFor: -1 }, snapshot: null,
      entries: makeBatch(1, [{ term: 1, command: encodeMembership(joint([1, 2, 3], [1, 2])) }, { term: 1, command: encodeMembership(simpleMembership([1, 2])) }, { term: 2, command: bytes('x') }]),
    });
    assert.equal(c.leaderId, -1);
    assert.equal(allMsgs(stepDrain(c, requestVote(3, 1, 9, 1, 1))).length, 0);
    assert.equal(c.term, 2, 'its term did not count');
    assert.equal(c.votedFor, -1);
    // A voter with the same stale log is answered (and refused) in its term, as Raft has it.
    const r = msgsOfType(stepDrain(c, requestVote(2, 1, 9, 1, 1)), MsgType.RequestVoteReply)[0];
    assert.equal(c.term, 9);
    assert.ok(r.reject);
  });

  test('a follower uses a configuration as soon as it is appended, and drops it when the entry is truncated', () => {
    const c = new RaftCore(config({ id: 2 }));
    stepDrain(c, appendEntries(1, 2, 1, 0, 0, makeBatch(1, [{ term: 1, command: encodeMembership(joint([1, 2, 3], [1, 2, 3, 4])) }])));
    assert.deepEqual(c.membership, joint([1, 2, 3], [1, 2, 3, 4]));
    stepDrain(c, appendEntries(3, 2, 2, 0, 0, makeBatch(1, [{ term: 2, command: bytes('y') }])));
    assert.deepEqual(c.membership, simpleMembership([1, 2, 3]), 'back to the configuration before');
  });

  test('option joining: refused for a peer already in peers; a peer outside peers needs it', () => {
    assert.throws(() => new RaftCore(config({ id: 3, joining: true })), /option joining: id 3 is already one of peers/);
    assert.throws(() => new RaftCore(config({ id: 4 })), /not one of peers \[1, 2, 3\] \(set joining/);
  });
});

describe('the configuration in snapshots', () => {
  test('a snapshot carries the configuration at its index, across InstallSnapshot and restarts', () => {
    const l = leaderOf();
    const r = l.proposeConfChange({ addLearners: [4] });
    drain(l);
    ack(l, [2], r.index);
    drain(l);
    assert.equal(l.appliedIndex, r.index);
    l.compact(r.index, bytes('state'));
    assert.deepEqual(l.snapshot!.membership, simpleMembership([1, 2, 3], [4]));
    // The newcomer learns its configuration from the snapshot.
    const f = new RaftCore(config({ id: 4, joining: true, snapshotChunkBytes: 16 }));
    const rds = tickDrain(l, 3 * l.cfg.heartbeatTicks);
    const hb = msgsOfType(rds, MsgType.Heartbeat, 4)[0] ?? msgsOfType(rds, MsgType.AppendEntries, 4)[0];
    assert.ok(hb, 'the learner is sent to');
    let toLeader = allMsgs(stepDrain(f, hb));
    for (let n = 0; n < 50 && toLeader.length > 0; n++) {
      const back = toLeader.flatMap((m) => allMsgs(stepDrain(l, m))).filter((m) => m.to === 4);
      toLeader = back.flatMap((m) => allMsgs(stepDrain(f, m)));
    }
    assert.equal(f.log.snapshotIndex, r.index, 'installed the snapshot');
    assert.deepEqual(f.membership, simpleMembership([1, 2, 3], [4]));
    assert.deepEqual(f.snapshot!.data, bytes('state'), 'the state machine data is what the leader compacted');
    const again = new RaftCore(config({ id: 4, joining: true }), { hardState: { term: f.term, votedFor: -1 }, snapshot: f.snapshot, entries: null });
    assert.deepEqual(again.membership, simpleMembership([1, 2, 3], [4]), 'restart reads it from the snapshot');
  });

  test('a chunk whose membership prefix is larger than the snapshot is refused', () => {
    const f = new RaftCore(config({ id: 2 }));
    const rds = stepDrain(f, { ...installSnapshot(1, 2, 1, 5, 1, 4, 0, bytes('abcd'), true), commit: 9 });
    const r = msgsOfType(rds, MsgType.InstallSnapshotReply)[0];
    assert.ok(r.reject);
  });

  test('a snapshot of the initial configuration carries none (storage formats unchanged)', () => {
    const l = leaderOf();
    const p = l.propose(bytes('x'));
    drain(l);
    ack(l, [2], p.index);
    drain(l);
    l.compact(p.index, bytes('s'));
    assert.equal('membership' in l.snapshot!, false);
  });
});

describe('a voter that C_new removes', () => {
  test('still stands for election until C_new is committed (it may hold the only log that can win)', () => {
    const log = makeBatch(1, [
      { term: 1, command: encodeMembership(joint([1, 2], [1])) },
      { term: 1, command: encodeMembership(simpleMembership([1])) },
    ]);
    const c = new RaftCore(config({ id: 2, peers: [1, 2] }), { hardState: { term: 1, votedFor: -1 }, snapshot: null, entries: log });
    const rds = tickDrain(c, c.cfg.electionTicks);
    assert.equal(c.role, Role.Candidate);
    assert.deepEqual(msgsOfType(rds, MsgType.RequestVote).map((m) => m.to), [1]);
    stepDrain(c, voteReply(1, 2, c.term, true));
    assert.equal(c.role, Role.Leader, 'a majority of C_new, its configuration, elects it');
  });
});

describe('every quorum of a joint configuration needs a majority of each half', () => {
  /**
   * Leader 1 of [1,2,3] with its no-op committed, then C_old,new [1,2,3] -> [1,4,5] appended
   * and not committed: the configuration in force is joint. More options through `over`.
   */
  function jointLeader(over: Partial<ReturnType<typeof config>> = {}): RaftCore {
    const c = new RaftCore(config({ id: 1, noopOnElection: true, ...over }));
    makeLeader(c);
    drain(c);
    ack(c, [2], c.log.lastIndex);
    assert.equal(c.commitIndex, 1, 'the no-op committed');
    c.proposeConfChange({ addVoters: [4, 5], removeVoters: [2, 3] });
    drain(c);
    assert.deepEqual(c.membership, joint([1, 2, 3], [1, 4, 5]));
    return c;
  }

  /** Starts a read round for read `id` and answers its heartbeat from each of `ids`; returns the reads served. */
  function readAckedBy(c: RaftCore, id: number, ids: number[]): { served: Array<{ id: number; index: number }>; ctx: number } {
    c.readIndex(id);
    const rds = drain(c);
    const served = rds.flatMap((rd) => rd.readStates);
    const ctx = msgsOfType(rds, MsgType.Heartbeat)[0].offset;
    assert.ok(ctx > 0, 'the round has a read context');
    for (const from of ids) {
      served.push(...stepDrain(c, msg(MsgType.HeartbeatReply, from, 1, c.term, { index: c.log.lastIndex, offset: ctx })).flatMap((rd) => rd.readStates));
    }
    return { served, ctx };
  }

  test('a read round acknowledged by the old majority alone does not serve; the new one completes it', () => {
    const c = jointLeader();
    const round = readAckedBy(c, 7, [2, 3]);
    assert.deepEqual(round.served, [], 'all of C_old, but only the leader of C_new');
    assert.equal(c.readsPending, 1);
    const served = stepDrain(c, msg(MsgType.HeartbeatReply, 4, 1, c.term, { index: c.log.lastIndex, offset: round.ctx })).flatMap((rd) => rd.readStates);
    assert.deepEqual(served, [{ id: 7, index: 1 }], '1 and 4 are a majority of C_new');
  });

  test('a read round acknowledged by the new majority alone does not serve either', () => {
    const c = jointLeader();
    assert.deepEqual(readAckedBy(c, 8, [4, 5]).served, []);
    assert.equal(c.readsPending, 1);
  });

  test('lease reads: a round acknowledged by one half starts no lease', () => {
    const c = jointLeader({ readMode: 'lease', checkQuorum: true });
    assert.deepEqual(readAckedBy(c, 1, [2, 3]).served, []);
    c.readIndex(2);
    assert.deepEqual(drain(c).flatMap((rd) => rd.readStates), [], 'no lease: the read waits for a round');
    assert.ok(c.readsPending >= 1);
  });

  test('check-quorum: a leader heard only by one half steps down; heard by both it stays', () => {
    for (const [heard, stays] of [[[2, 3], false], [[4, 5], false], [[2, 4], true]] as Array<[number[], boolean]>) {
      const c = jointLeader({ checkQuorum: true });
      for (let t = 0; t < 2 * c.cfg.electionTicks && c.role === Role.Leader; t++) {
        for (const from of heard) stepDrain(c, msg(MsgType.HeartbeatReply, from, 1, c.term, { index: c.log.lastIndex }));
        tickDrain(c, 1);
      }
      assert.equal(c.role === Role.Leader, stays, `heard by ${heard.join(', ')}`);
    }
  });

  test('pre-vote: grants from one half only do not start a campaign', () => {
    const c = new RaftCore(config({ id: 1, preVote: true }), {
      hardState: { term: 1, votedFor: -1 }, snapshot: null, entries: makeBatch(1, [{ term: 1, command: encodeMembership(joint([1, 2, 3], [1, 4, 5])) }]),
    });
    const rds = tickDrain(c, c.cfg.electionTicks);
    assert.equal(c.isPreCandidate, true);
    assert.deepEqual(msgsOfType(rds, MsgType.PreVote).map((m) => m.to).sort(), [2, 3, 4, 5], 'asks the voters of both halves');
    const grant = (from: number): void => { stepDrain(c, msg(MsgType.PreVoteReply, from, 1, c.term + 1)); };
    grant(2); grant(3);
    assert.equal(c.role, Role.Follower, 'every old voter, but 1 of 3 new ones');
    assert.equal(c.term, 1);
    grant(4);
    assert.equal(c.role, Role.Candidate, 'a majority of each half');
    assert.equal(c.term, 2);
  });

  test('pre-vote: a learner does not ask for pre-votes', () => {
    const c = new RaftCore(config({ id: 4, joining: true, preVote: true }), {
      hardState: { term: 1, votedFor: -1 }, snapshot: null, entries: makeBatch(1, [{ term: 1, command: encodeMembership(simpleMembership([1, 2, 3], [4])) }]),
    });
    const rds = tickDrain(c, 10 * c.cfg.electionTicks);
    assert.equal(allMsgs(rds).length, 0);
    assert.equal(c.isPreCandidate, false);
  });

  test('leader transfer: only to a voter of the configuration in force', () => {
    const c = jointLeader();
    assert.throws(() => c.transferLeader(2), (e: Error) => e instanceof RangeError && /peer 2 refused: it is not a voter of the configuration in force \(voters \[1,2,3\] -> \[1,4,5\] \(joint\)\)/.test(e.message));
    assert.throws(() => c.transferLeader(9), /not a peer of this cluster/);
    const l = leaderOf();
    l.proposeConfChange({ addLearners: [4] });
    drain(l);
    assert.throws(() => l.transferLeader(4), /peer 4 refused: it is not a voter/);
    assert.equal(l.transferTarget, -1);
    l.transferLeader(4 - 1);
    assert.equal(l.transferTarget, 3, 'a voter is accepted');
  });
});

describe('autoPromoteLearners', () => {
  test('off by default: a caught-up learner stays a learner', () => {
    const c = leaderOf();
    const r = c.proposeConfChange({ addLearners: [4] });
    drain(c);
    ack(c, [2, 4], r.index);
    tickDrain(c, 3 * c.cfg.electionTicks);
    assert.deepEqual(c.membership, simpleMembership([1, 2, 3], [4]));
  });

  test('the leader promotes a learner once its match is within N entries of the last index, through the joint configuration', () => {
    const c = new RaftCore(config({ id: 1, autoPromoteLearners: 2 }));
    makeLeader(c);
    drain(c);
    const r = c.proposeConfChange({ addLearners: [4] });
    for (let k = 0; k < 5; k++) c.propose(bytes(`x${k}`));
    drain(c);
    const last = c.log.lastIndex;
    ack(c, [2], last);
    assert.equal(c.commitIndex, last, 'the learner entry committed');
    ack(c, [4], last - 3);
    tickDrain(c, 1);
    assert.deepEqual(c.membership, simpleMembership([1, 2, 3], [4]), '3 entries behind: not yet');
    ack(c, [4], last - 2);
    tickDrain(c, 1);
    assert.deepEqual(c.membership, joint([1, 2, 3], [1, 2, 3, 4]), 'within 2: promoted by C_old,new');
    assert.ok(c.membershipIndex > r.index);
    ack(c, [2, 4], c.log.lastIndex);
    assert.deepEqual(c.membership, simpleMembership([1, 2, 3, 4]), 'then C_new, as for any change of voters');
  });

  test('refused for a negative bound, by name', () => {
    assert.throws(() => new RaftCore(config({ autoPromoteLearners: -1 })), /autoPromoteLearners/);
  });
});
