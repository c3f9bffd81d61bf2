import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionWindow } from '../../src/cluster/session-window.js';

const payload = (seq: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (seq * 31 + i) & 0xff);

/** The payload of `seq` as copyPayload writes it at offset 3 of a buffer that itself starts 5 bytes into its ArrayBuffer. */
function copyOf(w: SessionWindow, seq: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(w.payloadLength(seq) + 8), 5);
  w.copyPayload(seq, out, new DataView(out.buffer, out.byteOffset, out.byteLength), 3);
  return out.subarray(3);
}

describe('SessionWindow', () => {
  it('keeps each payload byte for byte through growth and wrap-around, small and large', () => {
    const w = new SessionWindow();
    // Some above the word-by-word copy limit, some with a tail after their last word, some empty.
    const lens = (seq: number) => (seq % 7 === 0 ? 300 : seq % 11 === 0 ? 17 + (seq % 240) : seq % 5);
    let next = 1;
    // Apply from the front while adding more, so the payload ring wraps, then outgrow both rings.
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 200 + round * 100; k++) assert.equal(w.add(payload(next, lens(next)), next), next++);
      for (let s = w.ackedThrough + 1; s < next; s++) assert.deepEqual(copyOf(w, s), payload(s, lens(s)), `seq ${s}`);
      const upTo = next - 100;
      for (let s = w.ackedThrough + 1; s < upTo; s++) w.markApplied(s);
      assert.equal(w.ackedThrough, upTo - 1);
    }
    assert.equal(w.size, 100);
  });

  it('moves ackedThrough only over a gapless prefix of applied seqs', () => {
    const w = new SessionWindow();
    for (let s = 1; s <= 5; s++) w.add(payload(s, 4), 1000 + s);
    w.markApplied(2);
    w.markApplied(3);
    assert.equal(w.ackedThrough, 0);
    assert.equal(w.isOpen(1), true);
    assert.equal(w.isOpen(2), false);
    w.markApplied(1);
    assert.equal(w.ackedThrough, 3);
    assert.equal(w.earliestDeadline(), 1004);
    assert.deepEqual(copyOf(w, 5), payload(5, 4));
  });

  it('counts transmissions in flight per seq', () => {
    const w = new SessionWindow();
    const s = w.add(payload(1, 2), 0);
    w.sent(s, 10); w.sent(s, 20);
    assert.equal(w.sentTime(s), 20);
    w.returned(s);
    assert.equal(w.inFlightOf(s), 1);
    // Written off as lost: a late answer of it does not take the count below zero.
    w.abandon(s);
    assert.equal(w.inFlightOf(s), 0);
    w.returned(s);
    assert.equal(w.inFlightOf(s), 0);
    assert.equal(w.isOpen(s), true);
    w.markApplied(s);
    w.returned(s); // a late answer for a seq that left the window changes nothing
    assert.equal(w.isOpen(s), false);
  });
});
