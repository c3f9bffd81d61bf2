import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c, crc32cUpdate } from '../../src/storage/crc32c.js';
import { bytes, rng } from './helpers.js';

function bitwise(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('crc32c: standard check value crc32c("123456789") = 0xE3069283', () => {
  assert.equal(crc32c(bytes('123456789')), 0xe3069283);
});

test('crc32c: RFC 3720 (iSCSI) test vectors', () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('crc32c: slicing-by-8 equals the bitwise definition for every length and offset', () => {
  const r = rng(7);
  const buf = Uint8Array.from({ length: 300 }, () => Math.floor(r() * 256));
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= buf.length; end += 1 + (end % 7)) {
      assert.equal(crc32c(buf, start, end), bitwise(buf.subarray(start, end)), `[${start}, ${end})`);
    }
  }
});

test('crc32c: incremental update over pieces equals one pass', () => {
  const r = rng(11);
  const buf = Uint8Array.from({ length: 1000 }, () => Math.floor(r() * 256));
  for (let trial = 0; trial < 50; trial++) {
    let c = 0, at = 0;
    while (at < buf.length) {
      const n = Math.min(buf.length - at, Math.floor(r() * 50));
      c = crc32cUpdate(c, buf, at, at + n);
      at += n;
    }
    assert.equal(c, crc32c(buf));
  }
});
