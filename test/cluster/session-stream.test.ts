import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Cluster, SessionError, type ClientSession } from '../../src/index.js';
import { sleep, until } from './harness.js';

const SM = new URL('./apply-log-state-machine.js', import.meta.url);

const idCommand = (id: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setUint32(0, id, true); return b; };

/** What a session's streaming callbacks reported, per seq. */
function record(s: ClientSession) {
  const committed = new Map<number, { index: number; result: Uint8Array; duplicate: boolean }>();
  const failed = new Map<number, SessionError>();
  const twice: number[] = [];
  s.onCommitted = (seq, index, result, duplicate) => {
    if (committed.has(seq) || failed.has(seq)) twice.push(seq);
    committed.set(seq, { index, result, duplicate });
  };
  s.onFailed = (seq, e) => {
    if (committed.has(seq) || failed.has(seq)) twice.push(seq);
    failed.set(seq, e);
  };
  return { committed, failed, twice };
}


test('streaming: a window of commands submitted through repeated leader crashes takes effect exactly once on every peer', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'raft-stream-'));
  process.env.RAFT_TEST_APPLY_DIR = dir;
  const c = await Cluster.start({ peers: 3, stateMachine: SM, sessions: true });
  try {
    await c.waitForLeader();
    const s = await c.session();
    const r = record(s);
    // Command seq k carries id k: keep 64 in flight, each commit submits the next, until told to stop.
    let submitting = true;
    const ids = new Map<number, number>();
    const submitNext = () => { const id = ids.size; const seq = s.submit(idCommand(id)); ids.set(seq, id); };
    const onCommitted = s.onCommitted!;
    s.onCommitted = (seq, index, result, duplicate) => {
      onCommitted(seq, index, result, duplicate);
      if (submitting) submitNext();
    };
    for (let k = 0; k < 64; k++) submitNext();
    for (let k = 0; k < 3; k++) {
      await sleep(150);
      const { leader } = await c.waitForLeader();
      await c.crash(leader);
      await sleep(200);
      await c.restart(leader);
    }
    await until('300 commits after the crashes', () => r.committed.size >= 300);
    submitting = false;
    await until('every command settled', () => r.committed.size + r.failed.size === ids.size);
    const total = ids.size;
    assert.deepEqual(r.twice, [], 'a seq was reported twice');
    assert.equal(r.failed.size, 0, `failed: ${[...r.failed.values()].map((e) => e.message).slice(0, 3).join('; ')}`);
    assert.equal(s.pending, 0);
    for (const [seq, { result }] of r.committed) assert.equal(result[0], 1, `seq ${seq}: the result says it was applied ${result[0]} times on the answering peer`);
    // Let every peer catch up, then read what each user state machine applied.
    const last = await s.propose(idCommand(1_000_000));
    assert.equal(last.duplicate, false);
    for (let tries = 0; tries < 100; tries++) {
      const logs = [0, 1, 2].map((p) => existsSync(path.join(dir, `peer-${p}.log`)) ? readFileSync(path.join(dir, `peer-${p}.log`), 'utf8') : '');
      if (logs.every((l) => l.includes('1000000\n'))) break;
      await sleep(100);
    }
    for (let p = 0; p < 3; p++) {
      // A restarted peer re-applies its log from the start (memory state machine, no snapshot): count the last life.
      const lives = readFileSync(path.join(dir, `peer-${p}.log`), 'utf8').split('start\n').filter((l) => l !== '');
      const applied = lives[lives.length - 1].trim().split('\n').map(Number).filter((id) => id !== 1_000_000);
      assert.equal(new Set(applied).size, applied.length, `peer ${p} applied a command twice`);
      assert.equal(applied.length, total, `peer ${p} applied ${applied.length} of ${total} commands`);
      // Commands apply in seq order: ids were given in seq order.
      assert.deepEqual(applied, [...applied].sort((a, b) => a - b), `peer ${p} applied out of seq order`);
    }
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('streaming: without a majority a command fails at its deadline, with every later one, and the session says so', async () => {
  const c = await Cluster.start({ peers: 3, sessions: true });
  try {
    await c.waitForLeader();
    const s = await c.session();
    const r = record(s);
    const first = s.submit(new Uint8Array([1]));
    await until('the first commit', () => r.committed.has(first));
    const { leader } = await c.waitForLeader();
    await c.crash((leader + 1) % 3);
    await c.crash((leader + 2) % 3);
    const t0 = Date.now();
    const a = s.submit(new Uint8Array([2]), 300);
    const b = s.submit(new Uint8Array([3]), 60_000);
    await until('both failures', () => r.failed.size === 2, 20_000);
    assert.ok(Date.now() - t0 >= 290, 'failed before its deadline');
    assert.equal(r.failed.get(a)!.reason, 'timeout');
    assert.match(r.failed.get(a)!.message, /not applied by its deadline/);
    assert.equal(r.failed.get(b)!.reason, 'timeout', 'a later command is blocked behind the one that timed out');
    assert.match(r.failed.get(b)!.message, /seq order/);
    assert.deepEqual(r.twice, []);
    assert.equal(s.pending, 0);
    assert.equal(s.closed?.reason, 'timeout');
    assert.throws(() => s.submit(new Uint8Array([4])), (e: unknown) => e instanceof SessionError && e.reason === 'timeout' && /closed/.test(e.message));
    await assert.rejects(s.propose(new Uint8Array([5])), (e: unknown) => e instanceof SessionError && e.reason === 'timeout');
  } finally {
    await c.stop();
  }
});

test('streaming: bad input is refused synchronously and the session keeps working; after stop() submit says stopped', async () => {
  const c = await Cluster.start({ peers: 1, maxCommandBytes: 64, sessions: true });
  try {
    await c.waitForLeader();
    const s = await c.session();
    const r = record(s);
    assert.throws(() => s.submit('abc' as unknown as Uint8Array), (e: unknown) => e instanceof TypeError && /Uint8Array, got string/.test(e.message));
    assert.throws(() => s.submit(null as unknown as Uint8Array), (e: unknown) => e instanceof TypeError && /got null/.test(e.message));
    assert.throws(() => s.submit(new Uint8Array(40)), (e: unknown) => e instanceof RangeError && /25-byte session header \(39\)/.test(e.message));
    assert.throws(() => s.submit(new Uint8Array(1), -5), (e: unknown) => e instanceof RangeError && /timeoutMs must be a positive number, got number -5/.test(e.message));
    assert.throws(() => s.submit(new Uint8Array(1), NaN), RangeError);
    assert.equal(s.pending, 0, 'nothing refused was kept');
    const seqs = [s.submit(new Uint8Array(39)), s.submit(new Uint8Array(0)), s.submit(Uint8Array.of(7))];
    assert.deepEqual(seqs, [1, 2, 3], 'refused commands take no seq');
    await until('three commits', () => r.committed.size === 3, 20_000);
    assert.deepEqual([...r.committed.keys()], seqs, 'committed in seq order');
    for (const { result, duplicate } of r.committed.values()) { assert.equal(result.byteLength, 0); assert.equal(duplicate, false); }
    await c.stop();
    assert.throws(() => s.submit(Uint8Array.of(8)), (e: unknown) => e instanceof SessionError && e.reason === 'stopped');
    assert.deepEqual(r.twice, []);
  } finally {
    await c.stop();
  }
});
