import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Cluster, PeerDownError, ProposalError } from '../../src/index.js';

const SM = new URL('./exiting-state-machine.js', import.meta.url);

test('a worker that exits on its own is a crashed peer: marked down, reported, replaced by a new leader, restartable', { timeout: 60_000 }, async () => {
  const c = await Cluster.start({ peers: 3, stateMachine: SM, electionTimeoutMs: 150, heartbeatMs: 30 });
  try {
    const fatal: Error[] = [];
    c.onFatal((e) => fatal.push(e));
    const { leader } = await c.waitForLeader();
    const client = c.client();
    await client.propose(new Uint8Array([1]));
    // A leader read runs on the leader: its worker exits; the retry elsewhere finds the marker.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-exit-'));
    const marker = new TextEncoder().encode(path.join(dir, 'exited'));
    const q = new Uint8Array(1 + marker.length); q[0] = 0xdd; q.set(marker, 1);
    await client.read(q, { timeoutMs: 10_000 }).catch(() => null);
    fs.rmSync(dir, { recursive: true, force: true });
    const t0 = Date.now();
    while (c.isAlive(leader) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.isAlive(leader), false, 'the exited worker is marked down');
    assert.ok(fatal.some((e) => e instanceof PeerDownError && /exited on its own \(code 7\)/.test(e.message)), `fatal events: ${fatal.map(String).join('; ')}`);
    const next = await c.waitForLeader({ timeoutMs: 10_000 });
    assert.notEqual(next.leader, leader);
    const r = await client.propose(new Uint8Array([2]));
    assert.ok(r.index > 1);
    await c.restart(leader);
    assert.equal(c.isAlive(leader), true);
    await client.propose(new Uint8Array([3]));
  } finally {
    await c.stop();
  }
});

test('a proposal in flight on a worker that exits on its own rejects with reason unknown and the PeerDownError as cause', { timeout: 60_000 }, async () => {
  const c = await Cluster.start({ peers: 3, stateMachine: SM });
  try {
    const { leader } = await c.waitForLeader();
    const client = c.client();
    client.leader = leader;
    // The leader's worker exits while applying it, before it can answer.
    await assert.rejects(client.propose(new Uint8Array([0xdc, leader])),
      (e: unknown) => e instanceof ProposalError && e.reason === 'unknown' && e.cause instanceof PeerDownError && /exited on its own \(code 7\)/.test(e.message));
  } finally {
    await c.stop();
  }
});
