/**
 * RaftLog against a model (an array of terms and commands): seeded random appends, batches,
 * truncations, compactions, resets and slices, on chunk sizes small enough that nearly every
 * operation crosses a chunk boundary, must leave both agreeing on every entry and slice.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EntryBatch, batchCommand, makeBatch } from '../../src/core/entry-batch.js';
import { RaftLog } from '../../src/core/log.js';
import { seededRandom } from '../../src/core/random.js';

interface ModelEntry {
  term: number;
  command: Uint8Array;
}

class Model {
  snapshotIndex = 0;
  snapshotTerm = 0;
  entries: ModelEntry[] = [];

  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  get lastTerm(): number {
    return this.entries.length === 0 ? this.snapshotTerm : this.entries[this.entries.length - 1].term;
  }

  at(index: number): ModelEntry {
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** What slice(lo, hi, maxBytes) must hold: entries from lo while their bytes fit, at least one. */
  slice(lo: number, hi: number, maxBytes: number): ModelEntry[] {
    const out: ModelEntry[] = [];
    let bytes = 0;
    for (let i = lo; i <= Math.min(hi, this.lastIndex); i++) {
      bytes += this.at(i).command.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(this.at(i));
    }
    return out;
  }
}

function assertBatch(b: EntryBatch, lo: number, want: ModelEntry[], what: string): void {
  assert.equal(b.firstIndex, lo, `${what}: first index`);
  assert.equal(b.count, want.length, `${what}: count`);
  assert.equal(b.data.byteLength, want.reduce((n, e) => n + e.command.byteLength, 0), `${what}: data length`);
  for (let k = 0; k < b.count; k++) {
    assert.equal(b.terms[k], want[k].term, `${what}: term of ${lo + k}`);
    assert.deepEqual(batchCommand(b, k), want[k].command, `${what}: command of ${lo + k}`);
  }
}

function assertSame(log: RaftLog, m: Model, what: string): void {
  assert.equal(log.lastIndex, m.lastIndex, `${what}: last index`);
  assert.equal(log.firstIndex, m.snapshotIndex + 1, `${what}: first index`);
  assert.equal(log.lastTerm, m.lastTerm, `${what}: last term`);
  assert.equal(log.bytes, m.entries.reduce((n, e) => n + e.command.byteLength, 0), `${what}: bytes`);
  assert.equal(log.term(m.snapshotIndex), m.snapshotTerm, `${what}: snapshot term`);
  for (let i = m.snapshotIndex + 1; i <= m.lastIndex; i++) {
    assert.equal(log.term(i), m.at(i).term, `${what}: term of ${i}`);
    assert.deepEqual(log.command(i), m.at(i).command, `${what}: command of ${i}`);
  }
}

function runSeed(seed: number, ops: number): void {
  const rnd = seededRandom(seed);
  const int = (n: number): number => Math.floor(rnd() * n); // 0..n-1
  const chunks = { entries: 1 << int(4), bytes: 1 << int(7) };
  const log = new RaftLog(1 + int(4), 1 + int(20), chunks);
  const m = new Model();
  const src = Uint8Array.from({ length: 256 }, (_, j) => (j * 7 + seed) & 0xff);
  let term = 1;
  let tag = 0;
  const newCommand = (): Uint8Array => {
    const length = rnd() < 0.15 ? 0 : rnd() < 0.1 ? chunks.bytes + int(3 * chunks.bytes) : int(chunks.bytes + 4);
    tag++;
    return Uint8Array.from({ length }, (_, j) => (tag * 13 + j) & 0xff);
  };
  for (let op = 0; op < ops; op++) {
    const what = `seed ${seed} (chunks ${chunks.entries}/${chunks.bytes}), op ${op}`;
    if (rnd() < 0.05) term++;
    const r = rnd();
    if (r < 0.35) {
      const c = newCommand();
      const buf = new Uint8Array(c.byteLength + 9);
      const at = int(10);
      buf.set(c, at);
      assert.equal(log.appendFrom(term, buf, at, c.byteLength), m.lastIndex + 1);
      m.entries.push({ term, command: c });
    } else if (r < 0.55) {
      // a batch whose first `held` entries the log holds already
      const held = Math.min(m.entries.length, int(3));
      const fresh = Array.from({ length: 1 + int(2 * chunks.entries + 2) }, () => ({ term, command: newCommand() }));
      const batch = makeBatch(m.lastIndex + 1 - held, [...m.entries.slice(m.entries.length - held), ...fresh]);
      log.appendBatch(batch, held);
      m.entries.push(...fresh);
    } else if (r < 0.62) {
      if (m.entries.length > 0) {
        const index = m.snapshotIndex + 1 + int(m.entries.length + 1);
        log.truncateFrom(index);
        m.entries.length = Math.min(m.entries.length, index - m.snapshotIndex - 1);
        term++; // a new leader's entries follow a truncation
      }
    } else if (r < 0.72) {
      const index = m.snapshotIndex + int(m.entries.length + 1);
      const t = index === m.snapshotIndex ? m.snapshotTerm : m.at(index).term;
      log.compact(index, t);
      m.entries = m.entries.slice(index - m.snapshotIndex);
      m.snapshotIndex = index;
      m.snapshotTerm = t;
    } else if (r < 0.74) {
      const index = m.lastIndex + int(20);
      log.reset(index, term);
      m.snapshotIndex = index;
      m.snapshotTerm = term;
      m.entries = [];
    } else if (m.entries.length > 0) {
      const lo = m.snapshotIndex + 1 + int(m.entries.length);
      const hi = lo + int(m.lastIndex - lo + 3);
      const maxBytes = rnd() < 0.5 ? Infinity : int(3 * chunks.bytes);
      const b = r < 0.87 ? log.slice(lo, hi, maxBytes) : log.sliceShared(lo, hi, maxBytes);
      assertBatch(b, lo, m.slice(lo, hi, maxBytes), `${what}: slice(${lo}, ${hi}, ${maxBytes})`);
    }
    assertSame(log, m, what);
  }
}

describe('RaftLog against a model', () => {
  test('random operations on tiny chunks, 60 seeds', () => {
    for (let seed = 1; seed <= 60; seed++) runSeed(seed, 400);
  });
});
