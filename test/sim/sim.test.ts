import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeBatch } from '../../src/core/entry-batch.js';
import { SafetyChecker, SafetyViolation } from '../../src/sim/checker.js';
import type { LogView, PeerView } from '../../src/sim/checker.js';
import { makeCommand } from '../../src/sim/commands.js';
import { Prng } from '../../src/sim/prng.js';
import { replayCommand, runSeed } from '../../src/sim/scenario.js';
import type { RunOptions } from '../../src/sim/scenario.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/sim/state-machine.js';

// ---------------------------------------------------------------- seed sweeps

/** Runs seeds [start, start + n) and fails with every failing seed's message (each names its replay command). */
function sweep(start: number, n: number, options: RunOptions): void {
  const failures: string[] = [];
  let applies = 0;
  for (let seed = start; seed < start + n; seed++) {
    const r = runSeed(seed, options);
    if (!r.ok) failures.push(r.error!);
    applies += r.stats.checks.applies;
  }
  assert.ok(applies > n, `the runs applied almost nothing (${applies} applies in ${n} seeds): the sweep would prove nothing`);
  assert.deepEqual(failures, [], `${failures.length} of ${n} seeds failed:\n${failures.join('\n\n')}`);
}

describe('simulation sweeps', () => {
  it('3 peers, no snapshots: 300 seeds', () => sweep(1, 300, { peers: 3, steps: 800 }));
  it('3 peers, snapshots: 300 seeds', () => sweep(10_001, 300, { peers: 3, steps: 800, snapshots: true }));
  it('5 peers, no snapshots: 100 seeds', () => sweep(20_001, 100, { peers: 5, steps: 600 }));
  it('5 peers, snapshots: 100 seeds', () => sweep(30_001, 100, { peers: 5, steps: 600, snapshots: true }));
});

// ---------------------------------------------------------------- determinism

describe('replay', () => {
  it('the same seed and options give the same run, event for event', () => {
    for (const options of [{ peers: 3, snapshots: true, steps: 400 }, { peers: 5, steps: 300 }]) {
      for (const seed of [7, 4242]) {
        const lines1: string[] = [];
        const lines2: string[] = [];
        const a = runSeed(seed, { ...options, log: (l) => lines1.push(l) });
        const b = runSeed(seed, { ...options, log: (l) => lines2.push(l) });
        const c = runSeed(seed, options); // without a log: tracing must not change the run
        assert.equal(a.stats.traceHash, b.stats.traceHash);
        assert.equal(a.stats.traceHash, c.stats.traceHash);
        assert.deepEqual(a.stats, c.stats);
        assert.deepEqual(lines1, lines2);
        assert.ok(a.stats.events > 1000 && lines1.length > 100, 'a run has many events');
      }
    }
  });

  it('rejects bad options by name', () => {
    assert.throws(() => runSeed(1, { peers: 0 }), /option peers/);
    assert.throws(() => runSeed(1, { steps: 1.5 }), /option steps/);
    assert.throws(() => runSeed(-1), /seed must be/);
  });

  it('different seeds give different runs', () => {
    const hashes = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) hashes.add(runSeed(seed, { steps: 200 }).stats.traceHash);
    assert.equal(hashes.size, 20);
  });

  it('a failure message names the seed and the command that replays it', () => {
    const r = runSeed(3, { steps: 1, livenessMs: 1 }); // no log yet, and 1 ms cannot be enough to elect and commit
    assert.equal(r.ok, false);
    assert.match(r.error!, /^seed 3 failed in the liveness phase/);
    assert.ok(r.error!.includes(replayCommand(3, { steps: 1 })), r.error);
    assert.match(replayCommand(3, { peers: 5, snapshots: true, steps: 100 }), /--seed 3 --peers 5 --snapshots --steps 100$/);
  });
});

// ---------------------------------------------------------------- the checker can fail

/** A log to feed the checker by hand: entries[k] is index snapshotIndex + 1 + k. */
class FakeLog implements LogView {
  constructor(public entries: { term: number; cmd: Uint8Array }[], public snapshotIndex = 0, public snapshotTerm = 0) {}
  get lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }
  term(i: number): number {
    if (i === this.snapshotIndex) return this.snapshotTerm;
    const e = this.entries[i - this.snapshotIndex - 1];
    return e ? e.term : -1;
  }
  command(i: number): Uint8Array {
    return this.entries[i - this.snapshotIndex - 1].cmd;
  }
}

const cmd = (id: number): Uint8Array => makeCommand(id, 0, 3);
const view = (id: number, term: number, isLeader: boolean, commitIndex: number, log: LogView): PeerView => ({ id, term, isLeader, commitIndex, log });

function throwsViolation(property: string, f: () => void): void {
  assert.throws(f, (e: unknown) => e instanceof SafetyViolation && e.property === property, `expected a ${property} violation`);
}

describe('checker catches fabricated violations', () => {
  it('two leaders in one term, even at different times', () => {
    const c = new SafetyChecker([1, 2, 3]);
    c.observe(view(1, 2, true, 0, new FakeLog([])));
    c.observe(view(1, 3, false, 0, new FakeLog([])));
    c.observe(view(2, 3, true, 0, new FakeLog([])));
    throwsViolation('election safety', () => c.observe(view(3, 2, true, 0, new FakeLog([]))));
  });

  it('two peers applying different commands at one index', () => {
    const c = new SafetyChecker([1, 2]);
    c.observe(view(1, 1, true, 1, new FakeLog([{ term: 1, cmd: cmd(1) }])));
    c.onApply(1, 1, 1, cmd(1));
    throwsViolation('state machine safety', () => c.onApply(2, 1, 1, cmd(2)));
  });

  it('applying out of order, or again below the applied index', () => {
    const c = new SafetyChecker([1]);
    c.observe(view(1, 1, true, 2, new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }])));
    throwsViolation('in-order apply', () => c.onApply(1, 2, 1, cmd(2)));
    const d = new SafetyChecker([1]);
    d.observe(view(1, 1, true, 2, new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }])));
    d.onApply(1, 1, 1, cmd(1));
    d.onApply(1, 2, 1, cmd(2));
    throwsViolation('in-order apply', () => d.onApply(1, 2, 1, cmd(2)));
  });

  it('applying what no leader committed', () => {
    const c = new SafetyChecker([1, 2]);
    c.observe(view(1, 1, true, 0, new FakeLog([{ term: 1, cmd: cmd(1) }])));
    throwsViolation('commit', () => c.onApply(2, 1, 1, cmd(1)));
  });

  it('two logs with one (index, term) but different histories before it', () => {
    const c = new SafetyChecker([1, 2]);
    c.observe(view(1, 3, false, 0, new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 3, cmd: cmd(3) }])));
    throwsViolation('log matching', () => c.observe(view(2, 3, false, 0, new FakeLog([{ term: 2, cmd: cmd(2) }, { term: 3, cmd: cmd(3) }]))));
  });

  it('two logs with one (index, term) holding different commands', () => {
    const c = new SafetyChecker([1, 2]);
    c.observe(view(1, 1, false, 0, new FakeLog([{ term: 1, cmd: cmd(1) }])));
    throwsViolation('log matching', () => c.observe(view(2, 1, false, 0, new FakeLog([{ term: 1, cmd: cmd(9) }]))));
  });

  it('the pairwise audit sees a log changed behind the incremental check', () => {
    const c = new SafetyChecker([1, 2]);
    const a = new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }]);
    const b = new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }]);
    c.observe(view(1, 1, false, 0, a));
    c.observe(view(2, 1, false, 0, b));
    c.audit();
    a.entries[0] = { term: 1, cmd: cmd(7) }; // same term, other command: invisible to a term-only diff
    throwsViolation('log matching', () => c.audit());
  });

  it('a new leader missing an entry committed in an earlier term', () => {
    const c = new SafetyChecker([1, 2, 3]);
    c.observe(view(1, 1, true, 1, new FakeLog([{ term: 1, cmd: cmd(1) }])));
    throwsViolation('leader completeness', () => c.observe(view(2, 2, true, 0, new FakeLog([]))));
  });

  it('a leader overwriting its own log in its term', () => {
    const c = new SafetyChecker([1]);
    c.observe(view(1, 2, true, 0, new FakeLog([{ term: 2, cmd: cmd(1) }, { term: 2, cmd: cmd(2) }])));
    throwsViolation('leader append-only', () => c.observe(view(1, 2, true, 0, new FakeLog([{ term: 2, cmd: cmd(1) }]))));
  });

  it('a persisted vote that changes within a term', () => {
    const c = new SafetyChecker([1]);
    c.onPersist(1, { term: 4, votedFor: 2 }, null, 0, null);
    c.onPersist(1, { term: 4, votedFor: 2 }, null, 0, null);
    throwsViolation('vote safety', () => c.onPersist(1, { term: 4, votedFor: 3 }, null, 0, null));
  });

  it('a snapshot whose state differs from the committed history', () => {
    const c = new SafetyChecker([1, 2]);
    c.observe(view(1, 1, true, 2, new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }])));
    throwsViolation('snapshot', () => c.onRestore(2, 2, 1, [cmd(1), cmd(5)]));
    c.onRestore(2, 2, 1, [cmd(1), cmd(2)]);
    throwsViolation('in-order apply', () => c.onRestore(2, 1, 1, [cmd(1)]));
  });

  it('accepts a consistent history', () => {
    const c = new SafetyChecker([1, 2]);
    const log = new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }]);
    c.observe(view(1, 1, true, 2, log));
    c.observe(view(2, 1, false, 2, new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }])));
    for (const id of [1, 2]) { c.onApply(id, 1, 1, cmd(1)); c.onApply(id, 2, 1, cmd(2)); }
    c.observe(view(2, 2, true, 2, new FakeLog([{ term: 1, cmd: cmd(1) }, { term: 1, cmd: cmd(2) }])));
    c.audit();
  });
});

// ---------------------------------------------------------------- building blocks

describe('sim building blocks', () => {
  it('the PRNG is deterministic, uniform enough and in range', () => {
    const a = new Prng(99), b = new Prng(99);
    const xs = Array.from({ length: 1000 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
    const r = new Prng(1);
    for (let k = 0; k < 1000; k++) { const v = r.range(3, 5); assert.ok(v >= 3 && v <= 5 && Number.isInteger(v)); }
    assert.notDeepEqual(Array.from({ length: 5 }, () => new Prng(1).fork().u32()), Array.from({ length: 5 }, () => new Prng(2).fork().u32()));
  });

  it('snapshot data round-trips the state machine', () => {
    const cmds = [cmd(1), cmd(2), new Uint8Array(0), cmd(3)];
    assert.deepEqual(decodeSnapshot(encodeSnapshot(cmds, 4)), cmds);
    assert.deepEqual(decodeSnapshot(encodeSnapshot(cmds, 2)), cmds.slice(0, 2));
    assert.throws(() => decodeSnapshot(encodeSnapshot(cmds, 4).subarray(0, 10)), /truncated/);
    const a = encodeSnapshot(cmds, 4, 1), b = encodeSnapshot(cmds, 4, 2);
    assert.notDeepEqual(a, b); // same state, other bytes
    assert.deepEqual(decodeSnapshot(b), cmds);
    const mixed = a.slice();
    mixed.set(b.subarray(0, 12)); // chunks of two snapshots spliced together
    assert.throws(() => decodeSnapshot(mixed), /checksum/);
  });
});
