import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RingBuffer, RING_HEADER_BYTES } from '../../src/transport/ring.js';
import { MsgType, message } from '../../src/core/message.js';
import { makeBatch } from '../../src/core/entry-batch.js';

function rec(seq: number, len: number): Uint8Array {
  const r = new Uint8Array(len);
  for (let j = 0; j < len; j++) r[j] = (seq * 131 + j * 7) & 0xff;
  return r;
}

function footprint(len: number): number {
  return 4 + ((len + 3) & ~3);
}

/** A ring whose counters start at `start` (to cross the 2^31 and 2^32 wrap points quickly). */
function ringAt(capacity: number, start: number): RingBuffer {
  const r = RingBuffer.create(capacity);
  const hdr = new Int32Array(r.sab, 0, RING_HEADER_BYTES / 4);
  hdr[16] = start | 0; // head
  hdr[32] = start | 0; // tail
  return new RingBuffer(r.sab);
}

test('create rounds capacity up to a power of two; the other side sees the same ring', () => {
  assert.equal(RingBuffer.create(1000).capacity, 1024);
  assert.equal(RingBuffer.create(1).capacity, 64);
  assert.equal(RingBuffer.create(4096).capacity, 4096);
  assert.equal(RingBuffer.create(4096).maxRecordBytes, 2044);
  assert.throws(() => RingBuffer.create(0), RangeError);
  assert.throws(() => RingBuffer.create(2 ** 31), RangeError);
  const a = RingBuffer.create(256);
  const b = new RingBuffer(a.sab);
  assert.equal(b.capacity, 256);
  assert.ok(a.tryWrite(rec(1, 10)));
  assert.equal(b.usedBytes, footprint(10));
  assert.deepEqual(b.read(), rec(1, 10));
  assert.ok(a.isEmpty);
  assert.throws(() => new RingBuffer(new SharedArrayBuffer(RING_HEADER_BYTES + 64)), /bad magic/);
  assert.throws(() => new RingBuffer(new SharedArrayBuffer(16)), RangeError);
  assert.throws(() => new RingBuffer(new ArrayBuffer(1024) as unknown as SharedArrayBuffer), TypeError);
});

test('empty ring: read null, drain 0, counters zero', () => {
  const r = RingBuffer.create(128);
  assert.equal(r.read(), null);
  assert.equal(r.readMessage(), null);
  assert.equal(r.peek(), -1);
  assert.equal(r.drain(() => assert.fail('no records')), 0);
  assert.ok(r.isEmpty);
  assert.equal(r.usedBytes, 0);
  assert.equal(r.freeBytes, 128);
});

test('full ring refuses writes (back-pressure) and accepts again after a read', () => {
  const r = RingBuffer.create(256);
  let n = 0;
  while (r.tryWrite(rec(n, 12))) n++;
  assert.equal(n, 256 / footprint(12));
  assert.equal(r.freeBytes, 0);
  assert.equal(r.tryReserve(0), -1);
  assert.deepEqual(r.read(), rec(0, 12));
  assert.ok(r.tryWrite(rec(n, 12)));
  assert.equal(r.tryWrite(rec(n + 1, 0)), false);
  const got: Uint8Array[] = [];
  assert.equal(r.drain((buf, off, len) => got.push(buf.slice(off, off + len))), n);
  for (let k = 0; k < n; k++) assert.deepEqual(got[k], rec(k + 1, 12));
  assert.ok(r.isEmpty);
});

test('oversize records are refused with a RangeError naming the sizes', () => {
  const r = RingBuffer.create(1024);
  assert.equal(r.maxRecordBytes, 508);
  assert.throws(() => r.tryWrite(new Uint8Array(509)), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /509 bytes/);
    assert.match(e.message, /508-byte limit/);
    assert.match(e.message, /1024-byte ring/);
    return true;
  });
  assert.throws(() => r.tryReserve(5000), RangeError);
  assert.throws(() => r.tryReserve(-1), RangeError);
  assert.throws(() => r.tryReserve(1.5), RangeError);
  assert.ok(r.isEmpty);
});

test('an empty ring takes a maximum-size record at every position', () => {
  const r = RingBuffer.create(256);
  for (let shift = 0; shift < 256; shift += 4) {
    const a = ringAt(256, shift);
    for (let k = 0; k < 5; k++) {
      assert.ok(a.tryWrite(rec(k, a.maxRecordBytes)), `position ${shift}, round ${k}`);
      assert.deepEqual(a.read(), rec(k, a.maxRecordBytes));
    }
  }
  assert.ok(r.isEmpty);
});

test('zero-length records, reserve/commit with shrink, abort, tryWriteWith', () => {
  const r = RingBuffer.create(256);
  assert.ok(r.tryWrite(new Uint8Array(0)));
  const off = r.tryReserve(40);
  assert.ok(off >= 0);
  assert.throws(() => r.tryReserve(1), /reservation is still open/);
  r.bytes.set([1, 2, 3], off);
  r.commit(3);
  assert.throws(() => r.commit(), /without a reservation/);
  assert.ok(r.tryReserve(10) >= 0);
  assert.throws(() => r.commit(11), RangeError);
  r.abort();
  assert.ok(r.tryWriteWith(8, (buf, o) => { buf.set([9, 9], o); return 2; }));
  assert.ok(r.tryWriteWith(3, (buf, o) => { buf.set([4, 5, 6], o); }));
  assert.throws(() => r.tryWriteWith(3, () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(r.read(), new Uint8Array(0));
  assert.deepEqual(r.read(), new Uint8Array([1, 2, 3]));
  assert.deepEqual(r.read(), new Uint8Array([9, 9]));
  assert.deepEqual(r.read(), new Uint8Array([4, 5, 6]));
  assert.equal(r.read(), null);
  assert.ok(r.isEmpty);
});

test('commitUnpublished: records stay unseen until publish, commit or wakeConsumer, in order', () => {
  const r = RingBuffer.create(256);
  const c = new RingBuffer(r.sab); // the consumer side
  for (const [k, seen] of [[1, 'publish'], [2, 'commit'], [3, 'wakeConsumer']] as const) {
    const off = r.tryReserve(2);
    r.bytes.set([k, 0], off);
    r.commitUnpublished();
    const off2 = r.tryReserve(1);
    r.bytes[off2] = k;
    r.commitUnpublished();
    assert.equal(c.read(), null, `unpublished records are not visible before ${seen}`);
    assert.ok(c.isEmpty);
    if (seen === 'publish') r.publish();
    else if (seen === 'commit') assert.ok(r.tryWrite(new Uint8Array([k, k, k])));
    else r.wakeConsumer();
    assert.deepEqual(c.read(), new Uint8Array([k, 0]));
    assert.deepEqual(c.read(), new Uint8Array([k]));
    if (seen === 'commit') assert.deepEqual(c.read(), new Uint8Array([k, k, k]));
    assert.equal(c.read(), null);
  }
  assert.throws(() => r.commitUnpublished(), /without a reservation/);
  r.publish(); // nothing unpublished: a no-op
  assert.equal(c.read(), null);
});

test('drain: maxRecords, a throwing callback consumes its record, peek/release', () => {
  const r = RingBuffer.create(512);
  for (let k = 0; k < 6; k++) assert.ok(r.tryWrite(rec(k, k + 1)));
  const seen: number[] = [];
  assert.equal(r.drain((_b, _o, len) => seen.push(len), 2), 2);
  assert.throws(() => r.drain((_b, _o, len) => { seen.push(len); if (len === 4) throw new Error('stop'); }), /stop/);
  assert.deepEqual(seen, [1, 2, 3, 4]);
  const off = r.peek();
  assert.equal(r.peekedLength, 5);
  assert.deepEqual(r.bytes.slice(off, off + 5), rec(4, 5));
  assert.equal(r.peek(), off, 'peek does not consume');
  r.release();
  assert.throws(() => r.release(), /without a successful peek/);
  assert.deepEqual(r.read(), rec(5, 6));
  assert.ok(r.isEmpty);
});

test('writeMessage / readMessage / drainMessages encode straight into the ring', () => {
  const r = RingBuffer.create(4096);
  const m = message(MsgType.AppendEntries, 1, 2, 3);
  m.index = 2 ** 40; m.commit = 7;
  m.entries = makeBatch(2 ** 40 + 1, [{ term: 3, command: new Uint8Array([1, 2]) }, { term: 3, command: new Uint8Array([3]) }]);
  const h = message(MsgType.Heartbeat, 1, 3, 3);
  h.commit = 5;
  assert.ok(r.writeMessage(m));
  assert.ok(r.writeMessage(h));
  assert.ok(r.writeMessage(h));
  const a = r.readMessage()!;
  assert.equal(a.type, MsgType.AppendEntries);
  assert.equal(a.index, 2 ** 40);
  assert.deepEqual(Array.from(a.entries!.data), [1, 2, 3]);
  const rest: number[] = [];
  assert.equal(r.drainMessages((x) => rest.push(x.commit)), 2);
  assert.deepEqual(rest, [5, 5]);
  // a bad message is refused without publishing anything
  const bad = message(MsgType.Heartbeat, 1, 2, 3);
  bad.index = 0.5;
  assert.throws(() => r.writeMessage(bad), /index/);
  assert.ok(r.isEmpty);
  // a corrupt record is consumed and its error reported
  assert.ok(r.tryWrite(new Uint8Array(10)));
  assert.throws(() => r.readMessage(), /^Error: codec: truncated/);
  assert.ok(r.isEmpty);
});

test('wake-up flags: one wake-up per sleep, none when data is already there', () => {
  const r = RingBuffer.create(256);
  assert.equal(r.consumerNeedsWakeup(), false);
  assert.equal(r.prepareToSleep(), true);
  assert.ok(r.tryWrite(rec(0, 4)));
  assert.equal(r.consumerNeedsWakeup(), true);
  assert.equal(r.consumerNeedsWakeup(), false, 'only once per sleep');
  assert.equal(r.prepareToSleep(), false, 'data is waiting');
  assert.equal(r.consumerNeedsWakeup(), false, 'flag was lowered');
  r.drain(() => {});
  assert.equal(r.prepareToSleep(), true);
  r.cancelSleep();
  assert.equal(r.consumerNeedsWakeup(), false);
  // producer side
  while (r.tryWrite(rec(1, 28)));
  assert.equal(r.prepareToWaitForSpace(28), true);
  assert.equal(r.producerNeedsWakeup(), true);
  assert.equal(r.producerNeedsWakeup(), false);
  r.read();
  assert.equal(r.prepareToWaitForSpace(28), false, 'space is there');
  assert.equal(r.producerNeedsWakeup(), false);
});

test('waitForData resolves on wakeConsumer and on timeout; waitForSpace on wakeProducer', async () => {
  const r = RingBuffer.create(256);
  const p = r.waitForData(60_000);
  assert.ok(r.tryWrite(rec(0, 4)));
  assert.equal(r.wakeConsumer(), true);
  assert.equal(await p, true);
  assert.equal(await r.waitForData(60_000), true, 'returns at once when data is there');
  r.drain(() => {});
  assert.equal(await r.waitForData(1), false, 'times out on an empty ring');
  assert.equal(r.consumerNeedsWakeup(), false, 'flag lowered after the timeout');
  while (r.tryWrite(rec(1, 28)));
  const q = r.waitForSpace(28, 60_000);
  r.read();
  assert.equal(r.wakeProducer(), true);
  assert.equal(await q, true);
});

test('counters wrap across 2^31 and 2^32 without losing or reordering records', () => {
  for (const start of [0x7fffff00, -0x100, -4]) {
    const r = ringAt(256, start);
    let w = 0, rd = 0;
    for (let round = 0; round < 1000; round++) {
      while (r.tryWrite(rec(w, (w * 13) % 60))) w++;
      r.drain((buf, off, len) => {
        assert.equal(len, (rd * 13) % 60);
        assert.deepEqual(buf.slice(off, off + len), rec(rd, len));
        rd++;
      }, 3);
    }
    while (r.read() !== null) rd++;
    assert.equal(rd, w);
    assert.ok(w > 3000, `only ${w} records`);
  }
});

type Op = { kind: 'write'; len: number } | { kind: 'read' } | { kind: 'drain'; max: number } | { kind: 'reserve'; len: number; used: number };

test('property: random writes and reads match a FIFO model (wraparound, skips, back-pressure)', () => {
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), len: fc.nat(124) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('reserve' as const), len: fc.nat(124), used: fc.nat(124) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('drain' as const), max: fc.integer({ min: 1, max: 10 }) }) },
  );
  fc.assert(fc.property(
    fc.constantFrom(256, 512, 1024), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.array(arbOp, { maxLength: 400 }),
    (cap, start, ops) => {
      const r = ringAt(cap, start & ~3);
      const model: Uint8Array[] = [];
      let seq = 0;
      const check = (buf: Uint8Array, off: number, len: number) => {
        const want = model.shift();
        assert.ok(want !== undefined, 'ring delivered a record the model does not have');
        assert.deepEqual(buf.slice(off, off + len), want);
      };
      for (const op of ops) {
        if (op.kind === 'write' || op.kind === 'reserve') {
          const free = r.freeBytes;
          const empty = r.isEmpty;
          const payload = rec(seq++, op.kind === 'write' ? op.len : Math.min(op.len, op.used));
          let ok: boolean;
          if (op.kind === 'write') {
            ok = r.tryWrite(payload);
          } else {
            const off = r.tryReserve(op.len);
            ok = off >= 0;
            if (ok) { r.bytes.set(payload, off); r.commit(payload.byteLength); }
          }
          if (ok) model.push(payload);
          else {
            // a refusal is only allowed when the record (plus a possible skip) may not fit
            assert.ok(!empty, 'an empty ring refused a record');
            assert.ok(free < 2 * footprint(op.len), `refused with ${free} free bytes for ${op.len}`);
          }
        } else if (op.kind === 'read') {
          const got = r.read();
          if (got === null) assert.equal(model.length, 0);
          else check(got, 0, got.byteLength);
        } else {
          const expect = Math.min(op.max, model.length);
          assert.equal(r.drain(check, op.max), expect);
        }
        assert.equal(r.isEmpty, model.length === 0);
        assert.ok(r.usedBytes >= 0 && r.usedBytes <= cap);
      }
      r.drain(check);
      assert.equal(model.length, 0);
      assert.equal(r.usedBytes, 0);
    },
  ), { numRuns: 300 });
});
