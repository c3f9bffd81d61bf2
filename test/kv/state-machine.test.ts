import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';
import { KvClient, KvError } from '../../src/kv/kv-client.js';
import { KvErrorCode, KvOp, KvStatus, decodeResult, encodeCommand, MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../../src/kv/kv-codec.js';
import { KvSnapshotError } from '../../src/kv/kv-snapshot.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const bytes = (s: string) => new TextEncoder().encode(s);

/** A client wired straight to one state machine, as the log would (apply with increasing indexes). */
function direct(sm = new KvStateMachine()) {
  let index = 0;
  const client = new KvClient({ propose: async (c: Uint8Array) => ({ result: sm.apply(c, ++index, 1) }) });
  return { sm, client };
}

test('put, get, delete; get of an absent key is undefined; delete says whether the key existed', async () => {
  const { client } = direct();
  assert.equal(await client.get('a'), undefined);
  await client.put('a', 'one');
  await client.put('b', new Uint8Array([0, 255, 7]));
  assert.equal(await client.getText('a'), 'one');
  assert.deepEqual(await client.get('b'), new Uint8Array([0, 255, 7]));
  await client.put('a', 'two');
  assert.equal(await client.getText('a'), 'two');
  assert.equal(await client.delete('a'), true);
  assert.equal(await client.delete('a'), false);
  assert.equal(await client.get('a'), undefined);
  await client.put('empty', '');
  assert.deepEqual(await client.get('empty'), new Uint8Array(0), 'an empty value is present, not absent');
});

test('compare-and-set: on a value, on absence, to deletion; a failure reports the current value', async () => {
  const { client } = direct();
  assert.deepEqual(await client.cas('k', null, 'v1'), { ok: true }, 'create only if absent');
  const failed = await client.cas('k', null, 'v2');
  assert.equal(failed.ok, false);
  assert.equal(text(failed.ok ? undefined : failed.current), 'v1');
  assert.deepEqual(await client.cas('k', 'v1', 'v2'), { ok: true });
  assert.deepEqual(await client.cas('k', 'v1', 'v3'), { ok: false, current: bytes('v2') });
  assert.equal(await client.getText('k'), 'v2');
  assert.deepEqual(await client.cas('k', 'v2', null), { ok: true }, 'a null new value deletes');
  assert.equal(await client.get('k'), undefined);
  assert.deepEqual(await client.cas('k', 'v2', 'v4'), { ok: false, current: undefined });
});

test('append creates, grows and returns the new length in bytes; past the value limit it is refused and changes nothing', async () => {
  const { client } = direct(new KvStateMachine({ maxValueBytes: 8 }));
  assert.equal(await client.append('log', 'ab'), 2);
  assert.equal(await client.append('log', 'cdé'), 6, 'é is two UTF-8 bytes');
  assert.equal(await client.getText('log'), 'abcdé');
  await assert.rejects(client.append('log', 'xyz'), (e: unknown) => e instanceof KvError && e.code === KvErrorCode.ValueTooLarge && /9 bytes/.test(e.message));
  assert.equal(await client.getText('log'), 'abcdé');
});

test('scan by prefix in byte order, with a limit, `more` and resumption after a key', async () => {
  const { client } = direct();
  for (const k of ['user/3', 'user/1', 'users', 'user/2', 'usea', 'user/10', 'zzz']) await client.put(k, `v-${k}`);
  const all = await client.scan('user/');
  assert.deepEqual(all.entries.map((e) => e.key), ['user/1', 'user/10', 'user/2', 'user/3']);
  assert.equal(text(all.entries[0].value), 'v-user/1');
  assert.equal(all.more, false);
  const page1 = await client.scan('user/', { limit: 2 });
  assert.deepEqual(page1.entries.map((e) => e.key), ['user/1', 'user/10']);
  assert.equal(page1.more, true);
  const page2 = await client.scan('user/', { limit: 2, after: 'user/10' });
  assert.deepEqual(page2.entries.map((e) => e.key), ['user/2', 'user/3']);
  assert.equal(page2.more, false, 'exactly the limit left: nothing more');
  assert.deepEqual((await client.scan('', { limit: 100 })).entries.length, 7, 'the empty prefix scans everything');
  assert.deepEqual((await client.scan('nope')).entries, []);
  assert.deepEqual((await client.scan('user/', { after: 'a' })).entries.length, 4, 'an `after` before the prefix starts at the prefix');
  await assert.rejects(client.scan('user/', { limit: 0 }), /positive integer/);
});

test('a scan stops at the result size cap (but always returns at least one entry) and says more', async () => {
  const { client } = direct(new KvStateMachine({ maxScanResultBytes: 40 }));
  for (const k of ['a', 'b', 'c']) await client.put(k, 'x'.repeat(20));
  const r = await client.scan('');
  assert.deepEqual(r.entries.map((e) => e.key), ['a']);
  assert.equal(r.more, true);
});

test('query() serves get and scan with the command encoding, and refuses writes without changing anything', () => {
  const sm = new KvStateMachine();
  sm.apply(encodeCommand({ op: KvOp.Put, key: bytes('k'), value: bytes('v') }), 1, 1);
  const got = decodeResult(KvOp.Get, sm.query(encodeCommand({ op: KvOp.Get, key: bytes('k') })));
  assert.deepEqual(got, { status: KvStatus.Ok, value: bytes('v') });
  const scanned = decodeResult(KvOp.Scan, sm.query(encodeCommand({ op: KvOp.Scan, key: bytes(''), limit: 10, after: null })));
  assert.equal(scanned.status, KvStatus.Ok);
  assert.equal((scanned as { entries: unknown[] }).entries.length, 1);
  const refused = decodeResult(KvOp.Put, sm.query(encodeCommand({ op: KvOp.Put, key: bytes('k'), value: bytes('w') })));
  assert.equal(refused.status, KvStatus.Error);
  assert.equal((refused as { code: number }).code, KvErrorCode.NotAQuery);
  assert.deepEqual(decodeResult(KvOp.Get, sm.query(encodeCommand({ op: KvOp.Get, key: bytes('k') }))), { status: KvStatus.Ok, value: bytes('v') });
});

test('malformed commands get an Error result naming the problem, never a throw, and change nothing', () => {
  const sm = new KvStateMachine();
  sm.apply(encodeCommand({ op: KvOp.Put, key: bytes('k'), value: bytes('v') }), 1, 1);
  const before = sm.snapshot();
  const put = encodeCommand({ op: KvOp.Put, key: bytes('k'), value: bytes('new') });
  const cases: [string, Uint8Array, KvErrorCode, RegExp][] = [
    ['empty', new Uint8Array(0), KvErrorCode.Malformed, /empty/],
    ['unknown op', new Uint8Array([99, 1, 0, 0x6b]), KvErrorCode.UnknownOp, /op code 99/],
    ['op 0', new Uint8Array([0]), KvErrorCode.UnknownOp, /op code 0/],
    ['truncated key', new Uint8Array([KvOp.Get, 5, 0, 0x6b]), KvErrorCode.Malformed, /truncated: key/],
    ['truncated value', put.subarray(0, put.length - 1), KvErrorCode.Malformed, /truncated: value/],
    ['trailing bytes', new Uint8Array([...put, 0]), KvErrorCode.Malformed, /trailing/],
    ['empty key', encodeCommand({ op: KvOp.Put, key: new Uint8Array(0), value: bytes('x') }), KvErrorCode.EmptyKey, /must not be empty/],
    ['key too large', encodeCommand({ op: KvOp.Get, key: new Uint8Array(MAX_KEY_BYTES + 1) }), KvErrorCode.KeyTooLarge, /1025 bytes/],
    ['value too large', encodeCommand({ op: KvOp.Put, key: bytes('k'), value: new Uint8Array(MAX_VALUE_BYTES + 1) }), KvErrorCode.ValueTooLarge, /exceeds the limit/],
    ['cas flags', new Uint8Array([KvOp.Cas, 1, 0, 0x6b, 8]), KvErrorCode.Malformed, /unknown bits/],
    ['scan limit 0', encodeCommand({ op: KvOp.Scan, key: bytes(''), limit: 0, after: null }), KvErrorCode.Malformed, /at least 1/],
  ];
  for (const [name, cmd, code, message] of cases) {
    let r: Uint8Array | undefined;
    assert.doesNotThrow(() => { r = sm.apply(cmd, 2, 1); }, name);
    const d = decodeResult(KvOp.Get, r!);
    assert.equal(d.status, KvStatus.Error, name);
    assert.equal((d as { code: number }).code, code, name);
    assert.match((d as { message: string }).message, message, name);
  }
  assert.deepEqual(sm.snapshot(), before, 'no malformed command changed the state');
  assert.equal(decodeResult(KvOp.Get, sm.apply(null as unknown as Uint8Array, 3, 1)).status, KvStatus.Error);
});

test('snapshot/restore roundtrip; equal states give byte-identical snapshots whatever the order of writes', () => {
  const a = new KvStateMachine();
  const b = new KvStateMachine();
  const put = (sm: KvStateMachine, k: string, v: string) => sm.apply(encodeCommand({ op: KvOp.Put, key: bytes(k), value: bytes(v) }), 1, 1);
  for (const k of ['m', 'a', 'z', 'b\u00e9', 'b']) put(a, k, `v${k}`);
  for (const k of ['z', 'b', 'x', 'a', 'b\u00e9', 'm']) put(b, k, `v${k}`);
  b.apply(encodeCommand({ op: KvOp.Delete, key: bytes('x') }), 2, 1);
  const snapA = a.snapshot();
  assert.deepEqual(b.snapshot(), snapA);
  const c = new KvStateMachine();
  put(c, 'stale', 'gone after restore');
  c.restore(snapA);
  assert.deepEqual(c.snapshot(), snapA);
  assert.equal(c.size, 5);
  const scan = decodeResult(KvOp.Scan, c.query(encodeCommand({ op: KvOp.Scan, key: bytes(''), limit: 10, after: null })));
  assert.deepEqual((scan as { entries: { key: Uint8Array }[] }).entries.map((e) => new TextDecoder().decode(e.key)), ['a', 'b', 'b\u00e9', 'm', 'z']);
  const empty = new KvStateMachine();
  const e2 = new KvStateMachine();
  e2.restore(empty.snapshot());
  assert.equal(e2.size, 0);
});

test('a corrupt snapshot is refused with an error that says what is wrong, and the state is left as it was', () => {
  const sm = new KvStateMachine();
  sm.apply(encodeCommand({ op: KvOp.Put, key: bytes('key'), value: bytes('value') }), 1, 1);
  const good = sm.snapshot();
  const target = new KvStateMachine();
  target.apply(encodeCommand({ op: KvOp.Put, key: bytes('mine'), value: bytes('kept') }), 1, 1);
  const kept = target.snapshot();
  const flipped = good.slice(); flipped[12] ^= 1;
  const badVersion = good.slice(); badVersion[4] = 9;
  const badMagic = good.slice(); badMagic[0] = 0;
  const cases: [string, Uint8Array, RegExp][] = [
    ['flipped bit', flipped, /checksum mismatch/],
    ['truncated', good.subarray(0, good.length - 3), /checksum mismatch|too short/],
    ['too short', good.subarray(0, 5), /too short/],
    ['version', badVersion, /version 9 is not supported/],
    ['magic', badMagic, /bad magic/],
  ];
  for (const [name, snap, message] of cases) {
    assert.throws(() => target.restore(snap), (e: unknown) => e instanceof KvSnapshotError && message.test(e.message), name);
  }
  assert.throws(() => target.restore(undefined as unknown as Uint8Array), KvSnapshotError);
  assert.deepEqual(target.snapshot(), kept);
});

test('options are validated', () => {
  assert.throws(() => new KvStateMachine({ maxKeyBytes: 0 }), /maxKeyBytes must be a positive integer/);
  assert.throws(() => new KvStateMachine({ maxKeyBytes: 70_000 }), /at most 65535/);
  assert.throws(() => new KvStateMachine({ maxValueBytes: 1.5 }), /maxValueBytes/);
});
