import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { it } from 'node:test';
import { ClusterClient, EARLY_WAKE } from '../../src/cluster/client.js';
import { RingBuffer } from '../../src/transport/ring.js';
import { createRingLinkPair } from '../../src/transport/ring-link.js';

/** The consumer's sleep flag of a ring: byte 192 of its header (see ring.ts), 1 while it waits for a wake-up. */
const sleepFlag = (sab: SharedArrayBuffer) => Atomics.load(new Int32Array(sab, 0, 64), 48);

it('a turn that writes EARLY_WAKE commands to a peer wakes it at the EARLY_WAKE-th, not only at the end of the turn', async () => {
  const client = new ClusterClient(1);
  const { sabAB, sabBA } = createRingLinkPair(1 << 18);
  const ch = new MessageChannel();
  client.attach(0, { outSab: sabAB, inSab: sabBA, port: ch.port1 });
  // The peer's reader of the proposals ring goes to sleep.
  const proposals = new RingBuffer(sabAB);
  assert.equal(proposals.prepareToSleep(), true);
  const woken = proposals.sleepUntilWoken();
  assert.ok(woken, 'the peer sleeps');

  try {
    const command = new Uint8Array(16);
    for (let i = 0; i < EARLY_WAKE - 1; i++) client.submit(command);
    assert.equal(sleepFlag(sabAB), 1, `${EARLY_WAKE - 1} commands in one turn: the peer is still left asleep until the turn ends`);
    client.submit(command);
    assert.equal(sleepFlag(sabAB), 0, `the ${EARLY_WAKE}th command of the turn wakes the peer at once`);
    await woken;
    let records = 0;
    proposals.drain(() => { records++; });
    assert.equal(records, EARLY_WAKE, 'every command is in the ring for the woken peer');
    assert.equal(client.pending, EARLY_WAKE);
  } finally {
    client.close();
    ch.port2.close();
    proposals.cancelSleep();
    Atomics.notify(new Int32Array(sabAB, 0, 64), 48); // end the peer's wait if the client never woke it
  }
});
