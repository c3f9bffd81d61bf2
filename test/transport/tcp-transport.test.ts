import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import tls from 'node:tls';
import { test } from 'node:test';
import { makeBatch } from '../../src/core/entry-batch.js';
import { Message, MsgType, message } from '../../src/core/message.js';
import { FrameKind, frame } from '../../src/transport/tcp-frame.js';
import { HelloRole, helloFrame } from '../../src/transport/tcp-hello.js';
import { TcpTransport, TcpTransportOptions } from '../../src/transport/tcp-transport.js';
import { encode } from '../../src/transport/codec.js';
import { freePorts, waitFor } from './tcp-helpers.js';
import { makeCerts, opensslMissing } from './tls-certs.js';

const host = '127.0.0.1';

async function pair(extra: (id: number) => Partial<TcpTransportOptions> = () => ({})) {
  const [p0, p1] = await freePorts(2);
  const logs: string[][] = [[], []];
  const got: Message[][] = [[], []];
  const ts = await Promise.all([0, 1].map((id) => TcpTransport.start({
    id, clusterId: 'c', tls: false, listen: { host, port: id === 0 ? p0 : p1 },
    peers: { [1 - id]: { host, port: id === 0 ? p1 : p0 } }, log: (l) => logs[id].push(l), ...extra(id),
  })));
  ts.forEach((t, id) => t.onMessage((m) => got[id].push(m)));
  await waitFor('both transports connected', () => ts[0].connectedTo(1) && ts[1].connectedTo(0));
  return { ts, got, logs, ports: [p0, p1], close: () => Promise.all(ts.map((t) => t.close())) };
}

test('messages of every kind arrive whole, snapshots on their own connection', async () => {
  const { ts, got, close } = await pair();
  try {
    const hb = { ...message(MsgType.Heartbeat, 0, 1, 3), commit: 7 };
    const ae = { ...message(MsgType.AppendEntries, 0, 1, 3), index: 7, logTerm: 2, commit: 7, entries: makeBatch(8, [{ term: 3, command: Buffer.from('a') }, { term: 3, command: Buffer.from('bc') }]) };
    const snap = { ...message(MsgType.InstallSnapshot, 0, 1, 3), index: 5, logTerm: 2, hint: 3, data: Uint8Array.of(1, 2, 3), done: true };
    ts[0].send([hb, ae, snap]);
    ts[1].send([{ ...message(MsgType.HeartbeatReply, 1, 0, 3) }]);
    await waitFor('messages delivered', () => got[1].length === 3 && got[0].length === 1);
    // In order on each connection; the snapshot's connection is another one, so it may overtake.
    const byType = (ms: Message[]) => [...ms].sort((a, b) => a.type - b.type).map((m) => encode(m));
    assert.deepEqual(byType(got[1]), byType([hb, ae, snap]));
    assert.deepEqual(got[1].filter((m) => m.type !== MsgType.InstallSnapshot).map((m) => m.type), [MsgType.Heartbeat, MsgType.AppendEntries]);
    assert.equal(got[0][0].type, MsgType.HeartbeatReply);
    const s = ts[0].stats()[1];
    assert.equal(s.raft.connects, 1);
    assert.equal(s.snapshots.connects, 1);
  } finally {
    await close();
  }
});

test('plain TCP must be chosen explicitly, and bad options are named', async () => {
  const base = { id: 0, clusterId: 'c', listen: { host, port: 0 }, peers: {} };
  await assert.rejects(TcpTransport.start({ ...base } as unknown as TcpTransportOptions), /option tls must be \{ cert, key, ca \} \(PEM\) or false/);
  await assert.rejects(TcpTransport.start({ ...base, tls: false, peers: { 0: { host, port: 1 } } }), /must list the other peers, not this one/);
  await assert.rejects(TcpTransport.start({ ...base, tls: false, peers: { 1: { host, port: 70000 } } }), /address of peer 1 must be/);
  await assert.rejects(TcpTransport.start({ ...base, tls: false, clusterId: '' }), /clusterId must be a non-empty string/);
});

test('a peer that stops reading: the send queue stays bounded and drops, send() never waits', async () => {
  const [port] = await freePorts(1);
  const held: net.Socket[] = [];
  const sink = net.createServer((s) => { s.pause(); held.push(s); }); // accepts, never reads
  await new Promise<void>((r) => sink.listen(port, host, r));
  const logs: string[] = [];
  const t = await TcpTransport.start({ id: 0, clusterId: 'c', tls: false, listen: { host, port: 0 }, peers: { 1: { host, port } }, maxQueueBytes: 1 << 20, log: (l) => logs.push(l) });
  try {
    await waitFor('connected to the sink', () => t.connectedTo(1));
    const big = { ...message(MsgType.AppendEntries, 0, 1, 1), entries: makeBatch(1, [{ term: 1, command: new Uint8Array(256 * 1024) }]) };
    for (let i = 0; i < 400; i++) t.send([big]); // 100 MiB: far more than the socket and the queue hold
    const s = t.stats()[1].raft;
    assert.ok(s.framesDropped > 0, 'frames were dropped');
    assert.ok(s.queuedBytes <= 1 << 20, `queue holds ${s.queuedBytes} bytes, above its bound`);
    assert.ok(logs.some((l) => /send queue to peer 1 \(raft\) is full/.test(l)), logs.join('\n'));
  } finally {
    await t.close();
    held.forEach((s) => s.destroy());
    await new Promise((r) => sink.close(r));
  }
});

test('a connection that stays pushed back past stallTimeoutMs is taken for dead and redialed', async () => {
  const [port] = await freePorts(1);
  const held: net.Socket[] = [];
  const sink = net.createServer((s) => { s.pause(); held.push(s); });
  await new Promise<void>((r) => sink.listen(port, host, r));
  const logs: string[] = [];
  const t = await TcpTransport.start({ id: 0, clusterId: 'c', tls: false, listen: { host, port: 0 }, peers: { 1: { host, port } }, stallTimeoutMs: 200, log: (l) => logs.push(l) });
  try {
    await waitFor('connected to the sink', () => t.connectedTo(1));
    const big = { ...message(MsgType.AppendEntries, 0, 1, 1), entries: makeBatch(1, [{ term: 1, command: new Uint8Array(1 << 20) }]) };
    for (let i = 0; i < 64; i++) t.send([big]);
    await waitFor('stall noticed', () => logs.some((l) => /link to peer 1 \(raft\).*no write progress for 200 ms/.test(l)));
    await waitFor('redialed', () => t.stats()[1].raft.connects >= 2);
  } finally {
    await t.close();
    held.forEach((s) => s.destroy());
    await new Promise((r) => sink.close(r));
  }
});

test('a lost peer is redialed with back-off and messages flow again', async () => {
  const { ts, got, logs, ports, close } = await pair();
  try {
    await ts[1].close();
    await waitFor('link noticed the loss', () => !ts[0].connectedTo(1));
    const again = await TcpTransport.start({ id: 1, clusterId: 'c', tls: false, listen: { host, port: ports[1] }, peers: { 0: { host, port: ports[0] } }, log: (l) => logs[1].push(l) });
    ts[1] = again;
    const seen: Message[] = [];
    again.onMessage((m) => seen.push(m));
    await waitFor('redialed', () => ts[0].connectedTo(1));
    ts[0].send([message(MsgType.Heartbeat, 0, 1, 9)]);
    await waitFor('heartbeat after the redial', () => seen.length === 1);
    assert.equal(seen[0].term, 9);
    assert.equal(got[1].length, 0);
  } finally {
    await close();
  }
});

function rawHello(port: number, hello: Buffer, then: Buffer[] = []): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => { s.write(hello); for (const b of then) s.write(b); });
    s.on('error', () => {});
    s.resume(); // read what the peer answers (a refusal), or its end never shows
    s.on('close', () => resolve());
  });
}

test('a hello of another cluster, a foreign or own peer id, or a message from another id closes that connection alone', async () => {
  const { ts, got, logs, ports, close } = await pair();
  try {
    await rawHello(ports[1], helloFrame({ role: HelloRole.Peer, peerId: 0, clusterId: 'other' }));
    await rawHello(ports[1], helloFrame({ role: HelloRole.Peer, peerId: 5, clusterId: 'c' }));
    await rawHello(ports[1], helloFrame({ role: HelloRole.Peer, peerId: 1, clusterId: 'c' }));
    await rawHello(ports[1], helloFrame({ role: HelloRole.Client, peerId: 0, clusterId: 'c' }));
    await rawHello(ports[1], helloFrame({ role: HelloRole.Peer, peerId: 0, clusterId: 'c' }), [frame(FrameKind.Raft, encode(message(MsgType.Heartbeat, 4, 1, 1)))]);
    const want = [/hello names cluster "other", this is cluster "c"/, /claims peer id 5, not a peer of this cluster/, /claims peer id 1, which is this peer's own/, /this listener takes no clients/, /message from 4 on the connection of peer 0/];
    await waitFor('all refusals logged', () => want.every((re) => logs[1].some((l) => re.test(l))));
    ts[0].send([message(MsgType.Heartbeat, 0, 1, 2)]);
    await waitFor('the real peer is still served', () => got[1].length === 1);
  } finally {
    await close();
  }
});

test('a dialer refused by the listener logs the listener\'s reason', async () => {
  const [p0, p1] = await freePorts(2);
  const logs: string[][] = [[], []];
  const ts = await Promise.all([0, 1].map((id) => TcpTransport.start({
    id, clusterId: id === 0 ? 'blue' : 'green', tls: false, listen: { host, port: id === 0 ? p0 : p1 },
    peers: { [1 - id]: { host, port: id === 0 ? p1 : p0 } }, log: (l) => logs[id].push(l),
  })));
  try {
    await waitFor('peer 0 heard why peer 1 refused it', () => logs[0].some((l) => /link to peer 1 \(raft\).*refused by the listener: hello names cluster "blue", this is cluster "green"/.test(l)));
    assert.ok(logs[1].some((l) => /closing connection from .*hello names cluster "blue"/.test(l)), logs[1].join('\n'));
  } finally {
    await Promise.all(ts.map((t) => t.close()));
  }
});

test('mutual TLS: peers with certificates naming their ids talk; a certificate naming another id, or of another CA, is refused', { skip: opensslMissing }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-tls-'));
  try {
    const certs = makeCerts(dir, ['peer-0', 'peer-1', 'peer-2']);
    const rogue = makeCerts(path.join(dir, 'rogue'), ['peer-0'], 'rogue-ca');
    const { ts, got, logs, ports, close } = await pair((id) => ({ tls: certs.of(`peer-${id}`) }));
    try {
      ts[0].send([message(MsgType.Heartbeat, 0, 1, 4)]);
      await waitFor('heartbeat over TLS', () => got[1].length === 1);
      // peer-2's certificate (signed by the CA) claiming to be peer 0.
      const p2 = certs.of('peer-2');
      await new Promise<void>((resolve) => {
        const s = tls.connect({ host, port: ports[1], cert: p2.cert, key: p2.key, ca: p2.ca, checkServerIdentity: () => undefined }, () => s.write(helloFrame({ role: HelloRole.Peer, peerId: 0, clusterId: 'c' })));
        s.on('error', () => {});
        s.resume();
        s.on('close', () => resolve());
      });
      await waitFor('impostor refused', () => logs[1].some((l) => /closing peer 0 .*TLS certificate names peer-2, not peer-0/.test(l) || /closing connection from .*TLS certificate names peer-2, not peer-0/.test(l)));
      // A certificate named peer-0 but signed by another CA fails the handshake.
      const r = rogue.of('peer-0');
      await new Promise<void>((resolve) => {
        const s = tls.connect({ host, port: ports[1], cert: r.cert, key: r.key, ca: certs.ca, checkServerIdentity: () => undefined }, () => s.write(helloFrame({ role: HelloRole.Peer, peerId: 0, clusterId: 'c' })));
        s.on('error', () => {});
        s.resume();
        s.on('close', () => resolve());
      });
      await waitFor('foreign CA refused', () => logs[1].some((l) => /refusing TLS connection from/.test(l)));
      // Plain TCP to a TLS listener: refused in one log line that names where it came from.
      await new Promise<void>((resolve) => {
        const s = net.connect({ host, port: ports[1] }, () => s.write(helloFrame({ role: HelloRole.Client, peerId: 0, clusterId: 'c' })));
        s.on('error', () => {});
        s.resume();
        s.on('close', () => resolve());
      });
      await waitFor('plain TCP refused', () => logs[1].some((l) => /refusing TLS connection from 127\.0\.0\.1:\d+: .*wrong version number/.test(l)));
      assert.deepEqual(logs[1].filter((l) => /\n/.test(l) || /undefined/.test(l)), [], 'each refusal is one line naming its address');
      ts[0].send([message(MsgType.Heartbeat, 0, 1, 5)]);
      await waitFor('the real peer is still served', () => got[1].length === 2);
    } finally {
      await close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
