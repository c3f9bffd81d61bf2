import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { CoarseClock } from './coarse-clock.js';
import { ReadBatchWriter } from './read-batch-writer.js';
import { ANSWER_HEADER_BYTES, READ_HEADER_BYTES, READ_LINK_ROUNDS_PER_TURN, READ_PUBLISH_ITEMS, ReadFailReason, ReadRecordKind, ReadRoute, decodeAnswer, encodeRead, forEachBatchItem, writeReadAt } from './read-protocol.js';
import { ReadTable, type ReadWaiter } from './read-table.js';
import { NO_READ_OPTIONS, checkReadOptions } from './read-options-check.js';

export interface ReadOptions {
  /** Give up after this long (retrying refusals meanwhile). Default 5000 ms. */
  timeoutMs?: number;
  /**
   * 'leader' (default): the read runs on the leader (ReadIndex, or a lease read when the
   * cluster runs readMode 'lease'). 'follower': it runs on any peer, spread round-robin; a
   * follower asks the leader for the read index and answers once it has applied that far.
   */
  mode?: 'leader' | 'follower';
  /** Send the read to this peer only (no retries elsewhere): fails if it is crashed or stopped. */
  peer?: number;
}

export type ReadFailure = 'timeout' | 'query-failed' | 'crashed' | 'stopped' | 'no-query' | 'invalid';

/** A read that was not answered. None of them changed anything. */
export class ReadFailedError extends Error {
  constructor(readonly reason: ReadFailure, message: string) {
    super(message);
    this.name = 'ReadFailedError';
  }
}

/** The streamed reads' outcomes (ClusterReader.submitRead). */
export type ReadDoneListener = (seq: number, result: Uint8Array) => void;
export type ReadFailedListener = (seq: number, error: ReadFailedError) => void;
/**
 * A streamed read's result in place: `bytes[offset, offset + length)`, valid only during the
 * call (the bytes are the read link's ring, reused afterwards): copy what you keep.
 */
export type ReadResultListener = (seq: number, bytes: Uint8Array, offset: number, length: number) => void;

const DEFAULT_READ_TIMEOUT_MS = 5000;
const READ_OPTION_NAMES: readonly string[] = ['timeoutMs', 'mode', 'peer'];
/** How often reads in flight past their deadline are looked for (one timer per client, only while reads are under way). */
const DEADLINE_SWEEP_MS = 50;
/** Results up to this size are copied byte by byte into a fresh array (cheaper than slice for a few bytes). */
const SMALL_RESULT_BYTES = 64;
const decoder = new TextDecoder();

/**
 * The main thread's reads, over one read link per peer (see read-protocol.ts). Reads are
 * idempotent, so whatever stops one before it is answered (a refusal, a lost leader, a crashed
 * peer) is retried, following the leader, until the deadline. The reads of one turn to one
 * peer go out in place as one ReadBatch record, published and the peer woken once per turn
 * (a microtask), whatever the number of reads; the reads under way live in a ReadTable
 * (typed arrays, no object per read).
 */
export class ClusterReader {
  private readonly links: Array<RingLink | null>;
  private readonly table = new ReadTable();
  private nextId = 1;
  private nextFollower = 0;
  /** The largest query a read link carries (every link's rings have the same size; known once one is attached). */
  private maxQueryBytes = Infinity;
  private closedReason: string | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Fails reads in flight past their deadline: a peer may never answer (a leader cut off without check-quorum). */
  private sweeper: NodeJS.Timeout | null = null;
  private readonly clock = new CoarseClock();
  private flushQueued = false;
  /** Reads sent and not answered, over all links (0 <-> the links are unref'd). */
  private inFlightCount = 0;
  /** DataViews over each link's outbound ring (made when the link is). */
  private readonly outViews: Array<DataView | null>;
  /** Each link's batch of this turn's reads. */
  private readonly batches: Array<ReadBatchWriter | null>;
  /** Links written this turn: only they are woken (waking an idle peer's reader for nothing costs both threads a wake-up). */
  private readonly written: boolean[];
  /** Where a streamed read's result goes (submitRead). */
  onReadDone: ReadDoneListener | null = null;
  /** Where a streamed read's result goes in place, without a copy; when set, instead of onReadDone. */
  onReadResult: ReadResultListener | null = null;
  /** Where a streamed read's failure goes (submitRead): the same ReadFailedErrors as read() rejects with. */
  onReadFailed: ReadFailedListener | null = null;

  constructor(size: number, private readonly leaderOf: () => number, private readonly setLeader: (peer: number) => void) {
    this.links = new Array(size).fill(null);
    this.outViews = new Array(size).fill(null);
    this.batches = new Array(size).fill(null);
    this.written = new Array(size).fill(false);
  }

  /** Peer `i` (re)started with these ends (null: it is down); reads in flight to its old self are retried. */
  attach(i: number, ends: RingLinkEnds | null): void {
    while (this.links.length <= i) this.links.push(null); // a peer added to the running cluster
    const old = this.links[i];
    if (old) {
      this.links[i] = null;
      this.batches[i]!.abandon(); // the reads in it are retried below
      this.batches[i] = null;
      old.close();
      for (const seq of this.table.allSeqs()) {
        const s = this.table.slotOf(seq);
        if (s >= 0 && this.table.at[s] === i) this.failed(seq, s, ReadFailReason.Stopped, -1, `peer ${i} crashed or restarted`);
      }
    }
    if (!ends || this.closedReason) return;
    const link = new RingLink(ends, (l) => this.drain(l), READ_LINK_ROUNDS_PER_TURN);
    this.maxQueryBytes = link.out.maxRecordBytes - READ_HEADER_BYTES;
    link.unref();
    this.links[i] = link;
    this.outViews[i] = new DataView(link.out.bytes.buffer, 0);
    this.batches[i] = new ReadBatchWriter(link, ReadRecordKind.ReadBatch);
    if (this.inFlightCount > 0) link.ref();
  }

  read(query: Uint8Array, options: ReadOptions = NO_READ_OPTIONS): Promise<Uint8Array> {
    if (this.closedReason) return Promise.reject(new ReadFailedError('stopped', this.closedReason));
    this.check(query, options);
    return new Promise((resolve, reject) => {
      this.start(query, options, { resolve, reject });
    });
  }

  /**
   * The streaming form of read(): sends the read and returns its sequence number; onReadDone
   * (with the result) or onReadFailed (with the ReadFailedError read() would reject with) is
   * called with it exactly once, later (never from inside this call). No promise per read.
   * Bad arguments throw here as read() does; a closed reader throws ReadFailedError 'stopped'.
   */
  submitRead(query: Uint8Array, options: ReadOptions = NO_READ_OPTIONS): number {
    if (this.closedReason) throw new ReadFailedError('stopped', this.closedReason);
    this.check(query, options);
    return this.start(query, options, null);
  }

  /** Reads not settled yet (in flight or waiting to be sent again). */
  get inFlight(): number {
    return this.table.size;
  }

  close(reason: string): void {
    this.closedReason = reason;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.sweeper) { clearInterval(this.sweeper); this.sweeper = null; }
    for (let i = 0; i < this.links.length; i++) { this.batches[i]?.abandon(); this.batches[i] = null; this.links[i]?.close(); this.links[i] = null; }
    for (const seq of this.table.allSeqs()) {
      const s = this.table.slotOf(seq);
      if (s >= 0) this.reject(seq, s, new ReadFailedError('stopped', reason));
    }
    this.inFlightCount = 0;
  }

  /** The checks of every read; what is wrong is worked out in refuse(), kept out of line so that this stays small enough to inline. */
  private check(query: Uint8Array, options: ReadOptions): void {
    if (!(query instanceof Uint8Array) || query.byteLength > this.maxQueryBytes) this.refuse(query, options);
    checkReadOptions(options, READ_OPTION_NAMES);
    const timeoutMs = options.timeoutMs, mode = options.mode, peer = options.peer;
    if ((timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) || (mode !== undefined && mode !== 'leader' && mode !== 'follower') ||
        (peer !== undefined && !(Number.isInteger(peer) && peer >= 0 && peer < this.links.length))) this.refuse(query, options);
  }

  /** Throws the error that check() found a reason for. */
  private refuse(query: unknown, options: ReadOptions): never {
    if (!(query instanceof Uint8Array)) throw new TypeError(`a read query must be a Uint8Array, got ${query === null ? 'null' : typeof query}`);
    if (query.byteLength > this.maxQueryBytes) {
      throw new RangeError(`a read query of ${query.byteLength} bytes exceeds the ${this.maxQueryBytes} bytes a read link carries (its rings are sized from maxCommandBytes)`);
    }
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0))) throw new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    const mode = options.mode;
    if (mode !== undefined && mode !== 'leader' && mode !== 'follower') throw new RangeError(`option mode must be 'leader' or 'follower', got ${String(mode)}`);
    const peer = options.peer;
    throw new RangeError(`option peer must be a peer index 0..${this.links.length - 1}, got ${String(peer)}`);
  }


  /** Adds a checked read to the table and sends it; returns its seq. */
  private start(query: Uint8Array, options: ReadOptions, waiter: ReadWaiter | null): number {
    const seq = this.nextId++;
    const peer = options.peer ?? -1;
    const route = options.mode === 'follower' || peer >= 0 ? ReadRoute.AnyPeer : ReadRoute.Leader;
    const s = this.table.add(seq, query, route, peer, this.clock.now() + (options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS), waiter);
    if (this.sweeper === null) { this.sweeper = setInterval(this.sweepDeadlines, DEADLINE_SWEEP_MS); this.sweeper.unref(); }
    this.send(seq, s);
    return seq;
  }

  /** Reads in flight past their deadline fail now (an answer that comes later is ignored). */
  private readonly sweepDeadlines = (): void => {
    if (this.table.size === 0) { clearInterval(this.sweeper!); this.sweeper = null; return; }
    const now = performance.now();
    for (const seq of this.table.sentPast(now)) {
      const s = this.table.slotOf(seq);
      if (s < 0 || this.table.at[s] < 0) continue; // settled by an earlier rejection's listener
      const peer = this.table.at[s];
      this.landed(s);
      this.reject(seq, s, new ReadFailedError('timeout', `read not answered within its deadline: peer ${peer} has not answered it; last error: ${this.table.lastErrors[s] || 'none'}`));
    }
  };

  /** Settles read `seq` (slot `s`) with its result. */
  private resolve(seq: number, s: number, result: Uint8Array): void {
    const waiter = this.table.waiters[s];
    this.table.remove(s);
    if (waiter) waiter.resolve(result);
    else this.onReadDone?.(seq, result);
  }

  /** Settles read `seq` with a failure; a streamed read hears of it on a later microtask (never inside submitRead). */
  private reject(seq: number, s: number, e: ReadFailedError): void {
    const waiter = this.table.waiters[s];
    this.table.remove(s);
    if (waiter) { waiter.reject(e); return; }
    queueMicrotask(() => this.onReadFailed?.(seq, e));
  }

  private pickPeer(s: number): number {
    const fixed = this.table.fixedPeers[s];
    if (fixed >= 0) return fixed;
    const n = this.links.length;
    if (this.table.routes[s] === ReadRoute.AnyPeer) {
      for (let k = 0; k < n; k++) {
        const i = (this.nextFollower++) % n;
        if (this.links[i]) return i;
      }
      return -1;
    }
    const l = this.leaderOf();
    if (this.links[l]) return l;
    return this.links.findIndex((x) => x !== null);
  }

  private send(seq: number, s: number): void {
    const t = this.table;
    if (this.closedReason) { this.reject(seq, s, new ReadFailedError('stopped', this.closedReason)); return; }
    const to = this.pickPeer(s);
    const link = to >= 0 ? this.links[to] : null;
    if (!link) {
      if (t.fixedPeers[s] >= 0) { this.reject(seq, s, new ReadFailedError('crashed', `read not sent: peer ${t.fixedPeers[s]} is crashed or stopped`)); return; }
      t.lastErrors[s] = 'every peer is down';
      this.retryLater(seq, s, false);
      return;
    }
    t.at[s] = to;
    if (this.inFlightCount++ === 0) for (const l of this.links) l?.ref(); // reads in flight keep the process alive
    const query = t.queries[s]!;
    const route = t.routes[s] as ReadRoute;
    this.written[to] = true;
    const batch = this.batches[to]!;
    if (batch.add(seq, route, query)) {
      if (batch.size >= READ_PUBLISH_ITEMS) { batch.end(); link.flush(); } // see READ_PUBLISH_ITEMS
      if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushAll); }
      return;
    }
    batch.end(); // a read that does not go in a batch goes after the batch's reads
    const out = link.out;
    const off = link.canWriteInPlace ? out.tryReserve(READ_HEADER_BYTES + query.byteLength) : -1;
    if (off >= 0) {
      writeReadAt(this.outViews[to]!, out.bytes, off, seq, route, query);
      out.commit();
    } else {
      link.write(encodeRead(seq, route, query));
    }
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushAll); }
  }

  /** Publishes each link's batch and wakes its reader, once for every read written this turn. */
  private readonly flushAll = (): void => {
    this.flushQueued = false;
    const written = this.written;
    for (let i = 0; i < written.length; i++) {
      if (!written[i]) continue;
      written[i] = false;
      const l = this.links[i];
      if (!l) continue;
      this.batches[i]!.end();
      l.flush();
    }
  };

  private drain(link: RingLink): void {
    if (link !== this.draining) { this.draining = link; this.inView = new DataView(link.in.bytes.buffer, 0); }
    link.in.drain(this.onAnswerBound);
  }

  private draining: RingLink | null = null;
  private inView: DataView | null = null;
  private readonly onAnswerBound = (buf: Uint8Array, off: number, len: number): void => this.onAnswer(buf, off, len);

  private onAnswer(buf: Uint8Array, off: number, len: number): void {
    const view = this.inView!;
    const at = buf.byteOffset + off;
    const kind = len >= ANSWER_HEADER_BYTES ? view.getUint8(at) : 0;
    if (kind === ReadRecordKind.OkBatch) {
      this.answerBuf = buf;
      forEachBatchItem(view, buf, off, len, this.onResultBound);
      this.answerBuf = null;
      return;
    }
    if (kind !== ReadRecordKind.ReadOk) { this.onOtherAnswer(buf, off, len); return; }
    const n = view.getUint32(at + 4, true);
    if (len !== ANSWER_HEADER_BYTES + n) throw new Error(`read answer of ${len} bytes, expected ${ANSWER_HEADER_BYTES + n}`);
    this.onResult(view.getFloat64(at + 16, true), buf, off + ANSWER_HEADER_BYTES, n);
  }

  /** The OkBatch being walked (its items' offsets are in it). */
  private answerBuf: Uint8Array | null = null;
  private readonly onResultBound = (seq: number, at: number, n: number): void => this.onResult(seq, this.answerBuf!, at, n);

  /** Read `seq` answered with the result at `buf[from, from + n)` (ring bytes: copied). */
  private onResult(seq: number, buf: Uint8Array, from: number, n: number): void {
    const s = this.table.slotOf(seq);
    if (s < 0 || this.table.at[s] < 0) return; // answered after it was given up or sent again (a restart raced the answer)
    this.landed(s);
    const inPlace = this.onReadResult;
    if (inPlace !== null && this.table.waiters[s] === null) {
      this.table.remove(s);
      inPlace(seq, buf, from, n);
      return;
    }
    let result: Uint8Array;
    if (n <= SMALL_RESULT_BYTES) {
      result = new Uint8Array(n);
      for (let i = 0; i < n; i++) result[i] = buf[from + i];
    } else {
      result = buf.slice(from, from + n);
    }
    this.resolve(seq, s, result);
  }

  /** A failure (or a malformed record: decodeAnswer names the problem). */
  private onOtherAnswer(buf: Uint8Array, off: number, len: number): void {
    const a = decodeAnswer(buf, off, len);
    const s = this.table.slotOf(a.readId);
    if (s < 0 || this.table.at[s] < 0) return;
    this.landed(s);
    if (a.ok) {
      if (this.onReadResult !== null && this.table.waiters[s] === null) { this.table.remove(s); this.onReadResult(a.readId, a.bytes, 0, a.bytes.byteLength); return; }
      this.resolve(a.readId, s, a.bytes);
      return;
    }
    this.failed(a.readId, s, a.reason, a.leaderHint, decoder.decode(a.bytes), true);
  }

  /** Read in slot `s` is no longer in flight. */
  private landed(s: number): void {
    this.table.at[s] = -1;
    if (--this.inFlightCount === 0) for (const l of this.links) l?.unref();
  }

  private failed(seq: number, s: number, reason: ReadFailReason, hint: number, message: string, landed = false): void {
    const t = this.table;
    if (!landed) this.landed(s);
    t.lastErrors[s] = message;
    switch (reason) {
      case ReadFailReason.QueryFailed: this.reject(seq, s, new ReadFailedError('query-failed', message)); return;
      case ReadFailReason.NoQuery: this.reject(seq, s, new ReadFailedError('no-query', message)); return;
      case ReadFailReason.Invalid: this.reject(seq, s, new ReadFailedError('invalid', message)); return;
      default: break;
    }
    const fixed = t.fixedPeers[s];
    if (fixed >= 0) {
      // A stopping peer will not serve it; a refusal (no leader known yet, the leader lost) may pass: retry there until the deadline.
      if (reason === ReadFailReason.Stopped) { this.reject(seq, s, new ReadFailedError('crashed', message)); return; }
      this.retryLater(seq, s, false);
      return;
    }
    if (reason === ReadFailReason.NotLeader && hint >= 0 && hint !== this.leaderOf()) this.setLeader(hint);
    else if (t.routes[s] === ReadRoute.Leader) this.setLeader((this.leaderOf() + 1) % this.links.length);
    this.retryLater(seq, s, reason === ReadFailReason.NotLeader && hint >= 0);
  }

  /** Retries after a short pause (at once to a named leader) until the deadline. */
  private retryLater(seq: number, s: number, atOnce: boolean): void {
    const t = this.table;
    if (this.clock.now() >= t.deadlines[s]) {
      this.reject(seq, s, new ReadFailedError('timeout', `read not answered within its deadline; last error: ${t.lastErrors[s]}`));
      return;
    }
    const tries = ++t.tries[s];
    if (atOnce && tries < 8) { this.send(seq, s); return; }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const slot = this.table.slotOf(seq); // the table may have grown meanwhile
      if (slot >= 0) this.send(seq, slot);
    }, Math.min(100, 5 * 2 ** Math.min(tries, 5)));
    this.timers.add(timer);
  }
}
