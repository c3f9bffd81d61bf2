import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType } from '../../src/core/message.js';
import { NO_VOTE, Role } from '../../src/core/types.js';
import {
  ELECTION, appendEntries, drain, fixed, heartbeat, makeLeader, msgsOfType, newCore, requestVote, seeded, stepDrain,
  takeReady, tickDrain, voteReply,
} from './helpers.js';

/** Ticks until the core is no longer a follower; returns how many ticks that took. */
function ticksToCampaign(c: ReturnType<typeof newCore>, max = 100): number {
  for (let n = 1; n <= max; n++) {
    c.tick();
    if (c.role !== Role.Follower) return n;
  }
  throw new Error('never campaigned');
}

describe('election timeout', () => {
  test('a follower times out within [electionTicks, 2*electionTicks) ticks, for many seeds', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const n = ticksToCampaign(newCore({ random: seeded(seed) }));
      assert.ok(n >= ELECTION && n < 2 * ELECTION, `seed ${seed}: campaigned after ${n} ticks`);
      seen.add(n);
    }
    assert.ok(seen.size > ELECTION / 2, `timeouts are randomised (saw ${[...seen].sort()})`);
  });

  test('the bounds of the random source map to the bounds of the range', () => {
    assert.equal(ticksToCampaign(newCore({ random: fixed(0) })), ELECTION);
    assert.equal(ticksToCampaign(newCore({ random: fixed(0.99999) })), 2 * ELECTION - 1);
  });

  test('the same seed gives the same timeouts (deterministic)', () => {
    const a = newCore({ random: seeded(7) });
    const b = newCore({ random: seeded(7) });
    for (let i = 0; i < 5; i++) assert.equal(ticksToCampaign(a), ticksToCampaign(b));
  });

  test('a candidate that does not win times out again and starts a new term', () => {
    const c = newCore();
    ticksToCampaign(c);
    assert.equal(c.term, 1);
    drain(c);
    const n = ticksToCampaign2(c);
    assert.ok(n >= ELECTION && n < 2 * ELECTION);
    assert.equal(c.term, 2);
    assert.equal(c.role, Role.Candidate);
    assert.equal(c.votedFor, 1);
  });

  test('a heartbeat from the leader resets the election timer', () => {
    const f = newCore({ term: 1 });
    tickDrain(f, ELECTION - 1);
    stepDrain(f, heartbeat(2, 1, 1));
    tickDrain(f, ELECTION - 1);
    assert.equal(f.role, Role.Follower);
    f.tick();
    assert.equal(f.role, Role.Candidate);
  });
});

/** Like ticksToCampaign, but for a candidate: ticks until its term changes. */
function ticksToCampaign2(c: ReturnType<typeof newCore>): number {
  const t = c.term;
  for (let n = 1; n <= 100; n++) {
    c.tick();
    if (c.term !== t) return n;
  }
  throw new Error('never campaigned again');
}

describe('campaign', () => {
  test('becomes candidate, increments term, votes for itself, asks every peer with its last log index/term', () => {
    const c = newCore({ term: 3, log: [1, 1, 3], peers: [1, 2, 3, 4, 5] });
    drain(c);
    ticksToCampaign(c);
    assert.equal(c.role, Role.Candidate);
    assert.equal(c.term, 4);
    assert.equal(c.votedFor, 1);
    const rd = takeReady(c);
    assert.deepEqual(rd.hardState, { term: 4, votedFor: 1 }, 'the vote for itself is persisted in the same Ready');
    assert.deepEqual(rd.sendNow, [], 'RequestVote must not leave before the vote is persisted');
    const votes = rd.sendAfterPersist;
    assert.deepEqual(votes.map((m) => m.to).sort(), [2, 3, 4, 5]);
    for (const m of votes) {
      assert.equal(m.type, MsgType.RequestVote);
      assert.equal(m.term, 4);
      assert.equal(m.index, 3, 'lastLogIndex');
      assert.equal(m.logTerm, 3, 'lastLogTerm');
    }
  });

  test('last log index/term come from the snapshot when the log is empty after it', () => {
    const c = newCore({ term: 2, snapshot: { index: 7, term: 2 } });
    ticksToCampaign(c);
    const rv = takeReady(c).sendAfterPersist[0];
    assert.equal(rv.index, 7);
    assert.equal(rv.logTerm, 2);
  });

  test('a majority of votes makes a leader (3 peers: one other vote)', () => {
    const c = newCore();
    ticksToCampaign(c);
    drain(c);
    stepDrain(c, voteReply(2, 1, 1, true));
    assert.equal(c.role, Role.Leader);
    assert.equal(c.leaderId, 1);
  });

  test('5 peers: one vote is not enough, a duplicate vote counts once, rejections do not count', () => {
    const c = newCore({ peers: [1, 2, 3, 4, 5] });
    ticksToCampaign(c);
    drain(c);
    stepDrain(c, voteReply(2, 1, 1, true));
    stepDrain(c, voteReply(2, 1, 1, true));
    stepDrain(c, voteReply(3, 1, 1, false));
    stepDrain(c, voteReply(4, 1, 1, false));
    assert.equal(c.role, Role.Candidate);
    stepDrain(c, voteReply(5, 1, 1, true));
    assert.equal(c.role, Role.Leader);
  });

  test('a vote for an older term does not count', () => {
    const c = newCore({ term: 5 });
    ticksToCampaign(c);
    drain(c);
    stepDrain(c, voteReply(2, 1, 5, true));
    assert.equal(c.role, Role.Candidate);
  });

  test('a new leader asserts itself at once (heartbeat to every follower)', () => {
    const c = newCore();
    const rds = makeLeader(c);
    const hbs = msgsOfType(rds, MsgType.Heartbeat);
    assert.deepEqual(hbs.map((m) => m.to).sort(), [2, 3]);
    for (const m of hbs) assert.equal(m.term, c.term);
  });

  test('a single-peer cluster elects itself on its first timeout, once its term is on disk, and commits alone', () => {
    const c = newCore({ peers: [1] });
    const n = ticksToCampaign(c);
    assert.equal(n, ELECTION);
    assert.equal(c.role, Role.Candidate, 'not a leader of a term a crash could take back');
    assert.equal(c.term, 1);
    const rd = takeReady(c);
    assert.deepEqual(rd.hardState, { term: 1, votedFor: 1 });
    assert.deepEqual(rd.sendAfterPersist, []);
    assert.equal(c.role, Role.Leader, 'the vote for itself is stored: it leads');
    const p = c.propose(new Uint8Array([7]));
    assert.deepEqual(p, { index: 1, term: 1, isLeader: true });
    const rds = drain(c);
    const committed = rds.flatMap((r) => (r.committed ? [r.committed] : []));
    assert.equal(committed.length, 1);
    assert.equal(committed[0].firstIndex, 1);
    assert.equal(c.commitIndex, 1);
  });

  test('a candidate receiving AppendEntries or a heartbeat of its term becomes follower', () => {
    for (const make of [() => appendEntries(2, 1, 1, 0, 0), () => heartbeat(2, 1, 1)]) {
      const c = newCore();
      ticksToCampaign(c);
      drain(c);
      stepDrain(c, make());
      assert.equal(c.role, Role.Follower);
      assert.equal(c.term, 1);
      assert.equal(c.leaderId, 2);
      assert.equal(c.votedFor, 1, 'its vote in this term stays');
    }
  });
});

describe('RequestVote', () => {
  test('a lower term is rejected, the reply carries our term, nothing changes', () => {
    const f = newCore({ term: 5 });
    const rd = stepDrain(f, requestVote(2, 1, 4, 10, 4))[0];
    assert.equal(rd.hardState, null);
    const r = rd.sendAfterPersist[0];
    assert.equal(r.type, MsgType.RequestVoteReply);
    assert.equal(r.reject, true);
    assert.equal(r.term, 5);
    assert.equal(f.votedFor, NO_VOTE);
  });

  test('granted: the vote is persisted in the same Ready as the reply, which waits for it', () => {
    const f = newCore({ term: 1 });
    const rds = stepDrain(f, requestVote(2, 1, 2, 0, 0));
    assert.equal(rds.length, 1);
    const rd = rds[0];
    assert.deepEqual(rd.hardState, { term: 2, votedFor: 2 });
    assert.deepEqual(rd.sendNow, []);
    assert.equal(rd.sendAfterPersist.length, 1);
    assert.equal(rd.sendAfterPersist[0].reject, false);
    assert.equal(rd.sendAfterPersist[0].term, 2);
  });

  test('one vote per term: a second candidate is rejected, the same candidate asking again is granted', () => {
    const f = newCore({ term: 1 });
    stepDrain(f, requestVote(2, 1, 2, 0, 0));
    const second = stepDrain(f, requestVote(3, 1, 2, 5, 2));
    assert.equal(second[0].sendAfterPersist[0].reject, true);
    assert.equal(second[0].hardState, null);
    assert.equal(f.votedFor, 2);
    const again = stepDrain(f, requestVote(2, 1, 2, 0, 0));
    assert.equal(again[0].sendAfterPersist[0].reject, false);
  });

  test('a vote recorded before a restart still binds', () => {
    const f = newCore({ term: 2, votedFor: 2 });
    assert.equal(stepDrain(f, requestVote(3, 1, 2, 0, 0))[0].sendAfterPersist[0].reject, true);
    assert.equal(stepDrain(f, requestVote(2, 1, 2, 0, 0))[0].sendAfterPersist[0].reject, false);
  });

  describe('up-to-date check (Section 5.4.1)', () => {
    // voter's log: terms [1, 1, 2] -> last index 3, last term 2
    const voter = () => newCore({ term: 2, log: [1, 1, 2] });
    const cases: [string, number, number, boolean][] = [
      ['higher last term, shorter log', 1, 3, true],
      ['higher last term, longer log', 9, 3, true],
      ['same last term, longer log', 4, 2, true],
      ['same last term, same length', 3, 2, true],
      ['same last term, shorter log', 2, 2, false],
      ['lower last term, longer log', 10, 1, false],
      ['empty log', 0, 0, false],
    ];
    for (const [name, lastIndex, lastTerm, granted] of cases) {
      test(`${name}: ${granted ? 'granted' : 'rejected'}`, () => {
        const f = voter();
        const r = stepDrain(f, requestVote(2, 1, 3, lastIndex, lastTerm))[0].sendAfterPersist[0];
        assert.equal(r.reject, !granted);
        assert.equal(f.votedFor, granted ? 2 : NO_VOTE);
        assert.equal(f.term, 3, 'the higher term is adopted either way');
      });
    }
  });

  // Without check-quorum: with it, a leader ignores vote requests (vote stickiness, tested in pre-vote.test).
  test('a higher term makes a leader step down and reset its vote; it then votes if the log allows', () => {
    const l = newCore({ term: 1, log: [1], checkQuorum: false });
    makeLeader(l);
    assert.equal(l.votedFor, 1);
    const rd = stepDrain(l, requestVote(3, 1, 7, 1, 1))[0];
    assert.equal(l.role, Role.Follower);
    assert.equal(l.term, 7);
    assert.equal(l.votedFor, 3);
    assert.deepEqual(rd.hardState, { term: 7, votedFor: 3 });
    assert.equal(rd.sendAfterPersist[0].reject, false);
  });

  test('a higher term with a stale log: step down, adopt the term, no vote', () => {
    const l = newCore({ term: 1, log: [1, 1], checkQuorum: false });
    makeLeader(l);
    const rd = stepDrain(l, requestVote(3, 1, 7, 1, 1))[0];
    assert.equal(l.role, Role.Follower);
    assert.equal(l.term, 7);
    assert.equal(l.votedFor, NO_VOTE);
    assert.deepEqual(rd.hardState, { term: 7, votedFor: NO_VOTE });
    assert.equal(rd.sendAfterPersist[0].reject, true);
  });

  test('a candidate rejects another candidate of its term', () => {
    const c = newCore();
    ticksToCampaign(c);
    drain(c);
    const r = stepDrain(c, requestVote(2, 1, 1, 5, 1))[0].sendAfterPersist[0];
    assert.equal(r.reject, true);
    assert.equal(c.role, Role.Candidate);
  });

  test('granting a vote resets the election timer; rejecting does not', () => {
    const g = newCore({ term: 1 });
    tickDrain(g, ELECTION - 1);
    stepDrain(g, requestVote(2, 1, 1, 0, 0));
    tickDrain(g, ELECTION - 1);
    assert.equal(g.role, Role.Follower, 'the timer restarted at the grant');
    g.tick();
    assert.equal(g.role, Role.Candidate);

    const r = newCore({ term: 1, log: [1, 1] });
    tickDrain(r, ELECTION - 1);
    stepDrain(r, requestVote(2, 1, 1, 0, 0)); // stale log: rejected
    r.tick();
    assert.equal(r.role, Role.Candidate, 'a rejected request does not delay our own campaign');
  });
});
