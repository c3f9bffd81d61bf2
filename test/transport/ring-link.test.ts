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

test('a sleep paused for polling skips the producer\'s wake-up, and resuming it wakes the reader for what arrived (none lost)', async () => {
  const { sabAB, sabBA } = createRingLinkPair(1024);
  const ch = new MessageChannel();
  const got: number[] = [];
  const link = new RingLink({ outSab: sabAB, inSab: sabBA, port: ch.port1 }, (l) => { l.in.drain((buf, off) => { got.push(buf[off]); }); });
  const producer = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, (l) => { l.in.drain(() => {}); });
  const hdr = new Int32Array(sabBA, 0, RING_HEADER_BYTES / 4);
  for (let i = 0; i < 100 && Atomics.load(hdr, CONSUMER_WAITING) !== 1; i++) await new Promise((r) => setImmediate(r));
  assert.equal(Atomics.load(hdr, CONSUMER_WAITING), 1, 'the reader sleeps');

  assert.equal(link.in.pauseSleep(), true, 'its sleep was pending');
  assert.equal(link.in.pauseSleep(), false, 'pausing twice finds the flag down');
  assert.ok(producer.out.tryWrite(new Uint8Array([7])));
  assert.equal(producer.out.wakeConsumer(), false, 'the producer sees no sleeper: no notify');
  link.in.resumeSleep();
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [7], 'resuming woke the reader, which read the record');

  // Paused and resumed with nothing written: the reader stays asleep and a later write wakes it.
  for (let i = 0; i < 100 && Atomics.load(hdr, CONSUMER_WAITING) !== 1; i++) await new Promise((r) => setImmediate(r));
  assert.equal(link.in.pauseSleep(), true);
  link.in.resumeSleep();
  assert.equal(Atomics.load(hdr, CONSUMER_WAITING), 1, 'asleep again');
  assert.ok(producer.out.tryWrite(new Uint8Array([8])));
  producer.flush();
  for (let i = 0; i < 100 && got.length === 1; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [7, 8]);
  link.close();
  producer.close();
});

test('maxRoundsPerTurn: a stream that never pauses lets the event loop run after that many drains, and loses nothing', async () => {
  const { sabAB, sabBA } = createRingLinkPair(1024);
  const ch = new MessageChannel();
  const maxRounds = 4;
  let roundsThisTurn = 0, mostRounds = 0, got = 0, fed = 0;
  let feeding = true;
  // The reader feeds its own inbound ring from inside each drain (as two ends answering each
  // other at once do), so the ring is never empty when it looks again.
  let feeder: RingLink | null = null;
  const link = new RingLink({ outSab: sabAB, inSab: sabBA, port: ch.port1 }, (l) => {
    l.in.drain(() => { got++; });
    mostRounds = Math.max(mostRounds, ++roundsThisTurn);
    if (roundsThisTurn > 1000) feeding = false; // no bound: end the stream rather than hang the test
    if (feeding && feeder!.out.tryWrite(new Uint8Array([fed & 0xff]))) fed++;
  }, maxRounds);
  feeder = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, (l) => { l.in.drain(() => {}); });
  try {
    assert.ok(feeder.out.tryWrite(new Uint8Array([0])));
    fed++;
    feeder.flush();
    // This code runs only between the reader's turns: each run starts a fresh count of its drains.
    let turns = 0;
    while (feeding && fed < 200) {
      roundsThisTurn = 0;
      turns++;
      await new Promise((r) => setImmediate(r));
    }
    feeding = false;
    for (let i = 0; i < 100 && got < fed; i++) { roundsThisTurn = 0; await new Promise((r) => setImmediate(r)); }
    assert.ok(mostRounds <= maxRounds, `${mostRounds} drains in one turn (at most ${maxRounds})`);
    assert.ok(turns > 200 / maxRounds / 2, `only ${turns} turns for ${fed} records`);
    assert.equal(got, fed, 'records lost');
  } finally {
    link.close();
    feeder.close();
  }
});
