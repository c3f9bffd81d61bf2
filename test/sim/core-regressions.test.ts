/**
 * Core bugs the simulation found, each reduced to a few deterministic steps so it stays fixed
 * even if the sweep's fault profiles change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeBatch } from '../../src/core/entry-batch.js';
import { Message, MsgType } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { BackpressureError, Ready, Role } from '../../src/core/types.js';

const cmd = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Processes every Ready of `c` (no storage: these tests never crash) and returns the messages it sent. */
function drain(c: RaftCore): Message[] {
  const out: Message[] = [];
  while (c.hasReady()) {
    const rd: Ready = c.ready();
    out.push(...rd.sendNow, ...rd.sendAfterPersist);
    c.advance(rd);
  }
  return out;
}

/** Ticks `c` until it campaigns, then grants it every vote; returns it as leader. */
function electWithVotes(c: RaftCore): void {
  let votes: Message[] = [];
  for (let k = 0; k < 100 && votes.length === 0; k++) {
    c.tick();
    votes = drain(c).filter((m) => m.type === MsgType.RequestVote);
  }
  for (const v of votes) {
    c.step({ ...v, type: MsgType.RequestVoteReply, from: v.to, to: v.from, reject: false, index: 0, logTerm: 0 });
  }
  assert.equal(c.role, Role.Leader);
}

describe('core regressions found by the simulation', () => {
  it('a new leader whose backlog of earlier-term entries exceeds maxUncommittedEntries still accepts a proposal', () => {
    // Before the fix propose() refused (BackpressureError) forever: the old entries can only
    // commit behind an entry of the new term, which it would never accept (sim seed 1).
    const old = makeBatch(1, [1, 1, 1].map((term, k) => ({ term, command: cmd(`old${k}`) })));
    const c = new RaftCore({ id: 1, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 1, random: () => 0, maxUncommittedEntries: 2, noopOnElection: false, preVote: false },
      { hardState: { term: 1, votedFor: -1 }, snapshot: null, entries: old });
    electWithVotes(c);
    const r = c.propose(cmd('new'));
    assert.equal(r.isLeader, true);
    assert.equal(r.index, 4);
    // Once it holds an entry of its term, the limit applies again.
    assert.throws(() => c.propose(cmd('more')), BackpressureError);
  });

  it('a replication window full of lost acknowledgements recovers at the next heartbeat', () => {
    // maxInflight 1: the leader sends entries, the follower stores them, the reply is lost.
    // Before the fix the heartbeat reply (follower last index == what was sent) changed
    // nothing and the window stayed full forever (sim seeds 4, 23).
    const leader = new RaftCore({ id: 1, peers: [1, 2], electionTicks: 10, heartbeatTicks: 1, random: () => 0, maxInflight: 1, noopOnElection: false, preVote: false });
    const follower = new RaftCore({ id: 2, peers: [1, 2], electionTicks: 10, heartbeatTicks: 1, random: () => 0.99, noopOnElection: false, preVote: false });
    electWithVotes(leader);
    const deliver = (ms: Message[], to: RaftCore, keep: (m: Message) => boolean = () => true): Message[] => {
      const out: Message[] = [];
      for (const m of ms) if (m.to === to.id && keep(m)) { to.step(m); out.push(...drain(to)); }
      return out;
    };
    const exchange = (rounds: number): void => {
      let msgs = drain(leader);
      for (let hop = 0; hop < rounds && msgs.length > 0; hop++) msgs = deliver(deliver(msgs, follower), leader).concat(drain(leader));
    };
    // One entry through a full exchange puts the follower in Replicate.
    leader.propose(cmd('a'));
    exchange(6);
    assert.equal(leader.commitIndex, 1);
    leader.propose(cmd('b'));
    const appends = drain(leader).filter((m) => m.type === MsgType.AppendEntries && m.entries && m.entries.count > 0);
    assert.equal(appends.length, 1);
    deliver(appends, follower); // the follower stores index 2; its reply is lost
    assert.equal(follower.log.lastIndex, 2);
    leader.propose(cmd('c')); // the window (1) is full: nothing goes out
    assert.equal(drain(leader).filter((m) => m.type === MsgType.AppendEntries).length, 0);
    // Heartbeat rounds until the leader has re-sent and the follower acknowledged everything.
    for (let k = 0; k < 5 && leader.commitIndex < 3; k++) {
      leader.tick();
      exchange(6);
    }
    assert.equal(leader.progressOf(2)!.match, 3);
    assert.equal(leader.commitIndex, 3);
  });

  it('a vote request with a higher term does not restart the election timer of a peer that refuses it', () => {
    // Before the fix every higher-term message restarted the timer, so a peer with a stale
    // log and a fast clock, campaigning again and again, kept the up-to-date peers from ever
    // standing (sim: 2 peers, seed 78, ran 30 s without a leader).
    const entries = makeBatch(1, [{ term: 1, command: cmd('x') }]);
    const a = new RaftCore({ id: 1, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 1, random: () => 0, noopOnElection: false, preVote: false },
      { hardState: { term: 1, votedFor: -1 }, snapshot: null, entries });
    for (let k = 0; k < 6; k++) a.tick();
    const rv: Message = { type: MsgType.RequestVote, from: 2, to: 1, term: 5, index: 0, logTerm: 0, commit: 0, hint: 0, offset: 0, reject: false, done: false, entries: null, data: null };
    a.step(rv); // stale log: refused, but a's term moves to 5
    const reply = drain(a).find((m) => m.type === MsgType.RequestVoteReply)!;
    assert.equal(reply.reject, true);
    assert.equal(a.term, 5);
    for (let k = 0; k < 4; k++) a.tick(); // 10 ticks since the last leader contact
    assert.equal(a.role, Role.Candidate);
    assert.equal(a.term, 6);
  });

  it('a granted vote still restarts the election timer', () => {
    const a = new RaftCore({ id: 1, peers: [1, 2, 3], electionTicks: 10, heartbeatTicks: 1, random: () => 0, noopOnElection: false, preVote: false });
    for (let k = 0; k < 6; k++) a.tick();
    a.step({ type: MsgType.RequestVote, from: 2, to: 1, term: 5, index: 0, logTerm: 0, commit: 0, hint: 0, offset: 0, reject: false, done: false, entries: null, data: null });
    assert.equal(drain(a).find((m) => m.type === MsgType.RequestVoteReply)!.reject, false);
    for (let k = 0; k < 9; k++) a.tick();
    assert.equal(a.role, Role.Follower);
    a.tick();
    assert.equal(a.role, Role.Candidate);
  });

  it('a single-peer leader accepts proposals only once its term is on disk', () => {
    // Before the fix it elected itself and accepted a proposal at (1, term 1) before the term
    // was persisted; a crash then lost both, the restarted peer won term 1 again and put
    // another command at (1, term 1) (sim: 1 peer, seed 30: log matching violated). Its
    // no-op had the same flaw (sim: membership seed 167, a single voter whose disk stalled):
    // now it becomes leader only once its term and vote are on disk.
    const c = new RaftCore({ id: 1, peers: [1], electionTicks: 10, heartbeatTicks: 1, random: () => 0, noopOnElection: false, preVote: false });
    for (let k = 0; k < 10; k++) c.tick();
    assert.equal(c.role, Role.Candidate);
    assert.equal(c.propose(cmd('early')).isLeader, false);
    drain(c); // the Ready with the hard state of term 1 is persisted
    assert.deepEqual(c.propose(cmd('now')), { index: 1, term: 1, isLeader: true });
  });
});
