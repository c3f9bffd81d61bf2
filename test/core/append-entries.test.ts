import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType } from '../../src/core/message.js';
import { InvariantError, Role } from '../../src/core/types.js';
import {
  appendEntries, batchIndexes, batchTerms, batchTexts, cmdOf, drain, ents, heartbeat, logTerms, newCore, stepDrain,
} from './helpers.js';

/** Steps one AppendEntries into a follower; returns its single reply and the Ready that carried it. */
function deliver(f: ReturnType<typeof newCore>, m: ReturnType<typeof appendEntries>) {
  const rds = stepDrain(f, m);
  const replies = rds.flatMap((rd) => rd.sendAfterPersist);
  assert.equal(replies.length, 1, 'exactly one reply');
  assert.equal(replies[0].type, MsgType.AppendEntriesReply);
  assert.equal(rds.flatMap((rd) => rd.sendNow).length, 0, 'a follower sends nothing in sendNow');
  const rd = rds.find((r) => r.sendAfterPersist.length > 0)!;
  return { reply: replies[0], rd, rds };
}

describe('AppendEntries (receiver rules of Figure 2)', () => {
  test('1. lower term: rejected, the reply carries our term, the log is untouched', () => {
    const f = newCore({ term: 5, log: [1, 2] });
    const { reply, rd } = deliver(f, appendEntries(2, 1, 4, 2, 2, ents(3, [4]), 3));
    assert.equal(reply.reject, true);
    assert.equal(reply.term, 5);
    assert.deepEqual(logTerms(f), [1, 2]);
    assert.equal(f.commitIndex, 0);
    assert.equal(rd.entries, null);
    assert.equal(f.leaderId, -1, 'a stale leader is not accepted');
  });

  test('success: entries appended, reply index = last new entry, entries persisted in the same Ready', () => {
    const f = newCore({ term: 1, log: [1] });
    const { reply, rd } = deliver(f, appendEntries(2, 1, 1, 1, 1, ents(2, [1, 1])));
    assert.equal(reply.reject, false);
    assert.equal(reply.index, 3);
    assert.equal(reply.term, 1);
    assert.deepEqual(batchIndexes(rd.entries), [2, 3]);
    assert.deepEqual(batchTexts(rd.entries), [cmdOf(2, 1), cmdOf(3, 1)]);
    assert.deepEqual(logTerms(f), [1, 1, 1]);
    assert.equal(f.leaderId, 2);
  });

  test('a higher term in an AppendEntries: adopted and persisted with the entries, before the reply', () => {
    const f = newCore({ term: 1, votedFor: 3 });
    const { reply, rd } = deliver(f, appendEntries(2, 1, 4, 0, 0, ents(1, [4])));
    assert.deepEqual(rd.hardState, { term: 4, votedFor: -1 });
    assert.deepEqual(batchIndexes(rd.entries), [1]);
    assert.equal(reply.term, 4);
    assert.equal(reply.reject, false);
  });

  describe('2. consistency check', () => {
    test('log too short: reject with conflict term 0 and hint = lastIndex + 1', () => {
      const f = newCore({ term: 3, log: [1, 1, 2] });
      const { reply, rd } = deliver(f, appendEntries(2, 1, 3, 7, 3, ents(8, [3])));
      assert.equal(reply.reject, true);
      assert.equal(reply.index, 7, 'echoes prevLogIndex');
      assert.equal(reply.logTerm, 0);
      assert.equal(reply.hint, 4);
      assert.deepEqual(logTerms(f), [1, 1, 2]);
      assert.equal(rd.entries, null);
    });

    test('term mismatch at prevLogIndex: reject with the conflicting term and the first index of that term', () => {
      //             index: 1  2  3  4  5  6
      const f = newCore({ term: 5, log: [1, 1, 2, 2, 2, 3] });
      const { reply } = deliver(f, appendEntries(2, 1, 5, 5, 4, ents(6, [5])));
      assert.equal(reply.reject, true);
      assert.equal(reply.index, 5);
      assert.equal(reply.logTerm, 2, 'conflict term = our term at prevLogIndex');
      assert.equal(reply.hint, 3, 'first index holding term 2');
      assert.deepEqual(logTerms(f), [1, 1, 2, 2, 2, 3], 'a failed check deletes nothing');
    });

    test('mismatch where the conflicting term starts right after the snapshot', () => {
      const f = newCore({ term: 5, snapshot: { index: 4, term: 2 }, log: [2, 2, 3] });
      const { reply } = deliver(f, appendEntries(2, 1, 5, 6, 4, null));
      assert.equal(reply.reject, true);
      assert.equal(reply.logTerm, 2);
      assert.ok(reply.hint > 4 && reply.hint <= 5, `hint ${reply.hint} stays above the snapshot`);
    });

    test('prevLogIndex 0 always matches', () => {
      const f = newCore({ term: 1 });
      const { reply } = deliver(f, appendEntries(2, 1, 1, 0, 0, ents(1, [1, 1])));
      assert.equal(reply.reject, false);
      assert.equal(reply.index, 2);
    });
  });

  describe('3. conflicting entries', () => {
    test('a conflicting entry is deleted with all that follow, then the new entries are appended', () => {
      const f = newCore({ term: 3, log: [1, 1, 2, 2, 2] });
      const { reply, rd } = deliver(f, appendEntries(2, 1, 3, 2, 1, ents(3, [3])));
      assert.equal(reply.reject, false);
      assert.equal(reply.index, 3);
      assert.deepEqual(logTerms(f), [1, 1, 3], 'entries 4 and 5 went with the conflicting entry 3');
      assert.equal(rd.entries!.firstIndex, 3, 'storage is told to replace from index 3');
      assert.deepEqual(batchTerms(rd.entries), [3]);
    });

    test('the conflict may be in the middle of the batch: matching prefix kept, rest replaced', () => {
      const f = newCore({ term: 3, log: [1, 1, 2, 2] });
      deliver(f, appendEntries(2, 1, 3, 1, 1, ents(2, [1, 2, 3, 3])));
      assert.deepEqual(logTerms(f), [1, 1, 2, 3, 3]);
    });

    test('a conflict with a committed entry is an invariant violation', () => {
      const f = newCore({ term: 3, log: [1, 1, 2] });
      deliver(f, appendEntries(2, 1, 3, 3, 2, null, 3));
      assert.equal(f.commitIndex, 3);
      assert.throws(() => f.step(appendEntries(2, 1, 3, 1, 1, ents(2, [3]))), InvariantError);
    });
  });

  describe('4. a stale or duplicate AppendEntries never truncates', () => {
    test('receive [1..5], then a delayed [1..3]: entries 4 and 5 remain', () => {
      const f = newCore({ term: 1 });
      deliver(f, appendEntries(2, 1, 1, 0, 0, ents(1, [1, 1, 1, 1, 1])));
      const { reply, rd } = deliver(f, appendEntries(2, 1, 1, 0, 0, ents(1, [1, 1, 1])));
      assert.deepEqual(logTerms(f), [1, 1, 1, 1, 1]);
      assert.equal(reply.reject, false);
      assert.equal(reply.index, 3, 'acknowledges only what this message proved');
      assert.equal(rd.entries, null, 'nothing to persist again');
    });

    test('a duplicate that overlaps and extends appends only the new part', () => {
      const f = newCore({ term: 1, log: [1, 1, 1] });
      const { rd, reply } = deliver(f, appendEntries(2, 1, 1, 1, 1, ents(2, [1, 1, 1, 1])));
      assert.deepEqual(logTerms(f), [1, 1, 1, 1, 1]);
      assert.deepEqual(batchIndexes(rd.entries), [4, 5]);
      assert.equal(reply.index, 5);
    });

    test('an empty AppendEntries (probe) matching the middle of the log truncates nothing', () => {
      const f = newCore({ term: 2, log: [1, 1, 2, 2] });
      const { reply } = deliver(f, appendEntries(2, 1, 2, 2, 1, null));
      assert.equal(reply.reject, false);
      assert.equal(reply.index, 2);
      assert.deepEqual(logTerms(f), [1, 1, 2, 2]);
    });
  });

  describe('5. leaderCommit', () => {
    test('commit = min(leaderCommit, index of last new entry)', () => {
      const f = newCore({ term: 1 });
      deliver(f, appendEntries(2, 1, 1, 0, 0, ents(1, [1, 1]), 5));
      assert.equal(f.commitIndex, 2, 'capped by the last new entry');
      deliver(f, appendEntries(2, 1, 1, 2, 1, ents(3, [1, 1, 1]), 4));
      assert.equal(f.commitIndex, 4, 'capped by leaderCommit');
    });

    test('entries the message did not prove are not committed, even if we hold them', () => {
      // We hold 1..5 (maybe from an old leader); this message proves only 1..2.
      const f = newCore({ term: 2, log: [1, 1, 1, 1, 1] });
      deliver(f, appendEntries(2, 1, 2, 1, 1, ents(2, [1]), 5));
      assert.equal(f.commitIndex, 2);
    });

    test('commit never goes backwards', () => {
      const f = newCore({ term: 1, log: [1, 1, 1] });
      deliver(f, appendEntries(2, 1, 1, 3, 1, null, 3));
      assert.equal(f.commitIndex, 3);
      deliver(f, appendEntries(2, 1, 1, 1, 1, null, 1));
      assert.equal(f.commitIndex, 3);
    });

    test('newly committed entries are handed out to apply, in the same Ready as their persistence', () => {
      const f = newCore({ term: 1 });
      const { rd } = deliver(f, appendEntries(2, 1, 1, 0, 0, ents(1, [1, 1]), 2));
      assert.deepEqual(batchIndexes(rd.entries), [1, 2]);
      assert.deepEqual(batchIndexes(rd.committed), [1, 2]);
    });
  });

  describe('heartbeat', () => {
    test('advances commit up to leaderCommit but never beyond our last index', () => {
      const f = newCore({ term: 1, log: [1, 1, 1] });
      stepDrain(f, heartbeat(2, 1, 1, 2));
      assert.equal(f.commitIndex, 2);
      stepDrain(f, heartbeat(2, 1, 1, 9));
      assert.equal(f.commitIndex, 3);
    });

    test('a heartbeat of a lower term is answered with our term, changes nothing', () => {
      const f = newCore({ term: 4, log: [1] });
      const rd = stepDrain(f, heartbeat(2, 1, 3, 1))[0];
      assert.equal(rd.sendAfterPersist[0].type, MsgType.HeartbeatReply);
      assert.equal(rd.sendAfterPersist[0].term, 4);
      assert.equal(f.commitIndex, 0);
      assert.equal(f.leaderId, -1);
    });
  });

  test('a follower of the same term stays follower; the leader is remembered', () => {
    const f = newCore({ term: 2 });
    deliver(f, appendEntries(3, 1, 2, 0, 0, null));
    assert.equal(f.role, Role.Follower);
    assert.equal(f.leaderId, 3);
    drain(f);
  });
});
