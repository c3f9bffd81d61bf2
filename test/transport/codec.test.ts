import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MsgType, message, type Message } from '../../src/core/message.js';
import { makeBatch, emptyBatch, type EntryBatch } from '../../src/core/entry-batch.js';
import { decode, encode, encodeInto, encodedSize, HEADER_BYTES } from '../../src/transport/codec.js';

/** A comparable plain form: only the used part of each typed array. */
function plain(m: Message): unknown {
  const b = m.entries;
  return {
    ...m,
    entries: b === null ? null : {
      firstIndex: b.firstIndex,
      count: b.count,
      terms: Array.from(b.terms.subarray(0, b.count)),
      ends: Array.from(b.ends.subarray(0, b.count)),
      data: Array.from(b.data.subarray(0, b.count === 0 ? 0 : b.ends[b.count - 1])),
    },
    data: m.data === null ? null : Array.from(m.data),
  };
}

function roundTrip(m: Message): Message {
  const bytes = encode(m);
  assert.equal(bytes.byteLength, encodedSize(m));
  const back = decode(bytes);
  assert.deepEqual(plain(back), plain(m));
  return back;
}

function commands(n: number, size: number, term = 3): { term: number; command: Uint8Array }[] {
  const out = [];
  for (let k = 0; k < n; k++) {
    const c = new Uint8Array(size);
    for (let j = 0; j < size; j++) c[j] = (k * 31 + j) & 0xff;
    out.push({ term: term + (k >> 6), command: c });
  }
  return out;
}

function withFields(m: Message, f: Partial<Message>): Message {
  return Object.assign(m, f);
}

const BIG = 2 ** 40 + 12345;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

test('round trip: every message kind', () => {
  const all: Message[] = [
    withFields(message(MsgType.RequestVote, 1, 2, 7), { index: 100, logTerm: 6 }),
    withFields(message(MsgType.RequestVoteReply, 2, 1, 7), { reject: false }),
    withFields(message(MsgType.RequestVoteReply, 3, 1, 7), { reject: true }),
    withFields(message(MsgType.AppendEntries, 1, 2, 7), { index: 99, logTerm: 6, commit: 98, entries: makeBatch(100, commands(3, 16)) }),
    withFields(message(MsgType.AppendEntriesReply, 2, 1, 7), { index: 102 }),
    withFields(message(MsgType.AppendEntriesReply, 2, 1, 7), { reject: true, index: 99, logTerm: 4, hint: 57 }),
    withFields(message(MsgType.Heartbeat, 1, 3, 7), { commit: 98 }),
    withFields(message(MsgType.HeartbeatReply, 3, 1, 7), {}),
    withFields(message(MsgType.InstallSnapshot, 1, 2, 7), {
      index: 1000, logTerm: 5, hint: 3, offset: 0, done: true, data: new Uint8Array([1, 2, 3]),
    }),
    withFields(message(MsgType.InstallSnapshotReply, 2, 1, 7), { index: 1000, offset: 3, done: true }),
    withFields(message(MsgType.InstallSnapshotReply, 2, 1, 7), { index: 1000, offset: 0, reject: true }),
    withFields(message(MsgType.PreVote, 1, 2, 8), { index: 100, logTerm: 6 }),
    withFields(message(MsgType.PreVote, 1, 2, 8), { index: 100, logTerm: 6, done: true }),
    withFields(message(MsgType.RequestVote, 1, 2, 8), { index: 100, logTerm: 6, done: true }),
    withFields(message(MsgType.PreVoteReply, 2, 1, 8), { reject: false }),
    withFields(message(MsgType.PreVoteReply, 3, 1, 9), { reject: true }),
    withFields(message(MsgType.TimeoutNow, 1, 2, 7), {}),
    withFields(message(MsgType.Heartbeat, 1, 3, 7), { commit: 98, hint: 97, offset: 12 }), // offset: read context id
    withFields(message(MsgType.HeartbeatReply, 3, 1, 7), { index: 98, hint: 97, offset: 12 }),
    withFields(message(MsgType.ReadIndex, 2, 1, 7), { hint: 2 ** 40 }),
    withFields(message(MsgType.ReadIndexReply, 1, 2, 7), { index: 98, hint: 2 ** 40 }),
    withFields(message(MsgType.ReadIndexReply, 1, 2, 7), { hint: 5, reject: true }),
  ];
  for (const m of all) roundTrip(m);
  // the kinds of leader transfer and pre-vote keep their wire values
  assert.deepEqual([MsgType.PreVote, MsgType.PreVoteReply, MsgType.TimeoutNow], [9, 10, 11]);
  for (const t of [MsgType.PreVote, MsgType.PreVoteReply, MsgType.TimeoutNow]) assert.equal(encode(message(t, 1, 2, 3))[0], t);
  assert.equal(encodedSize(message(MsgType.Heartbeat, 1, 2, 3)), HEADER_BYTES);
});

test('round trip: empty, single, 256 and large batches; empty commands', () => {
  const ae = (b: EntryBatch) => withFields(message(MsgType.AppendEntries, 1, 2, 9), { index: b.firstIndex - 1, logTerm: 9, commit: 5, entries: b });
  roundTrip(ae(emptyBatch(10)));
  roundTrip(ae(makeBatch(10, commands(1, 16))));
  roundTrip(ae(makeBatch(10, commands(256, 16))));
  roundTrip(ae(makeBatch(10, commands(50, 0)))); // all commands empty
  roundTrip(ae(makeBatch(10, [{ term: 1, command: new Uint8Array(0) }, { term: 1, command: new Uint8Array([7]) }, { term: 2, command: new Uint8Array(0) }])));
  const big = roundTrip(ae(makeBatch(1, commands(20_000, 100))));
  assert.equal(big.entries!.data.byteLength, 2_000_000);
});

test('round trip: indexes beyond 2^32, max safe integer, max u32 ids and terms, -1 sentinels', () => {
  const m = withFields(message(MsgType.AppendEntries, 0xffffffff, 0, 0xffffffff), {
    index: BIG, logTerm: -1, commit: MAX_SAFE, hint: 2 ** 33, offset: 2 ** 52 + 1,
    entries: makeBatch(BIG + 1, commands(4, 16, 0xfffffff0)),
  });
  const back = roundTrip(m);
  assert.equal(back.index, BIG);
  assert.equal(back.commit, MAX_SAFE);
  assert.equal(back.entries!.firstIndex, BIG + 1);
  const s = withFields(message(MsgType.InstallSnapshot, 4, 5, 6), { index: 2 ** 50, hint: 2 ** 35, offset: 2 ** 34, data: new Uint8Array(0) });
  assert.equal(roundTrip(s).data!.byteLength, 0);
});

test('null entries/data stay null; present-but-empty stay present', () => {
  const a = roundTrip(message(MsgType.AppendEntries, 1, 2, 3));
  assert.equal(a.entries, null);
  assert.equal(a.data, null);
  const b = roundTrip(withFields(message(MsgType.AppendEntries, 1, 2, 3), { entries: emptyBatch(4) }));
  assert.notEqual(b.entries, null);
  assert.equal(b.entries!.count, 0);
});

test('encodeInto at an offset; decode with offset and length at unaligned positions gives aligned, unaliased arrays', () => {
  const m = withFields(message(MsgType.AppendEntries, 1, 2, 3), { index: 41, entries: makeBatch(42, commands(17, 5)), data: new Uint8Array([9, 8, 7]) });
  const size = encodedSize(m);
  for (const off of [0, 1, 2, 3, 5, 7]) {
    const buf = new Uint8Array(off + size + 11).fill(0xee);
    assert.equal(encodeInto(m, buf, off), size);
    assert.equal(buf[off + size], 0xee, 'wrote past its size');
    const back = decode(buf, off, size);
    assert.deepEqual(plain(back), plain(m));
    assert.equal(back.entries!.terms.byteOffset % 4, 0);
    assert.equal(back.entries!.ends.byteOffset % 4, 0);
    // without a length, trailing bytes are allowed
    assert.deepEqual(plain(decode(buf, off)), plain(m));
    // decoded arrays are copies: scribbling over the source changes nothing
    const before = plain(back);
    buf.fill(0);
    assert.deepEqual(plain(back), before);
    assert.notEqual(back.entries!.data.buffer, buf.buffer);
    assert.notEqual(back.data!.buffer, buf.buffer);
  }
});

test('a batch whose data array is longer than its used bytes encodes only the used bytes', () => {
  const b = makeBatch(1, commands(3, 4));
  const padded = new Uint8Array(b.data.byteLength + 20);
  padded.set(b.data);
  const terms = new Uint32Array(10); terms.set(b.terms);
  const ends = new Uint32Array(10); ends.set(b.ends);
  const m = withFields(message(MsgType.AppendEntries, 1, 2, 3), { entries: { firstIndex: 1, count: 3, terms, ends, data: padded } });
  const back = decode(encode(m));
  assert.equal(back.entries!.data.byteLength, 12);
  assert.equal(back.entries!.terms.length, 3);
  assert.deepEqual(plain(back), plain(m));
});

test('encode refuses out-of-range fields and short buffers', () => {
  const base = () => message(MsgType.Heartbeat, 1, 2, 3);
  assert.throws(() => encode(withFields(base(), { term: 2 ** 32 })), /term/);
  assert.throws(() => encode(withFields(base(), { from: -1 })), /from/);
  assert.throws(() => encode(withFields(base(), { index: 1.5 })), /index/);
  assert.throws(() => encode(withFields(base(), { commit: NaN })), /commit/);
  assert.throws(() => encode(withFields(base(), { hint: 2 ** 53 })), /hint/);
  assert.throws(() => encode(withFields(base(), { type: 0 as MsgType })), /unknown message type/);
  assert.throws(() => encode(withFields(base(), { type: 12 as MsgType })), /unknown message type/);
  for (const t of [19, 22, 255, 256, 20.5]) assert.throws(() => encode(withFields(base(), { type: t as MsgType })), /unknown message type/);
  assert.throws(() => encodeInto(base(), new Uint8Array(HEADER_BYTES - 1), 0), RangeError);
  assert.throws(() => encodeInto(base(), new Uint8Array(HEADER_BYTES + 3), 4), RangeError);
  const b = makeBatch(1, commands(2, 4));
  assert.throws(() => encode(withFields(base(), { entries: { ...b, data: b.data.subarray(0, 5) } })), /data holds 5/);
  assert.throws(() => encode(withFields(base(), { entries: { ...b, count: 3 } })), /exceeds terms/);
});

function sample(): Message {
  return withFields(message(MsgType.AppendEntries, 1, 2, 3), {
    index: 9, logTerm: 2, commit: 8, entries: makeBatch(10, commands(3, 6)), data: new Uint8Array([1, 2, 3, 4]),
  });
}

function codecError(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, `threw a non-Error ${String(e)}`);
    assert.match(e.message, /^codec: /);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test('decode: every truncation throws a codec error', () => {
  const bytes = encode(sample());
  for (let n = 0; n < bytes.byteLength; n++) {
    codecError(() => decode(bytes.subarray(0, n)));
    codecError(() => decode(bytes, 0, n));
    // a copy inside a bigger buffer, with the length cutting it short
    const big = new Uint8Array(bytes.byteLength + 8);
    big.set(bytes, 3);
    codecError(() => decode(big, 3, n));
  }
  codecError(() => decode(bytes, 0, bytes.byteLength + 1), /exceeds buffer/);
  codecError(() => decode(bytes, bytes.byteLength + 1), /outside buffer/);
  codecError(() => decode(bytes, -1), /outside buffer/);
});

test('decode: corrupt fields throw clear codec errors', () => {
  const good = encode(sample());
  const mutate = (f: (dv: DataView, b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    f(new DataView(b.buffer), b);
    return b;
  };
  const batchAt = HEADER_BYTES;
  codecError(() => decode(mutate((dv) => dv.setUint8(0, 0))), /unknown message type 0/);
  codecError(() => decode(mutate((dv) => dv.setUint8(0, 12))), /unknown message type 12/);
  codecError(() => decode(mutate((dv) => dv.setUint8(0, 19))), /unknown message type 19/);
  codecError(() => decode(mutate((dv) => dv.setUint8(0, 22))), /unknown message type 22/);
  codecError(() => decode(mutate((dv) => dv.setUint8(0, 255))), /unknown message type 255/);
  codecError(() => decode(mutate((dv) => dv.setUint8(1, 0x10 | 0x0c))), /unknown flag bits/);
  codecError(() => decode(mutate((dv) => dv.setUint16(2, 1, true))), /reserved/);
  codecError(() => decode(mutate((dv) => dv.setFloat64(16, NaN, true))), /index is not a safe integer/);
  codecError(() => decode(mutate((dv) => dv.setFloat64(32, 0.5, true))), /commit is not a safe integer/);
  codecError(() => decode(mutate((dv) => dv.setFloat64(batchAt, 2 ** 60, true))), /firstIndex/);
  codecError(() => decode(mutate((dv) => dv.setUint32(batchAt + 8, 0xffffffff, true))), /truncated/); // count
  codecError(() => decode(mutate((dv) => dv.setUint32(batchAt + 12, 0x7fffffff, true))), /truncated/); // dataLen
  // ends out of order: entries 0 and 1 swapped
  codecError(() => decode(mutate((dv) => {
    const e0 = dv.getUint32(batchAt + 16 + 12, true);
    dv.setUint32(batchAt + 16 + 12, dv.getUint32(batchAt + 16 + 16, true), true);
    dv.setUint32(batchAt + 16 + 16, e0, true);
  })), /before the previous end/);
  // last end disagrees with dataLen
  codecError(() => decode(mutate((dv) => dv.setUint32(batchAt + 16 + 20, 17, true))), /entries end at byte 17/);
  // snapshot data length larger than what is left
  codecError(() => decode(mutate((dv, b) => dv.setUint32(b.byteLength - 8, 5, true))), /data claims 5 bytes/);
  // trailing bytes with an exact length
  const padded = new Uint8Array(good.byteLength + 2);
  padded.set(good);
  codecError(() => decode(padded, 0, padded.byteLength), /2 trailing bytes/);
  // empty batch that claims data
  const eb = encode(withFields(message(MsgType.AppendEntries, 1, 2, 3), { entries: emptyBatch(1) }));
  new DataView(eb.buffer).setUint32(HEADER_BYTES + 12, 4, true);
  codecError(() => decode(eb), /truncated|empty batch/);
});

const arbBatch: fc.Arbitrary<EntryBatch> = fc
  .tuple(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1000 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 40 })), { maxLength: 30 }))
  .map(([first, es]) => makeBatch(first, es.map(([term, command]) => ({ term, command }))));

const arbSafe = fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER });
const arbU32 = fc.integer({ min: 0, max: 0xffffffff });

const arbMessage: fc.Arbitrary<Message> = fc.record({
  type: fc.integer({ min: 1, max: 8 }) as fc.Arbitrary<MsgType>,
  from: arbU32, to: arbU32, term: arbU32,
  index: arbSafe, logTerm: arbSafe, commit: arbSafe, hint: arbSafe, offset: arbSafe,
  reject: fc.boolean(), done: fc.boolean(),
  entries: fc.option(arbBatch, { nil: null }),
  data: fc.option(fc.uint8Array({ maxLength: 100 }), { nil: null }),
});

test('property: any message round-trips, at any offset', () => {
  fc.assert(fc.property(arbMessage, fc.nat(9), (m, off) => {
    const size = encodedSize(m);
    const buf = new Uint8Array(off + size);
    assert.equal(encodeInto(m, buf, off), size);
    assert.deepEqual(plain(decode(buf, off, size)), plain(m));
  }), { numRuns: 500 });
});

test('property: corrupting any byte either decodes to a valid message or throws a codec error', () => {
  fc.assert(fc.property(arbMessage, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, x) => {
    const bytes = encode(m);
    const i = at % bytes.byteLength;
    bytes[i] ^= x;
    let back: Message;
    try {
      back = decode(bytes, 0, bytes.byteLength);
    } catch (e) {
      assert.ok(e instanceof Error);
      assert.match(e.message, /^codec: /);
      return;
    }
    // whatever decoded must itself be a consistent message: it re-encodes to the same bytes
    assert.deepEqual(Array.from(encode(back)), Array.from(bytes));
  }), { numRuns: 1000 });
});
