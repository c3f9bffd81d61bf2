import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvClient, KvError } from '../../src/kv/kv-client.js';
import {
  KvErrorCode, KvOp, KvStatus, decodeCommand, decodeResult, encodeCasFailed, encodeCommand, encodeError, encodeLength,
  encodeScan, encodeValue, type KvCommand,
} from '../../src/kv/kv-codec.js';
import { KvSnapshotError, decodeSnapshot, encodeSnapshot } from '../../src/kv/kv-snapshot.js';
import { DEFAULT_LIMITS } from '../../src/kv/kv-codec.js';

const b = (s: string) => new TextEncoder().encode(s);

test('every command roundtrips through the binary encoding', () => {
  const commands: KvCommand[] = [
    { op: KvOp.Get, key: b('k') },
    { op: KvOp.Put, key: b('k\u00e9'), value: new Uint8Array([0, 1, 255]) },
    { op: KvOp.Put, key: b('k'), value: new Uint8Array(0) },
    { op: KvOp.Delete, key: b('k') },
    { op: KvOp.Cas, key: b('k'), expected: b('old'), value: b('new') },
    { op: KvOp.Cas, key: b('k'), expected: null, value: b('new') },
    { op: KvOp.Cas, key: b('k'), expected: b('old'), value: null },
    { op: KvOp.Cas, key: b('k'), expected: null, value: null },
    { op: KvOp.Append, key: b('k'), value: b('tail') },
    { op: KvOp.Scan, key: b(''), limit: 1, after: null },
    { op: KvOp.Scan, key: b('p/'), limit: 0xffffffff, after: b('p/x') },
  ];
  for (const c of commands) assert.deepEqual(decodeCommand(encodeCommand(c)), c, KvOp[c.op]);
});

test('results roundtrip; a result with an unknown status or trailing bytes is refused', () => {
  assert.deepEqual(decodeResult(KvOp.Get, encodeValue(b('v'))), { status: KvStatus.Ok, value: b('v') });
  assert.deepEqual(decodeResult(KvOp.Append, encodeLength(70_000)), { status: KvStatus.Ok, length: 70_000 });
  assert.deepEqual(decodeResult(KvOp.Cas, encodeCasFailed(b('cur'))), { status: KvStatus.CasFailed, current: b('cur') });
  assert.deepEqual(decodeResult(KvOp.Cas, encodeCasFailed(undefined)), { status: KvStatus.CasFailed, current: null });
  assert.deepEqual(decodeResult(KvOp.Put, encodeError(KvErrorCode.KeyTooLarge, 'too big \u00e9')), { status: KvStatus.Error, code: KvErrorCode.KeyTooLarge, message: 'too big \u00e9' });
  const entries = [{ key: b('a'), value: b('1') }, { key: b('b'), value: new Uint8Array(0) }];
  assert.deepEqual(decodeResult(KvOp.Scan, encodeScan(entries, true)), { status: KvStatus.Ok, entries, more: true });
  assert.throws(() => decodeResult(KvOp.Get, new Uint8Array([7])), /unknown status 7/);
  assert.throws(() => decodeResult(KvOp.Put, new Uint8Array([0, 0])), /trailing/);
  assert.throws(() => decodeResult(KvOp.Get, new Uint8Array([0, 9, 0, 0, 0])), /truncated/);
});

test('a snapshot whose checksum is right but whose content is not is refused by name', () => {
  const unsorted = encodeSnapshot(2, [[b('b'), b('1')], [b('a'), b('2')]]);
  assert.throws(() => decodeSnapshot(unsorted, DEFAULT_LIMITS), (e: unknown) => e instanceof KvSnapshotError && /strictly increasing/.test(e.message));
  const duplicate = encodeSnapshot(2, [[b('a'), b('1')], [b('a'), b('2')]]);
  assert.throws(() => decodeSnapshot(duplicate, DEFAULT_LIMITS), /strictly increasing/);
  const emptyKey = encodeSnapshot(1, [[new Uint8Array(0), b('1')]]);
  assert.throws(() => decodeSnapshot(emptyKey, DEFAULT_LIMITS), /empty key/);
  const big = encodeSnapshot(1, [[b('a'), new Uint8Array(10)]]);
  assert.throws(() => decodeSnapshot(big, { ...DEFAULT_LIMITS, maxValueBytes: 5 }), /10 bytes exceeds/);
});

test('the client refuses bad input before proposing, naming the problem', async () => {
  let proposed = 0;
  const client = new KvClient({ propose: async () => { proposed++; return { result: new Uint8Array([0]) }; } });
  await assert.rejects(client.get(42 as unknown as string), /key must be a string, got number/);
  await assert.rejects(client.put(null as unknown as string, 'v'), /key must be a string, got null/);
  await assert.rejects(client.put('', 'v'), /key must not be empty/);
  await assert.rejects(client.put('k'.repeat(1025), 'v'), /1025 bytes \(UTF-8\) exceeds the limit of 1024/);
  await assert.rejects(client.put('\u00e9'.repeat(513), 'v'), /1026 bytes/);
  await assert.rejects(client.put('k', 5 as unknown as string), /value must be a Uint8Array or a string, got number/);
  await assert.rejects(client.put('k', new Uint8Array(256 * 1024 + 1)), /exceeds the limit of 262144/);
  await assert.rejects(client.cas('k', 1 as unknown as string, 'x'), /expected value must be/);
  // UTF-8 has no lone surrogates: 'x\uD800' and 'x\uDBFF' would both be stored as 'x\uFFFD'.
  await assert.rejects(client.put('x\uD800', 'v'), (e: unknown) => e instanceof RangeError && /key is not well-formed UTF-16: a lone surrogate at index 1/.test(e.message));
  await assert.rejects(client.scan('\uDC00'), /prefix is not well-formed UTF-16: a lone surrogate at index 0/);
  await assert.rejects(client.put('k', 'ab\uD83D'), /value is not well-formed UTF-16: a lone surrogate at index 2/);
  await assert.rejects(client.scan(7 as unknown as string), /prefix must be a string/);
  await assert.rejects(client.scan('p', { limit: -1 }), /positive integer/);
  await assert.rejects(client.scan('p', { limt: 5 } as never), (e: unknown) => e instanceof TypeError && /unknown scan option limt: did you mean limit\?/.test(e.message));
  await assert.rejects(client.scan('p', null as never), /scan options must be an object \{ limit\?, after\? \}, got null/);
  assert.equal(proposed, 0);
  assert.throws(() => new KvClient({} as never), /propose\(bytes\)/);
});

test('the client turns an Error result into a KvError, and a missing or garbled result into a clear error', async () => {
  const answering = (result: unknown) => new KvClient({ propose: async () => ({ result: result as Uint8Array }) });
  await assert.rejects(answering(encodeError(KvErrorCode.ValueTooLarge, 'append would grow')).append('k', 'x'),
    (e: unknown) => e instanceof KvError && e.code === KvErrorCode.ValueTooLarge && /Append refused: append would grow/.test(e.message));
  await assert.rejects(answering(undefined).get('k'), /no result for a Get/);
  await assert.rejects(answering(new Uint8Array([0, 1])).put('k', 'v'), /trailing/);
  // What the session layer answers for a frame that is not a session's (a raw cluster.client() on a cluster with sessions).
  await assert.rejects(answering(new Uint8Array([5, 110, 111])).put('k', 'v'), (e: unknown) => e instanceof KvError &&
    /Put: the result is not one the key\/value store gives \(key\/value result has unknown status 5\); is the proposer a ClientSession \(cluster\.session\(\)\) of a cluster running KV_STATE_MACHINE with sessions: true\?/.test(e.message));
});
