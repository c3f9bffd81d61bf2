import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../src/core/message.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A MemoryStorage whose writes, once `stalled`, never land (a hung disk). */
class StallingStorage extends MemoryStorage {
  stalled = false;
  override save(...args: Parameters<MemoryStorage['save']>): void | PromiseLike<void> {
    if (this.stalled) return new Promise<void>(() => {});
    return super.save(...args);
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

for (const bound of [undefined, 120]) {
  test(`a leader whose write never lands steps down and another peer takes over (maxLeaderWriteStallMs ${bound ?? 'default'})`, async () => {
    const ids = [1, 2, 3];
    const stores = new Map(ids.map((id) => [id, new StallingStorage()]));
    const nodes = new Map<number, RaftNode>();
    /** Peers whose inbound messages are lost. */
    const deaf = new Set<number>();
    const stalls: number[] = [];
    for (const id of ids) {
      nodes.set(id, await RaftNode.start({
        id, peers: ids, seed: id * 17, tickMs: 5, heartbeatMs: 10, electionTimeoutMs: 50, maxLeaderWriteStallMs: bound,
        // Check-quorum would depose the deaf leader below by itself: leave only the stall bound to do it.
        checkQuorum: false,
        storage: stores.get(id)!,
        transport: { send: (ms: Message[]) => { for (const m of ms) if (!deaf.has(m.to)) setImmediate(() => nodes.get(m.to)?.receive(m)); } },
        onLeaderStall: (ms) => stalls.push(ms),
      }));
    }
    try {
      await waitFor('a leader', () => [...nodes.values()].some((n) => n.core.isLeader));
      const leader = [...nodes.values()].find((n) => n.core.isLeader)!;
      stores.get(leader.id)!.stalled = true;
      // It hears nothing from the others, so only the stall bound can tell it to stop leading.
      deaf.add(leader.id);
      assert.equal(leader.propose(new Uint8Array([1])).isLeader, true, 'the proposal starts the write that hangs');
      const others = [...nodes.values()].filter((n) => n !== leader);
      await waitFor('another leader', () => others.some((n) => n.core.isLeader));
      await waitFor('the stalled leader to step down', () => !leader.core.isLeader);
      assert.equal(stalls.length, 1);
      assert.ok(stalls[0] >= (bound ?? 150), `stepped down after ${stalls[0]} ms`);
      assert.equal(leader.propose(new Uint8Array([2])).isLeader, false, 'it refuses proposals now');
    } finally {
      for (const n of nodes.values()) n.halt();
    }
  });
}
