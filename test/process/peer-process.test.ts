/**
 * Peers as separate processes (the built `raft-threads peer` command) on loopback: crashes
 * by SIGKILL and restarts, clean SIGTERM, and bad input on the listening port.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { encode } from '../../src/transport/codec.js';
import { message, MsgType } from '../../src/core/message.js';
import { FRAME_HEADER_BYTES, FrameKind, frame } from '../../src/transport/tcp-frame.js';
import { HelloRole, helloFrame } from '../../src/transport/tcp-hello.js';
import { RemoteClient, RemoteProposalError } from '../../src/process/remote-client.js';
import { waitFor } from '../transport/tcp-helpers.js';
import { makeCerts, opensslMissing } from '../transport/tls-certs.js';
import { ProcessCluster, checkSameApplied } from './peer-cluster.js';
import { startPeerProcess } from '../../src/process/peer-process.js';
import { freePorts } from '../../src/process/free-ports.js';

const text = (hex: string) => Buffer.from(hex, 'hex').toString();
const maxApplied = (c: ProcessCluster, id: number) => Math.max(0, ...c.applied(id).keys());

test('3 peer processes: SIGKILL a follower, then the leader, restart each; every peer applies the same commands, each once, in order', async (t) => {
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-certs-'));
  if (opensslMissing) t.diagnostic(`${opensslMissing}; this cluster runs with --insecure`);
  const certs = opensslMissing ? undefined : makeCerts(certDir, ['peer-0', 'peer-1', 'peer-2', 'client']);
  const c = await ProcessCluster.start({ size: 3, sessions: true, certs });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 20_000 });
    let sent = 0;
    let lastIndex = 0;
    let running = true;
    let duplicates = 0;
    const proposer = (async () => {
      while (running) {
        const n = ++sent;
        const r = await session.propose(Buffer.from(`cmd-${n}`), { timeoutMs: 20_000 });
        // A retry of a seq applied before is answered from the session table: the result of the first apply.
        if (r.duplicate) { duplicates++; assert.ok(Number(r.result.toString()) < r.index, 'a duplicate answers the earlier apply'); }
        else assert.equal(r.result.toString(), String(r.index), 'the result is the apply result of that command');
        lastIndex = Math.max(lastIndex, r.index);
      }
    })();
    const progress = async (what: string, more: number) => { const at = sent; await waitFor(what, () => sent >= at + more, 20_000); };
    await progress('first commands', 20);
    const leader = await c.leader(client);
    const follower = c.ids.find((id) => id !== leader)!;
    await c.kill(follower, 'SIGKILL');
    await progress('commits without the follower', 20);
    await c.startPeer(follower);
    await progress('commits after the follower came back', 20);
    await c.kill(leader, 'SIGKILL');
    await progress('commits after the leader was killed', 20);
    await c.startPeer(leader);
    await progress('commits after the old leader came back', 20);
    running = false;
    await proposer;
    await waitFor(`every peer applied through ${lastIndex}`, () => c.ids.every((id) => maxApplied(c, id) >= lastIndex), 20_000);
    const commands = checkSameApplied(c, lastIndex).map(text);
    assert.deepEqual(commands, Array.from({ length: sent }, (_, i) => `cmd-${i + 1}`));
    t.diagnostic(`${sent} commands, ${duplicates} answered as duplicates of an earlier attempt`);
    for (const id of c.ids) assert.equal(await c.kill(id, 'SIGTERM'), 0, `peer ${id} exits 0 on SIGTERM:\n${c.logs.get(id)}`);
  } finally {
    client.close();
    await c.stop();
    fs.rmSync(certDir, { recursive: true, force: true });
  }
});

/** Opens a raw connection to `port`, writes `parts` (then half-closes if `end`), resolves when the peer closes it. */
function raw(port: number, parts: Buffer[], end = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { for (const p of parts) s.write(p); if (end) s.end(); });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('the peer did not close a bad connection within 10 s')); }, 10_000);
    s.on('error', () => {});
    s.resume(); // read what the peer answers (a refusal), or its end never shows
    s.on('close', () => { clearTimeout(timer); resolve(); });
  });
}

test('bad input (garbage, oversized, truncated, wrong cluster, wrong peer id) closes that connection with a logged reason; the peers keep serving', async () => {
  const c = await ProcessCluster.start({ size: 3, clusterId: 'good' });
  const client = c.client();
  try {
    const first = await client.propose(Buffer.from('before'));
    const port = c.ports[0];
    const hello = helloFrame({ role: HelloRole.Peer, peerId: 1, clusterId: 'good' });
    const badSum = frame(FrameKind.Raft, encode(message(MsgType.Heartbeat, 1, 0, 1)));
    badSum.writeUInt32LE((badSum.readUInt32LE(4) ^ 1) >>> 0, 4);
    const oversized = Buffer.alloc(FRAME_HEADER_BYTES);
    oversized.writeUInt32LE(64 * 1024 * 1024, 0);
    const truncated = frame(FrameKind.Raft, encode(message(MsgType.Heartbeat, 1, 0, 1))).subarray(0, 20);
    const cases: Array<[string, Buffer[], boolean, RegExp]> = [
      ['text garbage', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], false, /exceeds the maximum/],
      ['a checksum mismatch', [hello, badSum], false, /frame checksum mismatch/],
      ['an oversized frame', [hello, oversized], false, /frame of 67108864 bytes exceeds the maximum 4194304/],
      ['a truncated frame', [hello, truncated], true, /stream ended inside a frame/],
      ['a Raft message that does not decode', [hello, frame(FrameKind.Raft, Buffer.from('not a message'))], false, /codec:/],
      ['a peer of another cluster', [helloFrame({ role: HelloRole.Peer, peerId: 1, clusterId: 'other' })], false, /hello names cluster "other", this is cluster "good"/],
      ['a client of another cluster', [helloFrame({ role: HelloRole.Client, peerId: 0, clusterId: 'other' })], false, /hello names cluster "other"/],
      ['a peer claiming an id outside the cluster', [helloFrame({ role: HelloRole.Peer, peerId: 9, clusterId: 'good' })], false, /claims peer id 9, not a peer of this cluster/],
      ['a message claiming to come from another peer', [hello, frame(FrameKind.Raft, encode(message(MsgType.Heartbeat, 2, 0, 1)))], false, /message from 2 on the connection of peer 1/],
    ];
    for (const [what, parts, end, reason] of cases) {
      const before = c.logs.get(0) ?? '';
      await raw(port, parts, end);
      await waitFor(`peer 0 logs why it closed ${what}`, () => reason.test((c.logs.get(0) ?? '').slice(before.length)), 10_000);
    }
    const stranger = new RemoteClient({ peers: { 0: { host: '127.0.0.1', port } }, clusterId: 'other', tls: false });
    await assert.rejects(stranger.propose(Buffer.from('x')), (e: Error) => e instanceof RemoteProposalError && e.reason === 'refused' && /hello names cluster "other"/.test(e.message));
    stranger.close();
    for (const id of c.ids) assert.ok(c.procs.get(id)?.exitCode === null, `peer ${id} is still running`);
    let last = first.index;
    for (let i = 0; i < 5; i++) last = (await client.propose(Buffer.from(`after-${i}`))).index;
    await waitFor('every peer applied the commands after the bad input', () => c.ids.every((id) => maxApplied(c, id) >= last), 10_000);
    assert.deepEqual(checkSameApplied(c, last).map(text), ['before', ...Array.from({ length: 5 }, (_, i) => `after-${i}`)]);
  } finally {
    client.close();
    await c.stop();
  }
});

test('without sessions: proposals in flight when the leader is killed commit or reject as unknown; every acknowledged one is in every log', async (t) => {
  const c = await ProcessCluster.start({ size: 3 });
  const client = c.client();
  try {
    await client.propose(Buffer.from('warm-up'));
    const leader = await c.leader(client);
    const acked = new Map<string, number>();
    const unknown: string[] = [];
    let n = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const cmd = `p-${++n}`;
        try {
          acked.set(cmd, (await client.propose(Buffer.from(cmd), { timeoutMs: 20_000 })).index);
        } catch (e) {
          if ((e as { reason?: string }).reason !== 'unknown') throw e;
          unknown.push(cmd);
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await waitFor('commits before the crash', () => acked.size >= 50, 20_000);
    await c.kill(leader, 'SIGKILL');
    const at = acked.size;
    await waitFor('commits on the new leader', () => acked.size >= at + 50, 20_000);
    await c.startPeer(leader);
    running = false;
    await Promise.all(workers);
    const last = Math.max(...acked.values());
    await waitFor(`every peer applied through ${last}`, () => c.ids.every((id) => maxApplied(c, id) >= last), 20_000);
    const log = checkSameApplied(c, last).map(text);
    const at0 = new Map(log.map((cmd, k) => [cmd, k]));
    for (const [cmd, index] of acked) assert.equal(c.applied(0).get(index), Buffer.from(cmd).toString('hex'), `acknowledged ${cmd} is at ${index} in every log`);
    for (const cmd of unknown) assert.ok(log.filter((x) => x === cmd).length <= 1, `${cmd} (unknown) applied at most once`);
    assert.ok(at0.size === log.length, 'no command applied twice');
    t.diagnostic(`${acked.size} acknowledged, ${unknown.length} unknown (${unknown.filter((x) => at0.has(x)).length} of them applied)`);
  } finally {
    client.close();
    await c.stop();
  }
});

test('partitions through a TCP proxy: an isolated leader is replaced, rejoins after the heal and converges', async (t) => {
  const c = await ProcessCluster.start({ size: 3, sessions: true, proxied: true });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 20_000 });
    let sent = 0;
    let lastIndex = 0;
    let running = true;
    const proposer = (async () => {
      while (running) lastIndex = Math.max(lastIndex, (await session.propose(Buffer.from(`cmd-${++sent}`), { timeoutMs: 20_000 })).index);
    })();
    const progress = async (what: string, more: number) => { const at = sent; await waitFor(what, () => sent >= at + more, 20_000); };
    await progress('first commands', 10);
    for (let round = 0; round < 2; round++) {
      const leader = await c.leader(client);
      c.isolate(leader);
      await waitFor(`a new leader without peer ${leader}`, async () => {
        const others = c.ids.filter((id) => id !== leader);
        const seen = await Promise.all(others.map(async (id) => (await client.status(id))?.leaderId ?? -1));
        return seen.every((l) => l === seen[0] && l >= 0 && l !== leader);
      }, 20_000);
      await progress(`commits while peer ${leader} is cut off`, 10);
      c.heal();
      await progress('commits after the heal', 10);
    }
    running = false;
    await proposer;
    await waitFor(`every peer applied through ${lastIndex}`, () => c.ids.every((id) => maxApplied(c, id) >= lastIndex), 20_000);
    assert.deepEqual(checkSameApplied(c, lastIndex).map(text), Array.from({ length: sent }, (_, i) => `cmd-${i + 1}`));
    t.diagnostic(`${sent} commands through 2 partitions of the leader`);
  } finally {
    client.close();
    await c.stop();
  }
});

test('a peer restarted after the log was compacted past it catches up by InstallSnapshot', async () => {
  const c = await ProcessCluster.start({ size: 3, extraArgs: ['--snapshot-entries', '20'] });
  const client = c.client();
  try {
    await client.propose(Buffer.from('c-0'));
    const leader = await c.leader(client);
    const follower = c.ids.find((id) => id !== leader)!;
    await c.kill(follower, 'SIGKILL'); // before any snapshot: its own data holds none
    let last = 0;
    for (let i = 1; i <= 100; i++) last = (await client.propose(Buffer.from(`c-${i}`))).index;
    await c.startPeer(follower);
    await waitFor(`peer ${follower} applied through ${last}`, () => maxApplied(c, follower) >= last, 20_000);
    assert.match(c.logs.get(follower) ?? '', /state restored from a snapshot through index/);
    for (let i = 101; i <= 105; i++) last = (await client.propose(Buffer.from(`c-${i}`))).index;
    await waitFor('every peer applied the last commands', () => c.ids.every((id) => maxApplied(c, id) >= last), 10_000);
    assert.deepEqual(checkSameApplied(c, last).map(text), Array.from({ length: 106 }, (_, i) => `c-${i}`));
  } finally {
    client.close();
    await c.stop();
  }
});

test('5 peer processes, rounds of SIGKILL of up to two peers (the leader among them) with restarts: one history, each command once', { skip: process.env.RAFT_FULL ? false : 'set RAFT_FULL=1 to run' }, async (t) => {
  const c = await ProcessCluster.start({ size: 5, sessions: true, extraArgs: ['--snapshot-entries', '200'] });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 30_000 });
    let sent = 0;
    let lastIndex = 0;
    let running = true;
    const proposer = (async () => {
      while (running) lastIndex = Math.max(lastIndex, (await session.propose(Buffer.from(`cmd-${++sent}`), { timeoutMs: 30_000 })).index);
    })();
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let round = 0; round < 8; round++) {
      const leader = await c.leader(client, 30_000);
      const victims = new Set([round % 2 === 0 ? leader : rnd(5), rnd(5)]);
      for (const v of victims) await c.kill(v, 'SIGKILL');
      const at = sent;
      await waitFor(`round ${round}: commits with ${[...victims].join(', ')} down`, () => sent >= at + 30, 30_000);
      for (const v of victims) await c.startPeer(v);
    }
    running = false;
    await proposer;
    await waitFor(`every peer applied through ${lastIndex}`, () => c.ids.every((id) => maxApplied(c, id) >= lastIndex), 30_000);
    assert.deepEqual(checkSameApplied(c, lastIndex).map(text), Array.from({ length: sent }, (_, i) => `cmd-${i + 1}`));
    t.diagnostic(`${sent} commands through 8 rounds of crashes`);
  } finally {
    client.close();
    await c.stop();
  }
});

test('startPeerProcess refuses a misspelt option name and a missing state machine file before it listens', async () => {
  const peers = new Map([[0, { host: '127.0.0.1', port: 1 }]]);
  const base = { id: 0, listen: peers.get(0)!, peers, storage: 'memory' as const, tls: false as const, log: () => {} };
  await assert.rejects(startPeerProcess({ ...base, sesions: true } as never), { name: 'TypeError', message: /unknown option sesions for startPeerProcess: did you mean sessions\?/ });
  await assert.rejects(startPeerProcess({ ...base, stateMachine: '/nonexistent/machine.js' }), { message: /option stateMachine: no such file \/nonexistent\/machine\.js/ });
  await assert.rejects(startPeerProcess({ ...base, peers: { 0: peers.get(0)! } } as never), { name: 'TypeError', message: /option peers of startPeerProcess must be a Map of peer id to \{ host, port \}, got object/ });
  await assert.rejects(startPeerProcess({ ...base, listen: undefined } as never), { name: 'TypeError', message: /option listen of startPeerProcess must be \{ host, port \}, got undefined/ });
});

test('a peer process restarted on its directory with another peer count is refused, naming both memberships', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peer-dir-peers-'));
  try {
    const [p0, p1, p2, p3] = await freePorts(4);
    const at = (port: number) => ({ host: '127.0.0.1', port });
    const three = new Map([[0, at(p0)], [1, at(p1)], [2, at(p2)]]);
    const base = { id: 0, listen: at(p0), storage: { dir }, tls: false as const, log: () => {} };
    const first = await startPeerProcess({ ...base, peers: three });
    await first.stop();
    const four = startPeerProcess({ ...base, peers: new Map([...three, [3, at(p3)]]) });
    void four.then((p) => p.stop(), () => {}); // should it start, stop it so that the test fails instead of hanging
    await assert.rejects(four, { message: /belongs to a cluster of 3 peers \[0, 1, 2\]; refusing to open it for a cluster of 4 peers \[0, 1, 2, 3\]/ });
    const again = await startPeerProcess({ ...base, peers: three }); // the same list still opens
    await again.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
