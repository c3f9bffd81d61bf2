import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Message, MsgType, MSG_TYPE_NAMES } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { NO_VOTE, Role } from '../../src/core/types.js';
import {
  ELECTION, HEARTBEAT, Net, allMsgs, appendOk, batchIndexes, bytes, drain, leaderHello, logTerms, makeLeader, msg, newCore,
  stepDrain, takeReady, tickDrain,
} from './helpers.js';

/** Delivers every message between the given cores (others are dropped) until none are left. */
function exchange(cores: RaftCore[], first: Message[], onDeliver: (m: Message) => void = () => {}): void {
  const byId = new Map(cores.map((c) => [c.id, c]));
  const q = [...first];
  for (let n = 0; q.length > 0; n++) {
    if (n > 10000) throw new Error('no quiescence');
    const m = q.shift()!;
    const to = byId.get(m.to);
    if (!to) continue;
    onDeliver(m);
    to.step(m);
    q.push(...allMsgs(drain(to)));
  }
}

describe('fast log backup (Figure 7)', () => {
  // The leader of term 8 and the six followers of Figure 7 (terms of entries 1..n).
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, { log: number[]; rounds: number }> = {
    // rounds: AppendEntries round trips (after the new leader's first heartbeat) until the
    // leader knows where the logs agree. The naive one-index-per-reject backup needs up to 8.
    a: { log: [1, 1, 1, 4, 4, 5, 5, 6, 6], rounds: 2 },
    b: { log: [1, 1, 1, 4], rounds: 2 },
    c: { log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], rounds: 1 },
    d: { log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], rounds: 1 },
    e: { log: [1, 1, 1, 4, 4, 4, 4], rounds: 3 },
    f: { log: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], rounds: 3 },
  };
  for (const [name, f] of Object.entries(followers)) {
    test(`follower (${name}) converges in ${f.rounds} round trip(s), skipping a term per reject`, () => {
      // Peer 3 holds the leader's log and gives it its vote; peer 2 is the follower under test.
      const net = new Net({
        setup: {
          1: { term: 7, log: leaderLog },
          2: { term: Math.max(...f.log), log: f.log },
          3: { term: 7, log: leaderLog },
        },
      });
      const appends: Message[] = [];
      const rejects: Message[] = [];
      net.onDeliver = (m) => {
        if (m.type === MsgType.AppendEntries && m.to === 2) appends.push(m);
        if (m.type === MsgType.AppendEntriesReply && m.from === 2 && m.reject) rejects.push(m);
      };
      net.campaign(1);
      const l = net.core(1);
      assert.equal(l.role, Role.Leader);
      assert.equal(l.term, 8);
      assert.equal(l.progressOf(2)!.match, 10);
      assert.equal(appends.length, f.rounds, `appends: ${appends.map((m) => `prev ${m.index}`).join(', ')}`);
      assert.equal(rejects.length, f.rounds - 1);
      // After a reject the next probe starts at a term boundary of the leader's log or at the
      // follower's hint: never one index at a time within a term.
      for (let k = 1; k < appends.length; k++) {
        const prev = appends[k].index;
        assert.ok(prev === 0 || l.log.term(prev) !== l.log.term(prev + 1) || prev + 1 === rejects[k - 1].hint,
          `probe ${k} at prev ${prev} is not at a term boundary`);
      }
      // Convergence: one new entry makes every log equal to the leader's.
      net.propose(1, 'x');
      net.tick(HEARTBEAT);
      assert.deepEqual(logTerms(net.core(2)), [...leaderLog, 8]);
      assert.equal(net.core(2).commitIndex, 11);
    });
  }
});

describe('commitment (Section 5.4.2, Figure 8)', () => {
  test('an old-term entry on a majority is not committed until an entry of the current term is', () => {
    const net = new Net({ setup: { 1: { term: 3, log: [1, 2] }, 2: { term: 3, log: [1, 2] }, 3: { term: 3, log: [1] } } });
    net.campaign(1);
    net.tick(2 * HEARTBEAT);
    const l = net.core(1);
    assert.equal(l.role, Role.Leader);
    assert.equal(l.progressOf(2)!.match, 2);
    assert.equal(l.progressOf(3)!.match, 2, 'entry 2 (term 2) is on every peer');
    for (const id of net.ids) assert.equal(net.core(id).commitIndex, 0, `peer ${id} must not commit old-term entries by counting`);
    assert.deepEqual(net.commands(1), []);
    net.propose(1, 'now');
    net.tick(HEARTBEAT);
    for (const id of net.ids) {
      assert.equal(net.core(id).commitIndex, 3);
      assert.deepEqual(net.commands(id), ['e1t1', 'e2t2', 'now']);
    }
  });

  test('Figure 8 in full: the uncommitted old-term entry is overwritten, and no peer applied it', () => {
    const net = new Net({
      ids: [1, 2, 3, 4, 5],
      // S5 campaigns at once after S1's crash: with check-quorum, vote stickiness would make S2 and S3 wait out S1's lease.
      config: { checkQuorum: false },
      setup: {
        1: { term: 3, log: [1, 2] }, 2: { term: 3, log: [1, 2] }, 3: { term: 3, log: [1] },
        4: { term: 3, log: [1] }, 5: { term: 3, log: [1, 3] },
      },
    });
    // (c) S1 leads term 4 and copies its term-2 entry to S3: a majority (S1, S2, S3) holds it.
    net.down.add(4); net.down.add(5);
    net.campaign(1);
    assert.equal(net.core(1).role, Role.Leader);
    assert.deepEqual(logTerms(net.core(3)), [1, 2]);
    for (const id of [1, 2, 3]) assert.equal(net.core(id).commitIndex, 0);
    // (d) S1 crashes; S5 (last term 3) wins with votes from S2, S3, S4 and overwrites index 2.
    net.down.add(1);
    net.down.delete(4); net.down.delete(5);
    for (let n = 0; net.core(5).role !== Role.Leader; n++) {
      assert.ok(n < 5, 'S5 never won');
      net.campaign(5);
    }
    net.propose(5, 'five');
    net.tick(HEARTBEAT);
    for (const id of [2, 3, 4, 5]) {
      assert.equal(net.core(id).log.term(2), 3, `peer ${id} holds S5's entry 2`);
      assert.deepEqual(net.commands(id), ['e1t1', 'e2t3', 'five']);
    }
    // S1 comes back and is brought in line.
    net.restart(1);
    net.down.delete(1);
    net.tick(HEARTBEAT * 2);
    assert.deepEqual(net.commands(1), ['e1t1', 'e2t3', 'five']);
  });

  test('the leader counts itself only once its own entries are persisted (advance)', () => {
    const l = newCore({ id: 1 });
    const f = newCore({ id: 2 });
    exchange([l, f], leaderHello(l));
    l.propose(bytes('a'));
    const rd = l.ready(); // not advanced: the leader's entry is not on its disk yet
    assert.deepEqual(batchIndexes(rd.entries), [1]);
    exchange([l, f], rd.sendNow);
    assert.equal(l.progressOf(2)!.match, 1, 'the follower acknowledged index 1');
    assert.equal(l.commitIndex, 0, 'one follower plus an unpersisted leader is not a majority of 3');
    l.advance(rd);
    assert.equal(l.commitIndex, 1);
  });

  test('once commit advances, followers are told (heartbeat or append carrying the commit)', () => {
    const l = newCore({ id: 1 });
    const f2 = newCore({ id: 2 });
    const f3 = newCore({ id: 3 });
    exchange([l, f2], leaderHello(l));
    l.propose(bytes('a'));
    const rd = takeReady(l);
    const toF3 = rd.sendNow.filter((m) => m.to === 3); // held back: f3 acks later
    exchange([l, f2], rd.sendNow);
    assert.equal(l.commitIndex, 1);
    // The leader tells f2 about the commit at its next tick, without waiting for more
    // proposals or for the heartbeat interval.
    l.tick();
    exchange([l, f2], allMsgs(drain(l)).filter((m) => m.to === 2));
    assert.equal(f2.commitIndex, 1, 'f2 learns the commit one tick later, without waiting for more proposals');
    // f3 acknowledges late; it learns the commit at the latest with the next heartbeat.
    exchange([l, f3], toF3);
    let told = f3.commitIndex === 1;
    for (let i = 0; i < HEARTBEAT && !told; i++) {
      l.tick();
      exchange([l, f3], allMsgs(drain(l)));
      told = f3.commitIndex === 1;
    }
    assert.ok(told, 'f3 is told the commit within one heartbeat interval');
  });

  test('committed entries are applied in index order exactly once (batches never overlap or skip)', () => {
    const net = new Net({ config: { maxBatchBytes: 16, maxBatchEntries: 3 } });
    net.campaign(1);
    let applied = 0;
    for (let i = 1; i <= 40; i++) {
      net.propose(1, `cmd-${i}`);
      if (i % 7 === 0) net.tick(1);
      else net.deliverAll();
    }
    net.tick(HEARTBEAT);
    for (const id of net.ids) {
      assert.equal(net.core(id).commitIndex, 40);
      const cmds = net.commands(id);
      assert.deepEqual(cmds, Array.from({ length: 40 }, (_, k) => `cmd-${k + 1}`));
      applied += cmds.length;
    }
    assert.equal(applied, 120);
  });

  test('the leader hands out committed entries in bounded, contiguous batches', () => {
    const l = newCore({ peers: [1], maxBatchBytes: 10 });
    makeLeader(l);
    drain(l);
    for (let i = 0; i < 10; i++) l.propose(bytes(`abcd${i}`)); // 5 bytes each: 2 per batch
    const rds = drain(l);
    const batches = rds.flatMap((rd) => (rd.committed ? [batchIndexes(rd.committed)] : []));
    assert.deepEqual(batches.flat(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(batches.length >= 5, `maxBatchBytes bounds each batch (${batches.length} batches)`);
    assert.equal(l.appliedIndex, 10);
    assert.equal(l.hasReady(), false);
  });
});

describe('step down on a higher term', () => {
  const types = [
    MsgType.RequestVote, MsgType.RequestVoteReply, MsgType.AppendEntries, MsgType.AppendEntriesReply,
    MsgType.Heartbeat, MsgType.HeartbeatReply, MsgType.InstallSnapshot, MsgType.InstallSnapshotReply,
  ];
  for (const type of types) {
    for (const role of ['leader', 'candidate'] as const) {
      test(`${role} receiving ${MSG_TYPE_NAMES[type]} of a higher term`, () => {
        const c = newCore({ term: 2, log: [1, 2] });
        if (role === 'leader') makeLeader(c); else tickDrain(c, ELECTION);
        assert.equal(c.term, 3);
        const m = msg(type, 2, 1, 9);
        // A leader that checks its quorum ignores vote requests (vote stickiness); those of a leader transfer it answers.
        if (type === MsgType.RequestVote) m.done = true;
        if (type === MsgType.InstallSnapshot) Object.assign(m, { index: 1, logTerm: 1, hint: 1, data: new Uint8Array(1), offset: 0 });
        const rds = stepDrain(c, m);
        assert.equal(c.role, Role.Follower);
        assert.equal(c.term, 9);
        const fromLeader = type === MsgType.AppendEntries || type === MsgType.Heartbeat || type === MsgType.InstallSnapshot;
        assert.equal(c.leaderId, fromLeader ? 2 : -1);
        if (type !== MsgType.RequestVote) assert.equal(c.votedFor, NO_VOTE);
        assert.equal(rds[0].hardState?.term, 9, 'the new term is persisted');
        assert.equal(c.propose(bytes('x')).isLeader, false);
      });
    }
  }
});

describe('check quorum', () => {
  test('a leader that hears from no one steps down (within two election timeouts)', () => {
    const l = newCore({ id: 1 });
    makeLeader(l);
    let ticks = 0;
    while (l.role === Role.Leader && ticks < 10 * ELECTION) {
      l.tick();
      drain(l);
      ticks++;
    }
    assert.equal(l.role, Role.Follower);
    assert.ok(ticks >= ELECTION && ticks <= 2 * ELECTION, `stepped down after ${ticks} ticks`);
    assert.equal(l.term, 1, 'stepping down does not change the term');
  });

  test('a leader that hears from a majority each round stays leader', () => {
    const l = newCore({ id: 1, peers: [1, 2, 3, 4, 5] });
    makeLeader(l);
    for (let t = 0; t < 10 * ELECTION; t++) {
      l.tick();
      for (const m of allMsgs(drain(l))) {
        if (m.type === MsgType.Heartbeat && (m.to === 2 || m.to === 3)) {
          stepDrain(l, msg(MsgType.HeartbeatReply, m.to, 1, l.term, { index: 0, hint: m.hint }));
        }
      }
    }
    assert.equal(l.role, Role.Leader);
  });

  test('a leader that hears from a minority only steps down', () => {
    const l = newCore({ id: 1, peers: [1, 2, 3, 4, 5] });
    makeLeader(l);
    for (let t = 0; t < 3 * ELECTION && l.role === Role.Leader; t++) {
      l.tick();
      for (const m of allMsgs(drain(l))) {
        if (m.type === MsgType.Heartbeat && m.to === 2) {
          stepDrain(l, msg(MsgType.HeartbeatReply, 2, 1, l.term, { index: 0, hint: m.hint }));
        }
      }
    }
    assert.equal(l.role, Role.Follower);
  });

  test('checkQuorum: false keeps an isolated leader', () => {
    const l = newCore({ checkQuorum: false });
    makeLeader(l);
    tickDrain(l, 10 * ELECTION);
    assert.equal(l.role, Role.Leader);
  });
});

describe('heartbeats', () => {
  test('the leader sends a heartbeat to every follower every heartbeatTicks ticks, and no more often', () => {
    for (const hb of [1, 2, 3]) {
      const l = newCore({ heartbeatTicks: hb, checkQuorum: false });
      makeLeader(l);
      const sentAt: number[] = [];
      for (let t = 1; t <= 30; t++) {
        l.tick();
        const hbs = allMsgs(drain(l)).filter((m) => m.type === MsgType.Heartbeat);
        if (hbs.length > 0) {
          assert.deepEqual(hbs.map((m) => m.to).sort(), [2, 3], `tick ${t}: one heartbeat per follower`);
          sentAt.push(t);
        }
      }
      assert.deepEqual(sentAt, Array.from({ length: Math.floor(30 / hb) }, (_, k) => (k + 1) * hb), `heartbeatTicks ${hb}`);
    }
  });

  test('heartbeats carry the leader term and min(commit, follower match), in sendNow', () => {
    const l = newCore({ id: 1, checkQuorum: false });
    const f = newCore({ id: 2 });
    exchange([l, f], leaderHello(l));
    l.propose(bytes('a'));
    exchange([l, f], allMsgs(drain(l)));
    assert.equal(l.commitIndex, 1);
    const rds = tickDrain(l, HEARTBEAT);
    const hbs = rds.flatMap((rd) => rd.sendNow).filter((m) => m.type === MsgType.Heartbeat);
    assert.equal(rds.flatMap((rd) => rd.sendAfterPersist).length, 0);
    assert.equal(hbs.find((m) => m.to === 2)!.commit, 1);
    assert.equal(hbs.find((m) => m.to === 3)!.commit, 0, 'peer 3 has not acknowledged entry 1');
    for (const m of hbs) assert.equal(m.term, l.term);
  });

  test('followers never send heartbeats', () => {
    const f = newCore({ term: 1 });
    for (let t = 0; t < ELECTION - 1; t++) {
      f.tick();
      assert.equal(allMsgs(drain(f)).length, 0);
    }
  });
});

describe('replication basics', () => {
  test('a lower-term AppendEntriesReply is ignored', () => {
    const l = newCore({ term: 3, log: [1] });
    makeLeader(l);
    stepDrain(l, appendOk(2, 1, 2, 1));
    assert.equal(l.progressOf(2)!.match, 0);
  });

  test('a leader never overwrites or deletes its own entries (leader append-only)', () => {
    const net = new Net({ setup: { 1: { term: 2, log: [1, 2] }, 2: { term: 2, log: [1, 2, 2, 2] }, 3: { term: 2, log: [1] } } });
    // 1 wins with 3's vote; 2 holds a longer log of the same last term and refuses.
    net.campaign(1);
    assert.equal(net.core(1).role, Role.Leader);
    net.propose(1, 'x');
    net.tick(HEARTBEAT);
    assert.deepEqual(logTerms(net.core(1)), [1, 2, 3]);
    assert.deepEqual(logTerms(net.core(2)), [1, 2, 3], "the follower's extra entries are replaced");
  });

  test('entries from an AppendEntries batch are limited by maxBatchEntries and maxBatchBytes', () => {
    const l = newCore({ maxBatchEntries: 2, checkQuorum: false });
    const f = newCore({ id: 2 });
    exchange([l, f], leaderHello(l));
    for (let i = 0; i < 5; i++) l.propose(bytes(`c${i}`));
    const sizes: number[] = [];
    exchange([l, f], allMsgs(drain(l)), (m) => {
      if (m.type === MsgType.AppendEntries && m.entries) sizes.push(m.entries.count);
    });
    assert.ok(sizes.every((n) => n <= 2), `batch sizes ${sizes}`);
    assert.equal(f.log.lastIndex, 5);
  });
});

describe('no-op entry on election (noopOnElection)', () => {
  test('a new leader commits entries of earlier terms without a new proposal', () => {
    // peer 2 holds two entries of term 1 that never committed; peers 1 and 3 have none of them
    const c2 = newCore({ id: 2, term: 1, log: [1, 1], noopOnElection: true });
    const c1 = newCore({ id: 1, term: 1, noopOnElection: true });
    const c3 = newCore({ id: 3, term: 1, noopOnElection: true });
    exchange([c1, c2, c3], leaderHello(c2));
    assert.equal(c2.isLeader, true);
    assert.deepEqual(logTerms(c2), [1, 1, 2], 'the leader appended an entry of its own term');
    assert.equal(c2.log.command(3).byteLength, 0, 'the no-op is empty');
    assert.equal(c2.commitIndex, 3, 'the leader committed through the no-op');
    c2.tick(); // followers hear of the commit at the leader's next tick
    exchange([c1, c2, c3], allMsgs(drain(c2)));
    for (const c of [c1, c2, c3]) assert.equal(c.commitIndex, 3, `peer ${c.id} committed through the no-op`);
  });

  test('without it, the earlier entries wait for the next proposal (Figure 8 rule)', () => {
    const c2 = newCore({ id: 2, term: 1, log: [1, 1] });
    const c1 = newCore({ id: 1, term: 1 });
    const c3 = newCore({ id: 3, term: 1 });
    exchange([c1, c2, c3], leaderHello(c2));
    assert.deepEqual(logTerms(c2), [1, 1]);
    assert.equal(c2.commitIndex, 0);
  });

  test('0-byte commands are refused when no-ops are on, accepted otherwise', () => {
    const on = newCore({ id: 1, noopOnElection: true });
    assert.throws(() => on.propose(new Uint8Array(0)), { name: 'RangeError', message: /reserved for the no-op/ });
    const off = newCore({ id: 1 });
    assert.doesNotThrow(() => off.propose(new Uint8Array(0)));
  });
});
