import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteOp, RemoteStatus, decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from '../../src/process/remote-protocol.js';
import { HelloRole, decodeHello, helloFrame } from '../../src/transport/tcp-hello.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/tcp-frame.js';

test('requests and answers round-trip; a result of no bytes differs from no result', () => {
  assert.deepEqual(decodeRequest(encodeRequest(RemoteOp.Propose, 0xfffffffe, Uint8Array.of(1, 2))), { op: RemoteOp.Propose, reqId: 0xfffffffe, payload: Buffer.from([1, 2]) });
  for (const result of [undefined, new Uint8Array(0), Uint8Array.of(9)]) {
    const a = { status: RemoteStatus.Committed, reqId: 7, leaderHint: -1, index: 2 ** 40, term: 3, result };
    const back = decodeAnswer(encodeAnswer(a));
    assert.deepEqual({ ...back, result: back.result && [...back.result] }, { ...a, result: result && [...result] });
  }
});

test('malformed requests, answers and hellos are named', () => {
  assert.throws(() => decodeRequest(Uint8Array.of(1, 2)), /shorter than its 5-byte header/);
  assert.throws(() => decodeRequest(Uint8Array.of(9, 0, 0, 0, 0)), /unknown client request op 9/);
  assert.throws(() => decodeAnswer(new Uint8Array(3)), /shorter than its 22-byte header/);
  const hello = helloFrame({ role: HelloRole.Peer, peerId: 4, clusterId: 'c' }).subarray(FRAME_HEADER_BYTES + 1);
  assert.deepEqual(decodeHello(hello), { role: HelloRole.Peer, peerId: 4, clusterId: 'c' });
  assert.throws(() => decodeHello(Buffer.concat([hello, Buffer.from('x')])), /cluster id has 1 bytes but carries 2/);
  const v2 = Buffer.from(hello); v2[0] = 2;
  assert.throws(() => decodeHello(v2), /hello version 2 is not supported/);
  const role = Buffer.from(hello); role[1] = 7;
  assert.throws(() => decodeHello(role), /unknown role 7/);
});
