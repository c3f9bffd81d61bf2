import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { Role } from '../../src/core/types.js';
import {
  appendEntries, batchIndexes, bytes, config, drain, ents, heartbeat, installSnapshot, logTerms, makeLeader, newCore, persisted,
  requestVote, stepDrain, text,
} from './helpers.js';

describe('persistence ordering: what a message promises is persisted in its own Ready', () => {
  test('a heartbeat of a higher term: the new term and the reply travel in the same Ready', () => {
    const f = newCore({ term: 1, votedFor: 1 });
    const rds = stepDrain(f, heartbeat(2, 1, 3));
    assert.equal(rds.length, 1);
    assert.deepEqual(rds[0].hardState, { term: 3, votedFor: -1 });
    assert.deepEqual(rds[0].sendNow, []);
    assert.equal(rds[0].sendAfterPersist[0].type, MsgType.HeartbeatReply);
    assert.equal(rds[0].sendAfterPersist[0].term, 3);
  });

  test('a refusal of a stale message needs nothing persisted, and still waits behind the persist step', () => {
    const f = newCore({ term: 4 });
    for (const m of [requestVote(2, 1, 3, 0, 0), appendEntries(2, 1, 3, 0, 0, ents(1, [3])), heartbeat(2, 1, 3),
      installSnapshot(2, 1, 3, 5, 3, 1, 0, new Uint8Array(1), true)]) {
      const rds = stepDrain(f, m);
      assert.equal(rds.length, 1);
      assert.equal(rds[0].hardState, null);
      assert.equal(rds[0].entries, null);
      assert.deepEqual(rds[0].sendNow, []);
      assert.equal(rds[0].sendAfterPersist.length, 1);
      assert.equal(rds[0].sendAfterPersist[0].term, 4);
    }
  });

  test('vote + entries: a follower that votes, then appends, persists each before the matching reply', () => {
    const f = newCore({ term: 1 });
    const vote = stepDrain(f, requestVote(2, 1, 2, 0, 0));
    assert.deepEqual(vote[0].hardState, { term: 2, votedFor: 2 });
    assert.equal(vote[0].sendAfterPersist[0].reject, false);
    const app = stepDrain(f, appendEntries(2, 1, 2, 0, 0, ents(1, [2, 2])));
    assert.equal(app[0].hardState, null, 'the term and vote are already on storage');
    assert.deepEqual(batchIndexes(app[0].entries), [1, 2]);
    assert.equal(app[0].sendAfterPersist[0].index, 2);
  });

  test('the leader ships appends in sendNow, before its own copy is persisted (allowed: it counts itself only after advance)', () => {
    const l = newCore({ peers: [1, 2, 3] });
    makeLeader(l);
    l.propose(bytes('a'));
    const rd = l.ready();
    assert.deepEqual(batchIndexes(rd.entries), [1]);
    const appends = rd.sendNow.filter((m) => m.type === MsgType.AppendEntries && m.entries);
    assert.equal(appends.length, 2);
    assert.deepEqual(rd.sendAfterPersist, []);
    l.advance(rd);
  });

  test('a Ready handed out before a truncation does not mark the replacement entries as stored', () => {
    const f = newCore({ term: 1 });
    f.step(appendEntries(2, 1, 1, 0, 0, ents(1, [1, 1, 1])));
    const old = f.ready(); // entries 1..3 of term 1, not yet advanced
    f.step(appendEntries(3, 1, 2, 1, 1, ents(2, [2])));
    const fresh = f.ready();
    assert.deepEqual(batchIndexes(fresh.entries), [2], 'storage is told to replace from index 2');
    assert.deepEqual(Array.from(fresh.entries!.terms), [2]);
    f.advance(old);
    assert.ok(f.stableIndex <= 1, `stableIndex ${f.stableIndex}: entry 2 of term 2 is not stored yet`);
    f.advance(fresh);
    assert.equal(f.stableIndex, 2);
  });
});

describe('restart from PersistedState', () => {
  test('restores term, vote, log and snapshot; commit and applied start at the snapshot index', () => {
    const snap = { index: 4, term: 2, data: bytes('state through 4') };
    const c = newCore({ term: 5, votedFor: 3, snapshot: snap, log: [2, 3, 5] });
    assert.equal(c.term, 5);
    assert.equal(c.votedFor, 3);
    assert.equal(c.role, Role.Follower);
    assert.equal(c.log.snapshotIndex, 4);
    assert.equal(c.log.term(4), 2, 'term lookup at the snapshot index');
    assert.deepEqual(logTerms(c), [2, 3, 5]);
    assert.equal(c.log.lastIndex, 7);
    assert.equal(text(c.log.command(5)), 'e5t2');
    assert.equal(c.commitIndex, 4);
    assert.equal(c.appliedIndex, 4);
    assert.equal(c.stableIndex, 7, 'everything loaded is on storage already');
    assert.deepEqual(c.snapshot, snap);
    assert.equal(c.hasReady(), false, 'nothing to persist again, nothing to apply');
  });

  test('without a snapshot: commit and applied start at 0, entries are re-applied as they commit again', () => {
    const c = newCore({ term: 2, log: [1, 2] });
    assert.equal(c.commitIndex, 0);
    assert.equal(c.appliedIndex, 0);
    const rds = stepDrain(c, appendEntries(2, 1, 2, 2, 2, null, 2));
    assert.deepEqual(batchIndexes(rds[0].committed), [1, 2]);
    assert.equal(rds[0].entries, null);
  });

  test('the restored vote binds; the restored log decides the up-to-date check', () => {
    const c = newCore({ term: 5, votedFor: 3, log: [1, 5] });
    assert.equal(stepDrain(c, requestVote(2, 1, 5, 9, 5))[0].sendAfterPersist[0].reject, true, 'already voted for 3 in term 5');
    assert.equal(stepDrain(c, requestVote(2, 1, 6, 1, 5))[0].sendAfterPersist[0].reject, true, 'shorter log of the same last term');
    assert.equal(stepDrain(c, requestVote(2, 1, 7, 2, 5))[0].sendAfterPersist[0].reject, false);
  });

  test('persisted entries must start right after the snapshot', () => {
    const p = persisted({ term: 1, snapshot: { index: 4, term: 1 } });
    p.entries = ents(7, [1]);
    assert.throws(() => new RaftCore(config(), p), /start at 7, expected 5/);
  });

  test('a restarted follower times out like a fresh one, and campaigns from its restored term', () => {
    const c = newCore({ term: 5, votedFor: 3, log: [1, 5] });
    for (let i = 0; i < 10; i++) c.tick();
    assert.equal(c.role, Role.Candidate);
    assert.equal(c.term, 6);
    const rd = drain(c)[0];
    assert.deepEqual(rd.hardState, { term: 6, votedFor: 1 });
    assert.equal(rd.sendAfterPersist[0].index, 2);
    assert.equal(rd.sendAfterPersist[0].logTerm, 5);
  });
});
