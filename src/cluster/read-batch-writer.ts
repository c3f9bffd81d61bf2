import type { RingLink } from '../transport/ring-link.js';
import { BATCH_ITEM_HEADER_BYTES, OK_BATCH_HEADER_BYTES, READ_BATCH_HEADER_BYTES, ReadRecordKind } from './read-protocol.js';

/** Room reserved for one batch: large enough for the reads of a busy turn, small beside a ring. */
const BATCH_RESERVE_BYTES = 64 << 10;

/**
 * Writes the reads (or results) of one turn as one batch record straight into a link's
 * outbound ring: the first item reserves room for a whole batch, later items are appended
 * in place, and end() publishes the record with the length used. Nothing is visible to the
 * reader before end(), so the owner ends the batch before it wakes the reader and before it
 * writes any other record to the link (the ring allows one open reservation).
 */
export class ReadBatchWriter {
  private readonly view: DataView;
  /** The link's outbound ring bytes and where they start in their buffer (fixed for the link's life). */
  private readonly out: Uint8Array;
  private readonly outBase: number;
  private readonly headerBytes: number;
  private readonly reserveBytes: number;
  /** Offset of the open batch's record in the ring's bytes; -1: none open. */
  private start = -1;
  private used = 0;
  private count = 0;
  private tag = 0;

  constructor(private readonly link: RingLink, private readonly kind: ReadRecordKind.ReadBatch | ReadRecordKind.OkBatch) {
    const bytes = link.out.bytes;
    this.out = bytes;
    this.outBase = bytes.byteOffset;
    this.view = new DataView(bytes.buffer, 0);
    this.headerBytes = kind === ReadRecordKind.ReadBatch ? READ_BATCH_HEADER_BYTES : OK_BATCH_HEADER_BYTES;
    this.reserveBytes = Math.min(BATCH_RESERVE_BYTES, link.out.maxRecordBytes);
  }

  get isOpen(): boolean {
    return this.start >= 0;
  }

  /** Items in the open batch (0: none open). */
  get size(): number {
    return this.start >= 0 ? this.count : 0;
  }

  /**
   * Appends one item (`tag`: the read route of a ReadBatch, 0 for an OkBatch; a batch holds one
   * tag). False if it cannot go in a batch now (too large, the ring is full, or records wait in
   * the link's overflow queue): the caller ends the batch and writes a single record instead.
   */
  add(readId: number, tag: number, bytes: Uint8Array): boolean {
    const n = bytes.byteLength;
    const need = BATCH_ITEM_HEADER_BYTES + n;
    if (this.start >= 0 && (tag !== this.tag || this.used + need > this.reserveBytes)) this.end();
    if (this.start < 0 && !this.open(tag, need)) return false;
    const out = this.out;
    const at = this.start + this.used;
    const abs = this.outBase + at;
    this.view.setFloat64(abs, readId, true);
    this.view.setUint32(abs + 8, n, true);
    if (n > 0) {
      if (n <= 16) for (let i = 0; i < n; i++) out[at + BATCH_ITEM_HEADER_BYTES + i] = bytes[i];
      else out.set(bytes, at + BATCH_ITEM_HEADER_BYTES);
    }
    this.used += need;
    this.count++;
    return true;
  }

  /** Publishes the open batch, if any; `leaderHint` goes in an OkBatch's header. */
  end(leaderHint = -1): void {
    if (this.start < 0) return;
    const abs = this.outBase + this.start;
    this.view.setUint32(abs, this.kind | (this.tag << 8), true);
    this.view.setUint32(abs + 4, this.count, true);
    if (this.kind === ReadRecordKind.OkBatch) {
      this.view.setInt32(abs + 8, leaderHint, true);
      this.view.setInt32(abs + 12, 0, true);
    }
    this.start = -1;
    this.link.out.commit(this.used);
  }

  /** Forgets the open batch without publishing it (the link is closing). */
  abandon(): void {
    if (this.start < 0) return;
    this.start = -1;
    this.link.out.abort();
  }

  private open(tag: number, need: number): boolean {
    if (this.headerBytes + need > this.reserveBytes || !this.link.canWriteInPlace) return false;
    const off = this.link.out.tryReserve(this.reserveBytes);
    if (off < 0) return false;
    this.start = off;
    this.used = this.headerBytes;
    this.count = 0;
    this.tag = tag;
    return true;
  }
}
