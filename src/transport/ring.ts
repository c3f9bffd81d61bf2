/**
 * A single-producer single-consumer ring of length-prefixed byte records in a
 * SharedArrayBuffer. One thread writes, one thread reads; neither ever blocks inside the ring.
 *
 * Memory layout (the whole SharedArrayBuffer):
 *
 * ```
 *  byte   0  i32 magic            RING_MAGIC
 *  byte   4  i32 capacity         bytes in the data region (a power of two)
 *  byte  64  i32 head             bytes ever written, mod 2^32 (producer stores, consumer loads)
 *  byte 128  i32 tail             bytes ever released, mod 2^32 (consumer stores, producer loads)
 *  byte 192  i32 consumerWaiting  1 = the consumer is (about to go) asleep, wants a wake-up
 *  byte 224  i32 producerWaiting  1 = the producer is (about to go) asleep, wants space
 *  byte 256  data region, `capacity` bytes
 * ```
 *
 * head and tail sit on separate 64-byte cache lines so the two threads do not fight over one.
 *
 * Counters: head and tail are free-running 32-bit counters (they wrap at 2^32, stored in an
 * Int32Array as the same bits). Because the capacity is a power of two (<= 2^30) that divides
 * 2^32, the byte position is simply `counter & (capacity - 1)` and the bytes in use are
 * `(head - tail) | 0`, correct across the wrap; full (used === capacity) and empty (used === 0)
 * are distinct without sacrificing a slot.
 *
 * Records: a record is a host-endian i32 length followed by the payload, padded to a multiple of
 * 4 bytes so every length prefix is 4-aligned and never straddles the end. A record NEVER wraps:
 * if the payload does not fit before the end of the data region, the producer writes a SKIP
 * marker (length -1) at the current position and places the record at position 0; the consumer
 * treats SKIP as "continue at position 0". The skip and the record are published by one store of
 * head, so a reader never sees a skip without the record behind it. Not wrapping means every
 * payload is contiguous, which is what lets the codec encode straight into the ring
 * (`tryReserve`/`commit`, `writeMessage`) and lets `drain` hand out (buffer, offset, length)
 * without copying.
 *
 * The price of never wrapping: a record may need (bytes left before the end) + (its own size),
 * so to guarantee that an EMPTY ring can always take any allowed record, a payload is limited to
 * `maxRecordBytes = capacity / 2 - 4`. Larger records are refused with a RangeError (this is a
 * programming error: size the ring at least twice the largest batch), while a merely full ring
 * makes the try* methods return false (back-pressure).
 *
 * Memory ordering: payload bytes are written with plain stores before the producer's
 * `Atomics.store(head)`, and read by the consumer after its `Atomics.load(head)`; JS atomics are
 * sequentially consistent, which orders the plain accesses around them. Symmetrically the
 * consumer releases space with `Atomics.store(tail)` only after it has finished reading.
 * Each side keeps its own counter in a field (only ever storing it) and caches the other side's
 * counter, re-loading it only when the cached value says "full" / "empty": a steady stream costs
 * one Atomics.store per record written, one load + one store per `drain` call, and one
 * shared-line read per refill. Hence the rule: per ring, ONE RingBuffer object produces and ONE
 * consumes (they may be the same object in a single thread); do not write or read one ring
 * through two objects.
 *
 * Wake-ups (the ring never sleeps by itself; the caller decides how to sleep and how to wake):
 *
 * ```
 *  consumer, about to sleep                      producer, after publishing records
 *  ------------------------                      ----------------------------------
 *  if (ring.prepareToSleep()) {                  ring.tryWrite(rec)   // Atomics.store(head)
 *     // flag = 1 stored, ring re-checked empty  if (ring.consumerNeedsWakeup())  // load flag, exchange to 0
 *     sleep until a wake-up (port message,          port.postMessage('wake')      // or ring.wakeConsumer()
 *       or ring.waitForData(timeout))
 *  }  // else: data arrived meanwhile, keep draining
 * ```
 *
 * Why no wake-up is lost: the consumer does store(flag = 1) then load(head); the producer does
 * store(head) then load(flag). Under sequential consistency at least one of the two loads sees
 * the other side's store: either the consumer sees the new data and does not sleep, or the
 * producer sees the flag and sends a wake-up. `consumerNeedsWakeup()` exchanges the flag back to
 * 0, so one sleep yields at most one wake-up message. A spurious wake-up is harmless (the consumer
 * drains, finds nothing, goes back to sleep). A consumer that wakes for another reason (timeout)
 * calls `cancelSleep()`. The same protocol runs the other way for a producer that found the ring
 * full: `prepareToWaitForSpace(len)` / `producerNeedsWakeup()` / `wakeProducer()`.
 * `waitForData`/`waitForSpace` (Atomics.waitAsync, usable on the main thread) and their *Sync
 * twins (Atomics.wait, workers only) implement the sleeping half with `wakeConsumer` /
 * `wakeProducer` (Atomics.notify) as the waking half.
 */
import type { Message } from '../core/message.js';
import { decode, encodeInto, encodedSize } from './codec.js';

export const RING_MAGIC = 0x52494e47; // "RING"
export const RING_HEADER_BYTES = 256;
export const RING_MIN_CAPACITY = 64;
export const RING_MAX_CAPACITY = 1 << 30;

const H_MAGIC = 0;
const H_CAPACITY = 1;
const H_HEAD = 16; // byte 64
const H_TAIL = 32; // byte 128
const H_CONSUMER_WAITING = 48; // byte 192
const H_PRODUCER_WAITING = 56; // byte 224

const SKIP = -1;
const PREFIX = 4;

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as {
  waitAsync?: (a: Int32Array, i: number, v: number, t?: number) => WaitAsyncResult;
}).waitAsync;

/**
 * Node does not count a pending Atomics.waitAsync as work that keeps the event loop alive
 * (nodejs/node#61941): with nothing else pending the process exits, or a timed-out wait never
 * settles. So hold a ref'd timer for the duration of the wait.
 */
async function waitAsyncKeepAlive(hdr: Int32Array, index: number, value: number, timeoutMs: number): Promise<void> {
  if (waitAsync === undefined) throw new Error('ring: Atomics.waitAsync is not available in this runtime');
  const r = waitAsync(hdr, index, value, timeoutMs);
  if (!r.async) return;
  const keepAlive = setInterval(noop, 1 << 30);
  try {
    await r.value;
  } finally {
    clearInterval(keepAlive);
  }
}

function noop(): void {}

function roundUpPow2(n: number): number {
  let c = RING_MIN_CAPACITY;
  while (c < n) c *= 2;
  return c;
}

/** Bytes a record of `len` payload bytes occupies in the ring (prefix + padded payload). */
function footprint(len: number): number {
  return PREFIX + ((len + 3) & ~3);
}

export type RecordCallback = (buf: Uint8Array, offset: number, length: number) => void;

export class RingBuffer {
  /** The shared memory; send it to the other thread and wrap it with `new RingBuffer(sab)`. */
  readonly sab: SharedArrayBuffer;
  /** Bytes in the data region (a power of two). */
  readonly capacity: number;
  /** Largest payload `tryWrite`/`tryReserve` accept: capacity / 2 - 4. */
  readonly maxRecordBytes: number;
  /** The data region. Offsets handed out by tryReserve/drain are relative to it. */
  readonly bytes: Uint8Array;
  private readonly hdr: Int32Array;
  private readonly words: Int32Array;
  private readonly mask: number;
  // producer-side state (a ring has ONE producer object and ONE consumer object; each keeps its
  // own counter in a field and only stores it to shared memory, and caches the other's counter)
  private head: number;
  private cachedTail: number;
  private resHead = 0;
  private resSkip = 0;
  private resStart = -1; // -1: no reservation open
  private resLen = 0;
  /** Records committed with commitUnpublished() that the consumer cannot see yet. */
  private unpublished = false;
  // consumer-side state
  private tail: number;
  private cachedHead: number;

  /** A new ring whose data region holds at least `capacityBytes` (rounded up to a power of two, min 64). */
  static create(capacityBytes: number): RingBuffer {
    if (!Number.isInteger(capacityBytes) || capacityBytes <= 0 || capacityBytes > RING_MAX_CAPACITY) {
      throw new RangeError(`ring: capacity ${capacityBytes} must be an integer in 1..${RING_MAX_CAPACITY}`);
    }
    const cap = roundUpPow2(capacityBytes);
    const sab = new SharedArrayBuffer(RING_HEADER_BYTES + cap);
    const hdr = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    hdr[H_CAPACITY] = cap;
    Atomics.store(hdr, H_MAGIC, RING_MAGIC);
    return new RingBuffer(sab);
  }

  /** Wraps a SharedArrayBuffer made by `RingBuffer.create` (typically on the other thread). */
  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer)) throw new TypeError('ring: expected a SharedArrayBuffer');
    if (sab.byteLength < RING_HEADER_BYTES + RING_MIN_CAPACITY) {
      throw new RangeError(`ring: buffer of ${sab.byteLength} bytes is too small for a ring`);
    }
    const hdr = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    if (Atomics.load(hdr, H_MAGIC) !== RING_MAGIC) throw new Error('ring: buffer was not initialised by RingBuffer.create (bad magic)');
    const cap = hdr[H_CAPACITY];
    if (cap !== sab.byteLength - RING_HEADER_BYTES || (cap & (cap - 1)) !== 0) {
      throw new Error(`ring: header capacity ${cap} does not match the ${sab.byteLength - RING_HEADER_BYTES}-byte data region`);
    }
    this.sab = sab;
    this.hdr = hdr;
    this.capacity = cap;
    this.mask = cap - 1;
    this.maxRecordBytes = cap / 2 - PREFIX;
    this.bytes = new Uint8Array(sab, RING_HEADER_BYTES, cap);
    this.words = new Int32Array(sab, RING_HEADER_BYTES, cap / 4);
    this.head = this.cachedHead = Atomics.load(hdr, H_HEAD);
    this.tail = this.cachedTail = Atomics.load(hdr, H_TAIL);
  }

  /** Bytes in use, including prefixes, padding and skipped space at the end. */
  get usedBytes(): number {
    return (Atomics.load(this.hdr, H_HEAD) - Atomics.load(this.hdr, H_TAIL)) | 0;
  }

  get freeBytes(): number {
    return this.capacity - this.usedBytes;
  }

  get isEmpty(): boolean {
    return Atomics.load(this.hdr, H_HEAD) === Atomics.load(this.hdr, H_TAIL);
  }

  // ------------------------------------------------------------------ producer

  private checkLen(len: number): void {
    if (!(len >= 0 && len <= this.maxRecordBytes && (len | 0) === len)) {
      throw new RangeError(
        `ring: record of ${len} bytes exceeds the ${this.maxRecordBytes}-byte limit of a ${this.capacity}-byte ring ` +
        `(records are limited to capacity/2 - 4 so they never wrap; make the ring at least twice the largest record)`,
      );
    }
  }

  /** Bytes (skip + record) needed to place a `len`-byte record at counter `head`. */
  private span(head: number, len: number): number {
    const toEnd = this.capacity - (head & this.mask);
    const need = footprint(len);
    return toEnd < need ? toEnd + need : need;
  }

  /** Whether a `len`-byte record would fit now (producer side; refreshes the cached tail). */
  canWrite(len: number): boolean {
    this.checkLen(len);
    const head = this.head;
    this.cachedTail = Atomics.load(this.hdr, H_TAIL);
    return this.capacity - ((head - this.cachedTail) | 0) >= this.span(head, len);
  }

  /**
   * Reserves room for a `len`-byte record and returns the offset in `bytes` where its payload
   * goes, or -1 if the ring is too full (back-pressure). Fill `bytes[off, off + len)`, then call
   * `commit()` (or `abort()`). Nothing is visible to the consumer before `commit()`.
   * Throws a RangeError if `len > maxRecordBytes`.
   */
  tryReserve(len: number): number {
    if (this.resStart >= 0) throw new Error('ring: tryReserve while a reservation is still open (commit or abort it first)');
    this.checkLen(len);
    const head = this.head;
    const cap = this.capacity;
    const pos = head & this.mask;
    const need = footprint(len);
    const skip = cap - pos < need ? cap - pos : 0;
    if (cap - ((head - this.cachedTail) | 0) < skip + need) {
      this.cachedTail = Atomics.load(this.hdr, H_TAIL);
      if (cap - ((head - this.cachedTail) | 0) < skip + need) return -1;
    }
    let start = pos;
    if (skip !== 0) {
      this.words[pos >> 2] = SKIP;
      start = 0;
    }
    this.resHead = head;
    this.resSkip = skip;
    this.resStart = start;
    this.resLen = len;
    return start + PREFIX;
  }

  /** Publishes the open reservation; `len` (default: the reserved length) may shrink it. */
  commit(len: number = this.resLen): void {
    const start = this.resStart;
    if (start < 0) throw new Error('ring: commit without a reservation');
    if (!(len >= 0 && len <= this.resLen && (len | 0) === len)) {
      throw new RangeError(`ring: commit of ${len} bytes, but ${this.resLen} were reserved`);
    }
    this.words[start >> 2] = len;
    this.resStart = -1;
    const head = (this.resHead + this.resSkip + footprint(len)) | 0;
    this.head = head;
    this.unpublished = false; // (this store publishes them too)
    Atomics.store(this.hdr, H_HEAD, head);
  }

  /**
   * commit() of the whole reservation without publishing it: the record (and every earlier
   * unpublished one) becomes visible to the consumer at the next publish(), commit() or
   * wakeConsumer(). A producer writing a run of records pays one Atomics.store (a full fence)
   * per run instead of one per record; it must publish before it can expect an answer.
   */
  commitUnpublished(): void {
    const start = this.resStart;
    if (start < 0) throw new Error('ring: commit without a reservation');
    this.words[start >> 2] = this.resLen;
    this.resStart = -1;
    this.head = (this.resHead + this.resSkip + footprint(this.resLen)) | 0;
    this.unpublished = true;
  }

  /** Makes every record committed with commitUnpublished() visible to the consumer. */
  publish(): void {
    if (!this.unpublished) return;
    this.unpublished = false;
    Atomics.store(this.hdr, H_HEAD, this.head);
  }

  /** Drops the open reservation (nothing was published). */
  abort(): void {
    this.resStart = -1;
  }

  /** Copies `record` into the ring; false if it does not fit now. */
  tryWrite(record: Uint8Array): boolean {
    const off = this.tryReserve(record.byteLength);
    if (off < 0) return false;
    this.bytes.set(record, off);
    this.commit();
    return true;
  }

  /**
   * Reserves `len` bytes and lets `fill(buf, offset)` write the payload in place. `fill` may
   * return the number of bytes it actually wrote (<= len). If it throws, nothing is published.
   */
  tryWriteWith(len: number, fill: (buf: Uint8Array, offset: number) => number | void): boolean {
    const off = this.tryReserve(len);
    if (off < 0) return false;
    let n: number | void;
    try {
      n = fill(this.bytes, off);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.commit(typeof n === 'number' ? n : len);
    return true;
  }

  /** Encodes `m` straight into the ring (one record); false if it does not fit now. */
  writeMessage(m: Message): boolean {
    const off = this.tryReserve(encodedSize(m));
    if (off < 0) return false;
    try {
      encodeInto(m, this.bytes, off);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.commit();
    return true;
  }

  // ------------------------------------------------------------------ consumer

  private corrupt(len: number, tail: number, head: number): never {
    throw new Error(`ring: corrupt record length ${len} at position ${tail & this.mask} (tail ${tail >>> 0}, head ${head >>> 0})`);
  }

  /**
   * Calls `onRecord(buf, offset, length)` for each record already in the ring when drain starts
   * (at most `maxRecords`), in order, then releases their space with one store. The bytes are
   * only valid during the callback: copy what you keep. Not re-entrant: do not read this ring
   * from inside the callback. If the callback throws, that record
   * and those before it count as consumed and the error propagates. Returns records delivered.
   */
  drain(onRecord: RecordCallback, maxRecords = Infinity): number {
    const hdr = this.hdr, words = this.words, bytes = this.bytes;
    const cap = this.capacity, mask = this.mask, maxLen = this.maxRecordBytes;
    let tail = this.tail;
    const head = Atomics.load(hdr, H_HEAD);
    this.cachedHead = head;
    this.peeked = false;
    if (tail === head) return 0;
    let n = 0;
    try {
      while (tail !== head && n < maxRecords) {
        const pos = tail & mask;
        const len = words[pos >> 2];
        if (len === SKIP) {
          tail = (tail + cap - pos) | 0;
          continue;
        }
        const next = (tail + footprint(len)) | 0;
        if (len < 0 || len > maxLen || ((head - next) | 0) < 0) this.corrupt(len, tail, head);
        tail = next;
        n++;
        onRecord(bytes, pos + PREFIX, len);
      }
    } finally {
      this.tail = tail;
      Atomics.store(hdr, H_TAIL, tail);
    }
    return n;
  }

  /** Decodes and delivers each message already queued (see `drain`); decode errors propagate. */
  drainMessages(onMessage: (m: Message) => void, maxRecords = Infinity): number {
    return this.drain((buf, off, len) => onMessage(decode(buf, off, len)), maxRecords);
  }

  /**
   * Finds the next record without consuming it: returns its payload offset in `bytes` and
   * leaves its length in `peekedLength`, or returns -1 if the ring is empty. Follow with
   * `release()` when done with the bytes.
   */
  peek(): number {
    const hdr = this.hdr;
    let tail = this.tail;
    for (;;) {
      if (tail === this.cachedHead) {
        this.cachedHead = Atomics.load(hdr, H_HEAD);
        if (tail === this.cachedHead) return -1;
      }
      const pos = tail & this.mask;
      const len = this.words[pos >> 2];
      if (len === SKIP) {
        tail = (tail + this.capacity - pos) | 0;
        this.tail = tail;
        Atomics.store(hdr, H_TAIL, tail);
        continue;
      }
      const next = (tail + footprint(len)) | 0;
      if (len < 0 || len > this.maxRecordBytes || ((this.cachedHead - next) | 0) < 0) this.corrupt(len, tail, this.cachedHead);
      this.peekedLength = len;
      this.peekedNext = next;
      this.peeked = true;
      return pos + PREFIX;
    }
  }

  /** Length of the record found by the last successful `peek()`. */
  peekedLength = 0;
  private peekedNext = 0;
  private peeked = false;

  /** Consumes the record found by the last successful `peek()`. */
  release(): void {
    if (!this.peeked) throw new Error('ring: release without a successful peek');
    this.peeked = false;
    this.tail = this.peekedNext;
    Atomics.store(this.hdr, H_TAIL, this.peekedNext);
  }

  /** Takes the next record as a fresh copy, or null if the ring is empty. */
  read(): Uint8Array | null {
    const off = this.peek();
    if (off < 0) return null;
    const out = this.bytes.slice(off, off + this.peekedLength);
    this.release();
    return out;
  }

  /** Takes and decodes the next record, or null if the ring is empty. A record that fails to decode is consumed, and the error propagates. */
  readMessage(): Message | null {
    const off = this.peek();
    if (off < 0) return null;
    let m: Message;
    try {
      m = decode(this.bytes, off, this.peekedLength);
    } catch (e) {
      this.release();
      throw e;
    }
    this.release();
    return m;
  }

  // ------------------------------------------------------------------ wake-ups

  /**
   * Consumer: announce an intention to sleep. Returns true if the ring is still empty after the
   * flag was raised (safe to sleep: the producer will see the flag), false if data arrived (the
   * flag is lowered again; keep draining).
   */
  prepareToSleep(): boolean {
    Atomics.store(this.hdr, H_CONSUMER_WAITING, 1);
    if (!this.isEmpty) {
      Atomics.store(this.hdr, H_CONSUMER_WAITING, 0);
      return false;
    }
    return true;
  }

  /** Consumer: lower the sleep flag (woke up for another reason, e.g. a timeout). */
  cancelSleep(): void {
    Atomics.store(this.hdr, H_CONSUMER_WAITING, 0);
  }

  /**
   * Producer, after publishing: true exactly once per consumer sleep, meaning "send the consumer a
   * wake-up now" (over a MessagePort, or with `wakeConsumer()`). Costs one load when nobody sleeps.
   */
  consumerNeedsWakeup(): boolean {
    return Atomics.load(this.hdr, H_CONSUMER_WAITING) === 1 && Atomics.exchange(this.hdr, H_CONSUMER_WAITING, 0) === 1;
  }

  /**
   * Consumer, after prepareToSleep() returned true: a promise that settles when a producer
   * calls wakeConsumer(), or null if that already happened. Unlike waitForData it does not
   * keep the event loop alive: the caller decides what does.
   */
  sleepUntilWoken(): Promise<unknown> | null {
    if (waitAsync === undefined) throw new Error('ring: Atomics.waitAsync is not available in this runtime');
    const r = waitAsync(this.hdr, H_CONSUMER_WAITING, 1);
    return r.async ? r.value : null;
  }

  /**
   * Consumer that polls its ring for a moment instead of sleeping (BusyPoller), while its
   * sleep (sleepUntilWoken) is still pending: lowers the sleep flag, so that producers skip
   * the wake-up (Atomics.notify to a waitAsync waiter posts a task to this thread's event loop,
   * tens of microseconds on the producer's side on a VM). Returns true if the flag was raised;
   * resumeSleep() must then follow.
   */
  pauseSleep(): boolean {
    return Atomics.exchange(this.hdr, H_CONSUMER_WAITING, 0) === 1;
  }

  /**
   * After pauseSleep() returned true: raises the flag again, and if records arrived
   * meanwhile, wakes the pending sleep itself (cheap: this thread is awake). No wake-up is lost:
   * the consumer stores the flag, then loads head; a producer stores head, then loads the flag.
   */
  resumeSleep(): void {
    Atomics.store(this.hdr, H_CONSUMER_WAITING, 1);
    if (!this.isEmpty) this.wakeConsumer();
  }

  /**
   * Producer: publishes what commitUnpublished() left unseen, then wakes a consumer sleeping in
   * waitForData/waitForDataSync if it asked; true if it did.
   */
  wakeConsumer(): boolean {
    this.publish(); // store(head) before load(flag): no wake-up is lost
    if (!this.consumerNeedsWakeup()) return false;
    Atomics.notify(this.hdr, H_CONSUMER_WAITING);
    return true;
  }

  /**
   * Consumer: sleep (without blocking the event loop: Atomics.waitAsync) until the producer calls
   * `wakeConsumer()` or `timeoutMs` passes (Infinity: no timeout). Resolves true if the ring
   * then holds data. Keeps the event loop alive while waiting (see waitAsyncKeepAlive).
   */
  async waitForData(timeoutMs: number): Promise<boolean> {
    if (!this.prepareToSleep()) return true;
    try {
      await waitAsyncKeepAlive(this.hdr, H_CONSUMER_WAITING, 1, timeoutMs);
    } finally {
      this.cancelSleep();
    }
    return !this.isEmpty;
  }

  /** Consumer, worker threads only (Atomics.wait blocks the thread): like waitForData. */
  waitForDataSync(timeoutMs: number): boolean {
    if (!this.prepareToSleep()) return true;
    Atomics.wait(this.hdr, H_CONSUMER_WAITING, 1, timeoutMs);
    this.cancelSleep();
    return !this.isEmpty;
  }

  /**
   * Producer that found the ring full: announce an intention to sleep until a `len`-byte record
   * fits. True if it still does not fit after the flag was raised (safe to sleep), false if it
   * fits now (flag lowered again; retry the write).
   */
  prepareToWaitForSpace(len: number): boolean {
    Atomics.store(this.hdr, H_PRODUCER_WAITING, 1);
    if (this.canWrite(len)) {
      Atomics.store(this.hdr, H_PRODUCER_WAITING, 0);
      return false;
    }
    return true;
  }

  /** Producer: lower the space-wait flag. */
  cancelWaitForSpace(): void {
    Atomics.store(this.hdr, H_PRODUCER_WAITING, 0);
  }

  /** Consumer, after draining: true exactly once per producer wait, meaning "send the producer a wake-up". */
  producerNeedsWakeup(): boolean {
    return Atomics.load(this.hdr, H_PRODUCER_WAITING) === 1 && Atomics.exchange(this.hdr, H_PRODUCER_WAITING, 0) === 1;
  }

  /** Consumer: wake a producer sleeping in waitForSpace/waitForSpaceSync if it asked; true if it did. */
  wakeProducer(): boolean {
    if (!this.producerNeedsWakeup()) return false;
    Atomics.notify(this.hdr, H_PRODUCER_WAITING);
    return true;
  }

  /** Producer: sleep (Atomics.waitAsync) until a `len`-byte record may fit or `timeoutMs` passes. Resolves whether it fits. */
  async waitForSpace(len: number, timeoutMs: number): Promise<boolean> {
    if (!this.prepareToWaitForSpace(len)) return true;
    try {
      await waitAsyncKeepAlive(this.hdr, H_PRODUCER_WAITING, 1, timeoutMs);
    } finally {
      this.cancelWaitForSpace();
    }
    return this.canWrite(len);
  }

  /** Producer, worker threads only (Atomics.wait blocks the thread): like waitForSpace. */
  waitForSpaceSync(len: number, timeoutMs: number): boolean {
    if (!this.prepareToWaitForSpace(len)) return true;
    Atomics.wait(this.hdr, H_PRODUCER_WAITING, 1, timeoutMs);
    this.cancelWaitForSpace();
    return this.canWrite(len);
  }
}
