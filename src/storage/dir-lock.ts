/**
 * An exclusive lock on a FileStorage directory: the file `lock`, created atomically (written
 * under a name of its own, then hard-linked into place, which fails if it exists) and naming
 * its holder: process id, the process's start time (Linux, to tell a reused pid) and thread.
 *
 * A lock whose process is gone (dead, or its pid reused by another process) is stale and is
 * broken by the next opener. A lock held by this same process cannot be judged that way (a
 * worker thread terminated without closing its storage leaves one behind); whoever
 * terminated that thread releases it with releaseLockOf (Cluster does, after a crash).
 */
import fs from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

export const LOCK_FILE = 'lock';

/** The lock file and the names used while taking or breaking it. */
export function isLockName(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`);
}

export interface LockHolder {
  pid: number;
  /** Start time of the process (jiffies since boot, from /proc), null where unknown. */
  start: string | null;
  thread: number;
}

/** Another holder has the directory. */
export class DirectoryLockedError extends Error {
  constructor(readonly dir: string, readonly holder: LockHolder) {
    const who = holder.pid === process.pid ? `this process (pid ${holder.pid}, thread ${holder.thread})` : `process ${holder.pid}`;
    super(`storage directory ${dir} is locked by ${who}: another FileStorage has it open. Stop that one first; ` +
      `if no such process runs, remove ${path.join(dir, LOCK_FILE)}`);
    this.name = 'DirectoryLockedError';
  }
}

function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null; // field 22, starttime
  } catch {
    return null;
  }
}

function processAlive(h: LockHolder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: gone
  }
  const start = processStart(h.pid);
  return h.start === null || start === null || start === h.start; // another start time: the pid was reused
}

function readHolder(file: string): { text: string; holder: LockHolder | null } | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    if (Number.isSafeInteger(h.pid) && h.pid > 0 && Number.isSafeInteger(h.thread)) return { text, holder: h };
  } catch { /* not written by us */ }
  return { text, holder: null };
}

let serial = 0;
function uniqueName(dir: string, what: string): string {
  return path.join(dir, `${LOCK_FILE}.${what}-${process.pid}-${threadId}-${++serial}`);
}

export class DirectoryLock {
  private released = false;

  private constructor(readonly dir: string, readonly file: string) {}

  /** Takes the lock on `dir` (which must exist), breaking a stale one; throws DirectoryLockedError if it is held. */
  static acquire(dir: string): DirectoryLock {
    const file = path.join(dir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, start: processStart(process.pid), thread: threadId };
    const mine = uniqueName(dir, 'new');
    try {
      fs.writeFileSync(mine, JSON.stringify(me) + '\n', { flag: 'wx' });
    } catch (err) {
      fs.rmSync(mine, { force: true });
      const e = err as NodeJS.ErrnoException;
      throw new Error(`storage directory ${dir} is not writable (${e.code ? `${e.code}: ` : ''}${e.message})`);
    }
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          fs.linkSync(mine, file);
          return new DirectoryLock(dir, file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot lock storage directory ${dir} (${(err as Error).message})`);
        }
        const seen = readHolder(file);
        if (seen === null) continue; // released meanwhile
        const h = seen.holder;
        if (h && (h.pid === process.pid || processAlive(h))) throw new DirectoryLockedError(dir, h);
        if (!h && attempt === 0) continue; // unreadable: perhaps half-written by a breaker; look once more
        if (attempt > 5) throw new Error(`cannot lock storage directory ${dir}: its lock keeps changing`);
        breakStale(dir, file, seen.text);
      }
    } finally {
      fs.rmSync(mine, { force: true });
    }
  }

  /** Best effort: a lock that cannot be removed is left for the next opener to judge. */
  release(): void {
    if (this.released) return;
    this.released = true;
    releaseLockOf(this.dir, threadId);
  }
}

/** Moves a stale lock aside; if what it moved is not that stale lock (a new holder got in first), puts it back. */
function breakStale(dir: string, file: string, staleText: string): void {
  const aside = uniqueName(dir, 'stale');
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if (readHolder(aside)?.text !== staleText) {
      try { fs.linkSync(aside, file); } catch { /* another holder took it meanwhile */ }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/**
 * Removes the lock on `dir` if thread `thread` of this process holds it: for the owner of a
 * worker thread that was terminated with its storage open (its lock is otherwise never stale).
 */
export function releaseLockOf(dir: string, thread: number): void {
  const file = path.join(dir, LOCK_FILE);
  try {
    const seen = readHolder(file);
    if (seen?.holder && seen.holder.pid === process.pid && seen.holder.thread === thread) fs.rmSync(file, { force: true });
  } catch { /* unreadable or not removable: left for the next opener to judge */ }
}
