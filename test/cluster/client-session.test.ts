import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { test } from 'node:test';
import { ACK_BYTES, AckKind, writeAck } from '../../src/cluster/client-protocol.js';
import { ClusterClient } from '../../src/cluster/client.js';
import { ClientSession } from '../../src/cluster/client-session.js';
import { SessionStatus, decodeFrame } from '../../src/node/session-protocol.js';
import { RingLink, createRingLinkPair } from '../../src/transport/ring-link.js';

/** A scripted peer: `answer(linkSeq, frame)` returns the ack kind and, for Committed, the session status byte. */
class FakePeer {
  readonly received: Array<{ seq: number; ackedThrough: number; payload: number[] }> = [];
  private readonly link: RingLink;
  private linkSeq = 0;
  index = 1;

  constructor(client: ClusterClient, i: number, answer: (frame: { seq: number }) => { kind: AckKind; status?: number; hint?: number }) {
    const { sabAB, sabBA } = createRingLinkPair(1 << 16);
    const ch = new MessageChannel();
    client.attach(i, { outSab: sabAB, inSab: sabBA, port: ch.port1 });
    this.link = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, (l) => {
      l.in.drain((buf, off, len) => {
        const f = decodeFrame(buf.slice(off, off + len));
        this.received.push({ seq: f.seq, ackedThrough: f.ackedThrough, payload: [...f.payload] });
        const a = answer(f);
        const committed = a.kind === AckKind.CommittedBytes || a.kind === AckKind.CommittedUniform;
        const rec = new Uint8Array(ACK_BYTES + (a.kind === AckKind.CommittedBytes ? 1 : 0));
        writeAck(rec, 0, a.kind, this.linkSeq++, 1, committed ? this.index++ : 0, 1, a.hint ?? -1, a.kind === AckKind.CommittedUniform ? a.status! : 0);
        if (a.kind === AckKind.CommittedBytes) rec[ACK_BYTES] = a.status!;
        l.write(rec);
      });
      l.flush();
    });
    this.link.unref();
  }

  close(): void { this.link.close(); }
}

const newSession = (client: ClusterClient, id = 7) =>
  new (ClientSession as unknown as new (c: ClusterClient, id: number, maxPayload: number) => ClientSession)(client, id, 1000);

for (const [kind, form] of [[AckKind.CommittedBytes, 'a byte per command'], [AckKind.CommittedUniform, 'one byte for the run']] as const) test(`a session resends from the oldest command not applied, in seq order, following the leader; each seq is reported once (status as ${form})`, async () => {
  const client = new ClusterClient(2);
  const notLeader = new FakePeer(client, 0, () => ({ kind: AckKind.NotLeader, hint: 1 }));
  // Peer 1 keeps a session table; it loses the first transmission of seq 2 (overwritten).
  let lastApplied = 0;
  let lostTwo = false;
  const leader = new FakePeer(client, 1, (f) => {
    if (f.seq === 2 && !lostTwo) { lostTwo = true; return { kind: AckKind.Overwritten, hint: 1 }; }
    if (f.seq === lastApplied + 1) { lastApplied++; return { kind, status: SessionStatus.Applied }; }
    return { kind, status: f.seq <= lastApplied ? SessionStatus.Duplicate : SessionStatus.OutOfOrder };
  });
  const s = newSession(client);
  const committed: number[] = [];
  s.onCommitted = (seq, _index, result, duplicate) => { committed.push(seq); assert.equal(result.byteLength, 0); assert.equal(duplicate, false); };
  s.onFailed = (seq, e) => assert.fail(`seq ${seq} failed: ${e.message}`);
  assert.deepEqual([s.submit(Uint8Array.of(1)), s.submit(Uint8Array.of(2)), s.submit(Uint8Array.of(3))], [1, 2, 3]);
  for (let i = 0; i < 200 && committed.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(committed, [1, 2, 3]);
  assert.deepEqual(notLeader.received.map((r) => r.seq), [1, 2, 3], 'first sent to the believed leader');
  // 1, 2 (lost), 3 (out of order: 2 missing), then 2 and 3 again, in order; payloads byte for byte.
  assert.deepEqual(leader.received.map((r) => r.seq), [1, 2, 3, 2, 3]);
  assert.deepEqual(leader.received.map((r) => r.payload[0]), [1, 2, 3, 2, 3]);
  assert.deepEqual(leader.received.slice(3).map((r) => r.ackedThrough), [1, 1], 'resends carry what the client holds');
  assert.equal(s.pending, 0);
  client.close();
  notLeader.close();
  leader.close();
});

test('one CommittedUniform run over raw commands and two sessions, acknowledged out of link order, reaches each owner once at its own index', async () => {
  const client = new ClusterClient(1);
  const { sabAB, sabBA } = createRingLinkPair(1 << 16);
  const ports = new MessageChannel();
  client.attach(0, { outSab: sabAB, inSab: sabBA, port: ports.port1 });
  let received = 0;
  const peer = new RingLink({ outSab: sabBA, inSab: sabAB, port: ports.port2 }, (l) => { received += l.in.drain(() => {}); });
  peer.unref();
  try {
    const a = newSession(client, 7), b = newSession(client, 8);
    const got: string[] = [];
    a.onCommitted = (seq, index, result, duplicate) => got.push(`a${seq}@${index}${duplicate ? ' dup' : ''}/${result.byteLength}`);
    b.onCommitted = (seq, index, result, duplicate) => got.push(`b${seq}@${index}${duplicate ? ' dup' : ''}/${result.byteLength}`);
    a.onFailed = b.onFailed = (seq, e) => assert.fail(`seq ${seq} failed: ${e.message}`);
    client.onCommitted = (seq, index, result) => got.push(`raw${seq}@${index}=${result?.[0]}`);
    // Link seqs 0..6: a1 a2 raw0 b1 b2 a3 a4.
    a.submit(Uint8Array.of(1)); a.submit(Uint8Array.of(2));
    client.submit(Uint8Array.of(9));
    b.submit(Uint8Array.of(3)); b.submit(Uint8Array.of(4));
    a.submit(Uint8Array.of(5)); a.submit(Uint8Array.of(6));
    for (let i = 0; i < 200 && received < 7; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received, 7);
    const ack = (firstSeq: number, count: number, index: number) => {
      const rec = new Uint8Array(ACK_BYTES);
      writeAck(rec, 0, AckKind.CommittedUniform, firstSeq, count, index, 1, -1, SessionStatus.Applied);
      peer.write(rec);
      peer.flush();
    };
    const settled = async (n: number) => { for (let i = 0; i < 200 && got.length < n; i++) await new Promise((r) => setTimeout(r, 5)); };
    ack(3, 4, 13); // b1 b2 a3 a4, while a1 a2 raw0 are still pending ahead of them
    await settled(4);
    assert.deepEqual(got, ['b1@13/0', 'b2@14/0', 'a3@15/0', 'a4@16/0']);
    assert.equal(client.pending, 7, 'the acknowledged entries stay behind the oldest pending one');
    assert.equal(a.pending, 2);
    ack(0, 3, 10);
    await settled(7);
    assert.deepEqual(got.slice(4), ['a1@10/0', 'a2@11/0', `raw0@12=${SessionStatus.Applied}`]);
    assert.equal(client.pending, 0);
    assert.equal(a.pending, 0);
    assert.equal(b.pending, 0);
  } finally {
    client.close();
    peer.close();
  }
});
