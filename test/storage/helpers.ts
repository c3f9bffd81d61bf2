/** Shared helpers of the storage tests: a reference model of RaftStorage, temp dirs, comparisons. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EntryBatch } from '../../src/core/entry-batch.js';
import { batchCommand, makeBatch } from '../../src/core/entry-batch.js';
import { seededRandom } from '../../src/core/random.js';
import type { HardState, PersistedState, Snapshot } from '../../src/core/types.js';

export function tmpDir(tag = 'raft-fs'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A seeded PRNG so that any failure replays exactly. */
export const rng = (seed: number): (() => number) => seededRandom(seed);

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function batch(first: number, terms: number[], tag = 'c'): EntryBatch {
  return makeBatch(first, terms.map((term, k) => ({ term, command: bytes(`${tag}${first + k}:${term}`) })));
}

interface ModelEntry { term: number; cmd: Uint8Array }

/** The RaftStorage semantics (see src/storage/storage.ts), over plain arrays. */
export class Model {
  hard: HardState = { term: 0, votedFor: -1 };
  snap: Snapshot | null = null;
  entries: ModelEntry[] = [];

  get snapIndex(): number { return this.snap ? this.snap.index : 0; }
  get lastIndex(): number { return this.snapIndex + this.entries.length; }

  termAt(i: number): number {
    if (this.snap && i === this.snap.index) return this.snap.term;
    const k = i - this.snapIndex - 1;
    return k >= 0 && k < this.entries.length ? this.entries[k].term : -1;
  }

  save(h: HardState | null, s: Snapshot | null, e: EntryBatch | null): void {
    if (s && s.index > this.snapIndex) {
      if (this.termAt(s.index) === s.term) this.entries = this.entries.slice(s.index - this.snapIndex);
      else this.entries = [];
      this.snap = { index: s.index, term: s.term, data: s.data.slice() };
    }
    if (e && e.count > 0) {
      for (let k = 0; k < e.count; k++) {
        const idx = e.firstIndex + k;
        if (idx <= this.snapIndex) continue;
        if (idx > this.lastIndex + 1) throw new RangeError(`gap at ${idx}`);
        this.entries.length = idx - this.snapIndex - 1;
        this.entries.push({ term: e.terms[k], cmd: batchCommand(e, k).slice() });
      }
    }
    if (h) this.hard = { term: h.term, votedFor: h.votedFor };
  }

  clone(): Model {
    const m = new Model();
    m.hard = { ...this.hard };
    m.snap = this.snap;
    m.entries = this.entries.slice();
    return m;
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function normalize(s: PersistedState): unknown {
  const entries: Array<[number, number, string]> = [];
  if (s.entries) for (let k = 0; k < s.entries.count; k++) entries.push([s.entries.firstIndex + k, s.entries.terms[k], hex(batchCommand(s.entries, k))]);
  return {
    hardState: { term: s.hardState.term, votedFor: s.hardState.votedFor },
    snapshot: s.snapshot ? { index: s.snapshot.index, term: s.snapshot.term, data: hex(s.snapshot.data) } : null,
    entries,
  };
}

export function modelState(m: Model): unknown {
  return {
    hardState: { ...m.hard },
    snapshot: m.snap ? { index: m.snap.index, term: m.snap.term, data: hex(m.snap.data) } : null,
    entries: m.entries.map((e, k): [number, number, string] => [m.snapIndex + 1 + k, e.term, hex(e.cmd)]),
  };
}

export function assertMatches(actual: PersistedState, m: Model, what = ''): void {
  assert.deepEqual(normalize(actual), modelState(m), what);
  if (actual.entries) {
    assert.equal(actual.entries.firstIndex, m.snapIndex + 1, `${what}: entries start right after the snapshot`);
  }
}

/**
 * Makes `dir` unwritable even for root (chmod for others, chattr +i for root). Returns the
 * undo function, or null when this machine cannot do it (the caller skips).
 */
export function makeUnwritable(dir: string): (() => void) | null {
  let undo: () => void;
  try {
    if (process.getuid && process.getuid() === 0) {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
      undo = () => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    } else {
      fs.chmodSync(dir, 0o555);
      undo = () => fs.chmodSync(dir, 0o755);
    }
  } catch {
    return null;
  }
  const probe = path.join(dir, 'probe');
  try {
    fs.writeFileSync(probe, 'x');
    fs.rmSync(probe, { force: true });
    undo();
    return null; // still writable: cannot test here
  } catch {
    return undo;
  }
}
