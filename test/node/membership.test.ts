/** A peer that joins with `joining: true` keeps the membership it was given across restarts (FileStorage). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Message } from '../../src/core/message.js';
import { simpleMembership } from '../../src/core/membership.js';
import { RaftNode, RaftNodeOptions } from '../../src/node/raft-node.js';
import { FileStorage } from '../../src/storage/file-storage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('a joining peer restarted from its FileStorage uses the membership in its log, then in its snapshot', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-membership-'));
  const nodes = new Map<number, RaftNode>();
  const transport = { send: (ms: Message[]) => { for (const m of ms) setImmediate(() => nodes.get(m.to)?.receive(m)); } };
  const common = { tickMs: 5, heartbeatMs: 10, electionTimeoutMs: 60, transport };
  let storage!: FileStorage;
  const joiner = async (): Promise<RaftNode> => {
    storage = await FileStorage.open({ dir, clusterId: 'membership', peerId: 4, fsync: 'none' });
    const opts: RaftNodeOptions = { id: 4, peers: [1, 2, 3], joining: true, seed: 99, storage, ...common };
    const n = await RaftNode.start(opts);
    nodes.set(4, n);
    return n;
  };
  try {
    for (const id of [1, 2, 3]) nodes.set(id, await RaftNode.start({ id, peers: [1, 2, 3], seed: id * 31, ...common }));
    let n4 = await joiner();
    assert.deepEqual(n4.core.membership, simpleMembership([1, 2, 3]), 'outside the configuration until added');
    await waitFor('a leader', () => [1, 2, 3].some((id) => nodes.get(id)!.getState().isLeader));
    const leader = () => [...nodes.values()].find((n) => n.getState().isLeader)!;
    assert.equal(leader().proposeConfChange({ addLearners: [4] }).isLeader, true);
    await waitFor('the learner to be added and committed', () => leader().core.commitIndex >= leader().core.membershipIndex && leader().core.membership.learners.includes(4));
    assert.equal(leader().proposeConfChange({ promoteLearners: [4] }).isLeader, true);
    await waitFor('peer 4 to vote, as peer 4 sees it', () => n4.core.membership.voters.includes(4) && n4.core.membership.outgoing.length === 0);

    await n4.stop();
    n4 = await joiner();
    assert.deepEqual(n4.core.membership, simpleMembership([1, 2, 3, 4]), 'restart: the configuration from the log');

    await waitFor('peer 4 to apply', () => n4.core.appliedIndex >= n4.core.membershipIndex);
    n4.snapshot(n4.core.appliedIndex, new Uint8Array([7]));
    await waitFor('the snapshot to be written', () => storage.stats().snapshotsWritten === 1);
    await n4.stop();
    n4 = await joiner();
    assert.ok(n4.core.snapshot?.membership, 'the snapshot came back with its membership');
    assert.deepEqual(n4.core.membership, simpleMembership([1, 2, 3, 4]), 'restart: the configuration from the snapshot');
    await waitFor('peer 4 to follow the leader again', () => n4.core.leaderId >= 1 && n4.core.leaderId <= 3);
  } finally {
    for (const n of nodes.values()) await n.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
