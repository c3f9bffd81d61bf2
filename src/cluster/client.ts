import { checkCommand } from '../core/command.js';
import { StateMachineError, WireCause, causeFromWire } from '../node/state-machine-error.js';
import { ClusterReader, type ReadDoneListener, type ReadFailedListener, type ReadOptions, type ReadResultListener } from './read-client.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { BusyPoller, LIGHT_LOAD } from '../transport/busy-poller.js';
import type { SpinGate } from '../transport/spin-gate.js';
import { Ack, AckKind, INVALID_REASON_TEXT, readAckAt } from './client-protocol.js';
import { checkCallOptionNames, checkTimeoutMs } from './call-options.js';
import { ClusterStoppedError } from './stopped-error.js';

/**
 * Why a proposal did not commit:
 * - 'not-leader', 'backpressure', 'invalid': refused, nothing appended;
 * - 'crashed': the peer was down when the command was submitted, nothing was sent;
 * - 'overwritten': accepted, then another leader's entry was applied at its index: it is
 *   certainly not in the log, so a retry cannot duplicate it;
 * - 'unknown': accepted, and its outcome cannot be known (the peer crashed or stopped, or a
 *   snapshot of a later term covered it): it may have committed, and a retry may apply it
 *   twice. The client never retries it on its own;
 * - 'timeout': propose() gave up retrying refusals at its deadline (nothing of it is pending);
 * - 'stopped': the client (its cluster) is stopped.
 */
export type FailReason = 'not-leader' | 'backpressure' | 'invalid' | 'crashed' | 'overwritten' | 'unknown' | 'timeout' | 'stopped';

/**
 * peer-side sequence number -> (owner, tag) for what is still unsettled. Owner 0 is the
 * client itself (the tag is its seq); others are FrameOwners (client sessions), whose tag is
 * their own number for the command.
 */
class SeqMap {
  // The length stays a power of two, so a slot is (head + offset) & mask, not a division.
  private tags = new Float64Array(1024);
  private owners = new Int32Array(1024);
  private mask = 1023;
  private head = 0;
  private len = 0;
  private start = 0; // peer seq of tags[head]

  push(tag: number, owner: number): void {
    if (this.len === this.tags.length) {
      const n = this.tags.length;
      const tags = new Float64Array(n * 2), owners = new Int32Array(n * 2);
      for (let k = 0; k < this.len; k++) { tags[k] = this.tags[(this.head + k) & this.mask]; owners[k] = this.owners[(this.head + k) & this.mask]; }
      this.tags = tags;
      this.owners = owners;
      this.mask = n * 2 - 1;
      this.head = 0;
    }
    const at = (this.head + this.len) & this.mask;
    this.tags[at] = tag;
    this.owners[at] = owner;
    this.len++;
  }

  tag(peerSeq: number): number {
    return this.tags[(this.head + peerSeq - this.start) & this.mask];
  }

  owner(peerSeq: number): number {
    return this.owners[(this.head + peerSeq - this.start) & this.mask];
  }

  /**
   * How many entries from `peerSeq` (at most `max`) belong to the owner of `peerSeq` with tags
   * that count up by one from its tag: a session's commands sent in a row, settled as one run.
   */
  runLength(peerSeq: number, max: number): number {
    const at = (this.head + peerSeq - this.start) & this.mask;
    const owner = this.owners[at], tag = this.tags[at];
    let n = 1;
    while (n < max) {
      const k = (at + n) & this.mask;
      if (this.owners[k] !== owner || this.tags[k] !== tag + n) break;
      n++;
    }
    return n;
  }

  /** settle() for each of peerSeq .. peerSeq + count - 1. */
  settleRun(peerSeq: number, count: number): void {
    const from = peerSeq - this.start;
    if (from === 0) { // the common case: the oldest entries, skipped in one step
      this.head = (this.head + count) & this.mask;
      this.start += count;
      this.len -= count;
      while (this.len > 0 && this.owners[this.head] === -1) {
        this.head = (this.head + 1) & this.mask;
        this.start++;
        this.len--;
      }
      return;
    }
    for (let k = 0; k < count; k++) this.owners[(this.head + from + k) & this.mask] = -1;
    this.settle(peerSeq);
  }

  settle(peerSeq: number): void {
    this.owners[(this.head + peerSeq - this.start) & this.mask] = -1;
    while (this.len > 0 && this.owners[this.head] === -1) {
      this.head = (this.head + 1) & this.mask;
      this.start++;
      this.len--;
    }
  }

  /** Every unsettled (tag, owner), in order. */
  pending(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let k = 0; k < this.len; k++) {
      const at = (this.head + k) & this.mask;
      if (this.owners[at] >= 0) out.push([this.tags[at], this.owners[at]]);
    }
    return out;
  }

  /** Commands sent and not yet settled (settled ones behind an unsettled one included). */
  get size(): number { return this.len; }
}

/**
 * Result records waiting for the Committed ack that covers them. A peer writes the results of
 * a run just before the run's ack, so the stash only ever holds one run's results, in seq
 * order; their bytes are copied out of the ring into one growing buffer, not one array each.
 */
class ResultStash {
  private seqs = new Float64Array(256);
  private offs = new Int32Array(256);
  private lens = new Int32Array(256);
  bytes = new Uint8Array(4096);
  private count = 0;
  private used = 0;
  private pos = 0;

  add(seq: number, src: Uint8Array, off: number, len: number): void {
    if (this.count === this.seqs.length) {
      const n = this.count * 2;
      const seqs = new Float64Array(n), offs = new Int32Array(n), lens = new Int32Array(n);
      seqs.set(this.seqs); offs.set(this.offs); lens.set(this.lens);
      this.seqs = seqs; this.offs = offs; this.lens = lens;
    }
    if (this.used + len > this.bytes.length) {
      const next = new Uint8Array(Math.max(this.bytes.length * 2, this.used + len));
      next.set(this.bytes.subarray(0, this.used));
      this.bytes = next;
    }
    if (len <= 64) { // most results are a few bytes: copy them without making a subarray
      const b = this.bytes, u = this.used;
      for (let i = 0; i < len; i++) b[u + i] = src[off + i];
    } else this.bytes.set(src.subarray(off, off + len), this.used);
    this.seqs[this.count] = seq;
    this.offs[this.count] = this.used;
    this.lens[this.count] = len;
    this.count++;
    this.used += len;
  }

  /** Where the result of `seq` is in `bytes` (-1: none); call in ascending seq order. */
  take(seq: number): number {
    while (this.pos < this.count && this.seqs[this.pos] < seq) this.pos++;
    return this.pos < this.count && this.seqs[this.pos] === seq ? this.pos++ : -1;
  }

  offset(k: number): number { return this.offs[k]; }
  length(k: number): number { return this.lens[k]; }

  get size(): number { return this.count - this.pos; }

  /** The ack that covered the stash was handled: start again. */
  clear(): void { this.count = this.used = this.pos = 0; }
}

/**
 * A producer of framed commands with outcomes of its own (a client session): the client
 * writes its frames straight into a peer's ring and hands it each outcome, result bytes
 * in place, instead of going through onCommitted/onFailed.
 */
export interface FrameOwner {
  /** Writes the frame being submitted (of the length given to submitFrame) at `buf[off...]`. */
  writeFrame(buf: Uint8Array, off: number): void;
  /**
   * The command tagged `tag` committed at `index`; its result is `bytes[off, off + len)`, valid
   * only during the call (`bytes` null: the peer knew the commit without applying it).
   */
  committed(tag: number, index: number, term: number, bytes: Uint8Array | null, off: number, len: number): void;
  /**
   * committed() for each of the `count` commands tagged `firstTag`, `firstTag + 1`, ... at
   * `index`, `index + 1`, ...: a run whose every result is the one byte `result`, handed over
   * in one call instead of one per command.
   */
  committedRun(firstTag: number, count: number, index: number, term: number, result: number): void;
  /** The command tagged `tag` did not commit (see FailReason); `cause` for 'unknown' and 'invalid'. */
  failed(tag: number, reason: FailReason, leaderHint: number, cause: Error | undefined): void;
  /** The client was closed (its cluster stopped): nothing will be sent or answered any more. */
  clientClosed(reason: string): void;
}

/**
 * `unflushed`: commands written to the link since it was last woken (see EARLY_WAKE); only
 * links with some are woken at the end of the turn (see flushAll).
 */
interface Channel { link: RingLink; seqs: SeqMap; results: ResultStash; ackView: DataView; fatal: Error | undefined; unflushed: number }

/**
 * Commands written to a link in one turn after which the peer is woken at once rather than at
 * the end of the turn: one ack drain can resubmit a whole window (20,000 commands), and a peer
 * woken only after the last would sit idle while the client writes them, then the client idle
 * while the peer proposes them. Waking it every EARLY_WAKE commands lets it propose the first
 * ones while the rest are written; a peer already awake costs one atomic load.
 */
export const EARLY_WAKE = 2048;

/**
 * Frames submitFrame writes to a ring before it publishes them, short of a wake-up (which
 * publishes them all): one Atomics.store per run, not per frame, while a peer that is awake
 * still sees them within a few microseconds. A power of two that divides EARLY_WAKE.
 */
const PUBLISH_EVERY = 64;

const PROPOSE_OPTION_NAMES = ['timeoutMs', 'retryUnknown'];

/** How often proposals in flight are checked against their deadline. */
const DEADLINE_SWEEP_MS = 100;

export interface ProposeOptions {
  /** Give up retrying refusals (not-leader, backpressure, a crashed peer) after this long. Default 30,000 ms. */
  timeoutMs?: number;
  /**
   * Also retry 'unknown' outcomes and proposals in flight to a peer that crashed. Safe only
   * when the state machine deduplicates retries (client sessions, which set it); otherwise a
   * retry may apply the command twice. Default false.
   */
  retryUnknown?: boolean;
}

export interface Committed { index: number; term: number; result: Uint8Array | undefined }

interface Waiter {
  command: Uint8Array;
  resolve: (r: Committed) => void;
  reject: (e: Error) => void;
  deadline: number;
  tries: number;
  retryUnknown: boolean;
}

export interface ClientLimits {
  /** Largest command the peers accept (Cluster's maxCommandBytes). */
  maxCommandBytes: number;
  /** 0-byte commands are reserved for no-op entries (noopOnElection). */
  noopReserved: boolean;
  /** Commands in flight to one peer before submit refuses with 'backpressure'. Default 2^20. */
  maxPending?: number;
}

export const DEFAULT_PROPOSE_TIMEOUT_MS = 30_000;

/** Idle cores the client's busy-polling needs (the peers' need one). */
const CLIENT_SPIN_CORES = 2;

export class ProposalError extends Error {
  constructor(readonly reason: FailReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProposalError';
  }
}

/**
 * The main thread's fast path to the cluster: proposals travel to the leader through a
 * shared-memory ring (no comlink, no structured clone), and outcomes come back in ranges
 * through another. `submit` is the streaming form (callbacks per command), `propose` the
 * promise form (it follows the leader and retries refusals until its deadline, but never a
 * proposal whose outcome is unknown).
 */
export class ClusterClient {
  private readonly channels: Array<Channel | null>;
  private nextSeq = 0;
  private readonly ack: Ack = { kind: AckKind.Committed, reason: 0, count: 0, firstSeq: 0, index: 0, term: 0, leaderHint: -1, result: null, bodyOffset: 0, bodyLength: 0 };
  /** FrameOwners by id; id 0 (null) is the client itself. */
  private readonly owners: Array<FrameOwner | null> = [null];
  private readonly waiters = new Map<number, Waiter>();
  /** Seqs of proposals rejected at their deadline while in flight: their late answer is dropped, not streamed. */
  private readonly abandoned = new Set<number>();
  /** Sweeps `waiters` for deadlines while any wait (a leader cut off from the others answers nothing). */
  private deadlineSweep: NodeJS.Timeout | null = null;
  /** propose() calls waiting out the pause before a retry. */
  private readonly retrying = new Set<Waiter>();
  private readonly maxPending: number;
  private closedReason: string | null = null;
  private flushQueued = false;
  private readonly reader: ClusterReader;
  private readonly poller: BusyPoller;
  /** The peer proposals go to; follows leader hints. */
  leader = 0;
  /** Called for each committed command (streaming form), with the apply result if there was one. */
  onCommitted: ((seq: number, index: number, result?: Uint8Array) => void) | null = null;
  /** Called for each command that was refused or did not commit (streaming form); see FailReason. */
  onFailed: ((seq: number, reason: FailReason, leaderHint: number) => void) | null = null;

  /** `busyPoll`: spin after sending (see BusyPoller; Cluster's busyPollMicros option); default off. */
  constructor(size: number, private readonly limits: ClientLimits = { maxCommandBytes: 1 << 20, noopReserved: true },
    busyPoll: { micros: number; gate: SpinGate | null } = { micros: 0, gate: null }) {
    // The client waits a whole commit (several hops), longer than one spin on a busy machine:
    // it spins only with a second idle core, so that on two cores the peers keep theirs.
    this.poller = new BusyPoller(busyPoll.micros, busyPoll.gate, () => this.pending <= LIGHT_LOAD, CLIENT_SPIN_CORES);
    this.channels = new Array(size).fill(null);
    this.maxPending = limits.maxPending ?? 1 << 20;
    this.reader = new ClusterReader(size, () => this.leader, (p) => { this.leader = p; });
  }

  /**
   * Cluster: peer `i` (re)started, or joined the cluster, with these ring ends (null: it is
   * down or was removed); the outcome of what was in flight to its old self is unknown.
   */
  attach(i: number, ends: RingLinkEnds | null, error?: Error): void {
    while (this.channels.length <= i) this.channels.push(null); // a peer added to the running cluster
    const old = this.channels[i];
    if (old) {
      this.channels[i] = null;
      old.link.close();
      this.poller.unwatch(old.link.in);
      for (const [tag, owner] of old.seqs.pending()) this.failOwned(owner, tag, 'unknown', -1, error);
    }
    if (!ends || this.closedReason) return;
    const link = new RingLink(ends, (l) => this.drain(i, l));
    link.unref(); // only proposals in flight keep the process alive
    this.poller.watch(link.in);
    this.channels[i] = { link, seqs: new SeqMap(), results: new ResultStash(), ackView: new DataView(link.in.bytes.buffer, link.in.bytes.byteOffset), fatal: undefined, unflushed: 0 };
  }

  /** Cluster: peer `i`'s read link (null: it is down); reads in flight to its old self are retried. */
  attachReads(i: number, ends: RingLinkEnds | null): void {
    this.reader.attach(i, ends);
  }

  /**
   * A linearizable read: runs `stateMachine.query(query)` on the leader once it has confirmed
   * its leadership and applied its commit index ('leader'), or on any peer once it has
   * applied the leader's commit index ('follower'). Resolves with the query's result; rejects
   * with a ReadFailedError: 'query-failed' (the state machine refused it; nothing changed),
   * 'timeout' (no peer could answer in time: refusals, lost leaders and crashes are retried
   * until then), 'crashed' (options.peer is down), 'stopped', 'no-query'.
   */
  read(query: Uint8Array, options?: ReadOptions): Promise<Uint8Array> {
    return this.reader.read(query, options);
  }

  /**
   * The streaming form of read() (as submit is of propose): sends the read and returns its
   * sequence number (a counter of its own, apart from submit's); onReadDone(seq, result) or
   * onReadFailed(seq, error) is called with it exactly once, later, with what read() would
   * resolve or reject with. Refusals, lost leaders and crashes are retried until the deadline
   * as for read(). Bad arguments throw here (TypeError, RangeError); a closed client throws a
   * ReadFailedError 'stopped'.
   */
  submitRead(query: Uint8Array, options?: ReadOptions): number {
    return this.reader.submitRead(query, options);
  }

  /** Called with each streamed read's result (submitRead). */
  get onReadDone(): ReadDoneListener | null { return this.reader.onReadDone; }
  set onReadDone(f: ReadDoneListener | null) { this.reader.onReadDone = f; }

  /**
   * Called with each streamed read's result in place, (seq, bytes, offset, length), without a
   * copy; the bytes are valid only during the call. When set, it replaces onReadDone.
   */
  get onReadResult(): ReadResultListener | null { return this.reader.onReadResult; }
  set onReadResult(f: ReadResultListener | null) { this.reader.onReadResult = f; }

  /** Called with each streamed read's failure (submitRead): a ReadFailedError, as read() rejects with. */
  get onReadFailed(): ReadFailedListener | null { return this.reader.onReadFailed; }
  set onReadFailed(f: ReadFailedListener | null) { this.reader.onReadFailed = f; }

  /** Reads (both forms) sent and not yet settled. */
  get readsPending(): number {
    return this.reader.inFlight;
  }

  /** Number of peers. */
  get size(): number {
    return this.channels.length;
  }

  /** Commands sent to peer `i` and not yet settled. */
  pendingAt(i: number): number {
    return this.channels[i]?.seqs.size ?? 0;
  }

  /** Commands sent and not yet settled. */
  get pending(): number {
    let n = 0;
    for (const c of this.channels) if (c) n += c.seqs.size;
    return n;
  }

  /**
   * Sends a command to `to` (default: the believed leader) and returns its sequence number;
   * onCommitted or onFailed will be called with it exactly once. A command that is not a
   * Uint8Array (TypeError) or too large (RangeError) is refused here, and nothing is sent.
   */
  submit(command: Uint8Array, to = this.leader): number {
    if (this.closedReason) throw new ProposalError('stopped', this.closedReason);
    checkCommand(command, this.limits.maxCommandBytes, this.limits.noopReserved);
    if (!Number.isInteger(to) || to < 0 || to >= this.channels.length) throw new RangeError(`peer index ${to} out of range 0..${this.channels.length - 1}`);
    const ch = this.channels[to];
    if (!ch) throw new ProposalError('crashed', `peer ${to} is crashed`);
    if (ch.seqs.size >= this.maxPending) {
      throw new ProposalError('backpressure', `client has ${ch.seqs.size} proposals in flight to peer ${to} (maxPending ${this.maxPending})`);
    }
    const seq = this.nextSeq++;
    if (ch.seqs.size === 0) ch.link.ref();
    ch.seqs.push(seq, 0);
    ch.link.write(command);
    this.noteWritten(ch);
    return seq;
  }

  /** Registers a FrameOwner; its id goes to submitFrame. */
  addOwner(owner: FrameOwner): number {
    this.owners.push(owner);
    return this.owners.length - 1;
  }

  /**
   * Sends a `len`-byte frame that owner `ownerId` writes in place (FrameOwner.writeFrame) to
   * the believed leader (or, if it is down, the first peer that is up); its outcome goes to
   * the owner under `tag`. The owner has checked the frame (a Uint8Array within
   * maxCommandBytes). Throws a ProposalError 'stopped', 'crashed' (every peer is down) or
   * 'backpressure' (the peer's channel is full); nothing was sent then.
   */
  submitFrame(ownerId: number, tag: number, len: number): void {
    if (this.closedReason) throw new ProposalError('stopped', this.closedReason);
    let to = this.leader;
    if (!this.channels[to]) {
      to = this.channels.findIndex((c) => c !== null);
      if (to < 0) throw new ProposalError('crashed', 'every peer is crashed');
    }
    const ch = this.channels[to]!;
    if (ch.seqs.size >= this.maxPending) {
      throw new ProposalError('backpressure', `client has ${ch.seqs.size} proposals in flight to peer ${to} (maxPending ${this.maxPending})`);
    }
    const owner = this.owners[ownerId]!;
    const out = ch.link.out;
    const off = ch.link.canWriteInPlace ? out.tryReserve(len) : -1;
    if (off >= 0) {
      try {
        owner.writeFrame(out.bytes, off);
      } catch (e) {
        out.abort();
        throw e;
      }
      // Published every PUBLISH_EVERY frames and at each wake-up (flush), not one store each.
      out.commitUnpublished();
    } else {
      const frame = new Uint8Array(len); // the ring is full: queue a copy behind what waits
      owner.writeFrame(frame, 0);
      ch.link.queue(frame);
    }
    if (ch.seqs.size === 0) ch.link.ref();
    ch.seqs.push(tag, ownerId);
    this.noteWritten(ch);
    if ((ch.unflushed & (PUBLISH_EVERY - 1)) === 0) out.publish();
  }

  /** A command went out on `ch`: wake its peer at the end of the turn, or now after EARLY_WAKE of them. */
  private noteWritten(ch: Channel): void {
    if (++ch.unflushed >= EARLY_WAKE) { ch.unflushed = 0; ch.link.flush(); }
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushAll); }
  }

  /**
   * Wakes the peers that were written to, once per turn of the event loop rather than once per
   * submit: commands sent from the promise reactions of one ack drain (each commit sending the
   * next) then share one wake-up, instead of waking a peer that sleeps between them for each.
   * Only the links written to are woken: waking an idle follower's reader for nothing costs it
   * a wake-up, and us another when it answers the empty drain with a flush of its own.
   */
  private readonly flushAll = (): void => {
    this.flushQueued = false;
    for (const ch of this.channels) {
      if (ch === null || ch.unflushed === 0) continue;
      ch.unflushed = 0;
      ch.link.flush();
    }
    if (this.poller.enabled && this.pending > 0) this.poller.expectAnswer();
  };

  /**
   * Proposes a command and resolves with its index, term and apply result once it is
   * committed. Refusals are retried (following the leader) until `timeoutMs`; 'overwritten'
   * is retried too (it is certainly not in the log). 'unknown' rejects at once: retrying it
   * could apply the command twice.
   */
  propose(command: Uint8Array, options: ProposeOptions = {}): Promise<Committed> {
    if (this.closedReason) return Promise.reject(new ProposalError('stopped', this.closedReason));
    checkCommand(command, this.limits.maxCommandBytes, this.limits.noopReserved);
    checkCallOptionNames(options, PROPOSE_OPTION_NAMES, 'propose');
    const timeoutMs = checkTimeoutMs(options.timeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS);
    return new Promise((resolve, reject) => this.send({ command, resolve, reject, deadline: Date.now() + timeoutMs, tries: 0, retryUnknown: options.retryUnknown === true }));
  }

  /**
   * Peer i stopped on a fatal error: its proposals in flight reject with it, and later ones go
   * elsewhere as for a crashed peer (a stopped peer answers nothing: they would wait forever).
   */
  failPeer(i: number, error: Error): void {
    this.attach(i, null, error);
  }

  /** Closes every link; what is in flight becomes 'unknown', later calls fail with 'stopped'. */
  close(reason = 'the cluster is stopped'): void {
    // What was in flight may have committed ('unknown'); its cause says the cluster stopped, not that a peer crashed.
    const stopped = new ClusterStoppedError('stop() was called with it in flight');
    for (let i = 0; i < this.channels.length; i++) this.attach(i, null, stopped);
    this.closedReason = reason;
    if (this.deadlineSweep !== null) { clearInterval(this.deadlineSweep); this.deadlineSweep = null; }
    this.reader.close(reason);
    for (const w of this.retrying) w.reject(new ProposalError('stopped', reason));
    this.retrying.clear();
    // Owners stop their timers and let go of the rings now (a pending timer would hold them).
    for (const owner of this.owners) owner?.clientClosed(reason);
  }

  private send(w: Waiter): void {
    if (this.closedReason) { w.reject(new ProposalError('stopped', this.closedReason)); return; }
    let to = this.leader;
    if (!this.channels[to]) to = this.channels.findIndex((c) => c !== null);
    if (to < 0) { this.retry(w, 'crashed', -1); return; }
    try {
      this.waiters.set(this.submit(w.command, to), w);
      if (this.deadlineSweep === null) {
        this.deadlineSweep = setInterval(this.sweepDeadlines, DEADLINE_SWEEP_MS);
        this.deadlineSweep.unref();
      }
    } catch (e) {
      if (e instanceof ProposalError && e.reason === 'backpressure') this.retry(w, 'backpressure', -1);
      else w.reject(e as Error);
    }
  }

  private drain(peer: number, link: RingLink): void {
    const ch = this.channels[peer];
    if (!ch) return;
    link.in.drain((buf, off, len) => {
      const a = readAckAt(ch.ackView, buf, off, len, this.ack);
      if (a.kind === AckKind.Result) { ch.results.add(a.firstSeq, buf, a.bodyOffset, a.bodyLength); return; }
      if (a.kind === AckKind.Fatal) { ch.fatal = fatalError(peer, a.result!); return; }
      if (a.kind === AckKind.CommittedUniform) { this.committedUniform(ch, a); return; }
      if (a.kind === AckKind.CommittedBytes) { this.committedBytes(ch, buf, a); return; }
      if (a.kind === AckKind.NotLeader && a.leaderHint >= 0) this.leader = a.leaderHint;
      for (let k = 0; k < a.count; k++) {
        const peerSeq = a.firstSeq + k;
        const tag = ch.seqs.tag(peerSeq);
        const ownerId = ch.seqs.owner(peerSeq);
        ch.seqs.settle(peerSeq);
        if (a.kind === AckKind.Committed) {
          const r = ch.results.size > 0 ? ch.results.take(peerSeq) : -1;
          const owner = ownerId === 0 ? null : this.owners[ownerId]!;
          if (owner) {
            if (r < 0) owner.committed(tag, a.index + k, a.term, null, 0, 0);
            else owner.committed(tag, a.index + k, a.term, ch.results.bytes, ch.results.offset(r), ch.results.length(r));
          } else {
            const result = r < 0 ? undefined : ch.results.bytes.slice(ch.results.offset(r), ch.results.offset(r) + ch.results.length(r));
            this.commit(tag, a.index + k, a.term, result);
          }
          continue;
        }
        switch (a.kind) {
          case AckKind.NotLeader: this.failOwned(ownerId, tag, 'not-leader', a.leaderHint); break;
          case AckKind.Backpressure: this.failOwned(ownerId, tag, 'backpressure', a.leaderHint); break;
          case AckKind.Overwritten: this.failOwned(ownerId, tag, 'overwritten', a.leaderHint); break;
          case AckKind.Unknown: this.failOwned(ownerId, tag, 'unknown', a.leaderHint, ch.fatal); break;
          case AckKind.Invalid: this.failOwned(ownerId, tag, 'invalid', a.leaderHint, new Error(INVALID_REASON_TEXT[a.reason] ?? INVALID_REASON_TEXT[4])); break;
          default: throw new Error(`client: unknown ack kind ${a.kind}`);
        }
      }
      if (a.kind === AckKind.Committed) ch.results.clear();
    });
    if (ch.seqs.size === 0) ch.link.unref();
  }

  /** A Committed run with a one-byte result per command, in the ring at a.bodyOffset. */
  private committedBytes(ch: Channel, buf: Uint8Array, a: Ack): void {
    for (let k = 0; k < a.count; k++) {
      const peerSeq = a.firstSeq + k;
      const tag = ch.seqs.tag(peerSeq);
      const ownerId = ch.seqs.owner(peerSeq);
      ch.seqs.settle(peerSeq);
      const at = a.bodyOffset + k;
      if (ownerId !== 0) this.owners[ownerId]!.committed(tag, a.index + k, a.term, buf, at, 1);
      else this.commit(tag, a.index + k, a.term, buf.slice(at, at + 1));
    }
  }

  /** A Committed run whose every result is the one byte `a.reason`: nothing per command in the ring. */
  private committedUniform(ch: Channel, a: Ack): void {
    const byte = a.reason, count = a.count, firstSeq = a.firstSeq, index = a.index, term = a.term;
    const seqs = ch.seqs;
    for (let k = 0; k < count;) {
      const peerSeq = firstSeq + k;
      const tag = seqs.tag(peerSeq);
      const ownerId = seqs.owner(peerSeq);
      if (ownerId === 0) {
        seqs.settle(peerSeq);
        this.commit(tag, index + k, term, Uint8Array.of(byte));
        k++;
        continue;
      }
      // An owner's commands sent in a row go to it as one run: one call, not one per command.
      const n = seqs.runLength(peerSeq, count - k);
      seqs.settleRun(peerSeq, n);
      this.owners[ownerId]!.committedRun(tag, n, index + k, term, byte);
      k += n;
    }
  }

  private failOwned(ownerId: number, tag: number, reason: FailReason, hint: number, cause?: Error): void {
    if (ownerId === 0) this.fail(tag, reason, hint, cause);
    else this.owners[ownerId]!.failed(tag, reason, hint, cause);
  }

  private commit(seq: number, index: number, term: number, result: Uint8Array | undefined): void {
    const w = this.waiters.get(seq);
    if (w) { this.waiters.delete(seq); w.resolve({ index, term, result }); return; }
    if (this.abandoned.size > 0 && this.abandoned.delete(seq)) return;
    this.onCommitted?.(seq, index, result);
  }

  /** Rejects the proposals in flight past their deadline with 'timeout' (they may still commit: their answer is dropped). */
  private readonly sweepDeadlines = (): void => {
    const now = Date.now();
    for (const [seq, w] of this.waiters) {
      if (now < w.deadline) continue;
      this.waiters.delete(seq);
      this.abandoned.add(seq);
      w.reject(new ProposalError('timeout', 'proposal not answered within its deadline (its peer may be cut off from the others): it may still commit'));
    }
    if (this.waiters.size === 0 && this.deadlineSweep !== null) { clearInterval(this.deadlineSweep); this.deadlineSweep = null; }
  };

  private fail(seq: number, reason: FailReason, hint: number, cause?: Error): void {
    const w = this.waiters.get(seq);
    if (!w && this.abandoned.size > 0 && this.abandoned.delete(seq)) return;
    if (!w) { this.onFailed?.(seq, reason, hint); return; }
    this.waiters.delete(seq);
    if (reason === 'not-leader' || reason === 'backpressure' || reason === 'overwritten' || (reason === 'unknown' && w.retryUnknown)) {
      this.retry(w, reason, hint);
      return;
    }
    w.reject(new ProposalError(reason, failMessage(reason, cause), { cause }));
  }

  /** Retries a refused proposal after a short pause, following the leader, until its deadline. */
  private retry(w: Waiter, reason: FailReason, hint: number): void {
    if (Date.now() >= w.deadline) {
      w.reject(new ProposalError('timeout', `proposal not committed within its deadline; last refusal: ${reason}`));
      return;
    }
    w.tries++;
    if (reason === 'not-leader' && hint >= 0) this.leader = hint;
    else this.leader = (this.leader + 1) % this.channels.length;
    // At once to a named leader; otherwise back off (an election takes a timeout or two).
    const pause = reason === 'not-leader' && hint >= 0 ? 0 : Math.min(100, 5 * 2 ** Math.min(w.tries, 5));
    this.retrying.add(w);
    setTimeout(() => {
      if (!this.retrying.delete(w)) return; // closed meanwhile
      this.send(w);
    }, pause);
  }
}

/** The error a peer reported before stopping (see ClientEndpoint.fatal). */
function fatalError(peer: number, bytes: Uint8Array): Error {
  const r = JSON.parse(new TextDecoder().decode(bytes)) as { message: string; stateMachine: { index: number; term: number; cause: WireCause } | null };
  return r.stateMachine ? new StateMachineError(peer, r.stateMachine.index, r.stateMachine.term, causeFromWire(r.stateMachine.cause)) : new Error(`peer ${peer} stopped: ${r.message}`);
}

function failMessage(reason: FailReason, cause?: Error): string {
  switch (reason) {
    case 'unknown': return cause
      ? `proposal outcome unknown: its peer stopped (${cause.message}); it may have committed, so it was not retried`
      : 'proposal outcome unknown (its peer crashed, or a snapshot covered it): it may have committed, so it was not retried';
    case 'invalid': return `proposal refused as invalid: ${cause?.message ?? 'malformed'}`;
    case 'crashed': return 'proposal not sent: every peer is crashed';
    default: return `proposal failed: ${reason}`;
  }
}
