import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntryBatch } from '../../src/core/entry-batch.js';
import type { HardState, Snapshot } from '../../src/core/types.js';
import { JointQuorum } from '../../src/core/joint-quorum.js';
import { RaftCore } from '../../src/core/raft.js';
import { Outcome, ProposalTracker } from '../../src/node/proposal-tracker.js';
import { runSeed } from '../../src/sim/scenario.js';
import type { RunOptions } from '../../src/sim/scenario.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

/**
 * The simulation's checks must catch each bug of the kind they exist for. Each test plants
 * one (by patching a prototype for the duration of the test), runs seeds, and expects a
 * failure that names the broken property; then the same seeds pass without the plant.
 */
function firstFailure(seeds: number, options: RunOptions): string | null {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSeed(seed, options);
    if (!r.ok) return r.error!;
  }
  return null;
}

function withPatch<T extends object, K extends keyof T>(proto: T, key: K, impl: T[K], body: () => void): void {
  const original = proto[key];
  proto[key] = impl;
  try { body(); } finally { proto[key] = original; }
}

type Internals = { listener: (o: Outcome, tag: number, n: number, i: number, t: number, r: null, off: number) => void; queues: Array<{ term: number; runs: Array<{ firstTag: number; firstIndex: number; count: number }>; head: number }>; tracked: number };

describe('planted bugs are caught by the simulation', () => {
  it('a joint configuration commits with the majority of the new voters alone', () => {
    type Halves = { incoming: { index(m: (id: number) => number): number } };
    withPatch(JointQuorum.prototype, 'committedIndex', function (this: JointQuorum, matchOf: (id: number) => number) {
      return (this as unknown as Halves).incoming.index(matchOf);
    }, () => {
      const err = firstFailure(300, { peers: 5, steps: 1000, membership: true });
      assert.ok(err, 'no seed caught it');
      assert.match(err, /joint quorum: leader \d+ .* not a majority of the old voters/);
    });
  });

  it('snapshot install reported as overwritten (the old "lost" after InstallSnapshot)', () => {
    withPatch(ProposalTracker.prototype, 'restored', function (this: ProposalTracker, index: number) {
      const self = this as unknown as Internals;
      for (const q of self.queues) {
        while (q.head < q.runs.length && q.runs[q.head].firstIndex <= index) {
          const r = q.runs[q.head];
          const n = Math.min(r.count, index - r.firstIndex + 1);
          self.listener(Outcome.Overwritten, r.firstTag, n, r.firstIndex, q.term, null, 0);
          r.firstTag += n; r.firstIndex += n; r.count -= n; self.tracked -= n;
          if (r.count === 0) q.head++; else break;
        }
      }
    }, () => {
      const err = firstFailure(200, { peers: 3, steps: 800, snapshots: true });
      assert.ok(err, 'no seed caught it');
      assert.match(err, /outcome: .* reported overwritten, but it is the committed entry there/);
    });
  });

  it('outstanding ranges assumed sorted by index (proposals of a re-elected leader hang)', () => {
    withPatch(ProposalTracker.prototype, 'applied', function (this: ProposalTracker, b: EntryBatch) {
      const self = this as unknown as Internals;
      const q = self.queues[0]; // only the oldest term's ranges are ever looked at
      if (!q) return;
      const hi = b.firstIndex + b.count - 1;
      while (q.head < q.runs.length && q.runs[q.head].firstIndex <= hi) {
        const r = q.runs[q.head];
        const n = Math.min(r.count, hi - r.firstIndex + 1);
        for (let k = 0; k < n; k++) {
          const ok = b.terms[r.firstIndex + k - b.firstIndex] === q.term;
          self.listener(ok ? Outcome.Committed : Outcome.Overwritten, r.firstTag + k, 1, r.firstIndex + k, q.term, null, 0);
        }
        r.firstTag += n; r.firstIndex += n; r.count -= n; self.tracked -= n;
        if (r.count === 0) q.head++; else break;
      }
      if (q.head >= q.runs.length) self.queues.shift();
    }, () => {
      const err = firstFailure(200, { peers: 3, steps: 800 });
      assert.ok(err, 'no seed caught it');
      assert.match(err, /outcome: |never settled|liveness/);
    });
  });

  it('committed reported without comparing terms', () => {
    const original = ProposalTracker.prototype.applied;
    withPatch(ProposalTracker.prototype, 'applied', function (this: ProposalTracker, b: EntryBatch, results: ReadonlyArray<Uint8Array | undefined> | null) {
      // Pretend every applied entry has the term the proposal was accepted in.
      const self = this as unknown as Internals;
      const terms = new Uint32Array(b.count);
      for (const q of self.queues) for (let k = q.head; k < q.runs.length; k++) {
        const r = q.runs[k];
        for (let i = r.firstIndex; i < r.firstIndex + r.count; i++) if (i >= b.firstIndex && i < b.firstIndex + b.count) terms[i - b.firstIndex] = q.term;
      }
      original.call(this, { ...b, terms }, results);
    }, () => {
      const err = firstFailure(200, { peers: 3, steps: 800 });
      assert.ok(err, 'no seed caught it');
      assert.match(err, /reported committed, but/);
    });
  });

  it('a storage that keeps entries the core dropped (ignores the truncating empty batch)', () => {
    const original = MemoryStorage.prototype.save;
    withPatch(MemoryStorage.prototype, 'save', function (this: MemoryStorage, hs: HardState | null, snap: Snapshot | null, entries: EntryBatch | null) {
      return original.call(this, hs, snap, entries && entries.count === 0 ? null : entries);
    }, () => {
      // Without pre-vote leaders change (and logs get truncated) more often: the bug shows sooner.
      const err = firstFailure(300, { peers: 3, steps: 800, snapshots: true, preVote: false });
      assert.ok(err, 'no seed caught it');
    });
  });

  it('a core that sends its replies before their write lands (the Ready contract)', () => {
    const original = RaftCore.prototype.ready;
    withPatch(RaftCore.prototype, 'ready', function (this: RaftCore) {
      const rd = original.call(this);
      rd.sendNow = [...rd.sendNow, ...rd.sendAfterPersist];
      rd.sendAfterPersist = [];
      return rd;
    }, () => {
      const err = firstFailure(100, { peers: 3, steps: 800 });
      assert.ok(err, 'no seed caught it');
      assert.match(err, /ReadyContractError: .* (acknowledged entries|granted its vote|but its durable term)/);
    });
  });

  it('without a plant, the same seeds pass', () => {
    assert.equal(firstFailure(60, { peers: 3, steps: 800, snapshots: true }), null);
  });
});
