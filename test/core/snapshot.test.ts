import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Message, MsgType } from '../../src/core/message.js';
import { ProgressState } from '../../src/core/progress.js';
import { RaftCore } from '../../src/core/raft.js';
import { Ready, Role } from '../../src/core/types.js';
import {
  allMsgs, appendEntries, batchIndexes, bytes, drain, ents, installSnapshot, leaderHello, logTerms, makeLeader, newCore, stepDrain, text,
} from './helpers.js';

/** A single-peer leader with `n` committed and applied entries. */
function committedLeader(n: number, over = {}): RaftCore {
  const l = newCore({ peers: [1], ...over });
  makeLeader(l);
  for (let i = 1; i <= n; i++) l.propose(bytes(`c${i}`));
  drain(l);
  assert.equal(l.commitIndex, n);
  assert.equal(l.appliedIndex, n);
  return l;
}

/** Delivers every message between the cores until none are left; returns what was delivered. */
function exchange(cores: RaftCore[], first: Message[], drop: (m: Message) => boolean = () => false): Message[] {
  const byId = new Map(cores.map((c) => [c.id, c]));
  const q = [...first];
  const seen: Message[] = [];
  for (let n = 0; q.length > 0; n++) {
    if (n > 10000) throw new Error('no quiescence');
    const m = q.shift()!;
    const to = byId.get(m.to);
    if (!to || drop(m)) continue;
    seen.push(m);
    to.step(m);
    q.push(...allMsgs(drain(to)));
  }
  return seen;
}

function snapshotState(c: RaftCore) {
  return { snapIndex: c.log.snapshotIndex, snapTerm: c.log.snapshotTerm, last: c.log.lastIndex, snapshot: c.snapshot, commit: c.commitIndex, hasReady: c.hasReady() };
}

describe('compact', () => {
  test('drops the log through index, keeps the rest, remembers the term at index, persists the snapshot', () => {
    const l = committedLeader(6);
    l.compact(4, bytes('state@4'));
    assert.equal(l.log.snapshotIndex, 4);
    assert.equal(l.log.firstIndex, 5);
    assert.equal(l.log.lastIndex, 6);
    assert.equal(l.log.term(4), l.term, 'term lookup at the snapshot index works');
    assert.equal(l.log.term(3), -1, 'compacted entries are gone');
    assert.throws(() => l.log.command(4), RangeError);
    assert.equal(text(l.log.command(5)), 'c5');
    const rd = drain(l)[0];
    assert.equal(rd.snapshot!.index, 4);
    assert.equal(rd.snapshot!.term, l.term);
    assert.equal(text(rd.snapshot!.data), 'state@4');
    assert.equal(rd.applySnapshot, null, 'the state machine made this snapshot: nothing to restore');
    assert.equal(rd.entries, null);
  });

  test('compacting the whole log leaves an empty log that still knows its last term', () => {
    const l = committedLeader(3);
    l.compact(3, bytes('s'));
    assert.equal(l.log.lastIndex, 3);
    assert.equal(l.log.lastTerm, l.term);
    assert.equal(l.log.length, 0);
    const p = l.propose(bytes('next'));
    assert.equal(p.index, 4);
    drain(l);
    assert.equal(l.commitIndex, 4);
  });

  test('index above commit: RangeError, state unchanged', () => {
    const l = newCore({ term: 1, log: [1, 1, 1, 1] });
    stepDrain(l, appendEntries(2, 1, 1, 4, 1, null, 2));
    assert.equal(l.commitIndex, 2);
    const before = snapshotState(l);
    assert.throws(() => l.compact(3, bytes('x')), (e: unknown) => e instanceof RangeError && /commit/.test(e.message));
    assert.deepEqual(snapshotState(l), before);
  });

  test('index at or below the last snapshot: RangeError, state unchanged', () => {
    const l = committedLeader(6);
    l.compact(4, bytes('s4'));
    drain(l);
    const before = snapshotState(l);
    for (const i of [4, 3, 0]) {
      assert.throws(() => l.compact(i, bytes('again')), RangeError, `compact(${i})`);
      assert.deepEqual(snapshotState(l), before);
    }
    assert.equal(text(l.snapshot!.data), 's4');
  });

  test('bad arguments: non-integer index / non-bytes data are TypeErrors', () => {
    const l = committedLeader(3);
    assert.throws(() => l.compact(1.5, bytes('x')), TypeError);
    assert.throws(() => l.compact(1, 'x' as never), TypeError);
    assert.equal(l.log.snapshotIndex, 0);
  });
});

describe('AppendEntries against a snapshot', () => {
  test('prevLogIndex inside the snapshot: entries beyond the snapshot are appended, reply success', () => {
    const f = newCore({ term: 2, snapshot: { index: 5, term: 1 } });
    const rds = stepDrain(f, appendEntries(2, 1, 2, 3, 1, ents(4, [1, 1, 1, 2, 2]), 8));
    const reply = rds.flatMap((r) => r.sendAfterPersist)[0];
    assert.equal(reply.reject, false);
    assert.equal(reply.index, 8);
    assert.deepEqual(logTerms(f), [1, 2, 2]);
    assert.equal(f.log.lastIndex, 8);
    assert.deepEqual(batchIndexes(rds[0].entries), [6, 7, 8], 'only entries after the snapshot are persisted');
    assert.deepEqual(batchIndexes(rds[0].committed), [6, 7, 8]);
  });

  test('a batch that ends inside the snapshot is acknowledged and changes nothing', () => {
    const f = newCore({ term: 2, snapshot: { index: 5, term: 1 }, log: [2] });
    const rds = stepDrain(f, appendEntries(2, 1, 2, 1, 1, ents(2, [1, 1]), 3));
    const reply = rds.flatMap((r) => r.sendAfterPersist)[0];
    assert.equal(reply.reject, false);
    assert.equal(reply.index, 3);
    assert.equal(f.log.lastIndex, 6);
    assert.equal(rds[0].entries, null);
  });

  test('prevLogIndex at the snapshot index matches the snapshot term', () => {
    const f = newCore({ term: 2, snapshot: { index: 5, term: 2 } });
    const ok = stepDrain(f, appendEntries(2, 1, 2, 5, 2, ents(6, [2]))).flatMap((r) => r.sendAfterPersist)[0];
    assert.equal(ok.reject, false);
    assert.equal(ok.index, 6);
  });
});

describe('InstallSnapshot (follower)', () => {
  const data = bytes('0123456789');

  function installWhole(f: RaftCore, index: number, term: number, d = data): Ready[] {
    return stepDrain(f, installSnapshot(2, 1, 5, index, term, d.byteLength, 0, d, true));
  }

  test('the Ready after install carries snapshot (persist) and applySnapshot, the reply waits for them', () => {
    const f = newCore({ term: 5 });
    const rds = installWhole(f, 7, 4);
    assert.equal(rds.length, 1);
    const rd = rds[0];
    assert.equal(rd.snapshot!.index, 7);
    assert.equal(rd.snapshot!.term, 4);
    assert.deepEqual(rd.snapshot!.data, data);
    assert.equal(rd.applySnapshot!.index, 7);
    assert.deepEqual(rd.applySnapshot!.data, data);
    assert.equal(rd.committed, null);
    assert.deepEqual(rd.sendNow, []);
    const r = rd.sendAfterPersist[0];
    assert.equal(r.type, MsgType.InstallSnapshotReply);
    assert.equal(r.done, true);
    assert.equal(r.index, 7);
    assert.equal(f.commitIndex, 7);
    assert.equal(f.appliedIndex, 7);
    assert.equal(f.log.lastIndex, 7);
    assert.equal(f.log.term(7), 4);
  });

  test('subsequent committed entries start at snapshot index + 1', () => {
    const f = newCore({ term: 5 });
    installWhole(f, 7, 4);
    const rds = stepDrain(f, appendEntries(2, 1, 5, 7, 4, ents(8, [5, 5]), 9));
    assert.deepEqual(batchIndexes(rds[0].committed), [8, 9]);
  });

  test('Figure 13 step 6: an existing entry at the snapshot index with the same term keeps the entries that follow', () => {
    const f = newCore({ term: 5, log: [1, 1, 1, 2, 2] });
    const rd = installWhole(f, 3, 1)[0];
    assert.equal(f.log.snapshotIndex, 3);
    assert.equal(f.log.lastIndex, 5);
    assert.deepEqual(logTerms(f), [2, 2]);
    assert.equal(f.commitIndex, 3);
    assert.equal(rd.entries, null, 'the kept entries are already on storage');
  });

  test('otherwise the whole log is discarded (other term at the index, or log too short)', () => {
    const a = newCore({ term: 5, log: [1, 1, 2, 2] });
    installWhole(a, 3, 3);
    assert.equal(a.log.snapshotIndex, 3);
    assert.equal(a.log.lastIndex, 3);
    assert.equal(a.log.lastTerm, 3);
    const b = newCore({ term: 5, log: [1, 1] });
    installWhole(b, 6, 3);
    assert.equal(b.log.lastIndex, 6);
    assert.equal(b.log.length, 0);
  });

  test('chunked: accepted in order, reply asks for the next offset, install on the last chunk only', () => {
    const f = newCore({ term: 5 });
    const at = (offset: number, n: number, done: boolean) =>
      stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, offset, data.subarray(offset, offset + n), done));
    let rds = at(0, 4, false);
    assert.equal(rds[0].snapshot, null);
    assert.equal(rds[0].sendAfterPersist[0].offset, 4);
    assert.equal(rds[0].sendAfterPersist[0].done, false);
    rds = at(4, 4, false);
    assert.equal(rds[0].sendAfterPersist[0].offset, 8);
    assert.equal(f.commitIndex, 0);
    rds = at(8, 2, true);
    assert.equal(rds[0].sendAfterPersist[0].done, true);
    assert.deepEqual(rds[0].snapshot!.data, data, 'reassembled data equals the original');
  });

  test('a chunk at a wrong offset is refused (reject, offset 0) and the transfer must restart at 0', () => {
    const f = newCore({ term: 5 });
    const send = (offset: number, d: Uint8Array, done: boolean, total = 10) =>
      stepDrain(f, installSnapshot(2, 1, 5, 7, 4, total, offset, d, done))[0].sendAfterPersist[0];
    send(0, data.subarray(0, 4), false);
    let r = send(8, data.subarray(8), true); // skipped 4..8
    assert.equal(r.reject, true);
    assert.equal(r.offset, 0);
    r = send(4, data.subarray(4, 8), false); // the earlier progress is gone too
    assert.equal(r.reject, true);
    assert.equal(r.offset, 0);
    assert.equal(f.log.snapshotIndex, 0);
    r = send(0, data, true);
    assert.equal(r.reject, false);
    assert.equal(r.done, true);
    assert.equal(f.log.snapshotIndex, 7);
  });

  test('a chunk of a bad length is refused: beyond the total, or a last chunk that falls short', () => {
    const f = newCore({ term: 5 });
    const send = (offset: number, d: Uint8Array, done: boolean) =>
      stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, offset, d, done))[0].sendAfterPersist[0];
    assert.equal(send(0, new Uint8Array(12), false).reject, true, 'longer than the total');
    assert.equal(send(0, data.subarray(0, 6), true).reject, true, 'done with 6 of 10 bytes');
    assert.equal(f.log.snapshotIndex, 0);
    assert.equal(f.snapshot, null);
  });

  test('a chunk for another snapshot in the middle of a transfer is refused', () => {
    const f = newCore({ term: 5 });
    stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, 0, data.subarray(0, 4), false));
    const r = stepDrain(f, installSnapshot(2, 1, 5, 9, 4, 10, 4, data.subarray(4, 8), false))[0].sendAfterPersist[0];
    assert.equal(r.reject, true);
    assert.equal(r.offset, 0);
  });

  test('a duplicate chunk is acknowledged with the next offset wanted, not refused', () => {
    const f = newCore({ term: 5 });
    stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, 0, data.subarray(0, 4), false));
    stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, 4, data.subarray(4, 8), false));
    const r = stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, 4, data.subarray(4, 8), false))[0].sendAfterPersist[0];
    assert.equal(r.reject, false);
    assert.equal(r.offset, 8);
    const last = stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, 8, data.subarray(8), true))[0];
    assert.deepEqual(last.snapshot!.data, data);
  });

  test('a stale or duplicate snapshot (index <= commit) is ignored and acknowledged', () => {
    const f = newCore({ term: 5, log: [1, 1, 1, 1, 1] });
    stepDrain(f, appendEntries(2, 1, 5, 5, 1, null, 5));
    assert.equal(f.commitIndex, 5);
    for (const index of [3, 5]) {
      const rds = stepDrain(f, installSnapshot(2, 1, 5, index, 1, 10, 0, data, true));
      assert.equal(rds[0].snapshot, null);
      assert.equal(rds[0].applySnapshot, null);
      const r = rds[0].sendAfterPersist[0];
      assert.equal(r.done, true);
      assert.equal(r.reject, false);
      assert.equal(r.index, index);
      assert.equal(f.log.snapshotIndex, 0);
      assert.equal(f.log.lastIndex, 5);
    }
  });

  test('a lower-term InstallSnapshot is refused with our term', () => {
    const f = newCore({ term: 6 });
    const r = stepDrain(f, installSnapshot(2, 1, 5, 7, 4, 10, 0, data, true))[0].sendAfterPersist[0];
    assert.equal(r.reject, true);
    assert.equal(r.term, 6);
    assert.equal(f.log.snapshotIndex, 0);
  });
});

describe('InstallSnapshot (leader)', () => {
  /** Leader 1: snapshot through 5 (term 1), entries 6..8 of term 2; elected in term 3. */
  function snapLeader(chunk = 4): [RaftCore, Message[]] {
    const l = newCore({ term: 2, snapshot: { index: 5, term: 1, data: bytes('abcdefghij') }, log: [2, 2, 2], snapshotChunkBytes: chunk });
    return [l, leaderHello(l)];
  }

  test('a fast backup that reaches into the snapshot makes the leader send the snapshot', () => {
    const [l, hello] = snapLeader();
    const f = newCore({ id: 2, term: 2, log: [1, 1, 1] });
    const seen = exchange([l, f], hello);
    const is = seen.filter((m) => m.type === MsgType.InstallSnapshot);
    assert.ok(is.length > 0, 'InstallSnapshot sent');
    assert.deepEqual(is.map((m) => m.offset), [0, 4, 8]);
    assert.deepEqual(is.map((m) => m.done), [false, false, true]);
    assert.deepEqual(is.map((m) => m.data!.byteLength), [4, 4, 2]);
    for (const m of is) {
      assert.equal(m.index, 5);
      assert.equal(m.logTerm, 1);
      assert.equal(m.hint, 10);
    }
    assert.equal(text(f.snapshot!.data), 'abcdefghij', 'reassembled data equals the original');
    assert.deepEqual(logTerms(f), [2, 2, 2], 'the entries after the snapshot follow');
    assert.equal(l.progressOf(2)!.match, 8);
    assert.notEqual(l.progressOf(2)!.state, ProgressState.Snapshot);
  });

  test('a lost chunk is resent at its offset after an idle heartbeat interval', () => {
    const [l, hello] = snapLeader();
    const f = newCore({ id: 2, term: 2 });
    let lost = false;
    const seen = exchange([l, f], hello, (m) => {
      if (!lost && m.type === MsgType.InstallSnapshot && m.offset === 4) { lost = true; return true; }
      return false;
    });
    assert.ok(lost);
    assert.equal(f.log.snapshotIndex, 0);
    for (let t = 0; t < 20 && f.log.snapshotIndex < 5; t++) {
      l.tick();
      seen.push(...exchange([l, f], allMsgs(drain(l))));
    }
    assert.equal(f.log.snapshotIndex, 5);
    assert.deepEqual(seen.filter((m) => m.type === MsgType.InstallSnapshot).map((m) => m.offset), [0, 4, 8]);
    assert.equal(text(f.snapshot!.data), 'abcdefghij');
    assert.equal(l.progressOf(2)!.match, 8);
  });

  test('a follower that restarts mid-transfer refuses the next chunk; the leader restarts at offset 0', () => {
    const [l, hello] = snapLeader();
    let f = newCore({ id: 2, term: 2 });
    // Deliver until the first chunk has been accepted, holding back the leader's next chunk.
    const held: Message[] = [];
    exchange([l, f], hello, (m) => {
      if (m.type === MsgType.InstallSnapshot && m.offset > 0) { held.push(m); return true; }
      return false;
    });
    assert.equal(held.length, 1);
    assert.equal(held[0].offset, 4);
    f = newCore({ id: 2, term: 3 }); // restarted: the partial snapshot is gone
    const seen = exchange([l, f], held);
    const refusal = seen.find((m) => m.type === MsgType.InstallSnapshotReply && m.reject);
    assert.ok(refusal, 'the chunk at offset 4 is refused');
    assert.equal(refusal.offset, 0);
    const after = seen.slice(seen.indexOf(refusal) + 1).filter((m) => m.type === MsgType.InstallSnapshot);
    assert.deepEqual(after.map((m) => m.offset), [0, 4, 8], 'the transfer starts over at 0');
    assert.equal(text(f.snapshot!.data), 'abcdefghij');
    assert.equal(l.progressOf(2)!.match, 8);
  });

  test('a leader that takes a newer snapshot mid-transfer finishes the one it began, then sends the newer', () => {
    const [l, hello] = snapLeader();
    const f = newCore({ id: 2, term: 2 });
    const held: Message[] = [];
    exchange([l, f], hello, (m) => {
      if (m.type === MsgType.InstallSnapshot && m.offset > 0) { held.push(m); return true; }
      return false;
    });
    assert.deepEqual(held.map((m) => [m.index, m.offset]), [[5, 4]]);
    // Meanwhile the leader commits more with peer 3 and compacts through it.
    const p = l.propose(bytes('new'));
    drain(l);
    stepDrain(l, { ...held[0], type: MsgType.AppendEntriesReply, from: 3, to: 1, index: p.index, reject: false, data: null, done: false, offset: 0 });
    assert.equal(l.commitIndex, p.index);
    drain(l);
    l.compact(p.index, bytes('NEWER'));
    const seen = exchange([l, f], held);
    const chunks = seen.filter((m) => m.type === MsgType.InstallSnapshot).map((m) => [m.index, m.offset]);
    assert.deepEqual(chunks.slice(0, 2), [[5, 4], [5, 8]], 'the held chunk, then the transfer of snapshot 5 goes on at offset 8, not from 0');
    assert.deepEqual(chunks.slice(2), [[p.index, 0], [p.index, 4]], 'then the entries it needs are compacted: the newer snapshot');
    assert.equal(f.log.snapshotIndex, p.index);
    assert.equal(text(f.snapshot!.data), 'NEWER');
    assert.equal(l.progressOf(2)!.match, p.index);
  });

  test('the leader answers a refusal by sending offset 0 again', () => {
    const [l, hello] = snapLeader();
    const f = newCore({ id: 2, term: 2 });
    // Run until the first chunk has gone out.
    const first: Message[] = [];
    exchange([l, f], hello, (m) => {
      if (m.type === MsgType.InstallSnapshot) { first.push(m); return true; }
      return false;
    });
    assert.equal(first.length, 1);
    assert.equal(l.progressOf(2)!.state, ProgressState.Snapshot);
    const rds = stepDrain(l, { ...first[0], type: MsgType.InstallSnapshotReply, from: 2, to: 1, reject: true, offset: 0, done: false, data: null });
    const again = allMsgs(rds).filter((m) => m.type === MsgType.InstallSnapshot);
    assert.equal(again.length, 1);
    assert.equal(again[0].offset, 0);
  });

  test('a follower far behind in a mini network catches up through a snapshot', async () => {
    const { Net, encodeSnap } = await import('./helpers.js');
    const net = new Net({ config: { snapshotChunkBytes: 5 } });
    net.campaign(1);
    net.down.add(3);
    for (let i = 1; i <= 12; i++) net.propose(1, `v${i}`);
    net.tick(2);
    assert.equal(net.core(1).commitIndex, 12);
    // The state machines compact through 10.
    for (const id of [1, 2]) net.snapshot(id, 10, encodeSnap(net.commands(id).slice(0, 10)));
    net.deliverAll();
    net.down.delete(3);
    net.tick(4);
    assert.equal(net.core(3).log.snapshotIndex, 10);
    assert.deepEqual(net.commands(3), net.commands(1));
    assert.equal(net.commands(3).length, 12);
    assert.equal(net.core(1).role, Role.Leader);
  });
});
