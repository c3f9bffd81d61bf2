/**
 * A ClientSession holds at most maxOutstanding commands (submitted, not yet applied in seq
 * order): beyond that submit throws SessionError 'backpressure', numbers nothing and sends
 * nothing, and the session stays open; cluster.session() checks its options by name and value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster, SessionError } from '../../src/index.js';
import { FrameKind, decodeFrame } from '../../src/node/session-protocol.js';
import { until } from './harness.js';


test('ClientSession maxOutstanding: beyond it submit throws backpressure and sends nothing; the session works on once commands apply', async () => {
  const c = await Cluster.start({ peers: 3, sessions: true });
  try {
    await c.waitForLeader();
    await assert.rejects(c.session({ maxOutstanding: 0 }), (e: Error) => e instanceof RangeError && /option maxOutstanding must be an integer >= 1, got 0/.test(e.message));
    await assert.rejects(c.session({ maxOutstanding: 2.5 }), /option maxOutstanding must be an integer >= 1, got 2.5/);
    await assert.rejects(c.session({ maxOutstandng: 4 } as never), (e: Error) => e instanceof TypeError && /unknown session option maxOutstandng/.test(e.message));
    await assert.rejects(c.session({ timeoutMs: -1 }), /option timeoutMs must be a positive number, got -1/);
    const defaults = await c.session();
    assert.equal(defaults.maxOutstanding, 2 ** 20);
    await assert.rejects(defaults.propose(new Uint8Array([1]), { timeout: 5 } as never), (e: Error) => e instanceof TypeError && /unknown option timeout for session.propose: did you mean timeoutMs\?/.test(e.message));
    assert.equal(defaults.timeoutMs, 30_000);

    // The payload of every session command peer 0 applies, in order, as text (onApply reports the log entry: the session frame).
    const applied: string[] = [];
    c.onApply((e) => {
      if (e.type !== 'command' || e.peer !== 0 || e.command.byteLength === 0) return;
      const f = decodeFrame(e.command);
      if (f.kind === FrameKind.Command) applied.push(new TextDecoder().decode(f.payload));
    });
    const s = await c.session({ maxOutstanding: 3, timeoutMs: 20_000 });
    assert.equal(s.maxOutstanding, 3);
    assert.equal(s.timeoutMs, 20_000);
    const committed: number[] = [];
    s.onCommitted = (seq) => committed.push(seq);
    s.onFailed = (seq, e) => assert.fail(`seq ${seq} failed: ${e.message}`);
    const enc = (t: string) => new TextEncoder().encode(t);
    // Submitted in one turn: no commit can come back in between, so all three are held.
    assert.deepEqual([s.submit(enc('a')), s.submit(enc('b')), s.submit(enc('c'))], [1, 2, 3]);
    assert.throws(() => s.submit(enc('refused')),
      (e: Error) => e instanceof SessionError && e.reason === 'backpressure' && /session \d+ holds 3 commands.*maxOutstanding 3.*nothing was sent/.test(e.message));
    await assert.rejects(s.propose(enc('refused too')), (e: Error) => e instanceof SessionError && e.reason === 'backpressure');
    assert.equal(s.closed, null, 'back-pressure does not close the session');
    assert.equal(s.pending, 3);
    await until('the three commit', () => committed.length === 3);
    assert.equal(s.submit(enc('d')), 4, 'the refused commands took no seq');
    await until('the fourth commits', () => committed.length === 4);
    await until('peer 0 applied d', () => applied.includes('d'));
    assert.deepEqual(applied, ['a', 'b', 'c', 'd'], 'the refused commands were never sent');
  } finally {
    await c.stop();
  }
});
