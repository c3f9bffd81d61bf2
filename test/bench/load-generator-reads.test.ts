/**
 * The load generator checks every read's answer (the counting state machine's count of applied
 * entries): a read that sees fewer entries than the writes acknowledged before it was sent is
 * stale and stops the run with an error; so does an answer of another size. Scripted client
 * and reads, no cluster.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoadGenerator, type ReadLoad, type StreamingClient } from '../../bench/load-generator.js';

/** A client that holds what it is sent; the test commits it. And reads answered by `answer(count)`. */
function scripted(answerBytes = 8) {
  const writes: number[] = [];
  const reads: number[] = [];
  let seq = 0, readSeq = 0;
  const client: StreamingClient = { submit: () => { writes.push(++seq); return seq; }, onCommitted: null, onFailed: null, leader: 0, get pending() { return writes.length; } };
  let done: Parameters<ReadLoad['listen']>[0] | null = null;
  const load: ReadLoad = { ratio: 0.5, submit: () => { reads.push(++readSeq); return readSeq; }, listen: (d) => { done = d; } };
  return {
    client, load,
    commitWrites(n: number) { for (const s of writes.splice(0, n)) client.onCommitted!(s, s); },
    answerReads(count: number) {
      const b = new Uint8Array(answerBytes + 3);
      if (answerBytes === 8) new DataView(b.buffer).setFloat64(3, count, true);
      for (const r of reads.splice(0)) done!(r, b, 3, answerBytes);
    },
  };
}

test('reads that see every acknowledged write pass the check', () => {
  const s = scripted();
  const gen = new LoadGenerator(s.client, { mode: 'closed', window: 8 }, 16, async () => 0, 5, null, s.load);
  gen.start();
  s.commitWrites(4); // 4 acknowledged, and the completions sent more reads and writes
  s.answerReads(4);
  s.commitWrites(100);
  s.answerReads(1000);
  gen.endMeasurement();
  assert.equal(gen.error, null);
  assert.ok(gen.readsChecked >= 8, `${gen.readsChecked} reads checked`);
});

test('a stale read (fewer entries applied than writes acknowledged before it was sent) stops the run', () => {
  const s = scripted();
  const gen = new LoadGenerator(s.client, { mode: 'closed', window: 8 }, 16, async () => 0, 5, null, s.load);
  gen.start();
  s.answerReads(0); // the first reads went out before any write was acknowledged: 0 is fine
  assert.equal(gen.error, null);
  s.commitWrites(4);
  s.answerReads(3); // sent after 4 acknowledged writes
  gen.endMeasurement();
  assert.match((gen.error as Error | null)?.message ?? '', /stale read \d+: it saw 3 entries applied, but \d+ writes had been acknowledged/);
});

test('an answer that is not the 8-byte count stops the run', () => {
  const s = scripted(4);
  const gen = new LoadGenerator(s.client, { mode: 'closed', window: 8 }, 16, async () => 0, 5, null, s.load);
  gen.start();
  s.answerReads(0);
  gen.endMeasurement();
  assert.match(gen.error?.message ?? '', /answered 4 bytes, expected the state machine's 8-byte count/);
});
