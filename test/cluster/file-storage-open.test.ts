/**
 * Cluster.start and restart on file storage refuse a directory they must not use (another
 * cluster's, another peer's, one they cannot write) with an error naming the peer and the
 * reason, instead of hanging or running on the wrong state; a corrupt WAL reaches the caller as a
 * StorageCorruptionError it can test for and act on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Cluster, ClusterOptions, StorageCorruptionError } from '../../src/index.js';
import { cmd } from './harness.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-open-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function options(dir: string, clusterId = 'alpha'): ClusterOptions {
  return { peers: 3, storage: { dir, fsync: 'batch', clusterId } };
}

/** Starts a cluster on `dir`, commits one command on every peer, stops it: the directories now hold state. */
async function populate(dir: string, clusterId = 'alpha'): Promise<void> {
  const c = await Cluster.start(options(dir, clusterId));
  try {
    const applied = new Set<number>();
    const all = new Promise<void>((resolve) => c.onApply((e) => { applied.add(e.peer); if (applied.size === 3) resolve(); }));
    for (let done = false; !done;) {
      for (let i = 0; i < 3 && !done; i++) done = (await c.peer(i).start(cmd(1))).isLeader;
      if (!done) await new Promise((r) => setTimeout(r, 50));
    }
    await all;
  } finally {
    await c.stop();
  }
}

function canWrite(dir: string): boolean {
  const probe = path.join(dir, '.probe');
  try { fs.writeFileSync(probe, 'x'); fs.rmSync(probe); return true; } catch { return false; }
}

/**
 * Makes `dir` unwritable: chmod for ordinary users; root ignores modes, so there chattr +i
 * (ext4 and friends). Returns the undo, or null when neither works on this machine.
 */
function makeUnwritable(dir: string): (() => void) | null {
  fs.chmodSync(dir, 0o500);
  if (!canWrite(dir)) return () => fs.chmodSync(dir, 0o700);
  fs.chmodSync(dir, 0o700);
  try { execFileSync('chattr', ['+i', dir], { stdio: 'ignore' }); } catch { return null; }
  if (!canWrite(dir)) return () => execFileSync('chattr', ['-i', dir]);
  execFileSync('chattr', ['-i', dir]);
  return null;
}

test('a directory of another cluster is refused at start', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir, 'alpha');
  await assert.rejects(Cluster.start(options(dir, 'beta')),
    /peer \d failed to start: storage directory .*peer-\d belongs to cluster "alpha" peer \d; refusing to open it as cluster "beta"/);
  await populate(dir, 'alpha'); // and nothing was harmed
});

test('a directory of another peer is refused at start', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir);
  fs.renameSync(path.join(dir, 'peer-0'), path.join(dir, 'swap'));
  fs.renameSync(path.join(dir, 'peer-1'), path.join(dir, 'peer-0'));
  fs.renameSync(path.join(dir, 'swap'), path.join(dir, 'peer-1'));
  await assert.rejects(Cluster.start(options(dir)),
    /peer ([01]) failed to start: storage directory .*peer-\1 belongs to cluster "alpha" peer [01]; refusing to open it as cluster "alpha" peer \1/);
});

test('restart of a peer whose directory holds another peer fails clearly; the peer stays down until fixed', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir);
  const c = await Cluster.start(options(dir));
  try {
    await c.crash(2);
    const meta = path.join(dir, 'peer-2', 'meta.json');
    const own = fs.readFileSync(meta);
    fs.copyFileSync(path.join(dir, 'peer-1', 'meta.json'), meta);
    await assert.rejects(c.restart(2), /peer 2 failed to start: storage directory .*peer-2 belongs to cluster "alpha" peer 1/);
    assert.equal(c.isAlive(2), false);
    fs.writeFileSync(meta, own);
    await c.restart(2);
    assert.equal(c.isAlive(2), true);
    assert.ok((await c.peer(2).stats()).term >= 1, 'the restarted peer has its persisted term');
  } finally {
    await c.stop();
  }
});

test('after a restart that failed on a bad directory, the client proposes to the other peers instead of waiting on the one that never started', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir);
  const c = await Cluster.start(options(dir));
  try {
    const { leader } = await c.waitForLeader();
    const client = c.client();
    client.leader = leader;
    await client.propose(cmd(2));
    await c.crash(leader);
    const other = (leader + 1) % 3;
    fs.copyFileSync(path.join(dir, `peer-${other}`, 'meta.json'), path.join(dir, `peer-${leader}`, 'meta.json'));
    await assert.rejects(c.restart(leader), /failed to start: storage directory .* belongs to cluster "alpha" peer/);
    const r = await client.propose(cmd(3), { timeoutMs: 20_000 });
    assert.ok(r.index > 0);
    assert.equal(client.pending, 0);
  } finally {
    await c.stop();
  }
});

test('a storage path that cannot be a directory is reported at start', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'not a directory');
  await assert.rejects(Cluster.start(options(file)), /peer \d failed to start: cannot create storage directory .*a-file.peer-\d \((ENOTDIR|EEXIST)/);
});

test('an unwritable storage directory is reported at start', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir);
  const undo = makeUnwritable(path.join(dir, 'peer-1'));
  if (!undo) { t.skip('cannot make a directory unwritable on this machine (root without chattr)'); return; }
  try {
    await assert.rejects(Cluster.start(options(dir)), /peer 1 failed to start: storage directory .*peer-1 is not writable \((EACCES|EPERM)/);
  } finally {
    undo();
  }
  await populate(dir); // writable again: starts
});

test('an unwritable parent directory is reported at start', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const undo = makeUnwritable(dir);
  if (!undo) { t.skip('cannot make a directory unwritable on this machine (root without chattr)'); return; }
  try {
    await assert.rejects(Cluster.start(options(dir)), /peer \d failed to start: cannot create storage directory .*peer-\d \((EACCES|EPERM)/);
  } finally {
    undo();
  }
});

test('a cluster restarted with another peer count on the same directories is refused; the original one still starts', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir);
  // One peer alone would elect itself over a log written by a majority of three: refused.
  await assert.rejects(Cluster.start({ ...options(dir), peers: 1 }),
    /peer 0 failed to start: storage directory .*peer-0 belongs to a cluster of 3 peers \[0, 1, 2\]; refusing to open it for a cluster of 1 peer \[0\]/);
  await assert.rejects(Cluster.start({ ...options(dir), peers: 5 }),
    /peer [012] failed to start: storage directory .*peer-[012] belongs to a cluster of 3 peers \[0, 1, 2\]; refusing to open it for a cluster of 5 peers \[0, 1, 2, 3, 4\]/);
  await populate(dir); // the three-peer cluster is unharmed
});

test('a corrupt WAL is a StorageCorruptionError on the main thread, with file and offset; the advised recovery works', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await populate(dir);
  const segment = path.join(dir, 'peer-1', 'wal-0000000000000001.log');
  const bytes = fs.readFileSync(segment);
  bytes[16 + 20] ^= 0xff; // inside the segment header's payload: its checksum fails, and records follow
  fs.writeFileSync(segment, bytes);
  const err = await Cluster.start(options(dir)).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof StorageCorruptionError, `got ${String(err)}`);
  assert.equal(err.file, segment);
  assert.equal(err.offset, 0);
  assert.equal(err.peer, 1);
  assert.equal(err.dir, path.join(dir, 'peer-1'));
  assert.match(err.message, /^peer 1 failed to start: corrupt Raft storage: .*wal-0000000000000001\.log at offset 0: record payload checksum mismatch/);
  assert.match(err.message, /majority of the other peers are intact: remove this peer's directory .*peer-1 and start the peer again/);

  // As the message says: remove the directory; the peer catches up from the other two.
  fs.rmSync(err.dir, { recursive: true });
  const c = await Cluster.start(options(dir));
  try {
    const caughtUp = new Promise<void>((resolve) => c.onApply((e) => {
      if (e.peer === 1 && e.type === 'command' && Buffer.from(e.command).equals(Buffer.from(cmd(1)))) resolve();
    }));
    await caughtUp;
  } finally {
    await c.stop();
  }
});

test('a second cluster on directories a running one holds is refused (locked); a crashed peer\'s lock is freed for its restart', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const c = await Cluster.start(options(dir));
  try {
    await assert.rejects(Cluster.start(options(dir)),
      new RegExp(`peer \\d failed to start: storage directory .*peer-\\d is locked by this process \\(pid ${process.pid}, thread \\d+\\)`));
    await c.crash(1); // the worker never closed its storage: Cluster frees the lock
    await c.restart(1);
    assert.equal(c.isAlive(1), true);
  } finally {
    await c.stop();
  }
  await populate(dir); // stop freed every lock
});
