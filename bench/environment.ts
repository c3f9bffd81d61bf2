/** What a result depends on besides our code: the machine, Node, the commit, the load. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { Environment } from './schema.js';

export function environment(): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: os.platform(),
    arch: os.arch(),
    osRelease: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    memTotalBytes: os.totalmem(),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirty: gitDirty(),
    loadAvgAtStart: loadAvg(),
  };
}

export function loadAvg(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || null;
  } catch {
    return null;
  }
}

function gitDirty(): boolean | null {
  const s = git(['status', '--porcelain', '--untracked-files=no']);
  if (s === null) return git(['rev-parse', 'HEAD']) === null ? null : false;
  return s.length > 0;
}

const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs',
  0x6969: 'nfs', 0x65735546: 'fuse', 0x2fc12fc1: 'zfs', 0x5346544e: 'ntfs', 0x4d44: 'vfat',
};

/** The file system type under `dir` (by statfs magic), e.g. "ext4"; fdatasync on tmpfs is free. */
export function fsType(dir: string): string {
  try {
    const t = fs.statfsSync(dir).type;
    return FS_TYPES[t] ?? `0x${t.toString(16)}`;
  } catch {
    return 'unknown';
  }
}
