import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FrameKind, SessionFrameError, SessionStatus, decodeFrame, encodeCommand, encodeCompactCommand, encodeRegister, compactHeaderLength,
} from '../../src/node/session-protocol.js';
import { SessionStateMachine } from '../../src/node/session-state-machine.js';

test('a CompactCommand decodes to the same Command as the 25-byte form, with a shorter header', () => {
  const payload = Uint8Array.of(9, 8, 7);
  for (const [id, seq, acked] of [[1, 1, 0], [127, 128, 127], [16_384, 300, 1], [2 ** 53 - 1, 2 ** 53 - 1, 2 ** 53 - 2], [5, 2 ** 40, 0]]) {
    const compact = encodeCompactCommand(id, seq, acked, payload);
    assert.equal(compact[0], FrameKind.CompactCommand);
    assert.equal(compact.byteLength, compactHeaderLength(id, seq, acked) + 3);
    const a = decodeFrame(compact), b = decodeFrame(encodeCommand(id, seq, acked, payload));
    assert.deepEqual({ ...a, payload: [...a.payload] }, { ...b, payload: [...b.payload] }, `${id} ${seq} ${acked}`);
  }
  assert.equal(compactHeaderLength(70_000, 1_000_000, 999_000), 1 + 3 + 3 + 2);
});

test('a malformed CompactCommand is refused with a reason; the session layer answers Invalid and changes nothing', () => {
  const bad: Array<[number[], RegExp]> = [
    [[4], /clientId at offset 1 runs past the end/],
    [[4, 1, 0x80], /seq at offset 3 runs past the end/],
    [[4, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 1], /clientId is longer than 8 bytes/],
    [[4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 1], /clientId exceeds 2\^53 - 1/],
    [[4, 0, 1, 1], /clientId 0/],
    [[4, 1, 0, 1], /seq 0/],
    [[4, 1, 2, 0], /seq - ackedThrough \(0\) must be in 1..seq \(2\)/],
    [[4, 1, 2, 3], /seq - ackedThrough \(3\)/],
  ];
  for (const [bytes, reason] of bad) assert.throws(() => decodeFrame(Uint8Array.from(bytes)), (e: unknown) => e instanceof SessionFrameError && reason.test(e.message), String(bytes));
  const applied: number[] = [];
  const sm = new SessionStateMachine({ apply: (c) => { applied.push(c[0]); } });
  sm.apply(encodeRegister(), 1, 1);
  const r = sm.apply(Uint8Array.of(4, 1, 1, 0), 2, 1);
  assert.equal(r[0], SessionStatus.Invalid);
  assert.equal(sm.apply(encodeCompactCommand(1, 1, 0, Uint8Array.of(42)), 3, 1)[0], SessionStatus.Applied);
  assert.equal(sm.apply(encodeCommand(1, 1, 0, Uint8Array.of(42)), 4, 1)[0], SessionStatus.Duplicate, 'either form of a seq is the same command');
  assert.deepEqual(applied, [42]);
});
