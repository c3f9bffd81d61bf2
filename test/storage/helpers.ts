/** Shared helpers of the storage tests: temp dirs, batches, comparisons against MemoryStorage (the model). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EntryBatch } from '../../src/core/entry-batch.js';
import { batchCommand, makeBatch } from '../../src/core/entry-batch.js';
import { seededRandom } from '../../src/core/random.js';
import type { PersistedState } from '../../src/core/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

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

/** A copy of a MemoryStorage (the model of every storage), through its own load and save. */
export function copyOf(m: MemoryStorage): MemoryStorage {
  const c = new MemoryStorage();
  const s = m.load();
  c.save(s.hardState, s.snapshot, s.entries);
  return c;
}

/** The last index a storage holds: its last entry's, or its snapshot's. */
export function lastIndexOf(m: { load(): PersistedState }): number {
  const s = m.load();
  if (s.entries && s.entries.count > 0) return s.entries.firstIndex + s.entries.count - 1;
  return s.snapshot ? s.snapshot.index : 0;
}

export function snapIndexOf(m: { load(): PersistedState }): number {
  return m.load().snapshot?.index ?? 0;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function normalize(s: PersistedState): unknown {
  const entries: Array<[number, number, string]> = [];
  if (s.entries) for (let k = 0; k < s.entries.count; k++) entries.push([s.entries.firstIndex + k, s.entries.terms[k], hex(batchCommand(s.entries, k))]);
  return {
    hardState: { term: s.hardState.term, votedFor: s.hardState.votedFor },
    snapshot: s.snapshot ? { index: s.snapshot.index, term: s.snapshot.term, data: hex(s.snapshot.data), membership: s.snapshot.membership ?? null } : null,
    entries,
  };
}

/** Asserts that a storage's state equals the model's (a MemoryStorage fed the same saves). */
export function assertMatches(actual: PersistedState, model: MemoryStorage, what = ''): void {
  const expected = model.load();
  assert.deepEqual(normalize(actual), normalize(expected), what);
  if (actual.entries) {
    assert.equal(actual.entries.firstIndex, (expected.snapshot?.index ?? 0) + 1, `${what}: entries start right after the snapshot`);
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
