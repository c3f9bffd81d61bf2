/**
 * A recording layer over node:fs for power-loss tests: while installed it passes every call
 * through and logs, for one directory, what reached the page cache (writes, truncations,
 * creates, renames, unlinks) and what was made durable (fsync/fdatasync of a file, fsync of
 * the directory; an async fdatasync covers what was written before it began, once it ends).
 *
 * crashImage(n, random) then builds, in a new directory, what a disk could hold after a power
 * cut just after the first n logged operations: every file as last synced, plus any subset
 * of its later writes in 512-byte blocks (the rest old, zero, or stale garbage; the file
 * size sometimes grown to cover blocks that never landed), and the names as of the last
 * directory sync plus any subset of the later name changes.
 *
 * FileStorage reaches fs through the module object (`fs.writeSync(...)`), so replacing its
 * properties here is seen there. Lock files are not recorded (a dead process holds no lock).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isLockName } from '../../src/storage/dir-lock.js';

export const BLOCK = 512;

type ContentOp = { kind: 'write'; pos: number; bytes: Uint8Array } | { kind: 'truncate'; len: number };

type LoggedOp =
  | { kind: 'content'; ino: number; op: ContentOp }
  | { kind: 'synced'; ino: number; through: number } // content ops [0, through) of ino are durable
  | { kind: 'link'; name: string; ino: number } // a new file
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'unlink'; name: string }
  | { kind: 'dirsync' }
  | { kind: 'note'; what: string; n: number }; // the test's own marks (a save issued, a save acknowledged)

interface Inode { ops: ContentOp[] }

type Patched = 'openSync' | 'closeSync' | 'writeSync' | 'ftruncateSync' | 'fsyncSync' | 'fdatasyncSync' | 'fdatasync' | 'renameSync' | 'rmSync';

export class PowerLossRecorder {
  readonly log: LoggedOp[] = [];
  private readonly inodes: Inode[] = [];
  private readonly names = new Map<string, number>();
  private readonly fds = new Map<number, number | 'dir'>();
  private saved: Partial<Record<Patched, unknown>> = {};

  constructor(readonly dir: string) {}

  /** The test's own event (e.g. save k acknowledged), in order with the file operations. */
  note(what: string, n: number): void {
    this.log.push({ kind: 'note', what, n });
  }

  install(): void {
    const f = fs as unknown as Record<Patched, (...a: unknown[]) => unknown>;
    for (const k of ['openSync', 'closeSync', 'writeSync', 'ftruncateSync', 'fsyncSync', 'fdatasyncSync', 'fdatasync', 'renameSync', 'rmSync'] as Patched[]) this.saved[k] = f[k];
    const orig = this.saved as Record<Patched, (...a: unknown[]) => unknown>;
    f.openSync = (p: unknown, flags: unknown, ...rest: unknown[]) => {
      const fd = orig.openSync(p, flags, ...rest) as number;
      this.onOpen(fd, String(p), String(flags ?? 'r'));
      return fd;
    };
    f.closeSync = (fd: unknown) => { this.fds.delete(fd as number); return orig.closeSync(fd); };
    f.writeSync = (fd: unknown, buf: unknown, off: unknown, len: unknown, pos: unknown) => {
      const n = orig.writeSync(fd, buf, off, len, pos) as number;
      const ino = this.fds.get(fd as number);
      if (typeof ino === 'number') {
        const b = buf as Uint8Array;
        this.content(ino, { kind: 'write', pos: pos as number, bytes: b.slice(off as number, (off as number) + n) });
      }
      return n;
    };
    f.ftruncateSync = (fd: unknown, len: unknown) => {
      const r = orig.ftruncateSync(fd, len);
      const ino = this.fds.get(fd as number);
      if (typeof ino === 'number') this.content(ino, { kind: 'truncate', len: (len as number) ?? 0 });
      return r;
    };
    const syncSync = (k: 'fsyncSync' | 'fdatasyncSync') => (fd: unknown) => {
      const r = orig[k](fd);
      this.onSynced(fd as number, this.marker(fd as number));
      return r;
    };
    f.fsyncSync = syncSync('fsyncSync');
    f.fdatasyncSync = syncSync('fdatasyncSync');
    f.fdatasync = (fd: unknown, cb: unknown) => {
      const through = this.marker(fd as number); // what was written before the sync began
      return orig.fdatasync(fd, (err: unknown) => {
        if (!err) this.onSynced(fd as number, through);
        (cb as (e: unknown) => void)(err);
      });
    };
    f.renameSync = (a: unknown, b: unknown) => {
      const r = orig.renameSync(a, b);
      const from = this.nameOf(String(a)), to = this.nameOf(String(b));
      if (from !== null && to !== null && this.names.has(from)) {
        this.names.set(to, this.names.get(from)!);
        this.names.delete(from);
        this.log.push({ kind: 'rename', from, to });
      }
      return r;
    };
    f.rmSync = (p: unknown, o: unknown) => {
      const r = orig.rmSync(p, o);
      const name = this.nameOf(String(p));
      if (name !== null && this.names.has(name)) {
        this.names.delete(name);
        this.log.push({ kind: 'unlink', name });
      }
      return r;
    };
  }

  uninstall(): void {
    Object.assign(fs, this.saved);
    this.saved = {};
  }

  /** The name of a path in the recorded directory, or null (elsewhere, or a lock file). */
  private nameOf(p: string): string | null {
    const abs = path.resolve(p);
    if (path.dirname(abs) !== this.dir) return null;
    const name = path.basename(abs);
    return isLockName(name) ? null : name;
  }

  private onOpen(fd: number, p: string, flags: string): void {
    if (path.resolve(p) === this.dir) { this.fds.set(fd, 'dir'); return; }
    const name = this.nameOf(p);
    if (name === null) return;
    let ino = this.names.get(name);
    if (ino === undefined) {
      if (!/[wa]/.test(flags)) return; // opened for reading a file from before the recorder: not expected here
      ino = this.inodes.push({ ops: [] }) - 1;
      this.names.set(name, ino);
      this.log.push({ kind: 'link', name, ino });
    } else if (flags.startsWith('w')) {
      this.content(ino, { kind: 'truncate', len: 0 });
    }
    this.fds.set(fd, ino);
  }

  private content(ino: number, op: ContentOp): void {
    this.inodes[ino].ops.push(op);
    this.log.push({ kind: 'content', ino, op });
  }

  private marker(fd: number): number {
    const ino = this.fds.get(fd);
    return typeof ino === 'number' ? this.inodes[ino].ops.length : -1;
  }

  private onSynced(fd: number, through: number): void {
    const ino = this.fds.get(fd);
    if (ino === 'dir') this.log.push({ kind: 'dirsync' });
    else if (typeof ino === 'number') this.log.push({ kind: 'synced', ino, through });
  }

  /**
   * Writes into `out` (an empty directory) what the disk could hold after a power cut just
   * after the first `n` logged operations. `all`: every operation landed (no loss).
   */
  crashImage(n: number, out: string, random: () => number, all = false): void {
    const inodes: Array<{ ops: ContentOp[]; durable: number }> = [];
    let durableNames = new Map<string, number>();
    const names = new Map<string, number>();
    let pendingNames: LoggedOp[] = [];
    for (let i = 0; i < n; i++) {
      const op = this.log[i];
      switch (op.kind) {
        case 'content': inodes[op.ino].ops.push(op.op); break;
        case 'synced': inodes[op.ino].durable = Math.max(inodes[op.ino].durable, op.through); break;
        case 'link': inodes[op.ino] = { ops: [], durable: 0 }; names.set(op.name, op.ino); pendingNames.push(op); break;
        case 'rename': names.set(op.to, names.get(op.from)!); names.delete(op.from); pendingNames.push(op); break;
        case 'unlink': names.delete(op.name); pendingNames.push(op); break;
        case 'dirsync': durableNames = new Map(names); pendingNames = []; break;
        case 'note': break;
      }
    }
    // Names: the durable ones, then any subset of the later changes, in order.
    const image = new Map(durableNames);
    for (const op of pendingNames) {
      if (!all && random() < 0.5) continue;
      if (op.kind === 'link') image.set(op.name, op.ino);
      else if (op.kind === 'rename') { const ino = image.get(op.from); if (ino !== undefined) { image.set(op.to, ino); image.delete(op.from); } }
      else if (op.kind === 'unlink') image.delete(op.name);
    }
    for (const [name, ino] of image) fs.writeFileSync(path.join(out, name), contentAfterCrash(inodes[ino], random, all));
  }
}

function place(buf: Uint8Array, len: number, at: number, bytes: Uint8Array): Uint8Array {
  let b: Uint8Array = buf;
  const end = at + bytes.byteLength;
  if (end > b.byteLength) { const g = new Uint8Array(Math.max(end, b.byteLength * 2)); g.set(b.subarray(0, len)); b = g; }
  b.set(bytes, at);
  return b;
}

/** A file's bytes after a crash: its durable operations, then each later one (each block of a write) landed or not. */
function contentAfterCrash(ino: { ops: ContentOp[]; durable: number }, random: () => number, all: boolean): Uint8Array {
  let buf: Uint8Array = new Uint8Array(4096);
  let len = 0;
  let fullLen = 0; // the size if every operation landed
  const apply = (op: ContentOp, landed: () => boolean, garbage: () => boolean) => {
    if (op.kind === 'truncate') {
      fullLen = op.len;
      if (landed()) { if (op.len < len) buf.fill(0, op.len, len); len = op.len; }
      return;
    }
    fullLen = Math.max(fullLen, op.pos + op.bytes.byteLength);
    for (let s = op.pos; s < op.pos + op.bytes.byteLength;) {
      const e = Math.min(op.pos + op.bytes.byteLength, (Math.floor(s / BLOCK) + 1) * BLOCK);
      const piece = op.bytes.subarray(s - op.pos, e - op.pos);
      if (landed()) { buf = place(buf, len, s, piece); len = Math.max(len, e); }
      else if (garbage()) { const g = new Uint8Array(piece.byteLength); for (let k = 0; k < g.length; k++) g[k] = (random() * 256) | 0; buf = place(buf, len, s, g); len = Math.max(len, e); }
      s = e;
    }
  };
  for (let k = 0; k < ino.ops.length; k++) {
    if (k < ino.durable || all) apply(ino.ops[k], () => true, () => false);
    else apply(ino.ops[k], () => random() < 0.5, () => random() < 0.2);
  }
  // The size may have reached the disk without the data: zeros up to the full size.
  if (!all && fullLen > len && random() < 0.25) {
    buf = place(buf, len, len, new Uint8Array(fullLen - len));
    len = fullLen;
  }
  return buf.slice(0, len);
}
