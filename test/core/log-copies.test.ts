/**
 * RaftLog's bulk copies (appendBatch, slice, compact) keep every entry's term and command,
 * whatever views the batches come in and however far the copies run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EntryBatch, batchCommand, makeBatch } from '../../src/core/entry-batch.js';
import { RaftLog } from '../../src/core/log.js';

/** Entry i has term 1 + (i >> 10) and a command of (i % 7) + 1 bytes, each byte i & 0xff. */
function entry(i: number): { term: number; command: Uint8Array } {
  return { term: 1 + (i >> 10), command: new Uint8Array((i % 7) + 1).fill(i & 0xff) };
}

function batchOf(first: number, count: number): EntryBatch {
  return makeBatch(first, Array.from({ length: count }, (_, k) => entry(first + k)));
}

function assertHolds(l: RaftLog, lo: number, hi: number): void {
  for (let i = lo; i <= hi; i++) {
    const want = entry(i);
    assert.equal(l.term(i), want.term, `term of entry ${i}`);
    assert.deepEqual(l.command(i), want.command, `command of entry ${i}`);
  }
}

/** A batch whose arrays are views in the middle of larger buffers, with spare room after `count` (as a decoder may hand out). */
function inLargerBuffers(b: EntryBatch): EntryBatch {
  const terms = new Uint32Array(b.count + 6).subarray(2);
  const ends = new Uint32Array(b.count + 6).subarray(3);
  terms.set(b.terms);
  ends.set(b.ends);
  const data = new Uint8Array(b.data.byteLength + 10).subarray(5, 5 + b.data.byteLength);
  data.set(b.data);
  return { firstIndex: b.firstIndex, count: b.count, terms, ends, data };
}

describe('RaftLog bulk copies', () => {
  test('appendBatch from an offset into the batch, across growth of the arrays, and from views with spare room', () => {
    const l = new RaftLog(4, 16);
    l.appendBatch(batchOf(1, 3000)); // grows the entry arrays and the arena several times
    l.appendBatch(batchOf(2990, 2011), 3001 - 2990); // the first 11 entries are held already: adds 3001..5000
    l.appendBatch(inLargerBuffers(batchOf(5001, 500)));
    l.appendBatch(inLargerBuffers(batchOf(5490, 20)), 5501 - 5490);
    assert.equal(l.lastIndex, 5509);
    assertHolds(l, 1, 5509);
  });

  test('slice copies the range, whatever precedes it, and its batch stands on its own', () => {
    const l = new RaftLog();
    l.appendBatch(batchOf(1, 4000));
    const s = l.slice(1234, 3999);
    assert.equal(s.firstIndex, 1234);
    assert.equal(s.count, 3999 - 1234 + 1);
    for (let k = 0; k < s.count; k++) {
      assert.equal(s.terms[k], entry(1234 + k).term, `term of entry ${1234 + k}`);
      assert.deepEqual(batchCommand(s, k), entry(1234 + k).command, `command of entry ${1234 + k}`);
    }
    const copy = new RaftLog();
    copy.reset(1233, l.term(1233));
    copy.appendBatch(s);
    assertHolds(copy, 1234, 3999);
  });

  test('compact keeps the entries after the snapshot, and appends go on after them', () => {
    const l = new RaftLog();
    l.appendBatch(batchOf(1, 3000));
    l.compact(1000, l.term(1000));
    assert.equal(l.firstIndex, 1001);
    assertHolds(l, 1001, 3000);
    l.appendBatch(batchOf(3001, 100));
    assertHolds(l, 1001, 3100);
    assert.equal(l.bytes, Array.from({ length: 2100 }, (_, k) => entry(1001 + k).command.byteLength).reduce((a, b) => a + b));
  });
});
