import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { RingLink, createRingLinkPair } from '../../src/transport/ring-link.js';
import { RING_HEADER_BYTES } from '../../src/transport/ring.js';

/** Int32 index of the ring header's consumer sleep flag (byte 192, see ring.ts). */
const CONSUMER_WAITING = 48;

test('a closed link leaves no wait behind on its inbound ring (a pending wait would keep the rings in memory)', async () => {
  const { sabAB, sabBA } = createRingLinkPair(1024);
  const ch = new MessageChannel();
  let reads = 0;
  const link = new RingLink({ outSab: sabAB, inSab: sabBA, port: ch.port1 }, (l) => { reads++; l.in.drain(() => {}); });
  const hdr = new Int32Array(sabBA, 0, RING_HEADER_BYTES / 4);
  for (let i = 0; i < 100 && Atomics.load(hdr, CONSUMER_WAITING) !== 1; i++) await new Promise((r) => setImmediate(r));
  assert.equal(Atomics.load(hdr, CONSUMER_WAITING), 1, 'the reader found nothing and went to sleep');
  assert.ok(reads >= 1);
  link.close();
  assert.equal(Atomics.notify(hdr, CONSUMER_WAITING), 0, 'close() ended the reader\'s own wait');
  await new Promise((r) => setImmediate(r));
  assert.equal(reads, 1, 'a closed link reads no more');
  ch.port2.close();
});
