/**
 * The read link's batch records: ReadBatchWriter writes them in place, forEachBatchItem walks
 * them and names what is wrong with a malformed one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ReadBatchWriter } from '../../src/cluster/read-batch-writer.js';
import { OK_BATCH_HEADER_BYTES, READ_BATCH_HEADER_BYTES, READ_PUBLISH_ITEMS, ReadRecordKind, ReadRoute, forEachBatchItem } from '../../src/cluster/read-protocol.js';
import { ClusterReader } from '../../src/cluster/read-client.js';
import { ReadEndpoint } from '../../src/cluster/read-endpoint.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import { RingLink, createRingLinkPair } from '../../src/transport/ring-link.js';

interface Item { readId: number; bytes: number[] }
interface Rec { kind: number; tag: number; leaderHint: number; items: Item[] }

/** A link's writing end and a function that takes every record published on it so far. */
function link(ringBytes = 1 << 20): { writer: RingLink; take: () => Rec[]; close: () => void } {
  const { sabAB, sabBA } = createRingLinkPair(ringBytes);
  const ch = new MessageChannel();
  const writer = new RingLink({ outSab: sabAB, inSab: sabBA, port: ch.port1 }, () => {});
  const reader = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, () => {});
  const take = (): Rec[] => {
    const out: Rec[] = [];
    const view = new DataView(reader.in.bytes.buffer, 0);
    reader.in.drain((buf, off, len) => {
      const kind = buf[off];
      const at = buf.byteOffset + off;
      const rec: Rec = { kind, tag: buf[off + 1], leaderHint: kind === ReadRecordKind.OkBatch ? view.getInt32(at + 8, true) : 0, items: [] };
      forEachBatchItem(view, buf, off, len, (readId, from, n) => rec.items.push({ readId, bytes: [...buf.subarray(from, from + n)] }));
      out.push(rec);
    });
    return out;
  };
  return { writer, take, close: () => { writer.close(); reader.close(); ch.port1.close(); } };
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

test('a batch carries its items (empty, small, large) once published, and a new tag starts a new batch', () => {
  const l = link();
  try {
    const w = new ReadBatchWriter(l.writer, ReadRecordKind.ReadBatch);
    assert.ok(w.add(1, ReadRoute.Leader, bytes(0, 1)));
    assert.ok(w.add(2, ReadRoute.Leader, bytes(8, 2)));
    assert.ok(w.add(5, ReadRoute.Leader, bytes(1000, 3)));
    assert.deepEqual(l.take(), [], 'nothing is visible before end()');
    assert.ok(w.add(3, ReadRoute.AnyPeer, bytes(17, 4)), 'another route ends the batch and opens one');
    w.end();
    assert.equal(w.isOpen, false);
    w.end(); // nothing open: nothing written
    assert.deepEqual(l.take(), [
      { kind: ReadRecordKind.ReadBatch, tag: ReadRoute.Leader, leaderHint: 0, items: [
        { readId: 1, bytes: [] }, { readId: 2, bytes: [...bytes(8, 2)] }, { readId: 5, bytes: [...bytes(1000, 3)] }] },
      { kind: ReadRecordKind.ReadBatch, tag: ReadRoute.AnyPeer, leaderHint: 0, items: [{ readId: 3, bytes: [...bytes(17, 4)] }] },
    ]);
    const ok = new ReadBatchWriter(l.writer, ReadRecordKind.OkBatch);
    assert.ok(ok.add(2 ** 40, 0, bytes(8, 5)));
    ok.end(2);
    assert.deepEqual(l.take(), [{ kind: ReadRecordKind.OkBatch, tag: 0, leaderHint: 2, items: [{ readId: 2 ** 40, bytes: [...bytes(8, 5)] }] }]);
  } finally {
    l.close();
  }
});

test('an item too large for a batch, or a ring too full for one, is refused (the caller writes a record of its own)', () => {
  const l = link(1 << 16); // records up to 32 KiB: a batch reserves all of it
  try {
    const w = new ReadBatchWriter(l.writer, ReadRecordKind.OkBatch);
    assert.equal(w.add(1, 0, bytes(40_000, 1)), false, 'larger than a batch');
    assert.equal(w.isOpen, false);
    assert.ok(w.add(2, 0, bytes(8, 2)));
    assert.ok(w.add(3, 0, bytes(20_000, 3)));
    assert.ok(w.add(4, 0, bytes(20_000, 4)), 'a full batch is published and a new one opened');
    assert.equal(w.add(6, 0, bytes(20_000, 6)), false, 'the ring has no room for a third batch until the reader drains');
    w.end(-1);
    assert.deepEqual(l.take().map((r) => r.items.map((i) => i.readId)), [[2, 3], [4]]);
    assert.ok(w.add(7, 0, bytes(20_000, 7)), 'room again once drained');
    w.abandon();
    assert.deepEqual(l.take(), [], 'an abandoned batch is never published');
  } finally {
    l.close();
  }
});

test('forEachBatchItem names what is wrong with a malformed batch', () => {
  const rec = (header: number, kind: number, count: number, items: Array<[number, number, number]>): Uint8Array => {
    const len = header + items.reduce((a, [, , pad]) => a + 12 + pad, 0);
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint8(0, kind);
    v.setUint32(4, count, true);
    let at = header;
    for (const [id, n, pad] of items) { v.setFloat64(at, id, true); v.setUint32(at + 8, n, true); at += 12 + pad; }
    return b;
  };
  const walk = (b: Uint8Array, len = b.byteLength) => forEachBatchItem(new DataView(b.buffer), b, 0, len, () => {});
  assert.equal(walk(rec(READ_BATCH_HEADER_BYTES, ReadRecordKind.ReadBatch, 2, [[1, 3, 3], [2, 0, 0]])), 2);
  assert.throws(() => walk(rec(READ_BATCH_HEADER_BYTES, ReadRecordKind.Read, 0, [])), /record kind 1 is not a batch/);
  assert.throws(() => walk(rec(OK_BATCH_HEADER_BYTES, ReadRecordKind.OkBatch, 0, []), 10), /read batch of 10 bytes, the header needs 16/);
  assert.throws(() => walk(rec(OK_BATCH_HEADER_BYTES, ReadRecordKind.OkBatch, 2, [[1, 0, 0]])), /ends inside item 1 of 2/);
  assert.throws(() => walk(rec(OK_BATCH_HEADER_BYTES, ReadRecordKind.OkBatch, 1, [[1, 9, 4]])), /item 0 of 9 bytes runs past the 32-byte record/);
  assert.throws(() => walk(rec(READ_BATCH_HEADER_BYTES, ReadRecordKind.ReadBatch, 1, [[1, 2, 5]])), /has 3 bytes after its 1 items/);
});

/** The item counts of the batch records published on `ring` so far (drained). */
function publishedBatches(ring: RingLink['in']): number[] {
  const view = new DataView(ring.bytes.buffer, 0);
  const out: number[] = [];
  ring.drain((buf, off, len) => out.push(forEachBatchItem(view, buf, off, len, () => {})));
  return out;
}

test('the main thread publishes a turn\'s reads to a peer every READ_PUBLISH_ITEMS reads, the rest at the end of the turn', async () => {
  const { sabAB, sabBA } = createRingLinkPair(1 << 20);
  const ch = new MessageChannel();
  const reader = new ClusterReader(1, () => 0, () => {});
  reader.onReadDone = () => {};
  reader.onReadFailed = () => {};
  // The peer's end, read by hand (no RingLink draining it behind the test's back).
  const peerEnd = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, () => {});
  await new Promise((r) => setImmediate(r)); // its first drain found nothing: it sleeps
  try {
    reader.attach(0, { outSab: sabAB, inSab: sabBA, port: ch.port1 });
    const n = 2 * READ_PUBLISH_ITEMS + 10;
    for (let i = 0; i < n; i++) reader.submitRead(new Uint8Array([i & 0xff]));
    assert.deepEqual(publishedBatches(peerEnd.in), [READ_PUBLISH_ITEMS, READ_PUBLISH_ITEMS], 'the peer saw nothing before the end of the turn');
    await Promise.resolve();
    assert.deepEqual(publishedBatches(peerEnd.in), [10], 'the end of the turn publishes the rest');
  } finally {
    reader.close('test over');
    peerEnd.close();
  }
});

test('a peer publishes its results every READ_PUBLISH_ITEMS answers, the rest at the end of its turn', async () => {
  const { sabAB, sabBA } = createRingLinkPair(1 << 20);
  const ch = new MessageChannel();
  const node = { id: 1, core: { leaderId: 1, isLeader: true }, isStopped: false, submitQueuedReads() {}, queueRead() { return 0; } } as unknown as RaftNode;
  const endpoint = new ReadEndpoint({ outSab: sabAB, inSab: sabBA, port: ch.port1 }, node, true);
  const mainEnd = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, () => {});
  try {
    const n = READ_PUBLISH_ITEMS + 3;
    for (let i = 0; i < n; i++) endpoint.onOutcome(i + 1, true, new Uint8Array([i & 0xff]));
    assert.deepEqual(publishedBatches(mainEnd.in), [READ_PUBLISH_ITEMS], 'the main thread saw nothing before the end of the turn');
    await Promise.resolve();
    assert.deepEqual(publishedBatches(mainEnd.in), [3]);
  } finally {
    endpoint.close();
    mainEnd.close();
  }
});
