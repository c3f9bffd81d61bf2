import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MsgType } from '../../src/core/message.js';
import type { Message } from '../../src/core/message.js';
import { RaftNode, type StateMachine } from '../../src/node/raft-node.js';
import { ReadError } from '../../src/node/read-tracker.js';
import type { Scheduler } from '../../src/node/scheduler.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

/** A clock the test advances by hand: tick() runs every periodic function once, then everything soon(). */
class ManualClock implements Scheduler {
  private periodic = new Set<() => void>();
  private queued: Array<() => void> = [];
  every(_ms: number, fn: () => void): () => void { this.periodic.add(fn); return () => this.periodic.delete(fn); }
  soon(fn: () => void): void { this.queued.push(fn); }
  run(): void { for (let n = 0; this.queued.length > 0; n++) { if (n > 1000) throw new Error('no quiescence'); this.queued.shift()!(); } }
  tick(n = 1): void { for (let i = 0; i < n; i++) { for (const f of [...this.periodic]) f(); this.run(); } }
}

/** A counter: commands add their first byte; the query 'get' answers the sum, anything else is refused. */
class Counter implements StateMachine {
  sum = 0;
  apply(c: Uint8Array): void { this.sum += c[0]; }
  query(q: Uint8Array): Uint8Array {
    if (q.byteLength !== 1 || q[0] !== 0x67) throw new RangeError(`unknown query of ${q.byteLength} bytes`);
    return new Uint8Array([this.sum]);
  }
}

type Outcome = { tag: number; ok: boolean; value: Uint8Array | ReadError };

function single(peers = [1], transport = { send: (_: Message[]) => {} }) {
  const clock = new ManualClock();
  const sm = new Counter();
  const outcomes: Outcome[] = [];
  const node = RaftNode.startSync({
    id: 1, peers, transport, scheduler: clock, stateMachine: sm, seed: 1, tickMs: 10, heartbeatMs: 10, electionTimeoutMs: 50,
    onRead: (tag, ok, value) => outcomes.push({ tag, ok, value }),
  });
  return { clock, sm, node, outcomes };
}

const GET = new Uint8Array([0x67]);

test('a read sees every write committed before it', () => {
  const { clock, node, outcomes } = single();
  clock.tick(20);
  assert.ok(node.core.isLeader);
  node.propose(new Uint8Array([5]));
  node.propose(new Uint8Array([7]));
  clock.run(); // committed and applied
  node.read(GET, 42);
  assert.equal(outcomes.length, 0, 'answered from inside read()');
  clock.run();
  assert.deepEqual(outcomes.map((o) => [o.tag, o.ok, Array.from(o.value as Uint8Array)]), [[42, true, [12]]]);
});

test('a query the state machine refuses comes back as an error and changes nothing', () => {
  const { clock, node, sm, outcomes } = single();
  clock.tick(20);
  node.propose(new Uint8Array([3]));
  clock.run();
  node.read(new Uint8Array([1, 2]), 1);
  node.read(GET, 2);
  clock.run();
  assert.equal(outcomes[0].ok, false);
  const e = outcomes[0].value as ReadError;
  assert.ok(e instanceof ReadError);
  assert.equal(e.reason, 'query-failed');
  assert.equal(e.retryable, false);
  assert.match(e.message, /refused the query: unknown query of 2 bytes/);
  assert.deepEqual(outcomes[1], { tag: 2, ok: true, value: new Uint8Array([3]) });
  assert.equal(sm.sum, 3);
});

test('a read on a peer with no leader fails as retryable (leader lost)', () => {
  const { clock, node, outcomes } = single([1, 2, 3]);
  node.read(GET, 9);
  clock.run();
  assert.equal(outcomes.length, 1);
  const e = outcomes[0].value as ReadError;
  assert.equal(e.reason, 'leader-lost');
  assert.equal(e.retryable, true);
});

test('reads waiting when the node stops fail with reason stopped; read() on a stopped node throws', async () => {
  const { clock, node, outcomes } = single([1, 2, 3]);
  clock.tick(20); // a candidate that never wins: no leader to confirm the read
  node.read(GET, 1);
  await node.stop();
  clock.run();
  assert.equal(outcomes.length, 1);
  assert.ok(['stopped', 'leader-lost'].includes((outcomes[0].value as ReadError).reason));
  assert.throws(() => node.read(GET), /raft node 1 is stopped/);
});

test('a leader read waiting for its heartbeat round fails with stopped when the node stops', async () => {
  const sent: Message[] = [];
  const { clock, node, outcomes } = single([1, 2, 3], { send: (ms) => { sent.push(...ms); } });
  // Make peer 1 leader by granting its pre-votes and votes.
  for (let i = 0; i < 20 && !node.core.isLeader; i++) {
    clock.tick();
    for (const m of sent.splice(0)) {
      if (m.type === MsgType.PreVote) node.receive({ ...m, type: MsgType.PreVoteReply, from: m.to, to: 1, reject: false });
      if (m.type === MsgType.RequestVote) node.receive({ ...m, type: MsgType.RequestVoteReply, from: m.to, to: 1, reject: false });
    }
    clock.run();
  }
  assert.ok(node.core.isLeader);
  node.read(GET, 5);
  clock.run();
  assert.equal(outcomes.length, 0, 'answered without a majority');
  await node.stop();
  assert.deepEqual(outcomes.map((o) => [o.tag, o.ok, (o.value as ReadError).reason]), [[5, false, 'stopped']]);
});

test('bad input: a query that is not bytes, and onRead without a query method', () => {
  const { clock, node } = single();
  clock.tick(20);
  assert.throws(() => node.read('get' as unknown as Uint8Array), /a read query must be a Uint8Array, got string/);
  assert.throws(() => RaftNode.startSync({ id: 1, peers: [1], transport: { send() {} }, stateMachine: { apply() {} }, onRead: () => {} }),
    /option onRead needs a stateMachine with a query\(query\) method/);
  const plain = RaftNode.startSync({ id: 1, peers: [1], transport: { send() {} }, scheduler: new ManualClock() });
  assert.throws(() => plain.read(GET), /RaftNode.read needs the onRead option/);
});

test('queued reads (queueRead/submitQueuedReads) share one core read index, each answered under its own tag', () => {
  const { clock, node, outcomes } = single();
  clock.tick(20);
  node.propose(new Uint8Array([4]));
  clock.run();
  let asked = 0;
  const readIndex = node.core.readIndex.bind(node.core);
  node.core.readIndex = (id: number) => { asked++; readIndex(id); };
  node.queueRead(GET, 1);
  node.queueRead(new Uint8Array([9]), 2); // refused by the state machine, alone
  const t = node.queueRead(GET);
  assert.equal(asked, 0, 'queued reads are not asked of the core before submitQueuedReads');
  node.submitQueuedReads();
  assert.equal(asked, 1, 'one core read for the whole queue');
  node.submitQueuedReads();
  assert.equal(asked, 1, 'nothing queued: nothing asked');
  clock.run();
  assert.deepEqual(outcomes.map((o) => [o.tag, o.ok]), [[1, true], [2, false], [t, true]]);
  assert.deepEqual(Array.from(outcomes[0].value as Uint8Array), [4]);
  assert.equal((outcomes[1].value as ReadError).reason, 'query-failed');
});

test('reads queued and not yet submitted fail with stopped when the node stops', async () => {
  const { clock, node, outcomes } = single();
  clock.tick(20);
  node.queueRead(GET, 7);
  await node.stop();
  assert.deepEqual(outcomes.map((o) => [o.tag, o.ok, (o.value as ReadError).reason]), [[7, false, 'stopped']]);
  assert.throws(() => node.queueRead(GET), /raft node 1 is stopped/);
});

/** A MemoryStorage whose writes land only when the test lets them (hold), one by one. */
class HeldStorage extends MemoryStorage {
  hold = false;
  readonly waiting: Array<() => void> = [];
  override save(...args: Parameters<MemoryStorage['save']>): void | Promise<void> {
    super.save(...args);
    if (!this.hold) return;
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  /** Lets the oldest held write land and its continuation run. */
  async land(): Promise<void> {
    this.waiting.shift()!();
    await new Promise((r) => setImmediate(r));
  }
}

function leaseSingle() {
  const clock = new ManualClock();
  const sm = new Counter();
  const storage = new HeldStorage();
  const outcomes: Outcome[] = [];
  const node = RaftNode.startSync({
    id: 1, peers: [1], transport: { send() {} }, scheduler: clock, stateMachine: sm, storage, seed: 1, tickMs: 10, heartbeatMs: 10, electionTimeoutMs: 50,
    readMode: 'lease', checkQuorum: true,
    onRead: (tag, ok, value) => outcomes.push({ tag, ok, value }),
  });
  clock.tick(20);
  assert.ok(node.core.isLeader);
  // The first read takes a round, which starts the lease (a single peer is its own majority).
  node.queueRead(GET, 100);
  node.submitQueuedReads();
  clock.run();
  assert.deepEqual(outcomes.splice(0).map((o) => [o.tag, o.ok]), [[100, true]]);
  return { clock, sm, storage, node, outcomes };
}

test('lease reads: a leader whose lease holds serves queued reads inside submitQueuedReads, without the core', () => {
  const { clock, node, outcomes } = leaseSingle();
  node.propose(new Uint8Array([6]));
  clock.run();
  let asked = 0;
  const readIndex = node.core.readIndex.bind(node.core);
  node.core.readIndex = (id: number) => { asked++; readIndex(id); };
  node.queueRead(GET, 1);
  node.queueRead(new Uint8Array([9]), 2);
  assert.equal(outcomes.length, 0, 'answered before submitQueuedReads');
  node.submitQueuedReads();
  assert.deepEqual(outcomes.map((o) => [o.tag, o.ok]), [[1, true], [2, false]], 'not answered inside submitQueuedReads');
  assert.deepEqual(Array.from(outcomes[0].value as Uint8Array), [6]);
  assert.equal((outcomes[1].value as ReadError).reason, 'query-failed');
  assert.equal(asked, 0, 'a lease read asked the core for a read id');
  // read() keeps its promise of answering later (a caller may not know the tag yet).
  const t = node.read(GET);
  assert.equal(outcomes.length, 2);
  clock.run();
  assert.deepEqual(outcomes.slice(2).map((o) => [o.tag, o.ok]), [[t, true]]);
});

test('lease reads: not served at once while the state machine is behind the commit index (a write under way)', async () => {
  const { clock, node, sm, storage, outcomes } = leaseSingle();
  storage.hold = true;
  node.propose(new Uint8Array([5]));
  clock.run(); // the write of 5 is under way
  node.propose(new Uint8Array([7]));
  const five = node.core.log.lastIndex - 1;
  // 5's write lands and 5 commits; the Ready that applies it also writes 7, and waits on that.
  await storage.land();
  assert.equal(node.core.commitIndex, five);
  assert.equal(node.core.leaseReadIndex(), five, 'the lease holds');
  assert.equal(sm.sum, 0, 'the state machine has not applied 5 yet');
  node.queueRead(GET, 1);
  node.submitQueuedReads();
  assert.equal(outcomes.length, 0, 'served from a state machine that has not applied the commit index');
  storage.hold = false;
  await storage.land();
  clock.run();
  assert.deepEqual(outcomes.map((o) => [o.tag, o.ok]), [[1, true]]);
  assert.ok((outcomes[0].value as Uint8Array)[0] >= 5, 'the read missed the committed 5');
});

test('a query() that returns a Promise (an async query) fails that read and says it got a Promise', () => {
  const { clock, node, sm, outcomes } = single();
  clock.tick(20);
  (sm as unknown as { query: (q: Uint8Array) => unknown }).query = async () => new Uint8Array([1]);
  node.read(GET, 1);
  clock.run();
  assert.equal(outcomes[0].ok, false);
  assert.equal((outcomes[0].value as ReadError).reason, 'query-failed');
  assert.match((outcomes[0].value as ReadError).message, /query\(\) returned object Promise; a result must be a Uint8Array \(query\(\) runs synchronously\)/);
});
