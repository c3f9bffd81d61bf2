import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_HEADER_BYTES, FrameError, FrameKind, FrameReader, frame } from '../../src/transport/tcp-frame.js';

function reader(max = 1024) {
  const got: Array<[number, string]> = [];
  const r = new FrameReader(max, (kind, body) => got.push([kind, Buffer.from(body).toString()]));
  return { r, got };
}

test('frames split across chunks at every byte boundary come out whole and in order', () => {
  const bytes = Buffer.concat([frame(FrameKind.Raft, Buffer.from('first')), frame(FrameKind.ClientRequest, Buffer.from('second frame')), frame(FrameKind.Hello, Buffer.alloc(0))]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const step of [1, 3, 7, bytes.length]) {
      const { r, got } = reader();
      r.push(bytes.subarray(0, cut));
      for (let at = cut; at < bytes.length; at += step) r.push(bytes.subarray(at, Math.min(bytes.length, at + step)));
      r.end();
      assert.deepEqual(got, [[FrameKind.Raft, 'first'], [FrameKind.ClientRequest, 'second frame'], [FrameKind.Hello, '']], `cut ${cut} step ${step}`);
    }
  }
});

test('a flipped bit fails the checksum', () => {
  const f = frame(FrameKind.Raft, Buffer.from('payload'));
  f[FRAME_HEADER_BYTES + 3] ^= 0x10;
  assert.throws(() => reader().r.push(f), (e: Error) => e instanceof FrameError && /checksum mismatch/.test(e.message));
});

test('a frame above the maximum is refused from its header alone', () => {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(5000, 0);
  const { r } = reader(1024);
  assert.throws(() => r.push(header), /frame of 5000 bytes exceeds the maximum 1024/);
});

test('a header split before its length is known is still checked against the maximum', () => {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(5000, 0);
  const { r } = reader(1024);
  r.push(header.subarray(0, 2));
  assert.throws(() => r.push(header.subarray(2)), /exceeds the maximum/);
});

test('a stream that ends inside a frame is truncated', () => {
  const f = frame(FrameKind.Raft, Buffer.from('payload'));
  const { r, got } = reader();
  r.push(f.subarray(0, f.length - 2));
  assert.throws(() => r.end(), /stream ended inside a frame \(14 bytes/);
  assert.equal(got.length, 0);
});

test('unknown kinds and empty frames are refused', () => {
  // frame() seals the checksum over the bad kind: only the kind is wrong.
  const bad = frame(99 as FrameKind, Buffer.from('x'));
  assert.throws(() => reader().r.push(bad), /unknown frame kind 99/);
  assert.throws(() => reader().r.push(Buffer.alloc(FRAME_HEADER_BYTES)), /empty frame/);
});
