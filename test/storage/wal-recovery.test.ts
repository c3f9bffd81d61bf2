/**
 * Recovery from damaged files: torn tails are cut at every byte offset, corruption anywhere
 * else is refused with the file and offset in the message, and nothing is skipped.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FileStorage, FileStorageOptions, StorageCorruptionError } from '../../src/storage/file-storage.js';
import { FRAME_BYTES, RecordType, SNAPSHOT_MARKER_PAYLOAD, SYNC_MARK_BYTES, segmentName, snapshotName, writeFrame } from '../../src/storage/wal-format.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { assertMatches, batch, bytes, copyOf, lastIndexOf, rmDir, tmpDir } from './helpers.js';

function opts(dir: string, extra: Partial<FileStorageOptions> = {}): FileStorageOptions {
  return { dir, clusterId: 'c', peerId: 7, fsync: 'always', ...extra };
}

/** Offsets of the records of a segment file. */
function recordOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  let off = 0;
  while (off + FRAME_BYTES <= buf.length) {
    out.push(off);
    off += FRAME_BYTES + buf.readUInt32LE(off);
  }
  assert.equal(off, buf.length, 'the segment ends at a record boundary');
  return out;
}

function lastSegment(dir: string): string {
  const segs = fs.readdirSync(dir).filter((n) => n.startsWith('wal-')).sort();
  return path.join(dir, segs[segs.length - 1]);
}

function copyDir(from: string, to: string): void {
  rmDir(to);
  fs.cpSync(from, to, { recursive: true });
}

function flip(file: string, at: number): void {
  const buf = fs.readFileSync(file);
  buf[at] ^= 0x5a;
  fs.writeFileSync(file, buf);
}

async function openExpectCorrupt(dir: string, file: string, offset: number, what: string): Promise<void> {
  const before = fs.readFileSync(file);
  await assert.rejects(FileStorage.open(opts(dir)), (e: Error) => {
    assert.ok(e instanceof StorageCorruptionError, `${what}: ${e.stack}`);
    assert.ok(e.message.includes(file), `${what}: message names the file: ${e.message}`);
    assert.ok(e.message.includes(`offset ${offset}`), `${what}: message names offset ${offset}: ${e.message}`);
    assert.equal(e.file, file);
    assert.equal(e.offset, offset);
    return true;
  });
  assert.deepEqual(fs.readFileSync(file), before, `${what}: a refused open changes nothing`);
}

/**
 * Builds a store; returns the model before and after the last save and the segment bounds of
 * that save: [start, markEnd) its sync mark, [markEnd, hsEnd) its hard state, [hsEnd, end)
 * its entries. The clean close then adds a closing sync mark at `end`.
 */
async function buildStore(dir: string, segmentBytes?: number): Promise<{ before: MemoryStorage; mid: MemoryStorage; after: MemoryStorage; start: number; markEnd: number; hsEnd: number; end: number; file: string }> {
  const s = await FileStorage.open(opts(dir, { segmentBytes }));
  const m = new MemoryStorage();
  const save = (...a: Parameters<MemoryStorage['save']>) => { s.save(...a); m.save(...a); };
  save({ term: 1, votedFor: 7 }, null, batch(1, [1, 1]));
  save({ term: 2, votedFor: -1 }, null, batch(3, [2, 2, 2]));
  save(null, null, batch(4, [2, 2]));
  const before = copyOf(m);
  const file = path.join(dir, segmentName(s.segmentSeqs().at(-1)!));
  const start = fs.statSync(file).size;
  save({ term: 3, votedFor: 1 }, null, batch(6, [3, 3, 3], 'last'));
  const mid = copyOf(before);
  mid.save({ term: 3, votedFor: 1 }, null, null);
  const after = copyOf(m);
  const end = fs.statSync(file).size;
  assert.equal(file, lastSegment(dir));
  await s.close();
  const buf = fs.readFileSync(file);
  assert.equal(buf[start + 8], RecordType.SyncMark, 'a save after a sync begins with a sync mark');
  assert.equal(buf[end + 8], RecordType.SyncMark, 'a clean close ends with a sync mark');
  const markEnd = start + SYNC_MARK_BYTES;
  return { before, mid, after, start, markEnd, hsEnd: markEnd + FRAME_BYTES + 12, end, file };
}

test('recovery: a torn tail is cut at every byte offset of the last save', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const b = await buildStore(base);
    for (let cut = b.start; cut < b.end; cut++) {
      copyDir(base, work);
      const file = path.join(work, path.basename(b.file));
      fs.truncateSync(file, cut);
      let s = await FileStorage.open(opts(work));
      const expect = cut < b.hsEnd ? b.before : b.mid;
      assertMatches(s.load(), expect, `cut at ${cut}`);
      assert.equal(fs.statSync(file).size, cut < b.markEnd ? b.start : cut < b.hsEnd ? b.markEnd : b.hsEnd, `cut at ${cut}: the file is trimmed to the last whole record`);
      // the repaired store takes appends and reopens
      const m = copyOf(expect);
      s.save({ term: 4, votedFor: 2 }, null, batch(lastIndexOf(m) + 1, [4]));
      m.save({ term: 4, votedFor: 2 }, null, batch(lastIndexOf(m) + 1, [4]));
      await s.close();
      s = await FileStorage.open(opts(work));
      assertMatches(s.load(), m, `cut at ${cut}, then append and reopen`);
      await s.close();
    }
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a last record failing its checksum at the very end is cut (every payload byte)', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const b = await buildStore(base);
    const last = recordOffsets(b.file).at(-2)!; // the closing sync mark is the last
    assert.equal(last, b.hsEnd);
    for (let at = last + FRAME_BYTES; at < b.end; at++) {
      copyDir(base, work);
      const file = path.join(work, path.basename(b.file));
      fs.truncateSync(file, b.end); // a crash before the clean close
      flip(file, at);
      const s = await FileStorage.open(opts(work));
      assertMatches(s.load(), b.mid, `flipped payload byte ${at} of the last record`);
      await s.close();
    }
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a zero-filled tail is cut', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const b = await buildStore(base);
    // the file was extended but never filled
    copyDir(base, work);
    let file = path.join(work, path.basename(b.file));
    fs.appendFileSync(file, new Uint8Array(4096));
    let s = await FileStorage.open(opts(work));
    assertMatches(s.load(), b.after, 'zeros after the last record');
    await s.close();
    assert.equal(fs.statSync(file).size, b.end + SYNC_MARK_BYTES, 'cut back to the closing sync mark, and no new mark');
    // the last record's bytes never reached the disk
    copyDir(base, work);
    file = path.join(work, path.basename(b.file));
    const buf = fs.readFileSync(file);
    buf.fill(0, b.hsEnd);
    fs.writeFileSync(file, buf);
    s = await FileStorage.open(opts(work));
    assertMatches(s.load(), b.mid, 'last record zeroed');
    await s.close();
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a torn new segment (cut at every offset, header included) falls back to the one before', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const s0 = await FileStorage.open(opts(base, { segmentBytes: 1024 }));
    const m = new MemoryStorage();
    let i = 1;
    while (s0.segmentSeqs().length < 2) {
      const before = copyOf(m);
      s0.save({ term: 1, votedFor: 7 }, null, batch(i, [1]));
      m.save({ term: 1, votedFor: 7 }, null, batch(i, [1]));
      i++;
      if (s0.segmentSeqs().length === 2) {
        await s0.close();
        const seg2 = path.join(base, segmentName(2));
        const size = fs.statSync(seg2).size;
        const headerEnd = recordOffsets(seg2)[1];
        const saveEnd = recordOffsets(seg2).at(-1)!; // then the closing sync mark
        assert.equal(fs.readFileSync(seg2)[saveEnd + 8], RecordType.SyncMark);
        for (let cut = 0; cut < size; cut++) {
          copyDir(base, work);
          fs.truncateSync(path.join(work, segmentName(2)), cut);
          let s = await FileStorage.open(opts(work, { segmentBytes: 1024, fsync: 'none' }));
          const expect = cut < headerEnd + FRAME_BYTES + 12 ? before : cut < saveEnd ? (() => { const x = copyOf(before); x.save({ term: 1, votedFor: 7 }, null, null); return x; })() : m;
          assertMatches(s.load(), expect, `segment 2 cut at ${cut}`);
          assert.equal(fs.existsSync(path.join(work, segmentName(2))), cut >= headerEnd, `cut at ${cut}: a header-less segment is removed`);
          const after = copyOf(expect);
          for (let k = 0; k < 30; k++) {
            const e = batch(lastIndexOf(after) + 1, [1], 'again');
            s.save(null, null, e);
            after.save(null, null, e);
          }
          await s.close();
          s = await FileStorage.open(opts(work, { segmentBytes: 1024, fsync: 'none' }));
          assertMatches(s.load(), after, `segment 2 cut at ${cut}, then appends and reopen`);
          await s.close();
        }
      }
    }
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a flipped byte in a synced record is refused with file and offset (every segment, and the last one up to its closing sync mark)', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const s = await FileStorage.open(opts(base, { segmentBytes: 1024 }));
    for (let i = 1; i <= 60; i++) s.save(i % 7 === 0 ? { term: 1, votedFor: i % 3 } : null, null, batch(i, [1]));
    const seqs = s.segmentSeqs();
    await s.close();
    assert.ok(seqs.length >= 3);
    const first = path.join(base, segmentName(seqs[0]));
    const lastFile = path.join(base, segmentName(seqs.at(-1)!));
    const firstRecs = recordOffsets(first);
    const lastRecs = recordOffsets(lastFile);
    assert.ok(lastRecs.length >= 3, 'the last segment has records in the middle');
    const cases: Array<{ seg: string; rec: number; what: string }> = [
      { seg: first, rec: 0, what: 'segment header of a non-last segment' },
      { seg: first, rec: Math.floor(firstRecs.length / 2), what: 'middle record of a non-last segment' },
      { seg: first, rec: firstRecs.length - 1, what: 'last record of a non-last segment' },
      { seg: lastFile, rec: 1, what: 'middle record of the last segment' },
      { seg: lastFile, rec: lastRecs.length - 2, what: 'record before the last one' },
    ];
    for (const c of cases) {
      const recs = recordOffsets(c.seg);
      const off = recs[c.rec];
      const end = c.rec + 1 < recs.length ? recs[c.rec + 1] : fs.statSync(c.seg).size;
      for (let at = off; at < end; at++) {
        copyDir(base, work);
        const file = path.join(work, path.basename(c.seg));
        flip(file, at);
        await openExpectCorrupt(work, file, off, `${c.what}, byte ${at}`);
      }
    }
    // The very last record is the closing sync mark: damage to it takes nothing that was
    // acknowledged, so it is cut and everything before it opens.
    const lastOff = lastRecs.at(-1)!;
    assert.equal(fs.readFileSync(lastFile)[lastOff + 8], RecordType.SyncMark);
    const want = await FileStorage.open(opts(base));
    const all = want.load();
    await want.close();
    for (const at of [lastOff, lastOff + 4, lastOff + 8, lastOff + 12, lastOff + FRAME_BYTES + 3]) {
      copyDir(base, work);
      const file = path.join(work, path.basename(lastFile));
      flip(file, at);
      const s2 = await FileStorage.open(opts(work));
      assert.deepEqual(s2.load(), all, `byte ${at} of the closing sync mark flipped`);
      await s2.close();
    }
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a truncated non-last segment and a missing segment are refused', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const s = await FileStorage.open(opts(base, { segmentBytes: 1024 }));
    for (let i = 1; i <= 60; i++) s.save(null, null, batch(i, [1]));
    const seqs = s.segmentSeqs();
    await s.close();
    assert.ok(seqs.length >= 3);
    const first = path.join(base, segmentName(seqs[0]));
    const recs = recordOffsets(first);
    for (const cut of [recs.at(-1)! + 3, recs.at(-1)! + FRAME_BYTES + 1, fs.statSync(first).size - 1]) {
      copyDir(base, work);
      const file = path.join(work, path.basename(first));
      fs.truncateSync(file, cut);
      await openExpectCorrupt(work, file, recs.at(-1)!, `non-last segment cut at ${cut}`);
    }
    copyDir(base, work);
    fs.rmSync(path.join(work, segmentName(seqs[1])));
    await assert.rejects(FileStorage.open(opts(work)), (e: Error) => e instanceof StorageCorruptionError && e.message.includes(segmentName(seqs[1])) && /missing/.test(e.message));
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a damaged or missing snapshot file is refused, naming it; stray files are removed', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const s = await FileStorage.open(opts(base));
    const m = new MemoryStorage();
    s.save({ term: 2, votedFor: 7 }, null, batch(1, [1, 2, 2]));
    m.save({ term: 2, votedFor: 7 }, null, batch(1, [1, 2, 2]));
    s.save(null, { index: 2, term: 2, data: bytes('snapshot-data-'.repeat(20)) }, null);
    m.save(null, { index: 2, term: 2, data: bytes('snapshot-data-'.repeat(20)) }, null);
    await s.close();
    const name = snapshotName(2, 2);

    for (const at of [0, 12, 39, 40, 100]) {
      copyDir(base, work);
      flip(path.join(work, name), at);
      await assert.rejects(FileStorage.open(opts(work)), (e: Error) => e instanceof StorageCorruptionError && e.message.includes(path.join(work, name)));
    }
    copyDir(base, work);
    fs.rmSync(path.join(work, name));
    await assert.rejects(FileStorage.open(opts(work)), (e: Error) => e instanceof StorageCorruptionError && e.message.includes(name) && /ENOENT/.test(e.message));

    // an orphan snapshot (crash before its marker) and half-written temporaries are removed
    copyDir(base, work);
    fs.writeFileSync(path.join(work, snapshotName(3, 2)), 'orphan');
    fs.writeFileSync(path.join(work, `${snapshotName(4, 2)}.tmp`), 'half');
    const s2 = await FileStorage.open(opts(work));
    assertMatches(s2.load(), m);
    await s2.close();
    assert.deepEqual(fs.readdirSync(work).sort(), ['meta.json', name, segmentName(1)].sort());
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('recovery: a brand-new store whose first segment header is torn opens empty', async () => {
  const base = tmpDir(), work = tmpDir();
  try {
    const s0 = await FileStorage.open(opts(base));
    await s0.close();
    const seg1 = path.join(base, segmentName(1));
    const size = fs.statSync(seg1).size;
    for (let cut = 0; cut < size; cut++) {
      copyDir(base, work);
      fs.truncateSync(path.join(work, segmentName(1)), cut);
      let s = await FileStorage.open(opts(work));
      assertMatches(s.load(), new MemoryStorage(), `segment 1 cut at ${cut}`);
      s.save({ term: 1, votedFor: 7 }, null, batch(1, [1]));
      await s.close();
      s = await FileStorage.open(opts(work));
      const m = new MemoryStorage();
      m.save({ term: 1, votedFor: 7 }, null, batch(1, [1]));
      assertMatches(s.load(), m, `segment 1 cut at ${cut}, then a save`);
      await s.close();
    }
  } finally {
    rmDir(base); rmDir(work);
  }
});

test('a snapshot marker written before the core decided truncation (retained 0) still drops every entry at replay', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir));
    s.save({ term: 1, votedFor: 7 }, null, batch(1, [1, 1, 1, 1, 1]));
    s.save(null, { index: 3, term: 2, data: bytes('s3') }, null); // today: entries 4..5 stay (retained 1)
    await s.close();
    // Rewrite the marker as the old code wrote it when the term at its index differed.
    const file = lastSegment(dir);
    const buf = fs.readFileSync(file);
    const at = recordOffsets(file).find((off) => buf[off + 8] === RecordType.Snapshot)!;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    assert.equal(dv.getUint32(at + FRAME_BYTES + 28, true), 1);
    dv.setUint32(at + FRAME_BYTES + 28, 0, true);
    writeFrame(buf, dv, at, RecordType.Snapshot, SNAPSHOT_MARKER_PAYLOAD);
    fs.writeFileSync(file, buf);
    s = await FileStorage.open(opts(dir));
    const st = s.load();
    assert.equal(st.snapshot!.index, 3);
    assert.equal(st.entries, null);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('a version-1 directory (no sync marks) opens and is upgraded to version 2; a newer version is refused, naming both', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir, { fsync: 'none' })); // 'none' writes no sync marks: a version-1 layout
    const m = new MemoryStorage();
    for (const [hs, e] of [[{ term: 1, votedFor: 7 }, batch(1, [1, 1])], [null, batch(3, [1])]] as const) { s.save(hs, null, e); m.save(hs, null, e); }
    await s.close();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ ...meta, version: 1 }));
    const seg = path.join(dir, segmentName(1));
    const buf = fs.readFileSync(seg);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    dv.setUint32(FRAME_BYTES + 8, 1, true); // the segment header's format version
    writeFrame(buf, dv, 0, RecordType.SegmentHeader, buf.readUInt32LE(0));
    fs.writeFileSync(seg, buf);
    s = await FileStorage.open(opts(dir));
    assertMatches(s.load(), m, 'version-1 directory');
    await s.close();
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')).version, 2);
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ ...meta, version: 3 }));
    await assert.rejects(FileStorage.open(opts(dir)), /format version 3, this build reads versions 1 to 2/);
  } finally {
    rmDir(dir);
  }
});
