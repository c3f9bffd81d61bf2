/**
 * The apply results a leader hands to its proposals' outcomes. The runtime collects them in one
 * array reused from batch to batch: an entry whose apply returned nothing must read as
 * undefined, never as the result an earlier batch left at that position.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outcome } from '../../src/node/proposal-tracker.js';
import { RaftNode } from '../../src/node/raft-node.js';
import type { Scheduler } from '../../src/node/scheduler.js';

/** Time that moves only when the test says: ticks and flushes run when asked. */
class ManualScheduler implements Scheduler {
  private ticks: Array<() => void> = [];
  private queued: Array<() => void> = [];
  every(_ms: number, fn: () => void): () => void {
    this.ticks.push(fn);
    return () => { this.ticks = this.ticks.filter((f) => f !== fn); };
  }
  soon(fn: () => void): void {
    this.queued.push(fn);
  }
  tick(): void {
    for (const f of this.ticks) f();
    this.settle();
  }
  settle(): void {
    while (this.queued.length > 0) this.queued.shift()!();
  }
}

test('a leader reports each proposal the result of its own apply, undefined where apply returned nothing, batch after batch', () => {
  const scheduler = new ManualScheduler();
  /** What apply returns for the command whose first byte is the key; no entry: nothing. */
  const answers = new Map<number, Uint8Array>();
  const got = new Map<number, string>();
  const node = RaftNode.startSync({
    id: 1, peers: [1], seed: 1, tickMs: 1, heartbeatMs: 2, electionTimeoutMs: 10, scheduler,
    transport: { send: () => {} },
    stateMachine: { apply: (command) => answers.get(command[0]) },
    onOutcome: (outcome, firstTag, count, _firstIndex, _term, results, resultOffset) => {
      assert.equal(outcome, Outcome.Committed);
      for (let k = 0; k < count; k++) {
        const r = results ? results[resultOffset + k] : undefined;
        got.set(firstTag + k, r === undefined ? 'none' : `[${[...r].join(',')}]`);
      }
    },
  });
  try {
    for (let t = 0; t < 100 && !node.getState().isLeader; t++) scheduler.tick();
    assert.ok(node.getState().isLeader, 'a lone peer elects itself');
    const batch = (tags: number[]) => {
      for (const tag of tags) assert.ok(node.propose(Uint8Array.of(tag), tag).isLeader);
      scheduler.settle(); // one flush: the batch commits and applies together
    };
    // Batch 1: every entry has a result.
    for (const k of [1, 2, 3]) answers.set(k, Uint8Array.of(k, k));
    batch([1, 2, 3]);
    // Batch 2: only the last entry has one, at the position after those of batch 1.
    answers.set(6, Uint8Array.of(6));
    batch([4, 5, 6]);
    // Batch 3: none has one.
    batch([7, 8, 9]);
    assert.deepEqual([...got.entries()].sort((a, b) => a[0] - b[0]), [
      [1, '[1,1]'], [2, '[2,2]'], [3, '[3,3]'], [4, 'none'], [5, 'none'], [6, '[6]'], [7, 'none'], [8, 'none'], [9, 'none'],
    ]);
  } finally {
    node.halt();
  }
});
