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

const newSession = (client: ClusterClient) =>
  new (ClientSession as unknown as new (c: ClusterClient, id: number, maxPayload: number) => ClientSession)(client, 7, 1000);

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
