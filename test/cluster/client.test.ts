import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { ACK_BYTES, AckKind, encodeResult, uniformByte, writeAck } from '../../src/cluster/client-protocol.js';
import { ClusterClient, ProposalError } from '../../src/cluster/client.js';
import { RingLink, createRingLinkPair } from '../../src/transport/ring-link.js';

/**
 * ClusterClient against a scripted peer in this thread: the peer end of each ring link
 * records the commands it receives and answers with the acks a test writes.
 */
class FakePeer {
  readonly received: Uint8Array[] = [];
  readonly link: RingLink;
  private seq = 0;
  /** Called with the seq of each command as it arrives. */
  onCommand: (seq: number, command: Uint8Array) => void = () => {};

  constructor(client: ClusterClient, i: number) {
    const { sabAB, sabBA } = createRingLinkPair(1 << 16);
    const ch = new MessageChannel();
    client.attach(i, { outSab: sabAB, inSab: sabBA, port: ch.port1 });
    this.link = new RingLink({ outSab: sabBA, inSab: sabAB, port: ch.port2 }, (l) => {
      l.in.drain((buf, off, len) => {
        const c = buf.slice(off, off + len);
        this.received.push(c);
        this.onCommand(this.seq++, c);
      });
    });
    this.link.unref();
  }

  ack(kind: AckKind, seq: number, index = 0, term = 1, hint = -1): void {
    const b = new Uint8Array(ACK_BYTES);
    writeAck(b, 0, kind, seq, 1, index, term, hint);
    this.link.write(b);
    this.link.flush();
  }

  result(seq: number, bytes: Uint8Array): void {
    this.link.write(encodeResult(seq, bytes));
  }

  close(): void { this.link.close(); }
}

const cmd = (n: number) => new Uint8Array([n, 1, 2]);

describe('ClusterClient', () => {
  it('a proposal its peer never answers (a leader cut off) rejects with timeout at its deadline; a late answer is dropped, not streamed', { timeout: 10_000 }, async () => {
    const client = new ClusterClient(1);
    const peer = new FakePeer(client, 0);
    const streamed: number[] = [];
    client.onCommitted = (seq) => streamed.push(seq);
    client.onFailed = (seq) => streamed.push(seq);
    let seq = -1;
    peer.onCommand = (s) => { seq = s; }; // and no answer
    await assert.rejects(client.propose(cmd(1), { timeoutMs: 150 }), (e: unknown) => e instanceof ProposalError && e.reason === 'timeout' && /may still commit/.test(e.message));
    assert.equal(seq, 0, 'the command reached the peer');
    peer.ack(AckKind.Committed, seq, 5);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(streamed, []);
    assert.equal(client.pending, 0);
    client.close();
    peer.close();
  });

  it('propose refuses an unknown option name (a misspelt timeout must not mean the default) and sends nothing', () => {
    const client = new ClusterClient(1);
    const peer = new FakePeer(client, 0);
    assert.throws(() => client.propose(cmd(1), { timeout: 5 } as never), (e: Error) => e instanceof TypeError && /unknown option timeout for propose: did you mean timeoutMs\?/.test(e.message));
    // a timeoutMs of the wrong type says what it got (a string "5" is not the number 5)
    assert.throws(() => client.propose(cmd(1), { timeoutMs: '5' } as never), (e: Error) => e instanceof TypeError && /option timeoutMs must be a positive number, got string "5"/.test(e.message));
    assert.throws(() => client.propose(cmd(1), { timeoutMs: -1 }), (e: Error) => e instanceof RangeError && /got number -1/.test(e.message));
    assert.equal(client.pending, 0);
    client.close();
    peer.close();
  });

  it('an unknown outcome rejects at once and is never retried (bug: retried after crashed)', async () => {
    const client = new ClusterClient(2);
    const peers = [new FakePeer(client, 0), new FakePeer(client, 1)];
    peers[0].onCommand = (seq) => peers[0].ack(AckKind.Unknown, seq);
    await assert.rejects(client.propose(cmd(1)), (e: unknown) => e instanceof ProposalError && e.reason === 'unknown');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(peers[0].received.length + peers[1].received.length, 1, 'the command was sent exactly once');
    client.close();
    peers.forEach((p) => p.close());
  });

  it('a peer that crashes with proposals in flight: they are unknown, not retried', async () => {
    const client = new ClusterClient(2);
    const peers = [new FakePeer(client, 0), new FakePeer(client, 1)];
    const p = client.propose(cmd(1));
    await new Promise((r) => setTimeout(r, 20));
    client.attach(0, null); // the cluster saw peer 0 crash
    await assert.rejects(p, (e: unknown) => e instanceof ProposalError && e.reason === 'unknown');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(peers[1].received.length, 0);
    client.close();
    peers.forEach((x) => x.close());
  });

  it('follows a not-leader hint, retries an overwritten proposal, and resolves with index, term and result', async () => {
    const client = new ClusterClient(2);
    const peers = [new FakePeer(client, 0), new FakePeer(client, 1)];
    peers[0].onCommand = (seq) => peers[0].ack(AckKind.NotLeader, seq, 0, 1, 1);
    let tries = 0;
    peers[1].onCommand = (seq) => {
      if (tries++ === 0) { peers[1].ack(AckKind.Overwritten, seq, 7, 2); return; }
      peers[1].result(seq, new Uint8Array([42]));
      peers[1].ack(AckKind.Committed, seq, 9, 3);
    };
    const r = await client.propose(cmd(1));
    assert.deepEqual({ index: r.index, term: r.term, result: [...r.result!] }, { index: 9, term: 3, result: [42] });
    assert.equal(client.leader, 1);
    assert.equal(peers[1].received.length, 2);
    client.close();
    peers.forEach((x) => x.close());
  });

  it('refuses bad commands synchronously, naming the limit, and keeps working', async () => {
    const client = new ClusterClient(1, { maxCommandBytes: 8, noopReserved: true });
    const peer = new FakePeer(client, 0);
    peer.onCommand = (seq) => peer.ack(AckKind.Committed, seq, seq + 1, 1);
    assert.throws(() => client.submit('hello' as unknown as Uint8Array), TypeError);
    assert.throws(() => client.propose(new Uint8Array(9)), /exceeds maxCommandBytes \(8\)/);
    assert.throws(() => client.propose(new Uint8Array(0)), RangeError);
    assert.equal(client.pending, 0);
    assert.equal((await client.propose(cmd(1))).index, 1);
    assert.equal(peer.received.length, 1);
    client.close();
    peer.close();
  });

  it('an invalid outcome carries its reason; calls after close say the cluster is stopped', async () => {
    const client = new ClusterClient(1);
    const peer = new FakePeer(client, 0);
    peer.onCommand = (seq) => {
      const b = new Uint8Array(ACK_BYTES);
      writeAck(b, 0, AckKind.Invalid, seq, 1, 0, 1, -1, 2);
      peer.link.write(b);
      peer.link.flush();
    };
    await assert.rejects(client.propose(cmd(1)), /maxCommandBytes/);
    client.close();
    assert.throws(() => client.submit(cmd(2)), /stopped/);
    await assert.rejects(client.propose(cmd(2)), /stopped/);
    peer.close();
  });

  it('gives up retrying refusals at its deadline', async () => {
    const client = new ClusterClient(1);
    const peer = new FakePeer(client, 0);
    peer.onCommand = (seq) => peer.ack(AckKind.Backpressure, seq);
    await assert.rejects(client.propose(cmd(1), { timeoutMs: 100 }), (e: unknown) => e instanceof ProposalError && e.reason === 'timeout');
    assert.ok(peer.received.length > 1, 'it retried before giving up');
    client.close();
    peer.close();
  });

  it('a Committed run with one-byte results in one record (CommittedBytes) gives each command its byte', async () => {
    const client = new ClusterClient(1);
    const peer = new FakePeer(client, 0);
    const seen: Array<[number, number, number[]]> = [];
    client.onCommitted = (seq, index, result) => seen.push([seq, index, [...(result ?? [])]]);
    peer.onCommand = (seq) => {
      if (seq !== 2) return;
      const b = new Uint8Array(ACK_BYTES + 3);
      writeAck(b, 0, AckKind.CommittedBytes, 0, 3, 10, 1, 0);
      b.set([7, 8, 9], ACK_BYTES);
      peer.link.write(b);
      peer.link.flush();
    };
    const seqs = [client.submit(cmd(1)), client.submit(cmd(2)), client.submit(cmd(3))];
    for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [[seqs[0], 10, [7]], [seqs[1], 11, [8]], [seqs[2], 12, [9]]]);
    assert.equal(client.pending, 0);
    client.close();
    peer.close();
  });

  it('a Committed run whose results are all one same byte (CommittedUniform) gives each command that byte, in a result of its own', async () => {
    const client = new ClusterClient(1);
    const peer = new FakePeer(client, 0);
    const seen: Array<[number, number, Uint8Array | undefined]> = [];
    client.onCommitted = (seq, index, result) => seen.push([seq, index, result]);
    peer.onCommand = (seq) => {
      if (seq !== 2) return;
      const b = new Uint8Array(ACK_BYTES);
      writeAck(b, 0, AckKind.CommittedUniform, 0, 3, 20, 1, 0, 5);
      peer.link.write(b);
      peer.link.flush();
    };
    const seqs = [client.submit(cmd(1)), client.submit(cmd(2)), client.submit(cmd(3))];
    for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen.map(([seq, index, r]) => [seq, index, [...(r ?? [])]]), [[seqs[0], 20, [5]], [seqs[1], 21, [5]], [seqs[2], 22, [5]]]);
    assert.notEqual(seen[0][2], seen[1][2], 'each command owns its result (the caller may keep or change it)');
    assert.equal(client.pending, 0);
    client.close();
    peer.close();
  });

  it('uniformByte finds the one byte a run of results shares, and -1 for anything else', () => {
    const a = Uint8Array.of(0);
    assert.equal(uniformByte([a, a, Uint8Array.of(0)], 0, 3), 0);
    assert.equal(uniformByte([undefined, Uint8Array.of(4), Uint8Array.of(4)], 1, 2), 4);
    assert.equal(uniformByte([a, Uint8Array.of(1)], 0, 2), -1, 'two different bytes');
    assert.equal(uniformByte([a, undefined], 0, 2), -1, 'one command without a result');
    assert.equal(uniformByte([a, Uint8Array.of(0, 0)], 0, 2), -1, 'a longer result');
    assert.equal(uniformByte([new Uint8Array(0)], 0, 1), -1, 'an empty result');
  });
});
