import { checkCommand } from '../core/command.js';
import { StateMachineError } from '../node/state-machine-error.js';
import { ClusterReader, type ReadOptions } from './read-client.js';
import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { Ack, AckKind, INVALID_REASON_TEXT, readAck } from './client-protocol.js';

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

/** peer-side sequence number -> client sequence number, for what is still unsettled. */
class SeqMap {
  private buf = new Float64Array(1024);
  private head = 0;
  private len = 0;
  private start = 0; // peer seq of buf[head]

  push(seq: number): void {
    if (this.len === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      for (let k = 0; k < this.len; k++) next[k] = this.buf[(this.head + k) % this.buf.length];
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.len) % this.buf.length] = seq;
    this.len++;
  }

  get(peerSeq: number): number {
    return this.buf[(this.head + peerSeq - this.start) % this.buf.length];
  }

  settle(peerSeq: number): void {
    this.buf[(this.head + peerSeq - this.start) % this.buf.length] = -1;
    while (this.len > 0 && this.buf[this.head] === -1) {
      this.head = (this.head + 1) % this.buf.length;
      this.start++;
      this.len--;
    }
  }

  /** Every unsettled client seq, in order. */
  *pending(): Generator<number> {
    for (let k = 0; k < this.len; k++) {
      const s = this.buf[(this.head + k) % this.buf.length];
      if (s >= 0) yield s;
    }
  }

  /** Commands sent and not yet settled (settled ones behind an unsettled one included). */
  get size(): number { return this.len; }
}

interface Channel { link: RingLink; seqs: SeqMap; results: Map<number, Uint8Array>; fatal: Error | undefined }

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
  private readonly ack: Ack = { kind: AckKind.Committed, reason: 0, count: 0, firstSeq: 0, index: 0, term: 0, leaderHint: -1, result: null };
  private readonly waiters = new Map<number, Waiter>();
  /** propose() calls waiting out the pause before a retry. */
  private readonly retrying = new Set<Waiter>();
  private readonly maxPending: number;
  private closedReason: string | null = null;
  private flushQueued = false;
  private readonly reader: ClusterReader;
  /** The peer proposals go to; follows leader hints. */
  leader = 0;
  /** Called for each committed command (streaming form), with the apply result if there was one. */
  onCommitted: ((seq: number, index: number, result?: Uint8Array) => void) | null = null;
  /** Called for each command that was refused or did not commit (streaming form); see FailReason. */
  onFailed: ((seq: number, reason: FailReason, leaderHint: number) => void) | null = null;

  constructor(size: number, private readonly limits: ClientLimits = { maxCommandBytes: 1 << 20, noopReserved: true }) {
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
      for (const seq of old.seqs.pending()) this.fail(seq, 'unknown', -1, error);
    }
    if (!ends || this.closedReason) return;
    const link = new RingLink(ends, (l) => this.drain(i, l));
    link.unref(); // only proposals in flight keep the process alive
    this.channels[i] = { link, seqs: new SeqMap(), results: new Map(), fatal: undefined };
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
  read(query: Uint8Array, options: ReadOptions = {}): Promise<Uint8Array> {
    return this.reader.read(query, options);
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
    ch.seqs.push(seq);
    ch.link.write(command);
    if (!this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushAll); }
    return seq;
  }

  /**
   * Wakes the peers that were written to, once per turn of the event loop rather than once per
   * submit: commands sent from the promise reactions of one ack drain (each commit sending the
   * next) then share one wake-up, instead of waking a peer that sleeps between them for each.
   */
  private readonly flushAll = (): void => {
    this.flushQueued = false;
    for (const ch of this.channels) ch?.link.flush();
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
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new RangeError(`option timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    return new Promise((resolve, reject) => this.send({ command, resolve, reject, deadline: Date.now() + timeoutMs, tries: 0, retryUnknown: options.retryUnknown === true }));
  }

  /** Peer i stopped on a fatal error: its proposals in flight reject with it. */
  failPeer(i: number, error: Error): void {
    const ch = this.channels[i];
    if (!ch) return;
    for (const seq of ch.seqs.pending()) this.fail(seq, 'unknown', -1, error);
    ch.seqs = new SeqMap();
    ch.link.unref();
  }

  /** Closes every link; what is in flight becomes 'unknown', later calls fail with 'stopped'. */
  close(reason = 'the cluster is stopped'): void {
    for (let i = 0; i < this.channels.length; i++) this.attach(i, null);
    this.closedReason = reason;
    this.reader.close(reason);
    for (const w of this.retrying) w.reject(new ProposalError('stopped', reason));
    this.retrying.clear();
  }

  private send(w: Waiter): void {
    if (this.closedReason) { w.reject(new ProposalError('stopped', this.closedReason)); return; }
    let to = this.leader;
    if (!this.channels[to]) to = this.channels.findIndex((c) => c !== null);
    if (to < 0) { this.retry(w, 'crashed', -1); return; }
    try {
      this.waiters.set(this.submit(w.command, to), w);
    } catch (e) {
      if (e instanceof ProposalError && e.reason === 'backpressure') this.retry(w, 'backpressure', -1);
      else w.reject(e as Error);
    }
  }

  private drain(peer: number, link: RingLink): void {
    const ch = this.channels[peer];
    if (!ch) return;
    link.in.drain((buf, off, len) => {
      const a = readAck(buf, off, len, this.ack);
      if (a.kind === AckKind.Result) { ch.results.set(a.firstSeq, a.result!); return; }
      if (a.kind === AckKind.Fatal) { ch.fatal = fatalError(peer, a.result!); return; }
      for (let k = 0; k < a.count; k++) {
        const peerSeq = a.firstSeq + k;
        const seq = ch.seqs.get(peerSeq);
        ch.seqs.settle(peerSeq);
        switch (a.kind) {
          case AckKind.Committed: {
            let result: Uint8Array | undefined;
            if (ch.results.size > 0 && (result = ch.results.get(peerSeq)) !== undefined) ch.results.delete(peerSeq);
            this.commit(seq, a.index + k, a.term, result);
            break;
          }
          case AckKind.NotLeader: this.fail(seq, 'not-leader', a.leaderHint); break;
          case AckKind.Backpressure: this.fail(seq, 'backpressure', a.leaderHint); break;
          case AckKind.Overwritten: this.fail(seq, 'overwritten', a.leaderHint); break;
          case AckKind.Unknown: this.fail(seq, 'unknown', a.leaderHint, ch.fatal); break;
          case AckKind.Invalid: this.fail(seq, 'invalid', a.leaderHint, new Error(INVALID_REASON_TEXT[a.reason] ?? INVALID_REASON_TEXT[4])); break;
          default: throw new Error(`client: unknown ack kind ${a.kind}`);
        }
      }
      if (a.kind === AckKind.NotLeader && a.leaderHint >= 0) this.leader = a.leaderHint;
    });
    if (ch.seqs.size === 0) ch.link.unref();
  }

  private commit(seq: number, index: number, term: number, result: Uint8Array | undefined): void {
    const w = this.waiters.get(seq);
    if (w) { this.waiters.delete(seq); w.resolve({ index, term, result }); return; }
    this.onCommitted?.(seq, index, result);
  }

  private fail(seq: number, reason: FailReason, hint: number, cause?: Error): void {
    const w = this.waiters.get(seq);
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
  const r = JSON.parse(new TextDecoder().decode(bytes)) as { message: string; stateMachine: { index: number; term: number; cause: string } | null };
  return r.stateMachine ? new StateMachineError(peer, r.stateMachine.index, r.stateMachine.term, new Error(r.stateMachine.cause)) : new Error(`peer ${peer} stopped: ${r.message}`);
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
