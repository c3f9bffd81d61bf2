import { EntryBatch, batchCommand, batchLastIndex, emptyBatch } from './entry-batch.js';
import { InvariantError } from './types.js';

/** Limits of one log between snapshots (memory is used as it grows). */
const MAX_ENTRIES = 1 << 28;
/** Entries per chunk of terms and of ends (256 KiB each). */
const ENTRY_CHUNK = 1 << 16;
/** Command bytes per chunk of the arena. */
const BYTE_CHUNK = 1 << 20;

/** Chunk sizes (powers of two); tests use small ones to cross chunk boundaries often. */
export interface LogChunkSizes {
  entries: number;
  bytes: number;
}

/**
 * The in-memory Raft log: an arena of command bytes plus arrays of terms and end offsets.
 * Indexes are 1-based; everything up to `snapshotIndex` has been compacted away and only its
 * last term is remembered.
 *
 * All three live in chunks of a fixed size (plain typed arrays) so that the log never copies
 * itself to grow: doubling a log of millions of entries by copying stalled every peer at once
 * for ~100 ms (long enough for an election). Resizable ArrayBuffers avoided that copy but
 * made every element write 2-4x slower, and the leader writes each proposed command byte by
 * byte. Only the first chunk starts small and doubles (copying at most half a chunk), so
 * that a small log stays small.
 *
 * Entry k (0-based after the snapshot) sits at position `head + k` of the entry chunks;
 * compaction drops whole chunks and moves `head`. Its command ends at the virtual offset
 * `ends[k]` (u32, wrapping) of the byte space, in which chunk c covers
 * [byteBase + c * chunkBytes, byteBase + (c + 1) * chunkBytes); a command starts where the
 * previous one ends (the first at `firstStart`) and may span chunks.
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

  private readonly eShift: number;
  private readonly eMask: number;
  private readonly bShift: number;
  private readonly bMask: number;
  private readonly chunkEntries: number;
  private readonly chunkBytes: number;
  private readonly initialEntries: number;
  private readonly initialBytes: number;
  /** Most command bytes held (virtual offsets are u32 and the first chunk may start part-used). */
  private readonly maxBytes: number;

  private readonly termChunks: Uint32Array[] = [];
  private readonly endChunks: Uint32Array[] = [];
  private readonly byteChunks: Uint8Array[] = [];
  /** Position of the first entry in the entry chunks (< chunkEntries). */
  private head = 0;
  /** Virtual offset where byteChunks[0] begins (a multiple of chunkBytes, mod 2^32). */
  private byteBase = 0;
  /** Virtual offset where the first entry's command starts. */
  private firstStart = 0;
  /** Virtual offset where the last entry's command ends (firstStart when empty). */
  private tailEnd = 0;

  /** Highest index known to be on storage, holding the same entry as this log. */
  private stable = 0;
  /** First index not yet handed out for persistence. */
  private unstableFrom = 1;
  /** Set when reset() discarded the log: storage must drop what it holds from here on (0: nothing). */
  private storageTruncateAt = 0;
  /** The last sliceShared() result (the log still holds those entries unchanged). */
  private shared: EntryBatch | null = null;

  constructor(initialEntries = 1024, initialBytes = 64 * 1024, chunks: LogChunkSizes = { entries: ENTRY_CHUNK, bytes: BYTE_CHUNK }) {
    checkPowerOfTwo('chunk entries', chunks.entries, 1 << 24);
    checkPowerOfTwo('chunk bytes', chunks.bytes, 1 << 30);
    if (!Number.isInteger(initialEntries) || initialEntries < 1) throw new RangeError(`initial entries must be a positive integer, got ${initialEntries}`);
    if (!Number.isInteger(initialBytes) || initialBytes < 1) throw new RangeError(`initial bytes must be a positive integer, got ${initialBytes}`);
    this.chunkEntries = chunks.entries;
    this.chunkBytes = chunks.bytes;
    this.eShift = Math.log2(chunks.entries);
    this.eMask = chunks.entries - 1;
    this.bShift = Math.log2(chunks.bytes);
    this.bMask = chunks.bytes - 1;
    this.initialEntries = Math.min(initialEntries, chunks.entries);
    this.initialBytes = Math.min(initialBytes, chunks.bytes);
    this.maxBytes = 2 ** 32 - chunks.bytes - 1;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.count;
  }

  get lastTerm(): number {
    return this.count === 0 ? this.snapshotTerm : this.termAt(this.count - 1);
  }

  get firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  /** Bytes of command data held after the snapshot. */
  get bytes(): number {
    return (this.tailEnd - this.firstStart) >>> 0;
  }

  get length(): number {
    return this.count;
  }

  /** Term of entry `index`; the snapshot's term at its last index; -1 if unknown (compacted or absent). */
  term(index: number): number {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex) return -1;
    return this.termAt(index - this.snapshotIndex - 1);
  }

  /** The command of entry `index`: a view into the log, or a copy where it spans two chunks. */
  command(index: number): Uint8Array {
    const k = this.slot(index);
    const start = this.startAt(k);
    const length = (this.endAt(k) - start) >>> 0;
    const rel = (start - this.byteBase) >>> 0;
    const i = rel & this.bMask;
    if (length === 0) return new Uint8Array(0);
    if (i + length <= this.chunkBytes) return this.byteChunks[rel >>> this.bShift].subarray(i, i + length);
    const out = new Uint8Array(length);
    this.readBytes(rel, out);
    return out;
  }

  append(term: number, command: Uint8Array): number {
    return this.appendFrom(term, command, 0, command.byteLength);
  }

  /** append() of the command in `buf[offset, offset + length)`. */
  appendFrom(term: number, buf: Uint8Array, offset: number, length: number): number {
    if (this.count >= MAX_ENTRIES) this.tooManyEntries(1);
    if (this.bytes + length > this.maxBytes) this.tooManyBytes(length);
    const start = this.tailEnd;
    const rel = (start - this.byteBase) >>> 0;
    const c = rel >>> this.bShift, i = rel & this.bMask;
    const chunks = this.byteChunks;
    if (length <= 64 && c < chunks.length && i + length <= chunks[c].length) {
      const chunk = chunks[c];
      for (let j = 0; j < length; j++) chunk[i + j] = buf[offset + j]; // cheaper than a view for small commands
    } else {
      this.writeBytes(rel, buf, offset, length);
    }
    const end = (start + length) >>> 0;
    const p = this.head + this.count;
    const ec = p >>> this.eShift, ei = p & this.eMask;
    if (ec >= this.termChunks.length || ei >= this.termChunks[ec].length) this.growEntries(ec, ei + 1);
    this.termChunks[ec][ei] = term;
    this.endChunks[ec][ei] = end;
    this.tailEnd = end;
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
    if (this.count + n > MAX_ENTRIES) this.tooManyEntries(n);
    const srcStart = fromK === 0 ? 0 : b.ends[fromK - 1];
    const srcEnd = b.ends[b.count - 1];
    if (this.bytes + (srcEnd - srcStart) > this.maxBytes) this.tooManyBytes(srcEnd - srcStart);
    const base = this.tailEnd;
    this.writeBytes((base - this.byteBase) >>> 0, b.data, srcStart, srcEnd - srcStart);
    const delta = base - srcStart;
    let k = fromK, p = this.head + this.count;
    while (k < b.count) {
      const c = p >>> this.eShift, i = p & this.eMask;
      const m = Math.min(b.count - k, this.chunkEntries - i);
      if (c >= this.termChunks.length || i + m > this.termChunks[c].length) this.growEntries(c, i + m);
      const whole = k === 0 && m === b.terms.length; // no view to allocate
      this.termChunks[c].set(whole ? b.terms : b.terms.subarray(k, k + m), i);
      this.endChunks[c].set(whole ? b.ends : b.ends.subarray(k, k + m), i);
      shiftRange(this.endChunks[c], i, i + m, delta);
      k += m;
      p += m;
    }
    this.count += n;
    this.tailEnd = (base + srcEnd - srcStart) >>> 0;
  }

  /** Deletes entry `index` and every entry after it (storage follows when the replacements are handed out). */
  truncateFrom(index: number): void {
    if (index <= this.snapshotIndex) throw new Error(`cannot truncate at ${index}: compacted through ${this.snapshotIndex}`);
    if (index > this.lastIndex) return;
    this.dropShared();
    this.count = index - this.snapshotIndex - 1;
    this.tailEnd = this.count === 0 ? this.firstStart : this.endAt(this.count - 1);
    if (this.stable >= index) this.stable = index - 1;
    if (this.unstableFrom > index) this.unstableFrom = index;
  }

  /**
   * Copies entries [lo, hi] into a new batch, stopping early once `maxBytes` is reached
   * (at least one entry is always included).
   */
  slice(lo: number, hi: number, maxBytes = Infinity): EntryBatch {
    const last = this.sliceEnd(lo, hi, maxBytes);
    const count = Math.max(0, last - lo + 1);
    if (count === 0) return emptyBatch(lo);
    const k0 = lo - this.snapshotIndex - 1;
    const base = this.startAt(k0);
    const terms = this.copyEntries(this.termChunks, this.head + k0, count);
    const ends = this.copyEntries(this.endChunks, this.head + k0, count);
    shiftRange(ends, 0, count, -base);
    const rel = (base - this.byteBase) >>> 0;
    const length = ends[count - 1];
    const i = rel & this.bMask;
    let data: Uint8Array;
    if (length === 0) data = new Uint8Array(0);
    else if (i + length <= this.chunkBytes) data = this.byteChunks[rel >>> this.bShift].slice(i, i + length);
    else this.readBytes(rel, (data = new Uint8Array(length)));
    return { firstIndex: lo, count, terms, ends, data };
  }

  /** Last index slice(lo, hi, maxBytes) takes (lo - 1 when none). */
  private sliceEnd(lo: number, hi: number, maxBytes: number): number {
    if (lo <= this.snapshotIndex) throw new Error(`slice from ${lo}: compacted through ${this.snapshotIndex}`);
    hi = Math.min(hi, this.lastIndex);
    const k0 = lo - this.snapshotIndex - 1;
    let k1 = hi - this.snapshotIndex - 1; // inclusive
    if (k1 < k0) return lo - 1;
    const base = this.startAt(k0);
    if (((this.endAt(k1) - base) >>> 0) > maxBytes) {
      // binary search the last entry that fits (at least one is always included)
      let a = k0, b = k1;
      while (a < b) {
        const mid = (a + b + 1) >>> 1;
        if (((this.endAt(mid) - base) >>> 0) <= maxBytes) a = mid; else b = mid - 1;
      }
      k1 = a;
    }
    return k1 + this.snapshotIndex + 1;
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
   * Whole chunks before the first entry kept are dropped; nothing is copied.
   */
  compact(index: number, term: number): void {
    if (index <= this.snapshotIndex) return;
    this.dropShared();
    if (this.stable < index) this.stable = index;
    if (this.unstableFrom <= index) this.unstableFrom = index + 1;
    // Stored entries of a discarded log that follow the new snapshot must still go.
    if (this.storageTruncateAt > 0 && this.storageTruncateAt <= index) this.storageTruncateAt = index + 1;
    if (index >= this.lastIndex) {
      this.clear();
    } else {
      const drop = index - this.snapshotIndex;
      const cut = this.endAt(drop - 1);
      const head = this.head + drop;
      const entryChunksGone = head >>> this.eShift;
      this.termChunks.splice(0, entryChunksGone);
      this.endChunks.splice(0, entryChunksGone);
      this.head = head & this.eMask;
      this.count -= drop;
      const byteChunksGone = ((cut - this.byteBase) >>> 0) >>> this.bShift;
      this.byteChunks.splice(0, byteChunksGone);
      this.byteBase = (this.byteBase + byteChunksGone * this.chunkBytes) >>> 0;
      this.firstStart = cut;
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
    this.clear();
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.stable = snapshotIndex;
    this.unstableFrom = snapshotIndex + 1;
    this.storageTruncateAt = snapshotIndex + 1;
  }

  /** No entries; the first chunk of each kind is kept for reuse, the others are let go. */
  private clear(): void {
    this.count = 0;
    this.head = 0;
    if (this.termChunks.length > 1) {
      this.termChunks.length = 1;
      this.endChunks.length = 1;
    }
    if (this.byteChunks.length > 1) this.byteChunks.length = 1;
    this.firstStart = this.tailEnd = this.byteBase;
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

  private termAt(k: number): number {
    const p = this.head + k;
    return this.termChunks[p >>> this.eShift][p & this.eMask];
  }

  /** Virtual end offset of entry k's command. */
  private endAt(k: number): number {
    const p = this.head + k;
    return this.endChunks[p >>> this.eShift][p & this.eMask];
  }

  /** Virtual start offset of entry k's command. */
  private startAt(k: number): number {
    return k === 0 ? this.firstStart : this.endAt(k - 1);
  }

  /** Makes entry chunk `c` exist with room for `need` positions (only the last chunk ever grows). */
  private growEntries(c: number, need: number): void {
    if (c === this.termChunks.length) {
      const cap = c === 0 ? grownCapacity(this.initialEntries, need, this.chunkEntries) : this.chunkEntries;
      this.termChunks.push(new Uint32Array(cap));
      this.endChunks.push(new Uint32Array(cap));
      return;
    }
    const cap = grownCapacity(this.termChunks[c].length, need, this.chunkEntries);
    const terms = new Uint32Array(cap), ends = new Uint32Array(cap);
    terms.set(this.termChunks[c]);
    ends.set(this.endChunks[c]);
    this.termChunks[c] = terms;
    this.endChunks[c] = ends;
  }

  /** Copies `n` entries from position `p` of `chunks` into a new array. */
  private copyEntries(chunks: Uint32Array[], p: number, n: number): Uint32Array {
    const i = p & this.eMask;
    if (i + n <= this.chunkEntries) return chunks[p >>> this.eShift].slice(i, i + n);
    const out = new Uint32Array(n);
    for (let at = 0; at < n;) {
      const c = (p + at) >>> this.eShift, j = (p + at) & this.eMask;
      const m = Math.min(n - at, this.chunkEntries - j);
      out.set(chunks[c].subarray(j, j + m), at);
      at += m;
    }
    return out;
  }

  /** Writes `src[offset, offset + length)` at `rel` bytes past byteBase, adding or growing chunks as needed. */
  private writeBytes(rel: number, src: Uint8Array, offset: number, length: number): void {
    while (length > 0) {
      const c = rel >>> this.bShift, i = rel & this.bMask;
      const n = Math.min(length, this.chunkBytes - i);
      const chunk = this.byteChunk(c, i + n);
      chunk.set(src.subarray(offset, offset + n), i);
      rel += n;
      offset += n;
      length -= n;
    }
  }

  /** Fills `out` from `rel` bytes past byteBase on. */
  private readBytes(rel: number, out: Uint8Array): void {
    for (let at = 0; at < out.length;) {
      const c = (rel + at) >>> this.bShift, i = (rel + at) & this.bMask;
      const n = Math.min(out.length - at, this.chunkBytes - i);
      out.set(this.byteChunks[c].subarray(i, i + n), at);
      at += n;
    }
  }

  /** Byte chunk `c`, made to exist with at least `need` bytes (only the last chunk ever grows). */
  private byteChunk(c: number, need: number): Uint8Array {
    const chunks = this.byteChunks;
    if (c === chunks.length) {
      chunks.push(new Uint8Array(c === 0 ? grownCapacity(this.initialBytes, need, this.chunkBytes) : this.chunkBytes));
    } else if (chunks[c].length < need) {
      const grown = new Uint8Array(grownCapacity(chunks[c].length, need, this.chunkBytes));
      grown.set(chunks[c]);
      chunks[c] = grown;
    }
    return chunks[c];
  }

  private tooManyEntries(n: number): never {
    throw new RangeError(`log holds ${this.count} entries and cannot grow past ${MAX_ENTRIES} (adding ${n}); take snapshots to compact it`);
  }

  private tooManyBytes(n: number): never {
    throw new RangeError(`log holds ${this.bytes} bytes of commands and cannot grow past ${this.maxBytes} (adding ${n}); take snapshots to compact it`);
  }
}

/** `cap` doubled until it holds `need`, at most `max`. */
function grownCapacity(cap: number, need: number, max: number): number {
  while (cap < need) cap *= 2;
  return Math.min(cap, max);
}

function checkPowerOfTwo(what: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 1 || n > max || (n & (n - 1)) !== 0) throw new RangeError(`${what} must be a power of two up to ${max}, got ${n}`);
}

/**
 * Adds `delta` (mod 2^32) to a[from, to).
 *
 * This loop is a function of its own, with nothing after the loop, because of V8's on-stack
 * replacement: the first call may shift thousands of entries, so the loop is compiled while it
 * runs, before the code after it ever ran. That OSR code then deoptimizes on leaving the loop
 * (no type feedback there), is cached nevertheless, and is entered again and thrown away on
 * every later long call (hundreds of times a second in a saturated run). Every array it sees
 * is a plain Uint32Array (a chunk or a slice), so one loop stays monomorphic; when the chunks
 * were views of a resizable buffer there had to be two loops, one per kind of array.
 */
function shiftRange(a: Uint32Array, from: number, to: number, delta: number): void {
  for (let k = from; k < to; k++) a[k] += delta;
}

export { batchCommand };
