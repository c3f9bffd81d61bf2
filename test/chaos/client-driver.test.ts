/**
 * The chaos client's rules after a failed operation, against a scripted store: a new history
 * client id after every failure (a history client has at most one pending operation), a new
 * session only after a failed write (a failed read leaves the session usable).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runClient, type ClientCounters } from '../../src/chaos/client-driver.js';
import { HistoryRecorder } from '../../src/chaos/history-writer.js';
import type { ChaosStore } from '../../src/chaos/store-handle.js';

class TimeoutError extends Error {
  readonly reason = 'timeout';
}

/** A store over session `session` whose `failing` calls (counted over every store) time out. */
function scriptedStore(session: number, calls: { n: number; served: number[] }, failing: (n: number, read: boolean) => boolean): ChaosStore {
  const run = async <T>(read: boolean, value: T): Promise<T> => {
    await new Promise((r) => setImmediate(r));
    const n = ++calls.n;
    calls.served[n] = session;
    if (failing(n, read)) throw new TimeoutError(`call ${n} timed out`);
    return value;
  };
  return {
    get: () => run(true, null),
    scan: () => run(true, { entries: [], more: false }),
    put: () => run(false, undefined),
    delete: () => run(false, false),
    cas: (_k, _e, next) => run(false, { ok: true, current: next }),
    append: () => run(false, 1),
  };
}

test('chaos client: a failed read keeps the session under a new history client id; a failed write opens a new session', async () => {
  const calls = { n: 0, served: [] as number[] };
  const failedRead: number[] = [], failedWrite: number[] = [];
  // The first three reads and the first two writes fail; everything else succeeds.
  const failing = (n: number, read: boolean) => {
    const list = read ? failedRead : failedWrite;
    if (list.length < (read ? 3 : 2) && n % 3 === 0) { list.push(n); return true; }
    return false;
  };
  let sessions = 0, ids = 0;
  const history = new HistoryRecorder();
  const counters: ClientCounters = { ok: 0, unknownWrites: 0, failedReads: 0, sessions: 0, errors: [] };
  await runClient({
    client: 0, seed: 7, deadline: performance.now() + 300, history, counters,
    open: async () => scriptedStore(++sessions, calls, failing),
    nextClientId: () => ids++,
  });
  assert.equal(failedRead.length, 3, 'the run reached the scripted read failures');
  assert.equal(failedWrite.length, 2, 'and the write failures');
  assert.deepEqual([counters.failedReads, counters.unknownWrites], [3, 2]);
  assert.equal(sessions, 1 + 2, 'one session to start, and one after each failed write only');
  assert.equal(counters.sessions, 3);
  const ops = history.ops;
  assert.equal(ops.length, calls.n);
  for (let i = 0; i + 1 < ops.length; i++) {
    const n = i + 1; // the store call that served ops[i]
    const failed = ops[i].return === null;
    if (!failed) {
      assert.equal(ops[i + 1].clientId, ops[i].clientId, `op ${i} succeeded: the same history client goes on`);
      assert.equal(calls.served[n + 1], calls.served[n], `op ${i} succeeded: the same session goes on`);
      continue;
    }
    assert.notEqual(ops[i + 1].clientId, ops[i].clientId, `op ${i} (${ops[i].op}) failed: a new history client id`);
    assert.ok(!ops.slice(i + 1).some((o) => o.clientId === ops[i].clientId), `history client ${ops[i].clientId} has nothing after its pending op`);
    const sameSession = calls.served[n + 1] === calls.served[n];
    assert.equal(sameSession, failedRead.includes(n), `op ${i} (${ops[i].op}) failed: ${failedRead.includes(n) ? 'a read keeps' : 'a write replaces'} the session`);
  }
  assert.equal(new Set(ops.map((o) => o.clientId)).size, 1 + 5, 'one history client to start, and one after each of the 5 failures');
});
