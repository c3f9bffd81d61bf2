/**
 * The crash test's check is not vacuous: cut every peer's write-ahead log back to its
 * segment header (what a power loss could leave under fsync 'none', where nothing was
 * synced) and the same verification that passes on an intact copy of the directories
 * reports every acknowledged command as lost.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { peerDir } from '../../src/cluster/cluster.js';
import { FRAME_BYTES, SEGMENT_HEADER_PAYLOAD } from '../../src/storage/wal-format.js';
import { PEERS, type ChildConfig } from './crash-child.js';
import { AckLog, loadAndKill, verify } from './crash-driver.js';

test('verification reports acknowledged commands lost when the WAL tails are gone, and passes on an intact copy', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-lost-tail-'));
  const intact = `${dir}-intact`;
  t.after(() => { fs.rmSync(dir, { recursive: true, force: true }); fs.rmSync(intact, { recursive: true, force: true }); });
  // One segment per peer (default size) and no snapshots: the whole history is in that segment.
  const cfg: ChildConfig = { dir, fsync: 'batch', clusterId: 'lost-tail', round: 1 };
  const acks = new AckLog();
  await loadAndKill(cfg, 30_000, acks, 500);
  assert.ok(acks.byIndex.size >= 500, `only ${acks.byIndex.size} commands acknowledged`);
  fs.cpSync(dir, intact, { recursive: true });

  for (let i = 0; i < PEERS; i++) {
    const segs = fs.readdirSync(peerDir(dir, i)).filter((n) => n.startsWith('wal-'));
    assert.equal(segs.length, 1, `peer ${i} has segments ${segs}`);
    fs.truncateSync(path.join(peerDir(dir, i), segs[0]), FRAME_BYTES + SEGMENT_HEADER_PAYLOAD);
  }
  const damaged = await verify({ ...cfg, round: 2 }, acks);
  assert.equal(damaged.error, undefined);
  assert.equal(damaged.ok, false);
  assert.equal(damaged.lostCount, acks.byIndex.size, 'every acknowledged command is reported lost');

  const whole = await verify({ ...cfg, dir: intact, round: 2 }, acks);
  assert.equal(whole.error, undefined);
  assert.ok(whole.ok, `intact copy: ${whole.lost.join('; ')}`);
  assert.equal(whole.checked, acks.byIndex.size);
});
