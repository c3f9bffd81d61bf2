/**
 * What RemoteSession writes into the log over TCP: CompactCommand frames (varint header), not
 * the 25-byte fixed Command header. Read back from a peer's WAL after it stopped.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { batchCommand } from '../../src/core/entry-batch.js';
import { COMMAND_HEADER_BYTES, FrameKind, decodeFrame } from '../../src/node/session-protocol.js';
import { identityTag } from '../../src/storage/wal-format.js';
import { readWal } from '../../src/storage/wal-reader.js';
import { ProcessCluster } from './peer-cluster.js';

test('RemoteSession: the log entries of its commands are compact frames, shorter than 25 bytes + payload', async () => {
  const c = await ProcessCluster.start({ size: 1, sessions: true });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 20_000 });
    const payloads = Array.from({ length: 5 }, (_, i) => Buffer.from(`remote-${i}`));
    for (const p of payloads) await session.propose(p, { timeoutMs: 20_000 });
    client.close();
    await c.kill(0, 'SIGTERM');
    const rec = readWal({ dir: path.join(c.dir, 'data-0'), identity: identityTag(c.clusterId, 0), repair: false });
    const e = rec.state.entries;
    assert.ok(e, 'the peer logged entries');
    const commands: Uint8Array[] = [];
    for (let k = 0; k < e.count; k++) {
      const entry = batchCommand(e, k);
      if (entry.byteLength > 1) commands.push(entry); // not a leader's empty no-op nor a 1-byte RegisterSession
    }
    assert.equal(commands.length, payloads.length, 'one log entry per command (no leader no-ops or registrations counted)');
    for (const [i, entry] of commands.entries()) {
      assert.equal(entry[0], FrameKind.CompactCommand, `entry ${i} is a CompactCommand`);
      assert.ok(entry.byteLength < COMMAND_HEADER_BYTES + payloads[i].byteLength, `entry ${i}: ${entry.byteLength} bytes for a ${payloads[i].byteLength}-byte payload`);
      const f = decodeFrame(entry);
      assert.deepEqual([f.clientId, f.seq, Buffer.from(f.payload).toString()], [session.id, i + 1, `remote-${i}`]);
    }
  } finally {
    client.close();
    await c.stop();
  }
});
