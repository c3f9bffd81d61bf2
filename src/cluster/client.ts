import { RingLink, RingLinkEnds } from '../transport/ring-link.js';
import { Ack, AckKind, readAck } from './client-protocol.js';

export type FailReason = 'not-leader' | 'backpressure' | 'lost' | 'crashed' | 'invalid';

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

  get size(): number { return this.len; }
}

interface Channel { link: RingLink; seqs: SeqMap }

interface Waiter { command: Uint8Array; resolve: (r: { index: number }) => void; reject: (e: Error) => void; tries: number }

export class ProposalError extends Error {
  constructor(readonly reason: FailReason, message: string) {
    super(message);
    this.name = 'ProposalError';
  }
}

/**
 * The main thread's fast path to the cluster: proposals travel to the leader through a
 * shared-memory ring (no comlink, no structured clone), and acknowledgements come back in
 * ranges through another. `submit` is the streaming form (callbacks per command), `propose`
 * the promise form (it follows the leader and retries refused proposals).
 */
export class ClusterClient {
  private readonly channels: Array<Channel | null>;
  private nextSeq = 0;
  private readonly ack: Ack = { kind: AckKind.Accepted, count: 0, firstSeq: 0, index: 0, term: 0, leaderHint: -1 };
  private readonly waiters = new Map<number, Waiter>();
  /** The peer proposals go to; follows leader hints. */
  leader = 0;
  /** Called for each committed command (streaming form). */
  onCommitted: ((seq: number, index: number) => void) | null = null;
  /** Called for each command that was refused or whose outcome is lost (streaming form). */
  onFailed: ((seq: number, reason: FailReason, leaderHint: number) => void) | null = null;

  constructor(size: number, private readonly maxPending = 1 << 20) {
    this.channels = new Array(size).fill(null);
  }

  /** Cluster: peer `i` (re)started with these ring ends; proposals in flight to its old self are lost. */
  attach(i: number, ends: RingLinkEnds | null): void {
    const old = this.channels[i];
    if (old) {
      old.link.close();
      for (const seq of old.seqs.pending()) this.fail(seq, 'crashed', -1);
    }
    if (!ends) { this.channels[i] = null; return; }
    const link = new RingLink(ends, (l) => this.drain(i, l));
    link.unref(); // only proposals in flight keep the process alive
    this.channels[i] = { link, seqs: new SeqMap() };
  }

  /** Commands sent and not yet settled. */
  get pending(): number {
    let n = 0;
    for (const c of this.channels) if (c) n += c.seqs.size;
    return n;
  }

  /**
   * Sends a command to `to` (default: the believed leader) and returns its sequence number;
   * onCommitted or onFailed will be called with it exactly once.
   */
  submit(command: Uint8Array, to = this.leader): number {
    const ch = this.channels[to];
    if (!ch) throw new ProposalError('crashed', `peer ${to} is crashed`);
    if (ch.seqs.size >= this.maxPending) {
      throw new ProposalError('backpressure', `client has ${ch.seqs.size} proposals in flight to peer ${to} (maxPending ${this.maxPending})`);
    }
    const seq = this.nextSeq++;
    if (ch.seqs.size === 0) ch.link.ref();
    ch.seqs.push(seq);
    ch.link.write(command);
    ch.link.flush();
    return seq;
  }

  /** Proposes a command and resolves with its log index once it is committed. */
  propose(command: Uint8Array): Promise<{ index: number }> {
    return new Promise((resolve, reject) => this.send({ command, resolve, reject, tries: 0 }));
  }

  close(): void {
    for (let i = 0; i < this.channels.length; i++) this.attach(i, null);
  }

  private send(w: Waiter): void {
    let to = this.leader;
    if (!this.channels[to]) to = this.channels.findIndex((c) => c !== null);
    if (to < 0) { w.reject(new ProposalError('crashed', 'every peer is crashed')); return; }
    try {
      this.waiters.set(this.submit(w.command, to), w);
    } catch (e) {
      w.reject(e as Error);
    }
  }

  private drain(peer: number, link: RingLink): void {
    const ch = this.channels[peer]!;
    link.in.drain((buf, off, len) => {
      const a = readAck(buf, off, len, this.ack);
      for (let k = 0; k < a.count; k++) {
        const peerSeq = a.firstSeq + k;
        const seq = ch.seqs.get(peerSeq);
        switch (a.kind) {
          case AckKind.Accepted: break; // index known; commit comes later
          case AckKind.Committed: ch.seqs.settle(peerSeq); this.commit(seq, a.index + k); break;
          case AckKind.NotLeader: ch.seqs.settle(peerSeq); this.fail(seq, 'not-leader', a.leaderHint); break;
          case AckKind.Backpressure: ch.seqs.settle(peerSeq); this.fail(seq, 'backpressure', a.leaderHint); break;
          case AckKind.Lost: ch.seqs.settle(peerSeq); this.fail(seq, 'lost', a.leaderHint); break;
          case AckKind.Invalid: ch.seqs.settle(peerSeq); this.fail(seq, 'invalid', a.leaderHint); break;
          default: throw new Error(`client: unknown ack kind ${a.kind}`);
        }
      }
      if (a.kind === AckKind.NotLeader && a.leaderHint >= 0) this.leader = a.leaderHint;
    });
    if (ch.seqs.size === 0) ch.link.unref();
  }

  private commit(seq: number, index: number): void {
    const w = this.waiters.get(seq);
    if (w) { this.waiters.delete(seq); w.resolve({ index }); return; }
    this.onCommitted?.(seq, index);
  }

  private fail(seq: number, reason: FailReason, hint: number): void {
    const w = this.waiters.get(seq);
    if (!w) { this.onFailed?.(seq, reason, hint); return; }
    this.waiters.delete(seq);
    if ((reason === 'not-leader' || reason === 'backpressure' || reason === 'crashed') && w.tries < 50) {
      w.tries++;
      if (reason !== 'not-leader' || hint < 0) this.leader = (this.leader + 1) % this.channels.length;
      setTimeout(() => this.send(w), reason === 'not-leader' && hint >= 0 ? 0 : 10);
      return;
    }
    w.reject(new ProposalError(reason, reason === 'lost'
      ? 'proposal was overwritten by another leader before it committed'
      : `proposal failed: ${reason}`));
  }
}
