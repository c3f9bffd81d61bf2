import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadRoute } from '../../src/cluster/read-protocol.js';
import { ReadTable } from '../../src/cluster/read-table.js';

test('a ReadTable keeps every read by seq, and grows when two live seqs share a slot', () => {
  const t = new ReadTable();
  const q = (n: number) => new Uint8Array([n]);
  const a = t.add(1, q(1), ReadRoute.Leader, -1, 10, null);
  assert.equal(t.slotOf(1), a);
  assert.equal(t.slotOf(1025), -1, 'a seq not added is not found in its slot');
  // 1 + 1024 falls in seq 1's slot while 1 is still live: the table must grow, keeping both.
  t.add(1025, q(2), ReadRoute.AnyPeer, 2, 20, null);
  const s1 = t.slotOf(1), s2 = t.slotOf(1025);
  assert.ok(s1 >= 0 && s2 >= 0 && s1 !== s2);
  assert.deepEqual([t.queries[s1]![0], t.routes[s1], t.fixedPeers[s1], t.deadlines[s1]], [1, ReadRoute.Leader, -1, 10]);
  assert.deepEqual([t.queries[s2]![0], t.routes[s2], t.fixedPeers[s2], t.deadlines[s2]], [2, ReadRoute.AnyPeer, 2, 20]);
  for (let seq = 2; seq < 5000; seq++) if (seq !== 1025) t.add(seq, q(seq & 0xff), ReadRoute.Leader, -1, seq, null);
  assert.equal(t.size, 4999);
  for (let seq = 1; seq < 5000; seq++) assert.equal(t.deadlines[t.slotOf(seq)], seq === 1 ? 10 : seq === 1025 ? 20 : seq, `seq ${seq}`);
  t.remove(t.slotOf(1025));
  assert.equal(t.slotOf(1025), -1);
  assert.equal(t.size, 4998);
  assert.deepEqual(t.allSeqs().slice(0, 3), [1, 2, 3]);
  assert.equal(t.allSeqs().length, 4998);
});

test('sentPast lists the reads in flight at or past their deadline, in seq order, and no others', () => {
  const t = new ReadTable();
  const q = new Uint8Array([1]);
  for (const [seq, deadline] of [[5, 30], [1, 10], [3, 50], [2, 20], [1025, 5]] as const) t.add(seq, q, ReadRoute.Leader, -1, deadline, null);
  for (const seq of [1, 2, 3, 5]) t.at[t.slotOf(seq)] = 0; // sent; 1025 waits to be sent again (at -1)
  assert.deepEqual(t.sentPast(9), []);
  assert.deepEqual(t.sentPast(20), [1, 2], 'deadline at now counts');
  assert.deepEqual(t.sentPast(100), [1, 2, 3, 5], 'not 1025: it is not in flight');
  t.remove(t.slotOf(2));
  assert.deepEqual(t.sentPast(100), [1, 3, 5]);
});
