import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteOp, RemoteStatus, decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from '../../src/process/remote-protocol.js';
import { HelloRole, decodeHello, helloFrame } from '../../src/transport/tcp-hello.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/tcp-frame.js';
import { batchRequestBytes, decodeBatchRequest, decodeRun, encodeRun, writeBatchRequest } from '../../src/process/remote-batch-protocol.js';
import { READ_ANY_OP, READ_LEADER_OP, ReadAnswerBatch, ReadOutcome, decodeReadAnswers } from '../../src/process/remote-read-protocol.js';

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

test('batch requests and answer runs round-trip; malformed ones are named', () => {
  const cmds = [Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3, 4)];
  const buf = Buffer.alloc(batchRequestBytes(cmds) + 2);
  writeBatchRequest(buf, 1, 0xffffffff, cmds);
  const b = decodeBatchRequest(buf.subarray(1, buf.length - 1));
  assert.equal(b.firstReqId, 0xffffffff);
  assert.equal(b.count, 3);
  assert.deepEqual(cmds.map((_, k) => [...b.body.subarray(b.starts[k], b.starts[k + 1])]), cmds.map((c) => [...c]));
  assert.throws(() => decodeBatchRequest(buf.subarray(1, buf.length - 2)), /command 2 runs past the end/);
  assert.throws(() => decodeBatchRequest(buf.subarray(1)), /its commands end at byte 25 of 26/);
  assert.throws(() => decodeBatchRequest(Buffer.from([4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])), /not a batch request of op 3 \(op 4\)/);
  assert.throws(() => decodeBatchRequest(Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0])), /of no commands/);
  assert.throws(() => decodeBatchRequest(Buffer.from([3, 0, 0, 0, 0, 255, 255, 0, 0])), /cannot hold 65535 command lengths/);

  const run = { firstReqId: 5, count: 3, leaderHint: 2, firstIndex: 2 ** 40, term: 9, outcome: RemoteStatus.Committed };
  const none = decodeRun(encodeRun(run));
  assert.deepEqual(none, { ...run, results: null });
  const results = [undefined, Uint8Array.of(7), new Uint8Array(0), Uint8Array.of(8, 9)];
  const some = decodeRun(encodeRun(run, results, 1)); // requests 5..7 have results[1..3]
  assert.deepEqual(some.results!.map((r) => r && [...r]), [[7], [], [8, 9]]);
  assert.throws(() => decodeRun(new Uint8Array(5)), /shorter than its 27-byte header/);
  const bad = encodeRun(run); bad[25] = 9;
  assert.throws(() => decodeRun(bad), /outcome 9/);
});

test('read batches and read answers round-trip; malformed ones are named', () => {
  const queries = [Uint8Array.of(1, 2), new Uint8Array(0)];
  const buf = Buffer.alloc(batchRequestBytes(queries));
  writeBatchRequest(buf, 0, 41, queries, 0, 2, READ_ANY_OP);
  const b = decodeBatchRequest(buf, READ_ANY_OP);
  assert.deepEqual([b.firstReqId, b.count], [41, 2]);
  assert.deepEqual(queries.map((_, k) => [...b.body.subarray(b.starts[k], b.starts[k + 1])]), [[1, 2], []]);
  assert.throws(() => decodeBatchRequest(buf, READ_LEADER_OP), /not a batch request of op 4 \(op 5\)/);

  const batch = new ReadAnswerBatch();
  batch.add(0xffffffff, ReadOutcome.Ok, Uint8Array.of(7, 8));
  batch.add(3, ReadOutcome.QueryFailed, new TextEncoder().encode('no'));
  batch.add(4, ReadOutcome.Ok, new Uint8Array(0));
  const body = batch.encode(2);
  assert.equal(body.byteLength, batch.byteLength);
  const back = decodeReadAnswers(body);
  assert.equal(back.leaderHint, 2);
  assert.deepEqual(back.answers.map((a) => [a.reqId, a.outcome, [...a.bytes]]), [[0xffffffff, ReadOutcome.Ok, [7, 8]], [3, ReadOutcome.QueryFailed, [...Buffer.from('no')]], [4, ReadOutcome.Ok, []]]);
  assert.throws(() => decodeReadAnswers(body.subarray(0, 5)), /shorter than their 9-byte header/);
  assert.throws(() => decodeReadAnswers(body.subarray(0, body.length - 1)), /answer 2 of 3 runs past the end/);
  assert.throws(() => decodeReadAnswers(Buffer.concat([body, Buffer.from([0])])), /read answers end at byte 40 of 41/);
  const badOutcome = Buffer.from(body); badOutcome[9 + 4] = 9;
  assert.throws(() => decodeReadAnswers(badOutcome), /answer 0 has outcome 9/);
  const notAnswers = Buffer.from(body); notAnswers[0] = 7;
  assert.throws(() => decodeReadAnswers(notAnswers), /not read answers \(status 7\)/);
});
