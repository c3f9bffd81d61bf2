import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkHistory, parseHistory, searchHashing, type HistoryOp } from '../../src/kv/linearizability.js';

/** One operation: times as small integers for readability; `ret` null = outcome unknown. */
function op(clientId: number, name: HistoryOp['op'], key: string, value: unknown, output: unknown, call: number, ret: number | null): HistoryOp {
  return { clientId, op: name, key, value, output, call: BigInt(call), return: ret === null ? null : BigInt(ret) };
}
const put = (c: number, k: string, v: string, call: number, ret: number | null) => op(c, 'put', k, v, undefined, call, ret);
const get = (c: number, k: string, out: string | null, call: number, ret: number | null) => op(c, 'get', k, undefined, out, call, ret);
const append = (c: number, k: string, v: string, out: number | undefined, call: number, ret: number | null) => op(c, 'append', k, v, out, call, ret);
const cas = (c: number, k: string, expected: string | null, next: string | null, out: boolean | undefined, call: number, ret: number | null) =>
  op(c, 'cas', k, { expected, next }, out, call, ret);
const scan = (c: number, prefix: string, entries: [string, string][], more: boolean, call: number, ret: number, limit?: number) =>
  op(c, 'scan', prefix, limit === undefined ? undefined : { limit }, { entries, more }, call, ret);

const ok = (h: HistoryOp[], finalState?: Record<string, string | null>) => {
  const r = checkHistory(h, { finalState });
  assert.equal(r.verdict, 'ok', r.violations.map((v) => v.message).join('\n'));
};
const fails = (h: HistoryOp[], check: string, finalState?: Record<string, string | null>) => {
  const r = checkHistory(h, { finalState });
  assert.equal(r.verdict, 'violation');
  const v = r.violations.find((x) => x.check === check);
  assert.ok(v, `expected a ${check} violation, got: ${r.violations.map((x) => x.check).join(', ') || 'none'}`);
  return v;
};

test('overlapping writes may take effect in either order; reads concurrent with them may see before or after', () => {
  const writes = [put(1, 'x', 'a', 0, 10), put(2, 'x', 'b', 1, 11)];
  ok([...writes, get(3, 'x', 'a', 12, 13)], { x: 'a' });
  ok([...writes, get(3, 'x', 'b', 12, 13)], { x: 'b' });
  ok([...writes, get(3, 'x', null, 2, 5), get(4, 'x', 'b', 3, 6), get(3, 'x', 'a', 7, 9)], { x: 'a' });
  // Touching intervals (a return and a call at the same instant) count as concurrent.
  ok([put(1, 'x', 'a', 0, 5), get(2, 'x', null, 5, 6)]);
});

test('compare-and-set and appends with several valid orders', () => {
  ok([
    put(0, 'k', '0', 0, 1),
    cas(1, 'k', '0', '1', true, 2, 10), cas(2, 'k', '0', '2', false, 3, 11), cas(3, 'k', '1', '3', true, 4, 12),
    get(4, 'k', '3', 13, 14),
  ], { k: '3' });
  ok([
    append(1, 'l', 'a,', 4, 0, 10), append(2, 'l', 'b,', 2, 1, 10), get(3, 'l', 'b,', 2, 5), get(3, 'l', 'b,a,', 11, 12),
  ], { l: 'b,a,' });
  ok([op(1, 'delete', 'k', undefined, false, 0, 1), put(1, 'k', 'v', 2, 3), op(2, 'delete', 'k', undefined, true, 4, 5)], {});
});

test('an operation with an unknown outcome may or may not have taken effect, at any time after its call', () => {
  ok([put(1, 'x', 'u', 0, null), get(2, 'x', 'u', 5, 6)], { x: 'u' }); // it took effect
  ok([put(1, 'x', 'u', 0, null), get(2, 'x', null, 5, 6)], {}); // it did not
  ok([put(1, 'x', 'u', 0, null), get(2, 'x', null, 5, 6), get(2, 'x', 'u', 7, 8)], { x: 'u' }); // it did, late
  ok([append(1, 'l', 'a,', undefined, 0, null), append(2, 'l', 'b,', 2, 1, 3), get(3, 'l', 'b,a,', 9, 10)], { l: 'b,a,' });
  fails([append(1, 'l', 'a,', undefined, 0, null), append(2, 'l', 'b,', 4, 1, 3), get(3, 'l', 'b,a,', 9, 10)], 'linearizability');
  ok([cas(1, 'x', null, 'c', undefined, 0, null), get(2, 'x', 'c', 3, 4)]);
  ok([get(1, 'x', 'garbage', 0, null)], {}); // an unknown read observed nothing
});

test('scans are checked per key: a consistent scan passes, a stale or skipping one fails', () => {
  const base = [put(1, 'p/a', '1', 0, 1), put(1, 'p/b', '2', 2, 3), put(1, 'q', '3', 4, 5)];
  ok([...base, scan(2, 'p/', [['p/a', '1'], ['p/b', '2']], false, 6, 7)]);
  ok([...base, scan(2, 'p/', [['p/a', '1']], true, 6, 7, 1)]);
  ok([...base, scan(2, '', [['p/a', '1']], false, 1, 2)]);
  fails([...base, scan(2, 'p/', [['p/a', '1']], false, 6, 7)], 'linearizability'); // missed p/b
  fails([...base, put(1, 'p/a', 'new', 8, 9), scan(2, 'p/', [['p/a', '1'], ['p/b', '2']], false, 10, 11)], 'linearizability'); // stale p/a
  fails([...base, scan(2, 'p/', [['p/b', '2'], ['p/a', '1']], false, 6, 7)], 'scan-shape');
  fails([...base, scan(2, 'p/', [['q', '3']], false, 6, 7)], 'scan-shape');
  fails([...base, scan(2, 'p/', [['p/a', '1'], ['p/b', '2']], false, 6, 7, 1)], 'scan-shape');
});

test('a stale read fails, and the counterexample names the key and the operations involved', () => {
  const v = fails([put(1, 'x', 'old', 0, 1), put(1, 'x', 'new', 2, 3), get(2, 'x', 'old', 4, 5)], 'linearizability');
  assert.equal(v.key, 'x');
  assert.match(v.message, /key "x"/);
  assert.match(v.message, /read "old" but the value was "new"/);
  assert.ok(v.ops.some((o) => o.op === 'get' && o.output === 'old'));
  assert.ok(v.ops.some((o) => o.op === 'put' && o.value === 'new'));
});

test('a read of a value never written fails', () => {
  fails([put(1, 'x', 'a', 0, 1), get(2, 'x', 'zzz', 2, 3)], 'linearizability');
  fails([get(2, 'never', 'boo', 0, 1)], 'linearizability');
  fails([scan(2, '', [['ghost', 'boo']], false, 0, 1)], 'linearizability');
});

test('a lost acknowledged write fails (against the final state), unless a later write may have overwritten it', () => {
  const v = fails([put(1, 'x', 'a', 0, 1)], 'lost-write', {});
  assert.match(v.message, /acknowledged client 1 put\("x", "a"\).*lost/);
  fails([append(1, 'l', 'a,', 2, 0, 1), append(1, 'l', 'b,', 4, 2, 3)], 'lost-write', { l: 'a,' });
  fails([put(1, 'x', 'a', 0, 1), append(2, 'x', 'b,', 3, 2, 3)], 'lost-write', { x: 'b,' });
  ok([put(1, 'x', 'a', 0, 1), put(2, 'x', 'b', 2, null)], { x: 'b' });
  ok([put(1, 'x', 'a', 0, 1), put(2, 'x', 'b', 2, null)], { x: 'a' });
  ok([put(1, 'x', 'a', 0, 1), op(2, 'delete', 'x', undefined, true, 2, 3)], {});
  // Without a final state the lost-write check has nothing to compare with.
  assert.equal(checkHistory([put(1, 'x', 'a', 0, 1)]).verdict, 'ok');
});

test('a duplicated append fails, even where the search alone could not decide', () => {
  const h = [append(1, 'l', 'a,', undefined, 0, null), append(2, 'l', 'b,', undefined, 1, 2), get(3, 'l', 'a,b,a,', 3, 4)];
  const v = fails(h, 'duplicate-append');
  assert.match(v.message, /"a," appears 2 times/);
  fails(h, 'linearizability');
  fails([append(1, 'l', 'xy', 2, 0, 1)], 'duplicate-append', { l: 'xyxy' }); // undelimited values are searched for
  // With a step budget too small to decide, the extra checks still catch it.
  const r = checkHistory(h, { maxStepsPerKey: 1 });
  assert.equal(r.verdict, 'violation');
  assert.deepEqual(r.violations.map((x) => x.check), ['duplicate-append']);
  assert.deepEqual(r.undecided.map((u) => u.key), ['l']);
});

test('configurations are known by a hash of the linearized set; a violation found that way is searched again without hashes', () => {
  // Words that make every set of the same state collide: the hashed search then skips
  // configurations it never explored, and would report these linearizable histories as violations.
  const words = searchHashing.words;
  searchHashing.words = (n) => new Uint32Array(2 * n);
  try {
    ok([put(1, 'x', 'a', 0, 10), put(2, 'x', 'b', 0, 10), get(3, 'x', 'b', 20, 30)]);
    ok([put(1, 'x', 'a', 0, 10), get(2, 'x', 'a', 11, 12), put(1, 'x', 'b', 13, 20), get(2, 'x', 'a', 14, 15), get(3, 'x', 'b', 21, 22)]);
    fails([put(1, 'x', 'a', 0, 10), put(2, 'x', 'b', 11, 20), get(3, 'x', 'a', 21, 30)], 'linearizability');
  } finally {
    searchHashing.words = words;
  }
});

test('a search over its step budget is reported unknown, not ok', () => {
  // 12 writers all concurrent, and a read that no order explains: the search must try many orders.
  const h: HistoryOp[] = [];
  for (let i = 0; i < 12; i++) h.push(put(i, 'x', `v${i}`, 0, 100));
  h.push(get(99, 'x', 'nope', 101, 102));
  const r = checkHistory(h, { maxStepsPerKey: 500 });
  assert.equal(r.verdict, 'unknown');
  assert.deepEqual(r.undecided.map((u) => u.key), ['x']);
  assert.equal(checkHistory(h).verdict, 'violation', 'with the default budget memoization decides it');
});

test('histories parse from JSON lines with decimal-string nanoseconds; malformed operations are named', () => {
  const lines = [
    '{"clientId":1,"op":"put","key":"x","value":"a","call":"1000000000000000001","return":"1000000000000000002"}',
    '',
    '{"clientId":2,"op":"get","key":"x","output":"a","call":"1000000000000000003","return":"1000000000000000004"}',
    '{"clientId":3,"op":"append","key":"y","value":"q,","call":"1000000000000000003","return":null}',
  ].join('\n');
  const h = parseHistory(lines);
  assert.equal(h.length, 3);
  assert.equal(checkHistory(h, { finalState: { x: 'a' } }).verdict, 'ok');
  assert.throws(() => parseHistory('{"op":'), /line 1 is not JSON/);
  assert.throws(() => checkHistory(parseHistory('[1, "get", "x"]')), /history\[0\] must be an object, got an array/);
  // A misspelt option would silently skip the check it names (here: every acknowledged write in the final state).
  assert.throws(() => checkHistory([], { finalstate: {} } as never), (e: unknown) => e instanceof TypeError && /unknown checkHistory option finalstate: did you mean finalState\?/.test(e.message));
  assert.throws(() => checkHistory([], null as never), /checkHistory options must be an object, got null/);
  assert.throws(() => checkHistory([{ ...put(1, 'x', 'a', 0, 1), op: 'incr' as never }]), /history\[0\]\.op must be one of/);
  assert.throws(() => checkHistory([put(1, 'x', 'a', 5, 1)]), /history\[0\] returns \(1\) before its call \(5\)/);
  assert.throws(() => checkHistory([{ ...put(1, 'x', 'a', 0, 1), call: '1.5' }]), /history\[0\]\.call must be a time/);
  assert.throws(() => checkHistory([put(1, 7 as unknown as string, 'a', 0, 1)]), /history\[0\]\.key must be a string/);
  assert.throws(() => checkHistory([op(1, 'cas', 'x', 'a', true, 0, 1)]), /value of a cas must be/);
  assert.throws(() => checkHistory([op(1, 'scan', '', undefined, [], 0, 1)]), /output of a scan must be/);
});

// ---- properties ----

type Model = Map<string, string>;
type Gen = { t: 'get' | 'put' | 'delete' | 'cas' | 'append' | 'scan'; k: number; v: number; e: number };
const KEYS = ['a', 'b', 'ab'];
const genOp = fc.record({ t: fc.constantFrom('get', 'put', 'delete', 'cas', 'append', 'scan') as fc.Arbitrary<Gen['t']>, k: fc.nat(KEYS.length - 1), v: fc.nat(1000), e: fc.nat(3) });

/** Runs one generated operation on the model; returns it as a history operation (times filled in later). */
function runModel(m: Model, g: Gen, i: number, client: number): HistoryOp {
  const key = KEYS[g.k];
  const cur = m.get(key) ?? null;
  const h = (name: HistoryOp['op'], value: unknown, output: unknown): HistoryOp => ({ clientId: client, op: name, key, value, output, call: 0n, return: 0n });
  switch (g.t) {
    case 'get': return h('get', undefined, cur);
    case 'put': m.set(key, `v${i},`); return h('put', `v${i},`, undefined);
    case 'delete': m.delete(key); return h('delete', undefined, cur !== null);
    case 'cas': {
      // Expect the current value half the time, so both outcomes happen.
      const expected = g.e < 2 ? cur : g.e === 2 ? null : `v${g.v},`;
      const next = g.v % 5 === 0 ? null : `c${i},`;
      const swapped = expected === cur;
      if (swapped) { if (next === null) m.delete(key); else m.set(key, next); }
      return h('cas', { expected, next }, swapped);
    }
    case 'append': { const n = (cur ?? '') + `a${i},`; m.set(key, n); return h('append', `a${i},`, Buffer.byteLength(n)); }
    case 'scan': {
      const prefix = key === 'ab' ? 'a' : key; // "a" also matches "ab"
      const limit = 1 + (g.e % 2);
      const all = [...m.entries()].filter(([k]) => k.startsWith(prefix)).sort(([x], [y]) => (x < y ? -1 : 1));
      return { ...h('scan', { limit }, { entries: all.slice(0, limit), more: all.length > limit }), key: prefix };
    }
  }
}

test('property: sequential histories produced by the model are linearizable, final state included', () => {
  fc.assert(fc.property(fc.array(genOp, { maxLength: 40 }), (gens) => {
    const m: Model = new Map();
    const h = gens.map((g, i) => ({ ...runModel(m, g, i, i % 3), call: BigInt(2 * i), return: BigInt(2 * i + 1) }));
    const r = checkHistory(h, { finalState: Object.fromEntries(m) });
    assert.equal(r.verdict, 'ok', r.violations.map((v) => v.message).join('\n'));
  }), { numRuns: 200 });
});

test('property: changing the output of one read in a sequential history is caught', () => {
  fc.assert(fc.property(fc.array(genOp, { maxLength: 30 }), fc.nat(), fc.nat(2), (gens, pick, how) => {
    const m: Model = new Map();
    const h = gens.map((g, i) => ({ ...runModel(m, g, i, i % 3), call: BigInt(2 * i), return: BigInt(2 * i + 1) }));
    const n = h.length;
    h.push({ clientId: 9, op: 'get', key: KEYS[pick % KEYS.length], output: m.get(KEYS[pick % KEYS.length]) ?? null, call: BigInt(2 * n), return: BigInt(2 * n + 1) });
    const reads = h.filter((o) => o.op === 'get');
    const read = reads[pick % reads.length];
    const was = read.output as string | null;
    read.output = was === null ? (how === 0 ? 'never written' : `v${pick},`) : how === 0 ? null : how === 1 ? `${was}x` : 'never written';
    const r = checkHistory(h);
    assert.equal(r.verdict, 'violation', `changing ${JSON.stringify(was)} to ${JSON.stringify(read.output)} went unnoticed`);
  }), { numRuns: 200 });
});

test('property: concurrent histories with outputs from a linearization inside each interval pass, unknown outcomes included', () => {
  const genTimed = fc.record({ g: genOp, start: fc.nat(50), len: fc.integer({ min: 1, max: 30 }), at: fc.double({ min: 0.01, max: 0.99, noNaN: true }), unknown: fc.nat(5) });
  fc.assert(fc.property(fc.array(genTimed, { maxLength: 14 }), (ops) => {
    const m: Model = new Map();
    // Apply in the order of each operation's linearization point, inside its [call, return].
    const order = ops.map((o, i) => ({ o, i, point: o.start + o.len * o.at })).sort((x, y) => x.point - y.point || x.i - y.i);
    const h: HistoryOp[] = [];
    for (const { o, i } of order) {
      const unknown = o.unknown === 0;
      const tookEffect = !unknown || o.len % 2 === 0;
      const probe = new Map(m);
      const rec = runModel(tookEffect ? m : probe, o.g, i, i);
      h.push({ ...rec, call: BigInt(o.start * 1000), return: unknown ? null : BigInt((o.start + o.len) * 1000) });
    }
    const r = checkHistory(h, { finalState: Object.fromEntries(m) });
    assert.equal(r.verdict, 'ok', r.violations.map((v) => v.message).join('\n'));
  }), { numRuns: 300 });
});
