import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RingBuffer } from '../../src/transport/ring.js';
import { decode } from '../../src/transport/codec.js';
import { MsgType } from '../../src/core/message.js';
import { recordLength, fillRecord, messageFor, type ProducerData } from './ring-producer-worker.js';

const WORKER = new URL('./ring-producer-worker.js', import.meta.url);

/**
 * Runs a producer worker and consumes on this thread. Waits have no timeout: a lost wake-up in
 * either direction hangs, and the test's own timeout turns that into a failure.
 */
async function run(mode: ProducerData['mode'], count: number, capacity: number): Promise<number> {
  const ring = RingBuffer.create(capacity);
  const worker = new Worker(WORKER, { workerData: { sab: ring.sab, count, mode } satisfies ProducerData });
  let wakeUp: (() => void) | null = null;
  let failed: ((e: unknown) => void) | null = null;
  const exited = new Promise<void>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`producer exited with ${code}`))));
  });
  const failure = new Promise<never>((_, reject) => { failed = reject; });
  exited.catch((e) => failed!(e));
  worker.on('message', (msg) => {
    if (msg === 'wake' && wakeUp !== null) { const w = wakeUp; wakeUp = null; w(); }
  });

  let seq = 0;
  const expect = new Uint8Array(256);
  const onRecord = (buf: Uint8Array, off: number, len: number) => {
    const want = recordLength(seq);
    assert.equal(len, want, `record ${seq} length`);
    fillRecord(seq, expect, 0, want);
    for (let j = 0; j < len; j++) {
      if (buf[off + j] !== expect[j]) assert.fail(`record ${seq} byte ${j}: got ${buf[off + j]}, want ${expect[j]}`);
    }
    seq++;
  };
  const onMessage = (buf: Uint8Array, off: number, len: number) => {
    const m = decode(buf, off, len);
    const want = messageFor(seq);
    assert.equal(m.type, MsgType.AppendEntries);
    assert.equal(m.index, want.index);
    assert.equal(m.term, want.term);
    assert.equal(m.commit, seq);
    assert.deepEqual(Array.from(m.entries!.data), Array.from(want.entries!.data));
    assert.deepEqual(Array.from(m.entries!.ends), Array.from(want.entries!.ends));
    seq++;
  };
  let sleeps = 0;
  while (seq < count) {
    const n = ring.drain(mode === 'messages' ? onMessage : onRecord);
    ring.wakeProducer();
    if (n > 0) continue;
    sleeps++;
    if (mode === 'port') {
      if (ring.prepareToSleep()) await Promise.race([new Promise<void>((resolve) => { wakeUp = resolve; }), failure]);
    } else {
      await Promise.race([ring.waitForData(Infinity), failure]);
    }
  }
  await exited;
  assert.equal(seq, count);
  assert.ok(ring.isEmpty);
  return sleeps;
}

test('two threads: Atomics wake-ups, small ring (heavy wraparound and back-pressure)', { timeout: 120_000 }, async () => {
  await run('atomics', 100_000, 1024);
});

test('two threads: MessagePort wake-ups', { timeout: 120_000 }, async () => {
  await run('port', 50_000, 4096);
});

test('two threads: codec messages written straight into the ring', { timeout: 120_000 }, async () => {
  await run('messages', 30_000, 4096);
});
