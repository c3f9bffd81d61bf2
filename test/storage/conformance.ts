/**
 * The storage conformance suite: cases of saves and restarts that every RaftStorage must
 * follow exactly as MemoryStorage (the model) does, and a randomized sequence of the same
 * kinds of saves. Each storage under test is a Subject; conformance.test.ts runs them all.
 */
import fc from 'fast-check';
import type { EntryBatch } from '../../src/core/entry-batch.js';
import { emptyBatch, makeBatch } from '../../src/core/entry-batch.js';
import type { Membership } from '../../src/core/membership.js';
import type { HardState, Snapshot } from '../../src/core/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { RaftStorage } from '../../src/storage/storage.js';
import { assertMatches, batch, bytes, lastIndexOf, snapIndexOf } from './helpers.js';

/** One storage under test, opened empty; `restart` closes it and opens what it left behind. */
export interface Opened {
  readonly storage: RaftStorage;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

export interface Subject {
  name: string;
  open(): Promise<Opened>;
}

export type Save = [HardState | null, Snapshot | null, EntryBatch | null];
export interface StorageCase {
  name: string;
  steps: Save[];
}

const snap = (index: number, term: number, tag = 's'): Snapshot => ({ index, term, data: bytes(`${tag}@${index}:${term}`) });
/** A snapshot that carries a membership (the configuration in force at its index). */
const snapM = (index: number, term: number, membership: Membership): Snapshot => ({ ...snap(index, term, 'm'), membership });
const hs = (term: number, votedFor = -1): HardState => ({ term, votedFor });
const big = (first: number, n: number, size: number, term = 1): EntryBatch =>
  makeBatch(first, Array.from({ length: n }, (_, k) => ({ term, command: new Uint8Array(size).fill((first + k) & 0xff) })));

export const CASES: StorageCase[] = [
  { name: 'hard state alone', steps: [[hs(1), null, null], [hs(2, 1), null, null], [hs(2, 1), null, null], [hs(7, -1), null, null]] },
  { name: 'a save of nothing changes nothing', steps: [[null, null, null], [hs(1), null, batch(1, [1])], [null, null, null]] },
  {
    name: 'appends, and entries that replace the log from their first index (conflict)',
    steps: [[hs(1, 1), null, batch(1, [1, 1, 1])], [null, null, batch(4, [1, 2])], [hs(3, 2), null, batch(3, [3, 3])], [null, null, batch(5, [3])]],
  },
  {
    name: 'an empty batch truncates in the middle, then the log grows again',
    steps: [[hs(1), null, batch(1, [1, 1, 1, 1, 1])], [null, null, emptyBatch(3)], [hs(2), null, batch(3, [2])]],
  },
  {
    name: 'an empty batch at the end, past the end, at 1, and on an empty log',
    steps: [[null, null, emptyBatch(1)], [null, null, batch(1, [1, 1])], [null, null, emptyBatch(3)], [null, null, emptyBatch(9)],
      [null, null, emptyBatch(1)], [null, null, batch(1, [2])], [hs(2), null, emptyBatch(2)]],
  },
  {
    name: 'a snapshot (local compaction) keeps the entries after it',
    steps: [[hs(3), null, batch(1, [1, 1, 2, 2, 3])], [null, snap(3, 2), null], [null, null, batch(6, [3])], [null, snap(5, 3), null]],
  },
  {
    name: 'a snapshot keeps the entries after it even when its term differs from the stored entry at its index',
    steps: [[null, null, batch(1, [1, 1, 1, 1])], [hs(5), snap(2, 5), null]],
  },
  {
    name: 'InstallSnapshot that discards the log: the snapshot and an empty batch after it',
    steps: [[hs(1), null, batch(1, [1, 1, 1, 1, 1])], [hs(2, 3), snap(3, 2), emptyBatch(4)], [null, null, batch(4, [2, 2])]],
  },
  {
    name: 'InstallSnapshot beyond the log, with and without the empty batch',
    steps: [[null, null, batch(1, [1, 1])], [hs(3), snap(10, 3), emptyBatch(11)], [null, null, batch(11, [3, 3])],
      [null, snap(20, 4), null], [null, null, batch(21, [4])]],
  },
  {
    name: 'snapshot and entries in one save, the entries overlapping the snapshot',
    steps: [[null, null, batch(1, [1, 1, 1])], [hs(2), snap(2, 1), batch(1, [1, 1, 2, 2], 'o')], [null, snap(4, 2), batch(3, [2, 2, 2], 'p')]],
  },
  {
    name: 'snapshots at or below the current one change nothing',
    steps: [[null, null, batch(1, [1, 1, 1, 1, 1, 1])], [null, snap(4, 1), null], [null, snap(2, 1), null], [null, snap(4, 1, 'other'), null],
      [hs(2), snap(3, 9), batch(5, [2])]],
  },
  {
    name: 'batches at or below the snapshot index replace the log from just after the snapshot',
    steps: [[null, null, batch(1, [1, 1, 1, 1, 1, 1])], [null, snap(3, 1), null], [null, null, emptyBatch(2)], [null, null, batch(4, [2, 2])],
      [null, null, batch(2, [1, 1])], [null, null, batch(1, [1, 1, 1, 3], 'q')]],
  },
  {
    // the journal's read-back starts at the last snapshot: what came before it only truncates
    name: 'many records past 1 MiB, a conflict, then a snapshot inside the replaced run and a batch wholly below it',
    steps: [[hs(1), null, big(1, 3000, 400)], [null, null, big(3001, 100, 8)], [hs(2), null, big(2990, 20, 8, 2)],
      [null, snap(3005, 2), null], [null, null, big(3000, 3, 8, 2)], [null, null, big(3006, 2, 8, 2)]],
  },
  {
    name: 'large entries and snapshots (journal compaction, segment rotation)',
    steps: [[hs(1), null, big(1, 6, 300_000)], [null, snap(5, 1), null], [null, null, big(7, 3, 200_000)], [null, null, emptyBatch(8)],
      [null, snap(7, 1), big(8, 2, 100, 2)], [hs(2), snap(12, 2), emptyBatch(13)]],
  },
  {
    name: 'a snapshot carries its membership (simple, joint, with learners) across restarts; a later one without drops it',
    steps: [[hs(2), null, batch(1, [1, 1, 2, 2, 2, 2])], [null, snapM(2, 1, { voters: [1, 2, 3], outgoing: [], learners: [4] }), null],
      [null, snapM(3, 2, { voters: [1, 4, 5], outgoing: [1, 2, 3], learners: [] }), null],
      [hs(3), snapM(9, 3, { voters: [7], outgoing: [], learners: [] }), emptyBatch(10)], [null, null, batch(10, [3])], [null, snap(10, 3), null]],
  },
];

/** Runs one case on a fresh storage: after every save, and after the restart that follows it, the state equals the model's. */
export async function runCase(subject: Subject, c: StorageCase): Promise<void> {
  const o = await subject.open();
  const model = new MemoryStorage();
  try {
    assertMatches(await o.storage.load(), model, `${subject.name}, ${c.name}: fresh`);
    for (let k = 0; k < c.steps.length; k++) {
      const [h, s, e] = c.steps[k];
      await o.storage.save(h, s, e);
      model.save(h, s, e);
      assertMatches(await o.storage.load(), model, `${subject.name}, ${c.name}: after save ${k}`);
      await o.restart();
      assertMatches(await o.storage.load(), model, `${subject.name}, ${c.name}: after save ${k} and a restart`);
    }
  } finally {
    await o.dispose();
  }
}

// ------------------------------------------------------------------ randomized sequences

interface Op {
  hard: { bump: number; vote: number } | null;
  snap: { ahead: number; term: number; size: number } | null;
  entries: { back: number; count: number; term: number; size: number } | null;
  restart: boolean;
}

/** `arb` in `weight` of 4 cases, else null. */
const sometimes = <T>(arb: fc.Arbitrary<T>, weight: number): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: arb, weight }, { arbitrary: fc.constant(null), weight: 4 - weight });

const opArb: fc.Arbitrary<Op> = fc.record({
  hard: sometimes(fc.record({ bump: fc.nat(1), vote: fc.integer({ min: -1, max: 4 }) }), 1),
  snap: sometimes(fc.record({ ahead: fc.integer({ min: -3, max: 8 }), term: fc.integer({ min: 1, max: 6 }), size: fc.nat(60) }), 1),
  entries: sometimes(fc.record({ back: fc.nat(6), count: fc.nat(5), term: fc.nat(2), size: fc.nat(40) }), 3),
  restart: fc.nat(7).map((n) => n === 0),
});

export const opsArb = fc.array(opArb, { maxLength: 40 });

/** Turns an op into a save valid against the model's state: no gaps; snapshots may lie below the current one or beyond the log. */
function toSave(op: Op, model: MemoryStorage, term: { value: number }, serial: number): Save {
  let h: HardState | null = null;
  if (op.hard) { term.value += op.hard.bump; h = { term: term.value, votedFor: op.hard.vote }; }
  let s: Snapshot | null = null;
  let snapIndex = snapIndexOf(model);
  let last = lastIndexOf(model);
  if (op.snap) {
    s = { index: Math.max(1, snapIndex + 1 + op.snap.ahead), term: op.snap.term, data: new Uint8Array(op.snap.size).fill(serial & 0xff) };
    if (s.index > snapIndex) snapIndex = s.index; // one at or below the current snapshot changes nothing
    last = Math.max(last, snapIndex);
  }
  let e: EntryBatch | null = null;
  if (op.entries) {
    const first = Math.max(1, last + 1 - op.entries.back);
    const t = term.value + op.entries.term;
    e = makeBatch(first, Array.from({ length: op.entries.count }, (_, k) => ({ term: t, command: new Uint8Array((op.entries!.size + k) % 41).fill((serial + k) & 0xff) })));
  }
  return [h, s, e];
}

/** Applies the ops to the subject and the model; the states agree after every save and restart. */
export async function runOps(subject: Subject, ops: Op[]): Promise<void> {
  const o = await subject.open();
  const model = new MemoryStorage();
  const term = { value: 1 };
  try {
    for (let k = 0; k < ops.length; k++) {
      const [h, s, e] = toSave(ops[k], model, term, k);
      await o.storage.save(h, s, e);
      model.save(h, s, e);
      if (ops[k].restart) await o.restart();
      assertMatches(await o.storage.load(), model, `${subject.name}: op ${k}${ops[k].restart ? ' and a restart' : ''}`);
    }
    await o.restart();
    assertMatches(await o.storage.load(), model, `${subject.name}: final restart`);
  } finally {
    await o.dispose();
  }
}

/** The property: every randomized sequence matches the model. Rejects with fast-check's report (seed and path). */
export async function checkRandomized(subject: Subject, numRuns: number, seed?: number): Promise<void> {
  await fc.assert(fc.asyncProperty(opsArb, (ops) => runOps(subject, ops)), { numRuns, seed, endOnFailure: false });
}

// ------------------------------------------------------------------ MemoryStorage itself

/** MemoryStorage as a subject: a restart copies what it holds through load and save. */
export function memorySubject(name = 'memory storage', make: () => MemoryStorage = () => new MemoryStorage()): Subject {
  return {
    name,
    async open(): Promise<Opened> {
      let storage = make();
      return {
        get storage() { return storage; },
        async restart() {
          const next = make();
          const s = storage.load();
          next.save(s.hardState, s.snapshot, s.entries);
          storage = next;
        },
        async dispose() {},
      };
    },
  };
}
