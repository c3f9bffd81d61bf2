/**
 * Power loss: FileStorage runs a seeded workload (appends, overwrites, hard states,
 * snapshots with compaction, small segments so that they rotate) under a recording fs layer
 * (power-loss-fs.ts). At crash points throughout the run, disk images are built in which
 * any subset of the writes, name changes and file sizes since the last sync were lost, in
 * any order, at 512-byte blocks (lost blocks old, zero or garbage). Each image must open
 * cleanly, hold a state the storage passed through (at a record boundary) that includes every
 * acknowledged save, take a new save and reopen with it. Damage to bytes a sync mark shows
 * synced must instead be refused with StorageCorruptionError.
 *
 * RAFT_FULL=1: more seeds and every crash point.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { EntryBatch } from '../../src/core/entry-batch.js';
import { makeBatch } from '../../src/core/entry-batch.js';
import type { HardState, Snapshot } from '../../src/core/types.js';
import { FileStorage, FileStorageOptions, FsyncPolicy, StorageCorruptionError } from '../../src/storage/file-storage.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { RecordType, SYNC_MARK_BYTES, parseSegmentName } from '../../src/storage/wal-format.js';
import { BLOCK, PowerLossRecorder } from './power-loss-fs.js';
import { normalize, rmDir, rng, tmpDir } from './helpers.js';

const FULL = process.env.RAFT_FULL === '1';
/** The images model the disk themselves: build them in memory-backed /dev/shm where there is one (their fsyncs cost nothing). */
const IMAGE_PARENT = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
const imageRoot = () => (IMAGE_PARENT ? fs.mkdtempSync(path.join(IMAGE_PARENT, 'raft-powerloss-')) : tmpDir('raft-powerloss'));

interface Save { hs: HardState | null; snap: Snapshot | null; entries: EntryBatch | null }

function opts(dir: string, fsync: FsyncPolicy): FileStorageOptions {
  return { dir, clusterId: 'pl', peerId: 3, fsync, segmentBytes: 2048 };
}

/** A seeded sequence of saves that a Raft peer could make (entries never leave a gap). */
function workload(seed: number, count: number): Save[] {
  const r = rng(seed);
  const out: Save[] = [];
  let term = 1, last = 0, snapIndex = 0;
  for (let k = 0; k < count; k++) {
    let hs: HardState | null = null;
    if (k === 0 || r() < 0.15) { if (r() < 0.6) term++; hs = { term, votedFor: r() < 0.5 ? -1 : Math.floor(r() * 3) }; }
    let snap: Snapshot | null = null;
    if (last > snapIndex + 3 && r() < 0.1) {
      snapIndex = snapIndex + 1 + Math.floor(r() * (last - snapIndex - 1));
      const data = new Uint8Array(20 + Math.floor(r() * 300)).map(() => (r() * 256) | 0);
      snap = { index: snapIndex, term, data };
    }
    // Mostly appends; sometimes an overwrite from an earlier index (a new leader's entries).
    const first = last > snapIndex && r() < 0.12 ? snapIndex + 1 + Math.floor(r() * (last - snapIndex)) : last + 1;
    const n = 1 + Math.floor(r() * 5);
    const entries = makeBatch(first, Array.from({ length: n }, () => ({ term, command: new Uint8Array(1 + Math.floor(r() * 400)).map(() => (r() * 256) | 0) })));
    last = first + n - 1;
    out.push({ hs, snap, entries });
  }
  return out;
}

const key = (m: MemoryStorage) => JSON.stringify(normalize(m.load()));

/**
 * The states a crash may leave, by save: before[k] is the state before save k (= after
 * save k-1); partial[k] those inside save k at record boundaries (FileStorage writes its
 * hard state, snapshot marker and entries in that order).
 */
function referenceStates(saves: Save[]): { before: string[]; partial: string[][] } {
  const m = new MemoryStorage();
  const before: string[] = [], partial: string[][] = [];
  for (const s of saves) {
    before.push(key(m));
    const p: string[] = [];
    if (s.hs) { m.save(s.hs, null, null); p.push(key(m)); }
    if (s.snap) { m.save(null, s.snap, null); p.push(key(m)); }
    m.save(null, null, s.entries);
    partial.push(p);
  }
  before.push(key(m));
  return { before, partial };
}

/** Runs the workload under the recorder; notes 'issued' before each save and 'acked' once it is durable. */
async function record(dir: string, policy: FsyncPolicy, saves: Save[]): Promise<PowerLossRecorder> {
  const rec = new PowerLossRecorder(dir);
  rec.install();
  try {
    const s = await FileStorage.open(opts(dir, policy));
    const pending: Promise<void>[] = [];
    for (let k = 0; k < saves.length; k++) {
      rec.note('issued', k);
      const r = s.save(saves[k].hs, saves[k].snap, saves[k].entries);
      if (r instanceof Promise) pending.push(r.then(() => rec.note('acked', k)));
      else if (policy === 'always') rec.note('acked', k);
      // batch: a few saves per sync group, and some syncs in flight while saves go on
      if (policy === 'batch' && k % 3 === 2) await new Promise((res) => setImmediate(res));
      if (policy === 'batch' && k % 7 === 6) await pending.at(-1);
    }
    await Promise.all(pending);
    await s.close();
  } finally {
    rec.uninstall();
  }
  return rec;
}

function lastSegmentFile(dir: string): string {
  const segs = fs.readdirSync(dir).filter((n) => parseSegmentName(n) !== null).sort();
  return path.join(dir, segs[segs.length - 1]);
}

async function checkCrashes(policy: FsyncPolicy, seed: number): Promise<{ images: number; torn: number }> {
  const saves = workload(seed, 70);
  const ref = referenceStates(saves);
  const root = imageRoot();
  let images = 0, torn = 0;
  try {
    const live = path.join(root, 'live');
    fs.mkdirSync(live);
    const rec = await record(live, policy, saves);
    const r = rng(seed * 7919 + 1);
    let issued = 0, acked = 0;
    const step = FULL ? 1 : 3;
    for (let n = 0; n <= rec.log.length; n++) {
      const op = rec.log[n - 1];
      if (op?.kind === 'note' && op.what === 'issued') issued = op.n + 1;
      if (op?.kind === 'note' && op.what === 'acked') acked = Math.max(acked, op.n + 1);
      if (n % step !== 0 && n !== rec.log.length) continue;
      // What may be found: a state at a record boundary of a save issued, none before the last acknowledged.
      const allowed = new Set<string>();
      for (let k = acked; k <= issued; k++) allowed.add(ref.before[k]);
      for (let k = acked; k < issued; k++) for (const p of ref.partial[k]) allowed.add(p);
      for (let v = 0; v < (FULL ? 4 : 2); v++) {
        const img = path.join(root, `img-${n}-${v}`);
        fs.mkdirSync(img);
        rec.crashImage(n, img, r);
        if (!fs.existsSync(path.join(img, 'meta.json'))) { rmDir(img); continue; } // the directory was never made durable: nothing was acknowledged
        const what = `${policy} seed ${seed}: crash after op ${n} of ${rec.log.length} (image ${v}; ${acked} saves acknowledged, ${issued} issued)`;
        let s: FileStorage;
        try {
          s = FileStorage.openSync(opts(img, 'always'));
        } catch (e) {
          assert.fail(`${what}: open failed: ${(e as Error).stack}`);
        }
        const got = s.load();
        const k = JSON.stringify(normalize(got));
        assert.ok(allowed.has(k), `${what}: recovered a state the storage never acknowledged nor passed through: ${k.slice(0, 300)}`);
        if (k !== ref.before[issued]) torn++;
        // The recovered store takes a new save and reopens with it.
        const model = new MemoryStorage();
        model.save(got.hardState, got.snapshot, got.entries);
        const next = model.load();
        const last = next.entries ? next.entries.firstIndex + next.entries.count - 1 : next.snapshot?.index ?? 0;
        const more = makeBatch(last + 1, [{ term: Math.max(1, got.hardState.term), command: new Uint8Array([1, 2, 3]) }]);
        s.save(null, null, more);
        model.save(null, null, more);
        await s.close();
        s = FileStorage.openSync(opts(img, 'always'));
        assert.equal(JSON.stringify(normalize(s.load())), key(model), `${what}: after recovery, a save and a reopen`);
        await s.close();
        rmDir(img);
        images++;
      }
    }
  } finally {
    rmDir(root);
  }
  return { images, torn };
}

for (const policy of ['always', 'batch'] as const) {
  test(`power loss (${policy}): every crash image opens with every acknowledged save and nothing never written`, async () => {
    let images = 0, torn = 0;
    for (const seed of FULL ? [1, 2, 3, 4, 5, 6] : [1, 2]) {
      const r = await checkCrashes(policy, seed);
      images += r.images;
      torn += r.torn;
    }
    assert.ok(images > 100, `${images} crash images checked`);
    assert.ok(torn > images / 10, `lost writes were exercised: ${torn} of ${images} images lost part of what was issued`);
  });
}

test('power loss: damage to bytes a sync mark shows synced is refused with StorageCorruptionError, naming file and offset', async () => {
  const root = imageRoot();
  try {
    const live = path.join(root, 'live');
    fs.mkdirSync(live);
    const rec = await record(live, 'batch', workload(9, 40));
    const r = rng(99);
    let refused = 0;
    for (let v = 0; v < 12; v++) {
      const img = path.join(root, `img-${v}`);
      fs.mkdirSync(img);
      rec.crashImage(rec.log.length, img, r, true); // everything landed, the clean close included
      const file = lastSegmentFile(img);
      const buf = fs.readFileSync(file);
      assert.equal(buf[buf.length - SYNC_MARK_BYTES + 8], RecordType.SyncMark, 'the clean close left a sync mark');
      const synced = buf.length - SYNC_MARK_BYTES;
      const block = Math.floor(r() * Math.ceil(synced / BLOCK));
      const from = block * BLOCK, to = Math.min(synced, from + BLOCK);
      if (v % 2 === 0) buf.fill(0, from, to);
      else for (let i = from; i < to; i++) buf[i] = (r() * 256) | 0;
      fs.writeFileSync(file, buf);
      assert.throws(() => FileStorage.openSync(opts(img, 'batch')), (e: Error) => {
        assert.ok(e instanceof StorageCorruptionError, e.stack);
        assert.equal(e.file, file);
        assert.ok(e.offset <= to, `offset ${e.offset} at or before the damage [${from}, ${to})`);
        return true;
      }, `damaged block [${from}, ${to}) of ${file}`);
      refused++;
      rmDir(img);
    }
    assert.equal(refused, 12);
  } finally {
    rmDir(root);
  }
});
