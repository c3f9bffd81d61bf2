/**
 * RaftLog keeps its terms, ends and command bytes in fixed-size chunks: entries and commands
 * at, across and larger than chunk boundaries read back whole, and slices, compaction,
 * truncation and reset work across chunks. Tiny chunks make every test cross many of them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EntryBatch, batchCommand, makeBatch } from '../../src/core/entry-batch.js';
import { RaftLog } from '../../src/core/log.js';

const TINY = { entries: 8, bytes: 16 };

/** A command of `length` bytes, byte j being (seed * 31 + j) & 0xff. */
function cmd(seed: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, j) => (seed * 31 + j) & 0xff);
}

function commandsOf(b: EntryBatch): Uint8Array[] {
  return Array.from({ length: b.count }, (_, k) => batchCommand(b, k));
}

describe('RaftLog chunks', () => {
  test('grows across many entry and byte chunks, starting small', () => {
    const l = new RaftLog(2, 4, TINY);
    for (let i = 1; i <= 100; i++) assert.equal(l.appendFrom(1 + (i >> 4), cmd(i, 3), 0, 3), i);
    assert.equal(l.lastIndex, 100);
    assert.equal(l.lastTerm, 1 + (100 >> 4));
    assert.equal(l.bytes, 300);
    for (let i = 1; i <= 100; i++) {
      assert.equal(l.term(i), 1 + (i >> 4), `term of ${i}`);
      assert.deepEqual(l.command(i), cmd(i, 3), `command of ${i}`);
    }
  });

  test('commands that end at a chunk boundary, start at one, span one, or are empty there', () => {
    const l = new RaftLog(1, 1, TINY);
    l.append(1, cmd(1, 16)); // fills byte chunk 0 exactly
    l.append(1, new Uint8Array(0)); // empty, at the boundary
    l.append(1, cmd(3, 10)); // starts chunk 1
    l.append(1, cmd(4, 9)); // 6 bytes in chunk 1, 3 in chunk 2
    l.append(2, cmd(5, 13)); // ends chunk 2 exactly
    l.append(2, new Uint8Array(0));
    assert.deepEqual(l.command(1), cmd(1, 16));
    assert.equal(l.command(2).byteLength, 0);
    assert.deepEqual(l.command(3), cmd(3, 10));
    assert.deepEqual(l.command(4), cmd(4, 9));
    assert.deepEqual(l.command(5), cmd(5, 13));
    assert.equal(l.command(6).byteLength, 0);
    assert.equal(l.bytes, 48);
  });

  test('a command larger than a chunk, appended alone or in a batch, reads back whole', () => {
    const l = new RaftLog(1, 1, TINY);
    const src = cmd(9, 80);
    l.appendFrom(1, src, 7, 50); // spans four 16-byte chunks
    l.append(1, cmd(2, 5));
    l.appendBatch(makeBatch(3, [{ term: 2, command: cmd(3, 40) }, { term: 2, command: cmd(4, 1) }, { term: 3, command: cmd(5, 70) }]));
    assert.deepEqual(l.command(1), src.subarray(7, 57));
    assert.deepEqual(l.command(2), cmd(2, 5));
    assert.deepEqual(l.command(3), cmd(3, 40));
    assert.deepEqual(l.command(4), cmd(4, 1));
    assert.deepEqual(l.command(5), cmd(5, 70));
    const s = l.slice(1, 5);
    assert.deepEqual(commandsOf(s), [src.subarray(7, 57), cmd(2, 5), cmd(3, 40), cmd(4, 1), cmd(5, 70)]);
    assert.deepEqual([...s.terms], [1, 1, 2, 2, 3]);
  });

  test('slice and sliceShared across chunks, with and without a byte limit', () => {
    const l = new RaftLog(1, 1, TINY);
    for (let i = 1; i <= 40; i++) l.append(1 + (i >> 3), cmd(i, 1 + (i % 5)));
    const s = l.slice(6, 27);
    assert.equal(s.firstIndex, 6);
    assert.equal(s.count, 22);
    for (let k = 0; k < s.count; k++) {
      assert.equal(s.terms[k], l.term(6 + k), `term of ${6 + k}`);
      assert.deepEqual(batchCommand(s, k), cmd(6 + k, 1 + ((6 + k) % 5)), `command of ${6 + k}`);
    }
    assert.equal(s.data.byteLength, s.ends[s.count - 1]);
    // 7..: 3 + 4 + 5 + 1 + 2 = 15 bytes fit in 16, the next entry (3 bytes) does not
    const limited = l.slice(7, 40, 16);
    assert.equal(limited.count, 5);
    assert.equal(l.slice(7, 40, 0).count, 1, 'at least one entry');
    const shared = l.sliceShared(9, 30);
    assert.equal(l.sliceShared(9, 30), shared, 'the same range is the same batch');
    assert.deepEqual(commandsOf(shared), commandsOf(l.slice(9, 30)));
    assert.equal(l.slice(41, 50).count, 0);
  });

  test('compact drops whole chunks at, before and past boundaries, and appends go on', () => {
    const l = new RaftLog(1, 1, TINY);
    for (let i = 1; i <= 64; i++) l.append(1, cmd(i, 4)); // 4 entries per byte chunk, 8 per entry chunk
    l.compact(8, 1); // an entry chunk and two byte chunks, exactly
    assert.equal(l.firstIndex, 9);
    assert.equal(l.bytes, 56 * 4);
    l.compact(21, 1); // mid-chunk in both
    assert.equal(l.term(21), 1);
    assert.equal(l.term(20), -1);
    for (let i = 22; i <= 64; i++) assert.deepEqual(l.command(i), cmd(i, 4), `command of ${i}`);
    for (let i = 65; i <= 90; i++) l.append(2, cmd(i, 7));
    for (let i = 22; i <= 90; i++) assert.deepEqual(l.command(i), cmd(i, i <= 64 ? 4 : 7), `command of ${i}`);
    assert.equal(l.bytes, 43 * 4 + 26 * 7);
    l.compact(90, 2); // everything
    assert.equal(l.bytes, 0);
    assert.equal(l.lastIndex, 90);
    l.append(3, cmd(91, 20));
    assert.deepEqual(l.command(91), cmd(91, 20));
  });

  test('compact right after empty commands at a byte chunk boundary', () => {
    const l = new RaftLog(1, 1, TINY);
    l.append(1, cmd(1, 16));
    l.append(1, new Uint8Array(0));
    l.append(1, new Uint8Array(0));
    l.compact(2, 1); // the next command starts a byte chunk that does not exist yet
    assert.equal(l.command(3).byteLength, 0);
    l.append(1, cmd(4, 20));
    assert.deepEqual(l.command(4), cmd(4, 20));
    assert.deepEqual(commandsOf(l.slice(3, 4)), [new Uint8Array(0), cmd(4, 20)]);
  });

  test('truncateFrom back across chunks, then different entries in their place', () => {
    const l = new RaftLog(1, 1, TINY);
    for (let i = 1; i <= 30; i++) l.append(1, cmd(i, 5));
    l.truncateFrom(7);
    assert.equal(l.lastIndex, 6);
    assert.equal(l.bytes, 30);
    for (let i = 7; i <= 20; i++) l.append(2, cmd(100 + i, 3));
    for (let i = 1; i <= 20; i++) {
      assert.equal(l.term(i), i <= 6 ? 1 : 2);
      assert.deepEqual(l.command(i), i <= 6 ? cmd(i, 5) : cmd(100 + i, 3), `command of ${i}`);
    }
    l.compact(10, 2);
    l.truncateFrom(11);
    assert.equal(l.bytes, 0);
    l.append(3, cmd(7, 17));
    assert.deepEqual(l.command(11), cmd(7, 17));
  });

  test('reset after many chunks starts an empty log that grows again', () => {
    const l = new RaftLog(1, 1, TINY);
    for (let i = 1; i <= 50; i++) l.append(1, cmd(i, 6));
    l.reset(500, 4);
    assert.equal(l.lastIndex, 500);
    assert.equal(l.bytes, 0);
    for (let i = 501; i <= 540; i++) l.append(5, cmd(i, 9));
    for (let i = 501; i <= 540; i++) assert.deepEqual(l.command(i), cmd(i, 9), `command of ${i}`);
    assert.equal(l.bytes, 40 * 9);
  });

  test('chunk sizes that are not powers of two are refused', () => {
    assert.throws(() => new RaftLog(1, 1, { entries: 6, bytes: 16 }), /chunk entries must be a power of two/);
    assert.throws(() => new RaftLog(1, 1, { entries: 8, bytes: 0 }), /chunk bytes must be a power of two/);
    assert.throws(() => new RaftLog(0, 1), /initial entries must be a positive integer/);
  });
});
