/**
 * The core's parts on their own: the unstable tail of RaftLog, SnapshotReceiver, the
 * flow-control decisions of Progress, and the invariant checks of RaftCore.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batchLastIndex } from '../../src/core/entry-batch.js';
import { RaftLog } from '../../src/core/log.js';
import { MsgType } from '../../src/core/message.js';
import { FollowUp, Progress, ProgressState } from '../../src/core/progress.js';
import { SnapshotReceiver } from '../../src/core/snapshot-receiver.js';
import { InvariantError } from '../../src/core/types.js';
import {
  appendEntries, batchIndexes, batchTerms, bytes, drain, ents, heartbeat, installSnapshot, makeLeader, msg, newCore, stepDrain, text,
} from './helpers.js';

function logWith(terms: number[]): RaftLog {
  const l = new RaftLog();
  l.appendBatch(ents(1, terms));
  return l;
}

describe('RaftLog shared slices', () => {
  test('the same range while the log holds it unchanged is one batch; a truncation, compaction or reset ends that', () => {
    const l = logWith([1, 1, 1, 1]);
    const a = l.sliceShared(2, 4);
    assert.equal(l.sliceShared(2, 9), a, 'a range clamped to the same entries');
    assert.equal(l.sliceShared(2, 4, 2 * l.command(2).byteLength + 1).count, 2, 'a byte limit that takes fewer entries is another range');
    const b = l.sliceShared(2, 3);
    assert.notEqual(b, a);
    assert.deepEqual(batchIndexes(b), [2, 3]);
    assert.equal(l.sliceShared(2, 3), b);
    l.appendBatch(ents(5, [1]));
    assert.equal(l.sliceShared(2, 3), b, 'an append leaves earlier entries as they were');
    l.truncateFrom(3);
    l.appendBatch(ents(3, [2]));
    const c = l.sliceShared(2, 3);
    assert.notEqual(c, b);
    assert.deepEqual(batchTerms(c), [1, 2]);
    l.compact(2, 1);
    assert.notEqual(l.sliceShared(3, 3), c);
    const d = l.sliceShared(3, 3);
    l.reset(2, 1);
    l.appendBatch(ents(3, [3]));
    assert.deepEqual(batchTerms(l.sliceShared(3, 3)), [3]);
    assert.notEqual(l.sliceShared(3, 3), d);
  });

  test('a leader sends level followers, and its storage, one copy of the new entries', () => {
    const l = newCore();
    makeLeader(l);
    drain(l);
    l.propose(bytes('a'));
    l.propose(bytes('b'));
    const rd = l.ready();
    const sent = rd.sendNow.filter((m) => m.type === MsgType.AppendEntries).map((m) => m.entries);
    assert.equal(sent.length, 2);
    assert.equal(sent[0], sent[1]);
    assert.equal(rd.entries, sent[0]);
    assert.deepEqual(batchIndexes(rd.entries!), [1, 2]);
  });
});

describe('RaftLog unstable tail', () => {
  test('entries are handed out once, and are stable once storage says so', () => {
    const l = logWith([1, 1, 2]);
    assert.ok(l.hasUnstable());
    const b = l.takeUnstable()!;
    assert.deepEqual(batchIndexes(b), [1, 2, 3]);
    assert.equal(l.hasUnstable(), false);
    assert.equal(l.takeUnstable(), null);
    assert.equal(l.stableIndex, 0, 'handed out is not stored');
    l.stableTo(b);
    assert.equal(l.stableIndex, 3);
  });

  test('a truncation lowers both cursors: the replacements are handed out from the truncation point', () => {
    const l = logWith([1, 1, 1, 1]);
    const first = l.takeUnstable()!;
    l.stableTo(first);
    l.truncateFrom(3);
    assert.equal(l.stableIndex, 2);
    l.appendBatch(ents(3, [2, 2]));
    assert.deepEqual(batchIndexes(l.takeUnstable()), [3, 4]);
  });

  test('storage confirming a batch the log has overwritten meanwhile does not make the new entries stable', () => {
    const l = logWith([1, 1, 1]);
    const old = l.takeUnstable()!;
    l.truncateFrom(2);
    l.appendBatch(ents(2, [2, 2]));
    l.stableTo(old);
    assert.equal(l.stableIndex, 0);
    const fresh = l.takeUnstable()!;
    assert.equal(fresh.firstIndex, 2);
    l.stableTo(fresh);
    assert.equal(l.stableIndex, 3);
  });

  test('reset: an empty batch after the snapshot tells storage to truncate there', () => {
    const l = logWith([1, 1, 1]);
    l.stableTo(l.takeUnstable()!);
    l.reset(10, 3);
    assert.ok(l.hasUnstable());
    const b = l.takeUnstable()!;
    assert.equal(b.count, 0);
    assert.equal(b.firstIndex, 11);
    assert.equal(l.hasUnstable(), false);
    assert.equal(l.stableIndex, 10);
  });

  test('reset then appends: the entries carry the truncation (they start at the snapshot + 1)', () => {
    const l = logWith([1, 1]);
    l.reset(5, 2);
    l.appendBatch(ents(6, [3]));
    const b = l.takeUnstable()!;
    assert.deepEqual(batchIndexes(b), [6]);
    assert.equal(l.takeUnstable(), null);
  });

  test('reset, appends, then a compaction that keeps some of them: the kept entries still reach storage', () => {
    const l = logWith([1, 1, 1, 1, 1, 1, 1, 1]);
    l.stableTo(l.takeUnstable()!);
    l.reset(4, 2);
    l.appendBatch(ents(5, [2, 2, 2, 2]));
    l.compact(6, 2);
    const b = l.takeUnstable()!;
    assert.deepEqual(batchIndexes(b), [7, 8], 'entries after the new snapshot, which replace the stale stored ones');
    assert.deepEqual(batchTerms(b), [2, 2]);
  });

  test('compaction counts as stored (the snapshot is persisted with the next Ready)', () => {
    const l = logWith([1, 1, 1, 1]);
    l.compact(3, 1);
    assert.equal(l.stableIndex, 3);
    assert.deepEqual(batchIndexes(l.takeUnstable()), [4]);
  });
});

describe('RaftCore: snapshot install that keeps entries after a discarded log', () => {
  test('snapshot, appends, snapshot inside them, all before one Ready: the entries after the last snapshot are persisted', () => {
    const f = newCore({ id: 1, term: 1, log: [1, 1, 1, 1, 1, 1, 1, 1] });
    drain(f);
    const d1 = bytes('s4');
    f.step(installSnapshot(2, 1, 2, 4, 2, d1.byteLength, 0, d1, true)); // conflicts: log discarded
    f.step(appendEntries(2, 1, 2, 4, 2, ents(5, [2, 2, 2, 2])));
    const d2 = bytes('s6');
    f.step(installSnapshot(2, 1, 2, 6, 2, d2.byteLength, 0, d2, true)); // matches: 7..8 kept
    const rd = f.ready();
    assert.equal(rd.snapshot!.index, 6);
    assert.ok(rd.entries, 'entries in the Ready');
    assert.equal(rd.entries!.firstIndex, 7);
    assert.equal(batchLastIndex(rd.entries!), 8, 'the kept entries 7..8 are persisted, not dropped');
    f.advance(rd);
    assert.equal(f.stableIndex, 8);
  });
});

describe('SnapshotReceiver', () => {
  const chunk = (index: number, term: number, total: number, offset: number, data: string, done: boolean) =>
    installSnapshot(2, 1, 1, index, term, total, offset, bytes(data), done);

  test('chunks in order: asks for the next offset, then hands over the whole snapshot', () => {
    const r = new SnapshotReceiver();
    assert.deepEqual(r.receive(chunk(7, 2, 6, 0, 'abc', false)), { kind: 'next', offset: 3 });
    const done = r.receive(chunk(7, 2, 6, 3, 'def', true));
    assert.equal(done.kind, 'complete');
    if (done.kind !== 'complete') return;
    assert.equal(done.snapshot.index, 7);
    assert.equal(done.snapshot.term, 2);
    assert.equal(text(done.snapshot.data), 'abcdef');
  });

  test('a duplicate chunk asks again for the next offset; a gap or a wrong total is refused and starts over', () => {
    const r = new SnapshotReceiver();
    r.receive(chunk(7, 2, 6, 0, 'abc', false));
    assert.deepEqual(r.receive(chunk(7, 2, 6, 0, 'abc', false)), { kind: 'next', offset: 3 }, 'offset 0 restarts');
    assert.deepEqual(r.receive(chunk(7, 2, 6, 1, 'bc', false)), { kind: 'next', offset: 3 }, 'duplicate');
    assert.deepEqual(r.receive(chunk(7, 2, 6, 4, 'ef', true)), { kind: 'refused' }, 'gap');
    assert.deepEqual(r.receive(chunk(7, 2, 6, 3, 'def', true)), { kind: 'refused' }, 'nothing held after a refusal');
    r.receive(chunk(7, 2, 6, 0, 'abc', false));
    assert.deepEqual(r.receive(chunk(7, 2, 9, 3, 'def', false)), { kind: 'refused' }, 'total changed');
  });

  test('a last chunk that does not reach the total is refused; discard() forgets a transfer', () => {
    const r = new SnapshotReceiver();
    r.receive(chunk(7, 2, 6, 0, 'abc', false));
    assert.deepEqual(r.receive(chunk(7, 2, 6, 3, 'de', true)), { kind: 'refused' });
    r.receive(chunk(7, 2, 6, 0, 'abc', false));
    r.discard();
    assert.deepEqual(r.receive(chunk(7, 2, 6, 3, 'def', true)), { kind: 'refused' });
  });
});

describe('Progress flow control', () => {
  test('probe: one append at a time, replicate once the logs agree, then pipelined up to the window', () => {
    const p = new Progress(5, 2);
    assert.ok(p.canSendAppend);
    assert.equal(p.sentAppend(4, false), false);
    assert.equal(p.canSendAppend, false, 'paused until a reply');
    p.appendAccepted(4);
    assert.equal(p.state, ProgressState.Replicate);
    assert.equal(p.sentAppend(6, true), true);
    assert.equal(p.sentAppend(8, true), true);
    assert.equal(p.canSendAppend, false, 'window of 2 full');
    assert.equal(p.next, 9);
    p.appendAccepted(6);
    assert.ok(p.canSendAppend, 'one slot freed');
  });

  test('a stale rejection changes nothing; a current one probes from the hint within (match, rejected]', () => {
    const p = new Progress(11, 4);
    p.appendAccepted(10);
    p.sentAppend(20, true);
    assert.equal(p.appendRejected(9, 3, 20), FollowUp.Nothing, 'rejects an index at or below match: stale');
    assert.equal(p.appendRejected(15, 3, 20), FollowUp.AppendOrProbe);
    assert.equal(p.state, ProgressState.Probe);
    assert.equal(p.next, 11, 'never below match + 1');
  });

  test('heartbeat reply in replicate: a lost append falls back to probing; lost replies free a slot of a full window', () => {
    const lost = new Progress(1, 1);
    lost.appendAccepted(0);
    lost.sentAppend(5, true);
    assert.equal(lost.heartbeatAnswered(0, 5, 5, 2), FollowUp.AppendOrProbe);
    assert.equal(lost.state, ProgressState.Probe);

    const late = new Progress(1, 1);
    late.appendAccepted(0);
    late.sentAppend(5, true);
    assert.equal(late.canSendAppend, false);
    assert.equal(late.heartbeatAnswered(5, 5, 5, 2), FollowUp.AppendOrProbe);
    assert.equal(late.state, ProgressState.Replicate);
    assert.ok(late.canSendAppend, 'slot freed');

    const upToDate = new Progress(6, 4);
    upToDate.appendAccepted(5);
    assert.equal(upToDate.heartbeatAnswered(5, 5, 5, 2), FollowUp.Nothing);
  });

  test('snapshot transfer: the next chunk on progress, nothing on a duplicate, probing once installed', () => {
    const p = new Progress(1, 4);
    p.becomeSnapshot(9);
    assert.equal(p.canSendAppend, false);
    assert.equal(p.snapshotAnswered(9, false, false, 4), FollowUp.SnapshotChunk);
    assert.equal(p.snapshotOffset, 4);
    assert.equal(p.snapshotAnswered(9, false, false, 4), FollowUp.Nothing, 'duplicate');
    assert.equal(p.snapshotAnswered(9, false, true, 0), FollowUp.SnapshotChunk, 'refused: start over');
    assert.equal(p.snapshotOffset, 0);
    assert.equal(p.heartbeatAnswered(0, 0, 9, 2), FollowUp.Nothing, 'chunk sent just now');
    p.tick(); p.tick();
    assert.equal(p.heartbeatAnswered(0, 0, 9, 2), FollowUp.SnapshotChunk, 'silence: resend');
    assert.equal(p.snapshotAnswered(9, true, false, 0), FollowUp.AppendOrProbe);
    assert.equal(p.state, ProgressState.Probe);
    assert.equal(p.match, 9);
    assert.equal(p.next, 10);
  });
});

describe('RaftCore invariants', () => {
  test('a commit index that moved back is caught at the next input', () => {
    const f = newCore({ id: 1, term: 1, log: [1, 1, 1] });
    stepDrain(f, heartbeat(2, 1, 1, 3));
    assert.equal(f.commitIndex, 3);
    f.commitIndex = 1; // what a bug would do
    assert.throws(() => f.tick(), (e: unknown) => e instanceof InvariantError && /commit index went back from 3 to 1/.test(e.message));
  });

  test('commit above the last index, applied above commit, and a term that moved back are caught', () => {
    const a = newCore({ id: 1, term: 1, log: [1] });
    a.commitIndex = 5;
    assert.throws(() => a.checkInvariants(), (e: unknown) => e instanceof InvariantError && /above the last log index 1/.test(e.message));
    const b = newCore({ id: 1, term: 1, log: [1] });
    b.appliedIndex = 1;
    assert.throws(() => b.checkInvariants(), (e: unknown) => e instanceof InvariantError && /applied index 1 is above the commit index 0/.test(e.message));
    const c = newCore({ id: 1, term: 4 });
    c.term = 3;
    assert.throws(() => c.step(msg(MsgType.HeartbeatReply, 2, 1, 3)), (e: unknown) => e instanceof InvariantError && /term went back from 4 to 3/.test(e.message));
  });

  test('a healthy core passes its checks', () => {
    const f = newCore({ id: 1, term: 1, log: [1, 1] });
    stepDrain(f, appendEntries(2, 1, 1, 2, 1, ents(3, [1]), 3));
    assert.doesNotThrow(() => f.checkInvariants());
    assert.equal(f.commitIndex, 3);
  });
});
