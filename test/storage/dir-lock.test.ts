/**
 * A FileStorage directory is locked while open: a second opener (this process or another) is
 * refused, naming the directory and the holder's pid; a lock left by a dead process is broken.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { threadId } from 'node:worker_threads';
import { DirectoryLockedError, LOCK_FILE, releaseLockOf } from '../../src/storage/dir-lock.js';
import { FileStorage, FileStorageOptions } from '../../src/storage/file-storage.js';
import { rmDir, tmpDir } from './helpers.js';

const opts = (dir: string): FileStorageOptions => ({ dir, clusterId: 'lock', peerId: 1, fsync: 'none' });
const FILE_STORAGE_URL = new URL('../../src/storage/file-storage.js', import.meta.url).href;

function holder(dir: string): { pid: number; thread: number } {
  return JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
}

test('dir lock: a second opener in this process is refused, naming the directory and the pid; close frees it', async () => {
  const dir = tmpDir();
  try {
    const a = await FileStorage.open(opts(dir));
    assert.equal(holder(dir).pid, process.pid);
    await assert.rejects(FileStorage.open(opts(dir)), (e: Error) => e instanceof DirectoryLockedError &&
      e.message.includes(dir) && e.message.includes(`pid ${process.pid}`) && /another FileStorage has it open/.test(e.message));
    a.save({ term: 1, votedFor: 1 }, null, null); // the refused opener harmed nothing
    await a.close();
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'close removes the lock');
    const b = await FileStorage.open(opts(dir));
    assert.deepEqual(b.load().hardState, { term: 1, votedFor: 1 });
    await b.close();
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith(LOCK_FILE)), [], 'no lock file or leftover candidate');
  } finally {
    rmDir(dir);
  }
});

test('dir lock: an opener that fails (corrupt meta) leaves no lock behind', async () => {
  const dir = tmpDir();
  try {
    await (await FileStorage.open(opts(dir))).close();
    fs.writeFileSync(path.join(dir, 'meta.json'), '{');
    await assert.rejects(FileStorage.open(opts(dir)), /not valid JSON/);
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  } finally {
    rmDir(dir);
  }
});

test('dir lock: another live process holding the directory is named; once it is killed its stale lock is broken', async () => {
  const dir = tmpDir();
  const child = spawn(process.execPath, ['--input-type=module', '-e',
    `const { FileStorage } = await import(${JSON.stringify(FILE_STORAGE_URL)});
     await FileStorage.open(${JSON.stringify(opts(dir))});
     console.log('open');
     setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = await once(child.stdout!, 'data');
    assert.equal(String(line).trim(), 'open');
    await assert.rejects(FileStorage.open(opts(dir)), (e: Error) => e instanceof DirectoryLockedError &&
      e.message.includes(dir) && e.message.includes(`process ${child.pid}`) && e.holder.pid === child.pid);
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(holder(dir).pid, child.pid, 'the dead process left its lock');
    const s = await FileStorage.open(opts(dir));
    assert.equal(holder(dir).pid, process.pid, 'the stale lock was broken and taken');
    await s.close();
  } finally {
    child.kill('SIGKILL');
    rmDir(dir);
  }
});

test('dir lock: a lock naming a reused pid (another start time) or holding garbage is stale', async () => {
  const dir = tmpDir();
  try {
    await (await FileStorage.open(opts(dir))).close();
    const lock = path.join(dir, LOCK_FILE);
    // pid 1 runs, but it is not the process that took this lock (that one started at another time)
    fs.writeFileSync(lock, JSON.stringify({ pid: 1, start: '1', thread: 0 }));
    const exited = spawnSync(process.execPath, ['-e', '']).pid!; // a pid that no longer runs
    let s = await FileStorage.open(opts(dir));
    await s.close();
    fs.writeFileSync(lock, JSON.stringify({ pid: exited, start: null, thread: 0 }));
    s = await FileStorage.open(opts(dir));
    await s.close();
    fs.writeFileSync(lock, 'not a lock');
    s = await FileStorage.open(opts(dir));
    assert.equal(holder(dir).pid, process.pid);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('dir lock: releaseLockOf frees only the lock of the named thread of this process', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir));
    releaseLockOf(dir, threadId + 1000);
    assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)), 'another thread\'s lock stays');
    releaseLockOf(dir, threadId); // as Cluster does for a worker it terminated
    const t = await FileStorage.open(opts(dir)); // the directory is free again
    await t.close();
    await s.close();
  } finally {
    rmDir(dir);
  }
});

