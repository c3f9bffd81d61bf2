import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { CoarseClock } from './coarse-clock.js';
import { ANSWER_HEADER_BYTES, READ_HEADER_BYTES, ReadFailReason, ReadRecordKind, ReadRoute, decodeAnswer, encodeRead, writeReadAt } from './read-protocol.js';

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

interface PendingRead {
  query: Uint8Array;
  route: ReadRoute;
  fixedPeer: number;
  deadline: number;
  tries: number;
  /** The peer it was last sent to (-1: waiting to be sent). */
  at: number;
  lastError: string;
  /** The promise form's settlers; null for a streamed read (submitRead), whose outcome goes to onReadDone/onReadFailed. */
  waiter: { resolve: (r: Uint8Array) => void; reject: (e: Error) => void } | null;
}

/** The streamed reads' outcomes (ClusterReader.submitRead). */
export type ReadDoneListener = (seq: number, result: Uint8Array) => void;
export type ReadFailedListener = (seq: number, error: ReadFailedError) => void;

const DEFAULT_READ_TIMEOUT_MS = 5000;
const decoder = new TextDecoder();

/**
 * The main thread's reads, over one read link per peer (see read-protocol.ts). Reads are
 * idempotent, so whatever stops one before it is answered (a refusal, a lost leader, a crashed
 * peer) is retried, following the leader, until the deadline. Reads go out in place in the
 * ring and each link's reader is woken once per turn (a microtask), whatever the number of reads.
 */
export class ClusterReader {
  private readonly links: Array<RingLink | null>;
  private readonly pending = new Map<number, PendingRead>();
  private nextId = 1;
  private nextFollower = 0;
  private closedReason: string | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly clock = new CoarseClock();
  private flushQueued = false;
  /** DataViews over each link's outbound ring (made when the link is). */
  private readonly outViews: Array<DataView | null>;
  /** Where a streamed read's result goes (submitRead). */
  onReadDone: ReadDoneListener | null = null;
  /** Where a streamed read's failure goes (submitRead): the same ReadFailedErrors as read() rejects with. */
  onReadFailed: ReadFailedListener | null = null;

  constructor(size: number, private readonly leaderOf: () => number, private readonly setLeader: (peer: number) => void) {
    this.links = new Array(size).fill(null);
    this.outViews = new Array(size).fill(null);
  }

  /** Peer `i` (re)started with these ends (null: it is down); reads in flight to its old self are retried. */
  attach(i: number, ends: RingLinkEnds | null): void {
    const old = this.links[i];
    if (old) {
      this.links[i] = null;
      old.close();
      for (const [id, r] of this.pending) if (r.at === i) this.failed(id, r, ReadFailReason.Stopped, -1, `peer ${i} crashed or restarted`);
    }
    if (!ends || this.closedReason) return;
    const link = new RingLink(ends, (l) => this.drain(l));
    link.unref();
    this.links[i] = link;
    this.outViews[i] = new DataView(link.out.bytes.buffer, 0);
  }

  read(query: Uint8Array, options: ReadOptions = {}): Promise<Uint8Array> {
    if (this.closedReason) return Promise.reject(new ReadFailedError('stopped', this.closedReason));
    const r = this.newRead(query, options);
    return new Promise((resolve, reject) => {
      r.waiter = { resolve, reject };
      this.send(this.nextId++, r);
    });
  }

  /**
   * The streaming form of read(): sends the read and returns its sequence number; onReadDone
   * (with the result) or onReadFailed (with the ReadFailedError read() would reject with) is
   * called with it exactly once, later (never from inside this call). No promise per read.
   * Bad arguments throw here as read() does; a closed reader throws ReadFailedError 'stopped'.
   */
  submitRead(query: Uint8Array, options: ReadOptions = {}): number {
    if (this.closedReason) throw new ReadFailedError('stopped', this.closedReason);
    const r = this.newRead(query, options);
    const seq = this.nextId++;
    this.send(seq, r);
    return seq;
  }

  private newRead(query: Uint8Array, options: ReadOptions): PendingRead {
    if (!(query instanceof Uint8Array)) throw new TypeError(`a read query must be a Uint8Array, got ${query === null ? 'null' : typeof query}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    const mode = options.mode ?? 'leader';
    if (mode !== 'leader' && mode !== 'follower') throw new RangeError(`option mode must be 'leader' or 'follower', got ${String(mode)}`);
    const peer = options.peer ?? -1;
    if (options.peer !== undefined && (!Number.isInteger(peer) || peer < 0 || peer >= this.links.length)) {
      throw new RangeError(`option peer must be a peer index 0..${this.links.length - 1}, got ${String(options.peer)}`);
    }
    return {
      query, route: mode === 'follower' || peer >= 0 ? ReadRoute.AnyPeer : ReadRoute.Leader, fixedPeer: peer,
      deadline: this.clock.now() + timeoutMs, tries: 0, at: -1, lastError: 'none', waiter: null,
    };
  }

  /** Settles read `seq` with its result. */
  private resolve(seq: number, r: PendingRead, result: Uint8Array): void {
    if (r.waiter) r.waiter.resolve(result);
    else this.onReadDone?.(seq, result);
  }

  /** Settles read `seq` with a failure; a streamed read's failure is reported on a later microtask if it happens during submitRead. */
  private reject(seq: number, r: PendingRead, e: ReadFailedError): void {
    if (r.waiter) { r.waiter.reject(e); return; }
    queueMicrotask(() => this.onReadFailed?.(seq, e));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(reason: string): void {
    this.closedReason = reason;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (let i = 0; i < this.links.length; i++) { this.links[i]?.close(); this.links[i] = null; }
    const all = [...this.pending];
    this.pending.clear();
    for (const [seq, r] of all) this.reject(seq, r, new ReadFailedError('stopped', reason));
  }

  private pickPeer(r: PendingRead): number {
    if (r.fixedPeer >= 0) return r.fixedPeer;
    const n = this.links.length;
    if (r.route === ReadRoute.AnyPeer) {
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

  private send(id: number, r: PendingRead): void {
    if (this.closedReason) { this.reject(id, r, new ReadFailedError('stopped', this.closedReason)); return; }
    const to = this.pickPeer(r);
    const link = to >= 0 ? this.links[to] : null;
    if (!link) {
      if (r.fixedPeer >= 0) { this.reject(id, r, new ReadFailedError('crashed', `read not sent: peer ${r.fixedPeer} is crashed or stopped`)); return; }
      r.lastError = 'every peer is down';
      this.retryLater(id, r, false);
      return;
    }
    r.at = to;
    if (this.pending.size === 0) for (const l of this.links) l?.ref(); // reads in flight keep the process alive
    this.pending.set(id, r);
    const out = link.out;
    const off = link.canWriteInPlace ? out.tryReserve(READ_HEADER_BYTES + r.query.byteLength) : -1;
    if (off >= 0) {
      writeReadAt(this.outViews[to]!, out.bytes, off, id, r.route, r.query);
      out.commit();
    } else {
      link.write(encodeRead(id, r.route, r.query));
    }
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushAll); }
  }

  /** Wakes each link's reader once for every read written this turn. */
  private readonly flushAll = (): void => {
    this.flushQueued = false;
    for (const l of this.links) l?.flush();
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
    if (kind !== ReadRecordKind.ReadOk) { this.onOtherAnswer(buf, off, len); return; }
    const n = view.getUint32(at + 4, true);
    if (len !== ANSWER_HEADER_BYTES + n) throw new Error(`read answer of ${len} bytes, expected ${ANSWER_HEADER_BYTES + n}`);
    const id = view.getFloat64(at + 16, true);
    const r = this.pending.get(id);
    if (!r) return; // answered after it was given up (a restart raced the answer)
    this.settle(id);
    this.resolve(id, r, buf.slice(off + ANSWER_HEADER_BYTES, off + len));
  }

  /** A failure (or a malformed record: decodeAnswer names the problem). */
  private onOtherAnswer(buf: Uint8Array, off: number, len: number): void {
    const a = decodeAnswer(buf, off, len);
    const r = this.pending.get(a.readId);
    if (!r) return;
    if (a.ok) { this.settle(a.readId); this.resolve(a.readId, r, a.bytes); return; }
    this.failed(a.readId, r, a.reason, a.leaderHint, decoder.decode(a.bytes));
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) for (const l of this.links) l?.unref();
  }

  private failed(id: number, r: PendingRead, reason: ReadFailReason, hint: number, message: string): void {
    this.settle(id);
    r.at = -1;
    r.lastError = message;
    switch (reason) {
      case ReadFailReason.QueryFailed: this.reject(id, r, new ReadFailedError('query-failed', message)); return;
      case ReadFailReason.NoQuery: this.reject(id, r, new ReadFailedError('no-query', message)); return;
      case ReadFailReason.Invalid: this.reject(id, r, new ReadFailedError('invalid', message)); return;
      default: break;
    }
    if (r.fixedPeer >= 0) {
      this.reject(id, r, new ReadFailedError(reason === ReadFailReason.Stopped ? 'crashed' : 'timeout', `read on peer ${r.fixedPeer} failed: ${message}`));
      return;
    }
    if (reason === ReadFailReason.NotLeader && hint >= 0 && hint !== this.leaderOf()) this.setLeader(hint);
    else if (r.route === ReadRoute.Leader) this.setLeader((this.leaderOf() + 1) % this.links.length);
    this.retryLater(id, r, reason === ReadFailReason.NotLeader && hint >= 0);
  }

  /** Retries after a short pause (at once to a named leader) until the deadline. */
  private retryLater(id: number, r: PendingRead, atOnce: boolean): void {
    if (this.clock.now() >= r.deadline) {
      this.reject(id, r, new ReadFailedError('timeout', `read not answered within its deadline; last error: ${r.lastError}`));
      return;
    }
    r.tries++;
    if (atOnce && r.tries < 8) { this.send(id, r); return; }
    const t = setTimeout(() => { this.timers.delete(t); this.send(id, r); }, Math.min(100, 5 * 2 ** Math.min(r.tries, 5)));
    this.timers.add(t);
  }
}
