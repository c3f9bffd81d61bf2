/**
 * Producer half of the two-thread ring test (run as a worker_thread from ring-threads.test.ts).
 * Writes `count` records (or messages) into the ring, sleeping on Atomics.wait when the ring is
 * full, and wakes the consumer either with Atomics.notify or by posting 'wake' on parentPort.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from '../../src/transport/ring.js';
import { MsgType, message } from '../../src/core/message.js';
import { makeBatch } from '../../src/core/entry-batch.js';

export interface ProducerData {
  sab: SharedArrayBuffer;
  count: number;
  mode: 'atomics' | 'port' | 'messages';
}

/** Record `seq`: a u32 sequence number then a deterministic pattern; shared with the test. */
export function recordLength(seq: number): number {
  return 4 + ((seq * 7919) % 197);
}

export function fillRecord(seq: number, buf: Uint8Array, off: number, len: number): void {
  buf[off] = seq & 0xff; buf[off + 1] = (seq >>> 8) & 0xff; buf[off + 2] = (seq >>> 16) & 0xff; buf[off + 3] = (seq >>> 24) & 0xff;
  for (let j = 4; j < len; j++) buf[off + j] = (seq + j * 3) & 0xff;
}

export function messageFor(seq: number) {
  const m = message(MsgType.AppendEntries, 1, 2, 1 + (seq >> 10));
  m.index = 2 ** 33 + seq;
  m.commit = seq;
  const n = seq % 5;
  const entries = [];
  for (let k = 0; k < n; k++) entries.push({ term: m.term, command: new Uint8Array([seq & 0xff, k, (seq >> 8) & 0xff]) });
  m.entries = makeBatch(m.index + 1, entries);
  return m;
}

if (parentPort !== null && workerData !== null && (workerData as ProducerData).sab !== undefined) {
  const { sab, count, mode } = workerData as ProducerData;
  const port = parentPort;
  const ring = new RingBuffer(sab);
  const wake = () => {
    if (mode === 'port') {
      if (ring.consumerNeedsWakeup()) port.postMessage('wake');
    } else {
      ring.wakeConsumer();
    }
  };
  for (let seq = 0; seq < count; seq++) {
    if (mode === 'messages') {
      const m = messageFor(seq);
      while (!ring.writeMessage(m)) ring.waitForSpaceSync(1024, Infinity);
    } else {
      const len = recordLength(seq);
      let off: number;
      while ((off = ring.tryReserve(len)) < 0) ring.waitForSpaceSync(len, Infinity);
      fillRecord(seq, ring.bytes, off, len);
      ring.commit();
    }
    wake();
  }
  port.postMessage('done');
}
