/**
 * Every RaftStorage follows MemoryStorage (the model): the conformance cases and randomized
 * sequences of conformance.ts, on MemoryStorage, SharedJournal (restarted by fencing, and
 * by compacting) and FileStorage in every fsync mode (small segments, so that they rotate
 * and get deleted). A storage that keeps entries the core dropped fails the suite.
 * A failing random sequence replays with RAFT_STORAGE_SEED=<seed printed by fast-check>.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntryBatch } from '../../src/core/entry-batch.js';
import type { HardState, Snapshot } from '../../src/core/types.js';
import { FSYNC_POLICIES, FileStorage, FsyncPolicy } from '../../src/storage/file-storage.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SharedJournal, SharedJournalHost } from '../../src/storage/shared-journal.js';
import { CASES, Opened, Subject, checkRandomized, memorySubject, runCase } from './conformance.js';
import { rmDir, tmpDir } from './helpers.js';

const SEED = process.env.RAFT_STORAGE_SEED ? Number(process.env.RAFT_STORAGE_SEED) : undefined;

/** `compactMinBytes: 0`: the writer compacts at every snapshot that leaves most of the journal garbage, not only past 1 MiB. */
function journalSubject(compactAtRestart: boolean, opts: { compactMinBytes?: number } = {}): Subject {
  const when = opts.compactMinBytes === 0 ? ', compacting at each snapshot' : '';
  return {
    name: compactAtRestart ? `shared journal (compacted at restart${when})` : `shared journal (fenced at restart${when})`,
    async open(): Promise<Opened> {
      let host = SharedJournalHost.create();
      let storage = new SharedJournal(host.control, host.slots, 0, opts);
      return {
        get storage() { return storage; },
        async restart() {
          const epoch = host.fence();
          if (compactAtRestart) {
            host = host.compacted();
            storage = new SharedJournal(host.control, host.slots, host.currentEpoch, opts);
          } else {
            storage = new SharedJournal(host.control, host.slots, epoch, opts);
          }
        },
        async dispose() {},
      };
    },
  };
}

function fileSubject(policy: FsyncPolicy): Subject {
  return {
    name: `file storage (${policy})`,
    async open(): Promise<Opened> {
      const dir = tmpDir('raft-conform');
      const open = () => FileStorage.open({ dir, clusterId: 'conformance', peerId: 1, fsync: policy, segmentBytes: 1024 });
      let storage = await open();
      return {
        get storage() { return storage; },
        async restart() {
          await storage.close();
          storage = await open();
        },
        async dispose() {
          await storage.close();
          rmDir(dir);
        },
      };
    },
  };
}

const SUBJECTS: Array<{ subject: Subject; runs: number }> = [
  { subject: memorySubject(), runs: 200 },
  { subject: journalSubject(false), runs: 200 },
  { subject: journalSubject(true), runs: 100 },
  { subject: journalSubject(false, { compactMinBytes: 0 }), runs: 200 },
  ...FSYNC_POLICIES.map((p) => ({ subject: fileSubject(p), runs: 40 })),
];

for (const { subject, runs } of SUBJECTS) {
  test(`conformance: ${subject.name}: every case matches the model, restarted after each save`, async () => {
    for (const c of CASES) await runCase(subject, c);
  });
  test(`conformance: ${subject.name}: randomized save sequences with restarts match the model`, async () => {
    await checkRandomized(subject, runs, SEED);
  });
}

/** A planted bug: a storage that ignores the core's truncations (empty batches), keeping entries the core dropped. */
class KeepsDroppedEntries extends MemoryStorage {
  override save(h: HardState | null, s: Snapshot | null, e: EntryBatch | null): void {
    super.save(h, s, e && e.count === 0 ? null : e);
  }
}

test('conformance: the suite fails on a storage that keeps entries the core dropped', async () => {
  const planted = memorySubject('planted: ignores empty batches', () => new KeepsDroppedEntries());
  const install = CASES.find((c) => c.name.startsWith('InstallSnapshot that discards the log'))!;
  await assert.rejects(runCase(planted, install), (e: Error) => e instanceof assert.AssertionError && /after save 1/.test(e.message));
  let failed = 0;
  for (const c of CASES) await runCase(planted, c).catch(() => failed++);
  assert.ok(failed >= 3, `only ${failed} cases caught the planted bug`);
  await assert.rejects(checkRandomized(planted, 200, SEED), /Property failed/);
});
