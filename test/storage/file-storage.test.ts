import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { emptyBatch, makeBatch } from '../../src/core/entry-batch.js';
import { FileStorage, FileStorageOptions, FsyncPolicy } from '../../src/storage/file-storage.js';
import { segmentName } from '../../src/storage/wal-format.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { assertMatches, batch, bytes, lastIndexOf, makeUnwritable, rmDir, tmpDir } from './helpers.js';

const POLICIES: FsyncPolicy[] = ['always', 'batch', 'none'];

function opts(dir: string, extra: Partial<FileStorageOptions> = {}): FileStorageOptions {
  return { dir, clusterId: 'cluster-a', peerId: 1, fsync: 'always', ...extra };
}

async function reopen(s: FileStorage, extra: Partial<FileStorageOptions> = {}): Promise<FileStorage> {
  await s.close();
  return FileStorage.open(opts(s.dir, { fsync: s.policy, segmentBytes: s.segmentBytes, ...extra }));
}

function snapshotFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.snap')).sort();
}

for (const policy of POLICIES) {
  test(`file storage (${policy}): save, reopen, load equals`, async () => {
    const dir = tmpDir();
    try {
      let s = await FileStorage.open(opts(dir, { fsync: policy }));
      const m = new MemoryStorage();
      assertMatches(s.load(), m, 'fresh');
      const steps: Array<Parameters<MemoryStorage['save']>> = [
        [{ term: 1, votedFor: 1 }, null, null],
        [null, null, batch(1, [1, 1, 1])],
        [{ term: 2, votedFor: -1 }, null, batch(4, [2, 2])],
        [null, null, batch(3, [2, 2, 2, 2])], // replaces 3.. (truncation)
        [{ term: 3, votedFor: 2 }, null, null],
        [null, null, makeBatch(7, [{ term: 3, command: new Uint8Array(0) }, { term: 3, command: bytes('x'.repeat(5000)) }])],
      ];
      for (const [h, sn, e] of steps) {
        await s.save(h, sn, e);
        m.save(h, sn, e);
      }
      assertMatches(s.load(), m, 'reread while open');
      s = await reopen(s);
      assertMatches(s.load(), m, 'after reopen');
      assertMatches(s.load(), m, 'second load re-reads');
      // appends continue after a reopen
      await s.save({ term: 4, votedFor: 4 }, null, batch(9, [4]));
      m.save({ term: 4, votedFor: 4 }, null, batch(9, [4]));
      s = await reopen(s);
      assertMatches(s.load(), m, 'after second reopen');
      await s.close();
    } finally {
      rmDir(dir);
    }
  });
}

test('file storage: save returns void under always/none and a promise under batch', async () => {
  for (const policy of POLICIES) {
    const dir = tmpDir();
    try {
      const s = await FileStorage.open(opts(dir, { fsync: policy }));
      const r = s.save({ term: 1, votedFor: -1 }, null, batch(1, [1]));
      assert.equal(r instanceof Promise, policy === 'batch');
      if (policy !== 'batch') assert.equal(typeof r, 'undefined');
      await r;
      if (policy === 'always') assert.equal(s.stats().syncs, 1);
      if (policy === 'none') assert.equal(s.stats().syncs, 0);
      await s.close();
    } finally {
      rmDir(dir);
    }
  }
});

test('file storage (batch): one fdatasync covers every save queued meanwhile; none resolves before its sync', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir, { fsync: 'batch' }));
    const resolvedOrder: number[] = [];
    const ps: Promise<void>[] = [];
    for (let i = 1; i <= 100; i++) {
      const p = s.save({ term: 1, votedFor: 1 }, null, batch(i, [1])) as Promise<void>;
      ps.push(p.then(() => {
        assert.ok(s.stats().syncs >= 1, 'resolved before any sync');
        resolvedOrder.push(i);
      }));
    }
    assert.equal(s.stats().syncs, 0, 'nothing synced synchronously');
    await Promise.all(ps);
    assert.deepEqual(resolvedOrder, Array.from({ length: 100 }, (_, k) => k + 1));
    const st = s.stats();
    assert.equal(st.syncs, 1, 'the 100 saves of one turn share one sync');
    assert.equal(st.savesPerSync, 100);
    assert.equal(st.entriesPerSync, 100);

    // Saves made while a sync is in flight go into the next group.
    const a = s.save(null, null, batch(101, [1])) as Promise<void>;
    await new Promise((r) => setImmediate(r)); // the flush for `a` has started
    const b = s.save(null, null, batch(102, [1])) as Promise<void>;
    await a;
    await b;
    assert.ok(s.stats().syncs >= 2);
    // An empty save resolves after the pending ones, or at once when nothing is pending.
    assert.equal(s.save(null, null, null), undefined);
    const c = s.save(null, null, batch(103, [1])) as Promise<void>;
    const d = s.save(null, null, null);
    assert.equal(d, c);
    await d;
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage (batch): close waits for pending saves; save after close throws', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir, { fsync: 'batch' }));
    const m = new MemoryStorage();
    const p = s.save({ term: 5, votedFor: 3 }, null, batch(1, [5, 5]));
    m.save({ term: 5, votedFor: 3 }, null, batch(1, [5, 5]));
    await s.close();
    await p;
    assert.throws(() => s.save(null, null, batch(3, [5])), /closed/);
    assert.throws(() => s.load(), /closed/);
    const s2 = await FileStorage.open(opts(dir, { fsync: 'batch' }));
    assertMatches(s2.load(), m);
    await s2.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: an EntryBatch of 10,000 commands is one record', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir));
    const cmds = Array.from({ length: 10000 }, (_, k) => ({ term: 1, command: bytes(`command-${k}`) }));
    const b = makeBatch(1, cmds);
    s.save(null, null, b);
    assert.equal(s.stats().records, 1);
    assert.equal(s.stats().entries, 10000);
    assert.equal(s.stats().syncs, 1);
    const m = new MemoryStorage();
    m.save(null, null, b);
    s = await reopen(s);
    assertMatches(s.load(), m);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: batches that are slices (entries not starting at 0 of their arrays) are stored right', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir));
    const m = new MemoryStorage();
    const full = batch(1, [1, 1, 1, 1, 1, 1]);
    // A batch whose typed arrays are views with offsets into larger buffers.
    const view = {
      firstIndex: 1, count: 4,
      terms: full.terms.subarray(0, 4),
      ends: full.ends.subarray(0, 4),
      data: full.data,
    };
    s.save(null, null, view);
    m.save(null, null, view);
    // Overlapping the snapshot: the part at or below the snapshot index is dropped.
    s.save(null, { index: 2, term: 1, data: bytes('s2') }, null);
    m.save(null, { index: 2, term: 1, data: bytes('s2') }, null);
    const overlap = batch(1, [1, 1, 1, 1, 2], 'o');
    s.save(null, null, overlap);
    m.save(null, null, overlap);
    s = await reopen(s);
    assertMatches(s.load(), m);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: a gap is refused and nothing of that save is written', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir));
    const m = new MemoryStorage();
    s.save({ term: 1, votedFor: 1 }, null, batch(1, [1, 1]));
    m.save({ term: 1, votedFor: 1 }, null, batch(1, [1, 1]));
    assert.throws(() => s.save({ term: 9, votedFor: 9 }, null, batch(5, [1])), /gap/);
    s = await reopen(s);
    assertMatches(s.load(), m);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: segment rotation with a small segment size', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir, { segmentBytes: 1024 }));
    const m = new MemoryStorage();
    for (let i = 1; i <= 200; i++) {
      const h = i % 10 === 0 ? { term: 1 + Math.floor(i / 10), votedFor: i % 3 } : null;
      const e = batch(i, [m.load().hardState.term || 1]);
      s.save(h, null, e);
      m.save(h, null, e);
    }
    const seqs = s.segmentSeqs();
    assert.ok(seqs.length >= 5, `expected several segments, got ${seqs.length}`);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, k) => k + 1));
    for (const q of seqs) assert.ok(fs.statSync(path.join(dir, segmentName(q))).size <= 1024, `segment ${q} over the size`);
    s = await reopen(s);
    assertMatches(s.load(), m);
    // A save larger than a segment still goes into one segment.
    const big = makeBatch(201, [{ term: 1, command: new Uint8Array(3000).fill(7) }]);
    s.save(null, null, big);
    m.save(null, null, big);
    s = await reopen(s);
    assertMatches(s.load(), m);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

for (const policy of POLICIES) {
  test(`file storage (${policy}): compaction deletes segments covered by a snapshot and older snapshot files`, async () => {
    const dir = tmpDir();
    try {
      let s = await FileStorage.open(opts(dir, { fsync: policy, segmentBytes: 1024 }));
      const m = new MemoryStorage();
      const save = async (...a: Parameters<MemoryStorage['save']>) => { await s.save(...a); m.save(...a); };
      await save({ term: 1, votedFor: 1 }, null, null);
      for (let i = 1; i <= 100; i++) await save(null, null, batch(i, [1]));
      const before = s.segmentSeqs();
      assert.ok(before.length >= 4);
      await save(null, { index: 60, term: 1, data: bytes('state@60') }, null);
      const after = s.segmentSeqs();
      assert.ok(after[0] > 1, 'the first segments are gone');
      assert.ok(after.length < before.length);
      for (const q of before) assert.equal(fs.existsSync(path.join(dir, segmentName(q))), after.includes(q));
      assert.deepEqual(snapshotFiles(dir).length, 1);
      s = await reopen(s);
      assertMatches(s.load(), m, 'after compaction and reopen');

      // hard state survives the deletion of the segments that held it
      for (let i = 101; i <= 160; i++) await save(null, null, batch(i, [1]));
      await save(null, { index: 150, term: 1, data: bytes('state@150') }, null);
      assert.deepEqual(snapshotFiles(dir), ['snap-0000000000000150-0000000000000001.snap'], 'the older snapshot file is deleted');
      s = await reopen(s);
      assertMatches(s.load(), m, 'after the second compaction');
      assert.deepEqual(s.load().hardState, { term: 1, votedFor: 1 });

      // an InstallSnapshot that discards the log: the core sends the snapshot with an empty batch after it
      await save({ term: 2, votedFor: 2 }, { index: 155, term: 2, data: bytes('other@155') }, emptyBatch(156));
      assert.equal(lastIndexOf(m), 155);
      assert.equal(s.segmentSeqs().length, 1, 'no entry follows the snapshot: only the current segment is needed');
      await save(null, null, batch(156, [2, 2]));
      s = await reopen(s);
      assertMatches(s.load(), m, 'after a log-replacing snapshot');
      await s.close();
    } finally {
      rmDir(dir);
    }
  });
}

test('file storage: a snapshot keeps the entries after it; an empty batch drops them (the core decides)', async () => {
  const dir = tmpDir();
  try {
    let s = await FileStorage.open(opts(dir));
    const m = new MemoryStorage();
    const save = (...a: Parameters<MemoryStorage['save']>) => { s.save(...a); m.save(...a); };
    save(null, null, batch(1, [1, 1, 2, 2, 3, 3]));
    save(null, { index: 4, term: 2, data: bytes('s4') }, null);
    s = await reopen(s);
    let st = s.load();
    assertMatches(st, m);
    assert.equal(st.entries!.firstIndex, 5);
    assert.equal(st.entries!.count, 2);

    // another term at the index: storage does not look, the entries after it stay
    save(null, { index: 5, term: 9, data: bytes('s5') }, null);
    s = await reopen(s);
    st = s.load();
    assertMatches(st, m);
    assert.deepEqual([st.entries!.firstIndex, st.entries!.count], [6, 1]);
    // the empty batch the core sends with an InstallSnapshot that discards its log
    save(null, null, emptyBatch(6));
    s = await reopen(s);
    assert.equal(s.load().entries, null);

    // beyond the last entry: no entry is left
    save(null, null, batch(6, [9, 9]));
    save(null, { index: 20, term: 9, data: bytes('s20') }, null);
    // a snapshot not above the stored one changes nothing
    save(null, { index: 10, term: 9, data: bytes('s10') }, null);
    s = await reopen(s);
    st = s.load();
    assertMatches(st, m);
    assert.equal(st.snapshot!.index, 20);
    assert.equal(st.entries, null);
    // snapshot and entries in one save
    save({ term: 10, votedFor: 1 }, { index: 25, term: 10, data: bytes('s25') }, batch(26, [10, 10]));
    s = await reopen(s);
    assertMatches(s.load(), m);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: another peer\'s or another cluster\'s directory is refused, naming both ids', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir, { clusterId: 'alpha', peerId: 1 }));
    s.save({ term: 1, votedFor: 1 }, null, null);
    await s.close();
    await assert.rejects(FileStorage.open(opts(dir, { clusterId: 'alpha', peerId: 2 })),
      (e: Error) => /"alpha" peer 1/.test(e.message) && /"alpha" peer 2/.test(e.message));
    await assert.rejects(FileStorage.open(opts(dir, { clusterId: 'beta', peerId: 1 })),
      (e: Error) => /"alpha" peer 1/.test(e.message) && /"beta" peer 1/.test(e.message));
    const again = await FileStorage.open(opts(dir, { clusterId: 'alpha', peerId: 1 }));
    assert.deepEqual(again.load().hardState, { term: 1, votedFor: 1 });
    await again.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: a segment copied in from another peer is refused', async () => {
  const a = tmpDir(), b = tmpDir();
  try {
    const sa = await FileStorage.open(opts(a, { peerId: 1 }));
    sa.save({ term: 1, votedFor: 1 }, null, null);
    await sa.close();
    const sb = await FileStorage.open(opts(b, { peerId: 2 }));
    await sb.close();
    fs.copyFileSync(path.join(a, segmentName(1)), path.join(b, segmentName(1)));
    await assert.rejects(FileStorage.open(opts(b, { peerId: 2 })), /another cluster or peer/);
  } finally {
    rmDir(a); rmDir(b);
  }
});

test('file storage: a non-empty foreign directory and a damaged meta file are refused', async () => {
  const dir = tmpDir();
  try {
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await assert.rejects(FileStorage.open(opts(dir)), /not empty.*notes\.txt/);
    fs.rmSync(path.join(dir, 'notes.txt'));
    const s = await FileStorage.open(opts(dir));
    await s.close();
    fs.writeFileSync(path.join(dir, 'meta.json'), '{"format": "raft-thr');
    await assert.rejects(FileStorage.open(opts(dir)), /meta\.json.*not valid JSON/);
  } finally {
    rmDir(dir);
  }
});

test('file storage: an unwritable directory is refused at open, not at the first append', async (t) => {
  const fresh = tmpDir();
  const used = tmpDir();
  const undo: Array<() => void> = [];
  try {
    // a path below a regular file can never be created
    fs.writeFileSync(path.join(fresh, 'file'), 'x');
    await assert.rejects(FileStorage.open(opts(path.join(fresh, 'file', 'peer1'))), /cannot create storage directory.*ENOTDIR/);
    fs.rmSync(path.join(fresh, 'file'));

    const s = await FileStorage.open(opts(used));
    s.save({ term: 1, votedFor: 1 }, null, null);
    await s.close();

    const u1 = makeUnwritable(fresh);
    if (!u1) { t.skip('cannot make a directory unwritable on this machine'); return; }
    undo.push(u1);
    await assert.rejects(FileStorage.open(opts(fresh)), (e: Error) => e.message.includes(fresh) && /not writable/.test(e.message));
    const u2 = makeUnwritable(used);
    assert.ok(u2);
    undo.push(u2);
    await assert.rejects(FileStorage.open(opts(used)), (e: Error) => e.message.includes(used) && /not writable/.test(e.message));
  } finally {
    for (const u of undo) u();
    rmDir(fresh); rmDir(used);
  }
});

test('file storage: options are validated, naming the bad option', async () => {
  const dir = tmpDir();
  try {
    await assert.rejects(FileStorage.open(opts(dir, { fsync: 'sometimes' as FsyncPolicy })),
      (e: Error) => e instanceof TypeError && /"fsync"/.test(e.message) && /'always', 'batch', 'none'/.test(e.message) && /sometimes/.test(e.message));
    await assert.rejects(FileStorage.open(opts(dir, { fsync: undefined as unknown as FsyncPolicy })), /"fsync"/);
    await assert.rejects(FileStorage.open(opts(dir, { segmentBytes: 10 })), /"segmentBytes"/);
    await assert.rejects(FileStorage.open(opts(dir, { segmentBytes: 1.5 })), /"segmentBytes"/);
    await assert.rejects(FileStorage.open(opts(dir, { peerId: -1 })), /"peerId"/);
    await assert.rejects(FileStorage.open(opts(dir, { clusterId: '' })), /"clusterId"/);
    await assert.rejects(FileStorage.open(opts('', {})), /"dir"/);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing written for refused options');
  } finally {
    rmDir(dir);
  }
});

test('file storage: stats report syncs, their time and entries per sync', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir, { fsync: 'always' }));
    for (let i = 1; i <= 5; i++) s.save(null, null, batch(i, [1]));
    const st = s.stats();
    assert.equal(st.syncs, 5);
    assert.equal(st.saves, 5);
    assert.equal(st.entriesPerSync, 1);
    assert.ok(st.syncMsTotal >= 0 && st.syncMsMean >= 0 && st.syncMsMax >= st.syncMsMean);
    await s.close();
  } finally {
    rmDir(dir);
  }
});

function openFds(): number | null {
  try { return fs.readdirSync('/proc/self/fd').length; } catch { return null; }
}

test('file storage (batch): rotation and compaction while syncs are in flight; no fd leaks', async () => {
  const dir = tmpDir();
  try {
    const fds0 = openFds();
    let s = await FileStorage.open(opts(dir, { fsync: 'batch', segmentBytes: 1024 }));
    const m = new MemoryStorage();
    const ps: Array<void | Promise<void>> = [];
    for (let i = 1; i <= 400; i++) {
      const h = i % 13 === 0 ? { term: 1, votedFor: i % 5 } : null;
      const sn = i % 97 === 0 ? { index: i - 20, term: 1, data: bytes(`snap${i}`) } : null;
      const e = batch(i, [1]);
      ps.push(s.save(h, sn, e));
      m.save(h, sn, e);
      if (i % 3 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(ps);
    const st = s.stats();
    assert.ok(st.segmentsCreated > 5 && st.segmentsDeleted > 0, JSON.stringify(st));
    assert.ok(st.syncs < 400, 'saves shared syncs');
    assertMatches(s.load(), m, 'before reopen');
    s = await reopen(s);
    assertMatches(s.load(), m, 'after reopen');
    await s.close();
    const fds1 = openFds();
    if (fds0 !== null) assert.equal(fds1, fds0, 'every segment fd was closed');
  } finally {
    rmDir(dir);
  }
});

test('file storage: the directory records the membership; another peer count or peer list is refused, naming both', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir, { peerId: 1, peers: [0, 1, 2] }));
    s.save({ term: 1, votedFor: 1 }, null, batch(1, [1]));
    await s.close();
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')).peers, [0, 1, 2]);
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: [1] })),
      (e: Error) => e.message.includes(dir) && /cluster of 3 peers \[0, 1, 2\]/.test(e.message) && /cluster of 1 peer \[1\]/.test(e.message));
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: [0, 1, 2, 3, 4] })), /3 peers \[0, 1, 2\].*5 peers \[0, 1, 2, 3, 4\]/);
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: [2, 1, 0] })), /\[0, 1, 2\].*\[2, 1, 0\]/);
    const same = await FileStorage.open(opts(dir, { peerId: 1, peers: [0, 1, 2] }));
    assert.deepEqual(same.peers, [0, 1, 2]);
    assert.deepEqual(same.load().hardState, { term: 1, votedFor: 1 });
    await same.close();
    const unchecked = await FileStorage.open(opts(dir, { peerId: 1 })); // no membership given: not checked
    assert.deepEqual(unchecked.peers, [0, 1, 2], 'the recorded membership is reported');
    await unchecked.close();
  } finally {
    rmDir(dir);
  }
});

test('file storage: a directory from before membership was recorded adopts the first membership given', async () => {
  const dir = tmpDir();
  try {
    const s = await FileStorage.open(opts(dir, { peerId: 2 }));
    s.save({ term: 3, votedFor: 2 }, null, null);
    await s.close();
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')).peers, undefined);
    const adopted = await FileStorage.open(opts(dir, { peerId: 2, peers: [0, 1, 2] }));
    assert.deepEqual(adopted.load().hardState, { term: 3, votedFor: 2 });
    await adopted.close();
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 2, peers: [2] })), /3 peers \[0, 1, 2\].*1 peer \[2\]/);
  } finally {
    rmDir(dir);
  }
});

test('file storage: option "peers" is validated', async () => {
  const dir = tmpDir();
  try {
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: [0, 2] })), (e: Error) => e instanceof RangeError && /"peers".*include this peer's id 1/.test(e.message));
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: [1, 1] })), (e: Error) => e instanceof TypeError && /"peers".*distinct/.test(e.message));
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: [] })), /"peers"/);
    await assert.rejects(FileStorage.open(opts(dir, { peerId: 1, peers: 3 as unknown as number[] })), /"peers".*got 3/);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing written for refused options');
  } finally {
    rmDir(dir);
  }
});
