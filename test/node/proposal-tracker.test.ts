import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeBatch } from '../../src/core/entry-batch.js';
import { Outcome, OUTCOME_NAMES, ProposalTracker } from '../../src/node/proposal-tracker.js';

/** A tracker whose outcomes are recorded per tag as "name@index/term". */
function tracker(): { t: ProposalTracker; got: Map<number, string> } {
  const got = new Map<number, string>();
  const t = new ProposalTracker((o: Outcome, firstTag, count, firstIndex, term) => {
    for (let k = 0; k < count; k++) {
      assert.ok(!got.has(firstTag + k), `tag ${firstTag + k} settled twice`);
      got.set(firstTag + k, `${OUTCOME_NAMES[o]}@${firstIndex + k}/${term}`);
    }
  });
  return { t, got };
}

/** Applied entries first..first+terms.length-1 with those terms. */
function applied(first: number, terms: number[]) {
  return makeBatch(first, terms.map((term, k) => ({ term, command: new Uint8Array([first + k]) })));
}

describe('ProposalTracker', () => {
  it('committed when the applied entry has the accepted term, overwritten otherwise', () => {
    const { t, got } = tracker();
    for (let i = 0; i < 4; i++) t.track(i, 2 + i, 1);
    t.applied(applied(1, [1, 1, 1, 2, 2]), null);
    assert.deepEqual([...got.values()], ['committed@2/1', 'committed@3/1', 'overwritten@4/1', 'overwritten@5/1']);
    assert.equal(t.size, 0);
  });

  it('a re-elected leader that accepts below an older range settles both (bug: those hung, then were reported lost)', () => {
    const { t, got } = tracker();
    // Term 1: isolated leader accepts at 2..10. Term 2 overwrites. Term 3: the same peer leads again and accepts at 4..5.
    for (let i = 0; i < 9; i++) t.track(i, 2 + i, 1);
    t.track(100, 4, 3);
    t.track(101, 5, 3);
    t.applied(applied(1, [2, 2, 3, 3]), null); // 1..4
    t.applied(applied(5, [3]), null); // 5
    assert.equal(got.get(100), 'committed@4/3');
    assert.equal(got.get(101), 'committed@5/3');
    assert.equal(got.get(0), 'overwritten@2/1');
    assert.equal(got.get(3), 'overwritten@5/1');
    assert.ok(!got.has(4), 'index 6 is not applied yet: still pending');
    t.applied(applied(6, [3, 3, 3, 3, 3]), null);
    assert.equal(t.size, 0);
    assert.equal(got.get(8), 'overwritten@10/1');
  });

  it('a snapshot never reports a committed entry as overwritten (bug: every covered proposal was reported lost)', () => {
    const { t, got } = tracker();
    for (let i = 0; i < 3; i++) t.track(i, 2 + i, 1); // accepted in term 1 at 2..4
    // Another leader (term 2) committed them behind its no-op and compacted; we catch up by InstallSnapshot.
    t.restored(6, 2);
    assert.deepEqual([...got.values()], ['unknown@2/1', 'unknown@3/1', 'unknown@4/1']);
  });

  it('a snapshot of the same term commits what it covers; one of an earlier term overwrites it', () => {
    const a = tracker();
    a.t.track(0, 5, 3);
    a.t.track(1, 6, 3);
    a.t.track(2, 7, 3);
    a.t.restored(6, 3); // Log Matching: (6, t3) is ours, so 5 is too
    assert.deepEqual([...a.got.values()], ['committed@5/3', 'committed@6/3']);
    assert.equal(a.t.size, 1);
    const b = tracker();
    b.t.track(0, 5, 3);
    b.t.restored(6, 2); // terms never decrease along a log: index 5 holds a term <= 2
    assert.deepEqual([...b.got.values()], ['overwritten@5/3']);
  });

  it('abandon() reports every tracked proposal unknown, exactly once', () => {
    const { t, got } = tracker();
    t.track(0, 2, 1);
    t.track(1, 3, 1);
    t.track(7, 2, 4);
    t.abandon();
    assert.deepEqual([...got.entries()].sort((x, y) => x[0] - y[0]), [[0, 'unknown@2/1'], [1, 'unknown@3/1'], [7, 'unknown@2/4']]);
    t.abandon();
    assert.equal(got.size, 3);
  });

  it('hands each committed proposal the result of its application', () => {
    const results: Array<string | undefined> = [];
    const t = new ProposalTracker((o, _tag, count, _i, _t, rs, off) => {
      for (let k = 0; k < count; k++) results.push(o === Outcome.Committed && rs ? (rs[off + k] ? Buffer.from(rs[off + k]!).toString() : undefined) : undefined);
    });
    t.track(0, 2, 1);
    t.track(1, 3, 1);
    const rs = [undefined, new TextEncoder().encode('r2'), new TextEncoder().encode('r3')];
    t.applied(applied(1, [1, 1, 1]), rs);
    assert.deepEqual(results, ['r2', 'r3']);
  });
});
