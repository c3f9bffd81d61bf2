import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType } from '../../src/core/message.js';
import { NO_VOTE, Role } from '../../src/core/types.js';
import { ELECTION, Net, allMsgs, drain, heartbeat, msg, msgsOfType, newCore, requestVote, stepDrain, tickDrain } from './helpers.js';

const preVote = (from: number, to: number, term: number, lastIndex: number, lastTerm: number) =>
  msg(MsgType.PreVote, from, to, term, { index: lastIndex, logTerm: lastTerm });

/** Ticks the whole mini network until exactly one peer leads; returns it. */
function electOne(net: Net, max = 20 * ELECTION): number {
  for (let n = 0; n < max; n++) {
    const ls = net.leaders();
    if (ls.length === 1 && net.ids.every((id) => net.down.has(id) || net.core(id).leaderId === ls[0])) return ls[0];
    net.tick();
  }
  throw new Error(`no leader after ${max} ticks`);
}

const terms = (net: Net): number[] => net.ids.map((id) => net.core(id).term);

describe('pre-vote (dissertation 9.6)', () => {
  test('a pre-candidate asks with term + 1 but changes neither its term nor its vote', () => {
    const c = newCore({ term: 4, log: [1, 4], preVote: true });
    drain(c);
    const rds = tickDrain(c, ELECTION);
    assert.equal(c.isPreCandidate, true);
    assert.equal(c.role, Role.Follower);
    assert.equal(c.term, 4);
    assert.equal(c.votedFor, NO_VOTE);
    assert.ok(rds.every((rd) => rd.hardState === null), 'nothing to persist');
    const pvs = msgsOfType(rds, MsgType.PreVote);
    assert.deepEqual(pvs.map((m) => [m.to, m.term, m.index, m.logTerm]), [[2, 5, 2, 4], [3, 5, 2, 4]]);
    assert.equal(msgsOfType(rds, MsgType.RequestVote).length, 0);
  });

  test('with a majority of pre-votes it campaigns in term + 1; rejections and stale grants do not count', () => {
    const c = newCore({ term: 4, log: [1, 4], peers: [1, 2, 3, 4, 5], preVote: true });
    tickDrain(c, ELECTION);
    stepDrain(c, msg(MsgType.PreVoteReply, 2, 1, 5, { reject: false }));
    stepDrain(c, msg(MsgType.PreVoteReply, 2, 1, 5, { reject: false })); // duplicate
    stepDrain(c, msg(MsgType.PreVoteReply, 3, 1, 4, { reject: false })); // for another round
    stepDrain(c, msg(MsgType.PreVoteReply, 4, 1, 4, { reject: true }));
    assert.equal(c.term, 4);
    assert.equal(c.isPreCandidate, true);
    const rds = stepDrain(c, msg(MsgType.PreVoteReply, 5, 1, 5, { reject: false }));
    assert.equal(c.role, Role.Candidate);
    assert.equal(c.term, 5);
    assert.equal(c.isPreCandidate, false);
    assert.equal(msgsOfType(rds, MsgType.RequestVote).length, 4);
  });

  test('a rejection from a higher term makes the pre-candidate adopt it', () => {
    const c = newCore({ term: 4, log: [1, 4], preVote: true });
    tickDrain(c, ELECTION);
    stepDrain(c, msg(MsgType.PreVoteReply, 2, 1, 8, { reject: true }));
    assert.equal(c.term, 8);
    assert.equal(c.isPreCandidate, false);
  });

  test('a voter grants a pre-vote to an up-to-date log without changing its term or vote, and refuses a stale one', () => {
    const v = newCore({ term: 3, votedFor: 3, log: [1, 3] });
    const grant = allMsgs(stepDrain(v, preVote(2, 1, 4, 2, 3)));
    assert.deepEqual(grant.map((m) => [m.type, m.term, m.reject]), [[MsgType.PreVoteReply, 4, false]]);
    assert.equal(v.term, 3);
    assert.equal(v.votedFor, 3);
    const stale = allMsgs(stepDrain(v, preVote(2, 1, 4, 1, 1)));
    assert.deepEqual(stale.map((m) => [m.term, m.reject]), [[3, true]], 'a refusal carries the voter\'s own term');
    const old = allMsgs(stepDrain(v, preVote(2, 1, 2, 9, 3)));
    assert.deepEqual(old.map((m) => [m.term, m.reject]), [[3, true]]);
    assert.equal(v.term, 3);
  });
});

describe('vote stickiness', () => {
  test('a follower that heard from its leader within the minimum election timeout ignores RequestVote and PreVote', () => {
    const f = newCore({ term: 2, log: [1, 2] });
    stepDrain(f, heartbeat(2, 1, 2));
    tickDrain(f, ELECTION - 1);
    assert.deepEqual(allMsgs(stepDrain(f, requestVote(3, 1, 3, 5, 2))), [], 'no answer at all');
    assert.deepEqual(allMsgs(stepDrain(f, preVote(3, 1, 3, 5, 2))), []);
    assert.equal(f.term, 2, 'the term is not raised');
    assert.equal(f.leaderId, 2);
    // ... unless the request comes from a leader transfer
    const rv = allMsgs(stepDrain(f, Object.assign(requestVote(3, 1, 3, 5, 2), { done: true })));
    assert.deepEqual(rv.map((m) => [m.type, m.reject]), [[MsgType.RequestVoteReply, false]]);
    assert.equal(f.term, 3);
  });

  test('once the minimum election timeout has passed without the leader, it answers', () => {
    const f = newCore({ term: 2, log: [1, 2], random: () => 0.99 });
    stepDrain(f, heartbeat(2, 1, 2));
    tickDrain(f, ELECTION);
    const r = allMsgs(stepDrain(f, requestVote(3, 1, 3, 5, 2)));
    assert.deepEqual(r.map((m) => m.reject), [false]);
  });

  test('without check-quorum there is no stickiness (a leader held its followers forever otherwise)', () => {
    const f = newCore({ term: 2, log: [1, 2], checkQuorum: false });
    stepDrain(f, heartbeat(2, 1, 2));
    assert.deepEqual(allMsgs(stepDrain(f, requestVote(3, 1, 3, 5, 2))).map((m) => m.reject), [false]);
  });
});

describe('rejoining without disruption (mini network, pre-vote on)', () => {
  for (const size of [3, 5]) {
    test(`${size} peers: a follower partitioned for several election timeouts rejoins without raising the term or deposing the leader`, () => {
      const net = new Net({ ids: Array.from({ length: size }, (_, k) => k + 1), config: { preVote: true }, seed: size });
      const leader = electOne(net);
      const term = net.core(leader).term;
      const cut = net.ids.find((id) => id !== leader)!;
      net.drop = (m) => m.to === cut || m.from === cut;
      net.tick(6 * ELECTION);
      assert.equal(net.core(cut).term, term, 'the cut-off follower never got a majority of pre-votes');
      net.drop = () => false;
      net.tick(3 * ELECTION);
      assert.deepEqual(terms(net), net.ids.map(() => term), 'nobody raised the term');
      assert.deepEqual(net.leaders(), [leader]);
      assert.equal(net.core(cut).leaderId, leader);
      const idx = net.propose(leader, 'after');
      net.tick(2);
      assert.equal(net.core(cut).commitIndex, idx);
    });
  }

  test('the same scenario with pre-vote off raises the term (what the test above guards against)', () => {
    const net = new Net({ config: { preVote: false }, seed: 3 });
    const leader = electOne(net);
    const term = net.core(leader).term;
    const cut = net.ids.find((id) => id !== leader)!;
    net.drop = (m) => m.to === cut || m.from === cut;
    net.tick(6 * ELECTION);
    net.drop = () => false;
    net.tick(3 * ELECTION);
    assert.ok(Math.max(...terms(net)) > term, `terms ${terms(net)} stayed at ${term}`);
  });

  test('a restarted follower, even one whose timer fires before it hears the leader, rejoins without an election', () => {
    const net = new Net({ config: { preVote: true }, seed: 7 });
    const leader = electOne(net);
    const term = net.core(leader).term;
    const f = net.ids.find((id) => id !== leader)!;
    net.restart(f);
    net.drop = (m) => m.to === f && m.type !== MsgType.PreVoteReply; // it hears nothing from the leader for a while
    net.tick(3 * ELECTION);
    net.drop = () => false;
    net.tick(2 * ELECTION);
    assert.deepEqual(terms(net), [term, term, term]);
    assert.deepEqual(net.leaders(), [leader]);
    assert.equal(net.core(f).leaderId, leader);
  });

  test('when the leader is really gone, the others elect a new one (one term later)', () => {
    const net = new Net({ ids: [1, 2, 3, 4, 5], config: { preVote: true }, seed: 11 });
    const leader = electOne(net);
    const term = net.core(leader).term;
    net.down.add(leader);
    const next = electOne(net);
    assert.notEqual(next, leader);
    assert.ok(net.core(next).term > term);
  });

  test('check-quorum: a leader cut off from the majority steps down, and follows the new leader once healed', () => {
    const net = new Net({ config: { preVote: true }, seed: 5 });
    const leader = electOne(net);
    net.drop = (m) => m.to === leader || m.from === leader;
    net.tick(3 * ELECTION);
    assert.equal(net.core(leader).role, Role.Follower, 'the cut-off leader stepped down');
    const others = net.ids.filter((id) => id !== leader);
    assert.equal(others.filter((id) => net.core(id).role === Role.Leader).length, 1);
    net.drop = () => false;
    net.tick(2 * ELECTION);
    assert.equal(net.leaders().length, 1);
    assert.notEqual(net.leaders()[0], leader);
    assert.equal(net.core(leader).leaderId, net.leaders()[0]);
  });
});
