import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Message, MsgType } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { Role } from '../../src/core/types.js';
import { ELECTION, HEARTBEAT, Net, config, drain, msg, fixed, msgsOfType, newCore, requestVote, seeded, tickDrain } from './helpers.js';

/** A 3-peer network with peer 1 elected and its no-op committed everywhere. */
function elected(over: ConstructorParameters<typeof Net>[0] = {}): Net {
  const net = new Net({ ...over, config: { noopOnElection: true, ...over.config } });
  net.campaign(1);
  assert.equal(net.core(1).role, Role.Leader);
  net.tick(1);
  return net;
}

function readsOf(net: Net, peer: number): Array<{ id: number; index: number | 'failed' }> {
  return net.reads.filter((r) => r.peer === peer).map(({ id, index }) => ({ id, index }));
}

/** Heartbeats the leader sends while `body` runs (delivered or not). */
function heartbeatsDuring(net: Net, body: () => void): Message[] {
  const seen: Message[] = [];
  const before = net.onDeliver;
  net.onDeliver = (m) => { if (m.type === MsgType.Heartbeat) seen.push(m); before(m); };
  try { body(); } finally { net.onDeliver = before; }
  return seen;
}

describe('ReadIndex on the leader', () => {
  test('a read is ready at the commit index once a heartbeat round reached a majority', () => {
    const net = elected();
    const l = net.core(1);
    net.propose(1, 'a');
    net.deliverAll();
    const commit = l.commitIndex;
    assert.equal(commit, 2); // the no-op and 'a'
    const hbs = heartbeatsDuring(net, () => {
      l.readIndex(7);
      net.deliverAll();
    });
    assert.deepEqual(readsOf(net, 1), [{ id: 7, index: commit }]);
    assert.equal(hbs.length, 2, 'one heartbeat to each follower');
    assert.ok(hbs.every((m) => m.offset > 0 && m.offset === hbs[0].offset), 'both carry the same read context');
  });

  test('the read is not ready before a majority has answered', () => {
    const net = elected();
    const l = net.core(1);
    net.drop = (m) => m.type === MsgType.HeartbeatReply;
    l.readIndex(1);
    net.deliverAll();
    assert.deepEqual(readsOf(net, 1), []);
    assert.equal(l.readsPending, 1);
    // One follower's answer makes a majority with the leader.
    net.drop = (m) => m.type === MsgType.HeartbeatReply && m.from === 3;
    net.tick(ELECTION / 2);
    assert.deepEqual(readsOf(net, 1), [{ id: 1, index: l.commitIndex }]);
  });

  test('one heartbeat round serves every read queued meanwhile', () => {
    const net = elected();
    const l = net.core(1);
    const hbs = heartbeatsDuring(net, () => {
      for (let id = 10; id < 15; id++) l.readIndex(id);
      net.deliverAll();
    });
    assert.equal(hbs.length, 2, `5 reads cost one round, got ${hbs.length} heartbeats`);
    assert.deepEqual(readsOf(net, 1).map((r) => r.id), [10, 11, 12, 13, 14]);
    assert.ok(readsOf(net, 1).every((r) => r.index === l.commitIndex));
  });

  test('a new leader answers reads only once an entry of its own term has committed', () => {
    // checkQuorum off: vote stickiness would keep peer 2 from taking over a live leader.
    const net = new Net({ config: { noopOnElection: false, checkQuorum: false } });
    net.campaign(1);
    net.propose(1, 'a');
    net.deliverAll();
    // Peer 2 takes over in a new term; without a no-op nothing of its term is committed.
    net.campaign(2);
    const l = net.core(2);
    assert.equal(l.role, Role.Leader);
    assert.notEqual(l.log.term(l.commitIndex), l.term);
    l.readIndex(3);
    net.tick(3);
    assert.deepEqual(readsOf(net, 2), [], 'served before the leader committed in its term');
    const at = net.propose(2, 'b');
    net.tick(2);
    assert.deepEqual(readsOf(net, 2), [{ id: 3, index: at }]);
  });

  test('a leader that steps down before confirmation fails the read and never answers it', () => {
    const net = elected({ config: { checkQuorum: false } }); // (no vote stickiness: peer 2 can take over)
    const l = net.core(1);
    net.drop = (m) => m.from === 1 || m.to === 1; // partitioned
    l.readIndex(5);
    net.deliverAll();
    net.campaign(2);
    assert.equal(net.core(2).role, Role.Leader);
    net.drop = () => false;
    net.tick(2); // peer 1 hears of the new term
    assert.equal(l.role, Role.Follower);
    assert.deepEqual(readsOf(net, 1), [{ id: 5, index: 'failed' }]);
    net.tick(5);
    assert.equal(readsOf(net, 1).length, 1, 'reported once');
  });

  test('a single peer is its own majority: the read is ready in the next Ready', () => {
    const c = new RaftCore(config({ id: 1, peers: [1], noopOnElection: true }));
    for (let n = 0; c.role !== Role.Leader; n++) { c.tick(); drain(c); }
    drain(c);
    c.readIndex(1);
    assert.ok(c.hasReady());
    const rd = c.ready();
    assert.deepEqual(rd.readStates, [{ id: 1, index: c.commitIndex }]);
  });

  test('a read id that is not a non-negative integer is refused with an error naming it', () => {
    const c = new RaftCore(config());
    assert.throws(() => c.readIndex(-1), /read id must be a non-negative safe integer, got -1/);
    assert.throws(() => c.readIndex(1.5), /got 1.5/);
  });
});

describe('follower reads', () => {
  test('a follower gets the read index from the leader', () => {
    const net = elected();
    net.propose(1, 'a');
    net.deliverAll();
    const types: MsgType[] = [];
    net.onDeliver = (m) => { if (m.type === MsgType.ReadIndex || m.type === MsgType.ReadIndexReply) types.push(m.type); };
    net.core(2).readIndex(9);
    net.deliverAll();
    assert.deepEqual(types, [MsgType.ReadIndex, MsgType.ReadIndexReply]);
    assert.deepEqual(readsOf(net, 2), [{ id: 9, index: net.core(1).commitIndex }]);
    assert.deepEqual(readsOf(net, 1), [], 'the leader answers the follower, not its own runtime');
  });

  test('a follower without a leader fails the read at once', () => {
    const c = new RaftCore(config({ id: 2 }));
    c.readIndex(4);
    assert.deepEqual(c.ready().readsFailed, [4]);
  });

  test('a forwarded read whose answer is lost fails after an election timeout', () => {
    const net = elected();
    net.drop = (m) => m.type === MsgType.ReadIndexReply;
    net.core(2).readIndex(4);
    net.deliverAll();
    net.tick(ELECTION - 1);
    assert.deepEqual(readsOf(net, 2), []);
    net.tick(1);
    assert.deepEqual(readsOf(net, 2), [{ id: 4, index: 'failed' }]);
  });

  test('a forwarded read to a peer that is no longer leader is refused', () => {
    const c = new RaftCore(config({ id: 1 }));
    c.step(msg(MsgType.ReadIndex, 2, 1, 0, { hint: 6 }));
    const reply = c.ready().sendAfterPersist.find((m) => m.type === MsgType.ReadIndexReply);
    assert.ok(reply && reply.reject && reply.hint === 6);
  });
});

describe('lease reads', () => {
  const lease = { config: { readMode: 'lease' as const, checkQuorum: true } };

  test('while the lease holds, reads need no heartbeat round', () => {
    const net = elected(lease);
    const l = net.core(1);
    const hbs = heartbeatsDuring(net, () => {
      l.readIndex(1);
      net.deliverAll();
    });
    assert.equal(hbs.length, 0);
    assert.deepEqual(readsOf(net, 1), [{ id: 1, index: l.commitIndex }]);
  });

  test('after leaseTicks without acknowledgements, a read needs the round again', () => {
    const net = elected(lease);
    const l = net.core(1);
    assert.equal(l.leaseTicks, ELECTION - 2); // the default drift bound is a fifth
    net.drop = (m) => m.type === MsgType.HeartbeatReply || m.type === MsgType.AppendEntriesReply;
    net.tick(l.leaseTicks + 1);
    assert.equal(l.role, Role.Leader, 'still leader (check-quorum has not fired yet)');
    l.readIndex(2);
    net.deliverAll();
    assert.deepEqual(readsOf(net, 1), [], 'served on an expired lease');
    net.drop = () => false;
    net.tick(HEARTBEAT);
    assert.deepEqual(readsOf(net, 1), [{ id: 2, index: l.commitIndex }]);
  });

  test('leaseReadIndex: the commit index while the lease serves reads on the leader, else -1', () => {
    const net = elected(lease);
    const l = net.core(1);
    net.propose(1, 'a');
    net.deliverAll();
    assert.equal(l.leaseReadIndex(), l.commitIndex);
    assert.ok(l.commitIndex > 0);
    assert.equal(net.core(2).leaseReadIndex(), -1, 'a follower');
    assert.equal(elected().core(1).leaseReadIndex(), -1, 'readMode index');
    // The lease runs out without acknowledgements (check-quorum has not deposed the leader yet).
    net.drop = (m) => m.type === MsgType.HeartbeatReply || m.type === MsgType.AppendEntriesReply;
    net.tick(l.leaseTicks + 1);
    assert.equal(l.role, Role.Leader);
    assert.equal(l.leaseReadIndex(), -1, 'the lease has run out');
    // A leadership transfer under way: the target may win before the lease would run out.
    const t = elected(lease);
    t.core(1).transferLeader(2);
    assert.equal(t.core(1).role, Role.Leader);
    assert.equal(t.core(1).leaseReadIndex(), -1, 'a transfer under way');
  });

  test('leaseReadIndex: -1 on a new leader until an entry of its term has committed', () => {
    const net = new Net({ config: { noopOnElection: true, readMode: 'lease', checkQuorum: true } });
    net.drop = (m) => m.type === MsgType.AppendEntriesReply; // the no-op cannot commit
    net.campaign(1);
    const l = net.core(1);
    assert.equal(l.role, Role.Leader);
    net.tick(HEARTBEAT); // heartbeats are acknowledged: the lease itself holds
    assert.equal(l.leaseReadIndex(), -1);
    net.drop = () => false;
    net.tick(HEARTBEAT);
    assert.equal(l.log.term(l.commitIndex), l.term);
    assert.equal(l.leaseReadIndex(), l.commitIndex);
  });

  test('a follower that heard from its leader within an election timeout ignores vote requests', () => {
    const net = elected(lease);
    const f = net.core(2);
    const term = f.term;
    f.step(requestVote(3, 2, term + 1, 100, term));
    assert.equal(f.term, term, 'term moved on a vote request inside the lease');
    assert.equal(drain(f).flatMap((rd) => rd.sendAfterPersist).length, 0);
    // Without lease reads (and without check-quorum's vote stickiness) the same request is heard.
    const plain = elected({ config: { checkQuorum: false } });
    plain.core(2).step(requestVote(3, 2, plain.core(2).term + 1, 100, plain.core(2).term));
    assert.equal(plain.core(2).term, term + 1);
  });

  test('a peer restarted from a term above 0 votes for no one during its first election timeout', () => {
    const restarted = newCore({ id: 2, term: 3, log: [1, 2, 3], readMode: 'lease', checkQuorum: true, random: fixed(0.9) }); // its own timeout is later
    restarted.step(requestVote(3, 2, 4, 100, 3));
    assert.equal(restarted.term, 3, 'a vote request moved the term of a peer that may have acknowledged a lease before its restart');
    assert.equal(drain(restarted).flatMap((rd) => rd.sendAfterPersist).length, 0);
    tickDrain(restarted, ELECTION - 1);
    restarted.step(requestVote(3, 2, 4, 100, 3));
    assert.equal(restarted.term, 3, 'one tick short of the election timeout');
    tickDrain(restarted, 1);
    restarted.step(requestVote(3, 2, 4, 100, 3));
    assert.equal(restarted.term, 4);
    assert.ok(msgsOfType(drain(restarted), MsgType.RequestVoteReply, 3).some((m) => !m.reject), 'the vote is granted after an election timeout');
    // A new peer (term 0) has acknowledged no one and votes at once; so does a restarted peer without lease reads.
    const fresh = newCore({ id: 2, readMode: 'lease', checkQuorum: true });
    fresh.step(requestVote(3, 2, 1, 0, 0));
    assert.equal(fresh.term, 1);
    const indexMode = newCore({ id: 2, term: 3, log: [1, 2, 3], checkQuorum: true });
    indexMode.step(requestVote(3, 2, 4, 100, 3));
    assert.equal(indexMode.term, 4);
  });

  test('lease reads need checkQuorum, and a drift bound below the election timeout', () => {
    assert.throws(() => new RaftCore(config({ readMode: 'lease', checkQuorum: false })), /readMode 'lease' needs checkQuorum/);
    assert.throws(() => new RaftCore(config({ readMode: 'lease', leaseDriftTicks: ELECTION })), /leaseDriftTicks \(10\) must be below electionTicks \(10\)/);
    assert.throws(() => new RaftCore(config({ readMode: 'quick' as 'lease' })), /option readMode must be 'index' or 'lease', got string "quick"/);
  });
});

describe('reads under a lossy, reordering network', () => {
  test('every read is answered or failed exactly once, never above the leader commit at answer time', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Net({ seed, config: { noopOnElection: true } });
      const rnd = seeded(seed);
      net.reorder = rnd;
      net.drop = () => rnd() < 0.1;
      let nextId = 1;
      const asked = new Map<number, number>(); // id -> peer
      for (let step = 0; step < 200; step++) {
        const peer = 1 + Math.floor(rnd() * 3);
        if (rnd() < 0.3) { asked.set(nextId, peer); net.core(peer).readIndex(nextId++); net.process(peer); }
        const leader = net.leaders()[0];
        if (leader !== undefined && rnd() < 0.3) net.propose(leader, `c${step}`);
        net.tick(1);
      }
      net.drop = () => false;
      net.tick(3 * ELECTION);
      const seen = new Map<number, number>();
      for (const r of net.reads) {
        assert.equal(seen.has(r.id), false, `seed ${seed}: read ${r.id} reported twice`);
        seen.set(r.id, r.peer);
        assert.equal(asked.get(r.id), r.peer, `seed ${seed}: read ${r.id} reported by another peer`);
      }
      assert.equal(seen.size, asked.size, `seed ${seed}: ${asked.size - seen.size} reads never settled`);
    }
  });
});

describe('forwarded reads across a restart', () => {
  test("an answer meant for the follower's earlier life is ignored (read ids restart, the nonce does not)", () => {
    const hello = msg(MsgType.Heartbeat, 1, 2, 1, { commit: 0 });
    const forwardOf = (c: RaftCore): Message => drain(c).flatMap((rd) => rd.sendAfterPersist).find((m) => m.type === MsgType.ReadIndex)!;
    const before = new RaftCore(config({ id: 2, random: seeded(1) }));
    before.step(hello);
    drain(before);
    before.readIndex(1);
    const old = forwardOf(before);
    const after = new RaftCore(config({ id: 2, random: seeded(2) })); // the same peer, restarted
    after.step(hello);
    drain(after);
    after.readIndex(1);
    const now = forwardOf(after);
    assert.notEqual(old.commit, now.commit);
    after.step(msg(MsgType.ReadIndexReply, 1, 2, 1, { hint: 1, index: 99, commit: old.commit }));
    assert.deepEqual(drain(after).flatMap((rd) => rd.readStates), [], 'answered with the index of an earlier read');
    after.step(msg(MsgType.ReadIndexReply, 1, 2, 1, { hint: 1, index: 0, commit: now.commit }));
    assert.deepEqual(drain(after).flatMap((rd) => rd.readStates), [{ id: 1, index: 0 }]);
  });
});
