import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../storage/wal-reader.js';

/**
 * Which peers a cluster on file storage has, kept in `<dir>/cluster.json` next to the peers'
 * directories: the voters it was created with (every peer's initial configuration), the peers
 * addPeer() added (they start as joining peers), and the peers removePeer() removed (not
 * started again). The configuration itself is in each peer's log and snapshot; this record
 * only says which workers to start, and how, when a cluster is started again on the directory.
 */
export interface Roster {
  /** Ids of the voters the cluster was created with: 0..n-1. */
  initial: number[];
  /** Ids given by addPeer(), in order. */
  added: number[];
  /** Ids whose removal committed. */
  removed: number[];
}

const ROSTER_FILE = 'cluster.json';
const ROSTER_FORMAT = 'raft-threads-cluster-roster';

export function initialRoster(peers: number): Roster {
  return { initial: Array.from({ length: peers }, (_, i) => i), added: [], removed: [] };
}

/** Peer slots the roster has used (ids are never reused): one past the highest id. */
export function rosterSlots(r: Roster): number {
  return r.initial.length + r.added.length;
}

/** Ids of the peers to run: every id given, less the removed ones. */
export function rosterMembers(r: Roster): number[] {
  return [...r.initial, ...r.added].filter((id) => !r.removed.includes(id));
}

/** The roster recorded in `dir`, or null if none is (a new cluster, or one that never changed). */
export function readRoster(dir: string): Roster | null {
  const file = path.join(dir, ROSTER_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // no record: a bad path is the peers' storage to report
    throw new Error(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let r: { format?: unknown; initial?: unknown; added?: unknown; removed?: unknown };
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
  const ids = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
  if (r.format !== ROSTER_FORMAT || !ids(r.initial) || !ids(r.added) || !ids(r.removed) || r.initial.length === 0) {
    throw new Error(`${file} is not a ${ROSTER_FORMAT} file`);
  }
  return { initial: r.initial, added: r.added, removed: r.removed };
}

/** Replaces the roster in `dir` atomically and durably (temporary file, fsync, rename, fsync of the directory). */
export function writeRoster(dir: string, r: Roster): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, ROSTER_FILE);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify({ format: ROSTER_FORMAT, ...r }, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}
