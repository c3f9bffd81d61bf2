import { EntryBatch, batchCommand, batchLastIndex, emptyBatch } from './entry-batch.js';
import { InvariantError } from './types.js';

/** Limits of one log between snapshots (address space is reserved, memory is used as it grows). */
const MAX_ENTRIES = 1 << 28;
const MAX_ARENA_BYTES = 2 ** 32 - 1; // end offsets are u32

/**
 * The in-memory Raft log: an arena of command bytes plus typed arrays of terms and end
 * offsets. Indexes are 1-based; everything up to `snapshotIndex` has been compacted away and
 * only its last term is remembered.
 *
 * The log also knows which suffix is not on storage yet (as etcd's unstable log does): the
 * entries from `unstableFrom` on are handed out once by takeUnstable(), `stableIndex` rises
 * when stableTo() says storage holds them, and truncateFrom/compact/reset move both cursors
 * here, in one place.
 */
export class RaftLog {
  snapshotIndex = 0;
  snapshotTerm = 0;
  private count = 0;
  private terms: Uint32Array;
  private ends: Uint32Array; // exclusive end offset of each entry in `arena`
  private arena: Uint8Array;

  // The arrays live in resizable ArrayBuffers that grow in place: doubling a log of millions
  // of entries by copying stalled every peer at once for ~100 ms (long enough for an election).
  private readonly termsBuf: ArrayBuffer;
  private readonly endsBuf: ArrayBuffer;
  private readonly arenaBuf: ArrayBuffer;

  /** Highest index known to be on storage, holding the same entry as this log. */
  private stable = 0;
  /** First index not yet handed out for persistence. */
  private unstableFrom = 1;
  /** Set when reset() discarded the log: storage must drop what it holds from here on (0: nothing). */
  private storageTruncateAt = 0;
  /** The last sliceShared() result (the log still holds those entries unchanged). */
  private shared: EntryBatch | null = null;

  constructor(initialEntries = 1024, initialBytes = 64 * 1024) {
    this.termsBuf = new ArrayBuffer(initialEntries * 4, { maxByteLength: MAX_ENTRIES * 4 });
    this.endsBuf = new ArrayBuffer(initialEntries * 4, { maxByteLength: MAX_ENTRIES * 4 });
    this.arenaBuf = new ArrayBuffer(initialBytes, { maxByteLength: MAX_ARENA_BYTES });
    this.terms = new Uint32Array(this.termsBuf, 0, initialEntries);
    this.ends = new Uint32Array(this.endsBuf, 0, initialEntries);
    this.arena = new Uint8Array(this.arenaBuf, 0, initialBytes);
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.count;
  }

  get lastTerm(): number {
    return this.count === 0 ? this.snapshotTerm : this.terms[this.count - 1];
  }

  get firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  /** Bytes of command data held after the snapshot. */
  get bytes(): number {
    return this.count === 0 ? 0 : this.ends[this.count - 1];
  }

  get length(): number {
    return this.count;
  }

  /** Term of entry `index`; the snapshot's term at its last index; -1 if unknown (compacted or absent). */
  term(index: number): number {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex) return -1;
    return this.terms[index - this.snapshotIndex - 1];
  }

  command(index: number): Uint8Array {
    const k = this.slot(index);
    return this.arena.subarray(k === 0 ? 0 : this.ends[k - 1], this.ends[k]);
  }

  append(term: number, command: Uint8Array): number {
    const start = this.bytes;
    this.reserve(1, command.byteLength);
    this.arena.set(command, start);
    this.terms[this.count] = term;
    this.ends[this.count] = start + command.byteLength;
    this.count++;
    return this.lastIndex;
  }

  /** append() of the command in `buf[offset, offset + length)`. */
  appendFrom(term: number, buf: Uint8Array, offset: number, length: number): number {
    const start = this.bytes;
    this.reserve(1, length);
    const arena = this.arena;
    if (length <= 64) for (let i = 0; i < length; i++) arena[start + i] = buf[offset + i]; // cheaper than a view for small commands
    else arena.set(buf.subarray(offset, offset + length), start);
    this.terms[this.count] = term;
    this.ends[this.count] = start + length;
    this.count++;
    return this.lastIndex;
  }

  /** Appends entries `from..` of a batch; the batch must start right after the last index. */
  appendBatch(b: EntryBatch, fromK = 0): void {
    if (b.firstIndex + fromK !== this.lastIndex + 1) {
      throw new Error(`log gap: appending index ${b.firstIndex + fromK} after ${this.lastIndex}`);
    }
    const n = b.count - fromK;
    if (n <= 0) return;
    const srcStart = fromK === 0 ? 0 : b.ends[fromK - 1];
    const srcEnd = b.ends[b.count - 1];
    const base = this.bytes;
    this.reserve(n, srcEnd - srcStart);
    this.arena.set(b.data.subarray(srcStart, srcEnd), base);
    this.terms.set(fromK === 0 && n === b.terms.length ? b.terms : b.terms.subarray(fromK, fromK + n), this.count);
    this.ends.set(fromK === 0 && n === b.ends.length ? b.ends : b.ends.subarray(fromK, fromK + n), this.count);
    this.shiftEnds(this.count, n, base - srcStart);
    this.count += n;
  }

  /** Deletes entry `index` and every entry after it (storage follows when the replacements are handed out). */
  truncateFrom(index: number): void {
    if (index <= this.snapshotIndex) throw new Error(`cannot truncate at ${index}: compacted through ${this.snapshotIndex}`);
    if (index > this.lastIndex) return;
    this.dropShared();
    this.count = index - this.snapshotIndex - 1;
    if (this.stable >= index) this.stable = index - 1;
    if (this.unstableFrom > index) this.unstableFrom = index;
  }

  /**
   * Copies entries [lo, hi] into a new batch, stopping early once `maxBytes` is reached
   * (at least one entry is always included).
   */
  slice(lo: number, hi: number, maxBytes = Infinity): EntryBatch {
    const last = this.sliceEnd(lo, hi, maxBytes);
    const k0 = lo - this.snapshotIndex - 1;
    const count = Math.max(0, last - lo + 1);
    const base = k0 === 0 ? 0 : this.ends[k0 - 1];
    const terms = this.terms.slice(k0, k0 + count);
    const ends = this.ends.slice(k0, k0 + count);
    shiftAll(ends, -base);
    const data = this.arena.slice(base, count === 0 ? base : this.ends[k0 + count - 1]);
    return { firstIndex: lo, count, terms, ends, data };
  }

  /** Last index slice(lo, hi, maxBytes) takes (lo - 1 when none). */
  private sliceEnd(lo: number, hi: number, maxBytes: number): number {
    if (lo <= this.snapshotIndex) throw new Error(`slice from ${lo}: compacted through ${this.snapshotIndex}`);
    hi = Math.min(hi, this.lastIndex);
    const k0 = lo - this.snapshotIndex - 1;
    let k1 = hi - this.snapshotIndex - 1; // inclusive
    const base = k0 === 0 ? 0 : this.ends[k0 - 1];
    if (k1 >= k0 && this.ends[k1] - base > maxBytes) {
      // binary search the last entry that fits (at least one is always included)
      let a = k0, b = k1;
      while (a < b) {
        const mid = (a + b + 1) >>> 1;
        if (this.ends[mid] - base <= maxBytes) a = mid; else b = mid - 1;
      }
      k1 = a;
    }
    return Math.max(lo - 1, k1 + this.snapshotIndex + 1);
  }

  /**
   * slice() that hands the same batch to callers asking for the same range while the log
   * holds it unchanged: a leader whose followers are level sends them (and its storage) one
   * copy of the new entries instead of one each. Callers must not modify or transfer it.
   */
  sliceShared(lo: number, hi: number, maxBytes = Infinity): EntryBatch {
    const last = this.sliceEnd(lo, hi, maxBytes);
    const c = this.shared;
    if (c !== null && c.firstIndex === lo && c.count === last - lo + 1) return c;
    const b = this.slice(lo, last);
    this.shared = b;
    return b;
  }

  /** Entries at or above `index` change (truncation, compaction, reset): no shared slice may cover them. */
  private dropShared(): void {
    this.shared = null;
  }

  /**
   * Forgets entries through `index` (which must be in the log or be the snapshot index). The
   * snapshot that covers them is persisted with the next Ready, so they count as stored.
   */
  compact(index: number, term: number): void {
    if (index <= this.snapshotIndex) return;
    this.dropShared();
    if (this.stable < index) this.stable = index;
    if (this.unstableFrom <= index) this.unstableFrom = index + 1;
    // Stored entries of a discarded log that follow the new snapshot must still go.
    if (this.storageTruncateAt > 0 && this.storageTruncateAt <= index) this.storageTruncateAt = index + 1;
    if (index >= this.lastIndex) {
      this.count = 0;
    } else {
      const drop = index - this.snapshotIndex;
      const cut = this.ends[drop - 1];
      const keep = this.count - drop;
      this.arena.copyWithin(0, cut, this.ends[this.count - 1]);
      this.terms.copyWithin(0, drop, this.count);
      this.ends.copyWithin(0, drop, this.count);
      this.shiftEnds(0, keep, -cut);
      this.count = keep;
    }
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /**
   * Replaces everything with an empty log that starts after a snapshot (persisted with the
   * next Ready); storage is told to drop what it holds after the snapshot.
   */
  reset(snapshotIndex: number, snapshotTerm: number): void {
    this.dropShared();
    this.count = 0;
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.stable = snapshotIndex;
    this.unstableFrom = snapshotIndex + 1;
    this.storageTruncateAt = snapshotIndex + 1;
  }

  // ------------------------------------------------------------ the unstable tail

  get stableIndex(): number {
    return this.stable;
  }

  /** Everything the log holds is on storage (it was just loaded from there). */
  markAllStable(): void {
    this.stable = this.lastIndex;
    this.unstableFrom = this.lastIndex + 1;
    this.storageTruncateAt = 0;
  }

  /** Whether takeUnstable() has something for storage. */
  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex || this.storageTruncateAt > 0;
  }

  /**
   * The entries storage lacks, handed out once; they replace the stored log from their first
   * index on. After reset() with nothing appended since, an empty batch at the truncation
   * point (storage drops what it holds from there). Null when storage lacks nothing.
   */
  takeUnstable(): EntryBatch | null {
    let b: EntryBatch | null = null;
    if (this.unstableFrom <= this.lastIndex) {
      b = this.sliceShared(this.unstableFrom, this.lastIndex);
      this.unstableFrom = this.lastIndex + 1;
    }
    if (this.storageTruncateAt > 0) {
      // The cursors above keep unstableFrom at the truncation point while one is pending.
      if (b && b.firstIndex !== this.storageTruncateAt) {
        throw new InvariantError(`unstable entries start at ${b.firstIndex}, but storage must truncate at ${this.storageTruncateAt}`);
      }
      b ??= emptyBatch(this.storageTruncateAt);
      this.storageTruncateAt = 0;
    }
    return b;
  }

  /** Storage now holds `b` (from takeUnstable), unless the log has overwritten it meanwhile. */
  stableTo(b: EntryBatch): void {
    if (b.count === 0) return;
    const last = batchLastIndex(b);
    if (last > this.stable && this.term(last) === b.terms[b.count - 1]) this.stable = last;
  }

  /** Index of the first entry whose term equals that of entry `index` (binary search: terms never decrease). */
  firstIndexOfTermAt(index: number): number {
    const t = this.term(index);
    let lo = this.snapshotIndex + 1, hi = index;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.term(mid) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Last index holding `term`, or -1. Terms are non-decreasing along the log. */
  lastIndexOfTerm(term: number): number {
    let lo = this.snapshotIndex + 1, hi = this.lastIndex, found = -1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const t = this.term(mid);
      if (t === term) { found = mid; lo = mid + 1; } else if (t < term) lo = mid + 1; else hi = mid - 1;
    }
    if (found === -1 && this.snapshotTerm === term && this.snapshotIndex > 0) found = this.snapshotIndex;
    return found;
  }

  private slot(index: number): number {
    const k = index - this.snapshotIndex - 1;
    if (k < 0 || k >= this.count) throw new RangeError(`log index ${index} not held (have ${this.snapshotIndex + 1}..${this.lastIndex})`);
    return k;
  }

  /**
   * Adds `delta` (mod 2^32) to ends[from, from + n).
   *
   * This loop and shiftAll's are functions of their own, with nothing after the loop, because
   * of V8's on-stack replacement: the first call may shift thousands of entries, so the loop is
   * compiled while it runs, before the code after it ever ran. That OSR code then deoptimizes
   * on leaving the loop (no type feedback there), is cached nevertheless, and is entered again
   * and thrown away on every later long call (hundreds of times a second in a saturated run).
   * Two loops, not one, so that each sees one kind of array (views of a resizable buffer
   * here, plain arrays there) and stays monomorphic.
   */
  private shiftEnds(from: number, n: number, delta: number): void {
    const ends = this.ends;
    for (let k = from; k < from + n; k++) ends[k] += delta;
  }

  private reserve(entries: number, bytes: number): void {
    if (this.count + entries > this.terms.length) {
      if (this.count + entries > MAX_ENTRIES) {
        throw new RangeError(`log holds ${this.count} entries and cannot grow past ${MAX_ENTRIES}; take snapshots to compact it`);
      }
      let cap = this.terms.length * 2;
      while (cap < this.count + entries) cap *= 2;
      cap = Math.min(cap, MAX_ENTRIES);
      this.termsBuf.resize(cap * 4);
      this.endsBuf.resize(cap * 4);
      this.terms = new Uint32Array(this.termsBuf, 0, cap);
      this.ends = new Uint32Array(this.endsBuf, 0, cap);
    }
    const need = this.bytes + bytes;
    if (need > this.arena.length) {
      if (need > MAX_ARENA_BYTES) {
        throw new RangeError(`log holds ${this.bytes} bytes of commands and cannot grow past ${MAX_ARENA_BYTES}; take snapshots to compact it`);
      }
      let cap = this.arena.length * 2;
      while (cap < need) cap *= 2;
      cap = Math.min(cap, MAX_ARENA_BYTES);
      this.arenaBuf.resize(cap);
      this.arena = new Uint8Array(this.arenaBuf, 0, cap);
    }
  }
}

/** Adds `delta` (mod 2^32) to every element of `a`, an array that slice() returns (see shiftEnds). */
function shiftAll(a: Uint32Array, delta: number): void {
  for (let k = 0; k < a.length; k++) a[k] += delta;
}

export { batchCommand };
