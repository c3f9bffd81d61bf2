import { decodeMembership } from './membership-entry.js';
import type { Message } from './message.js';
import type { Snapshot } from './types.js';

/** What a follower answers to one InstallSnapshot chunk. */
export type ChunkOutcome =
  /** Chunk kept (or a duplicate of one held): ask for the bytes from `offset` on. */
  | { kind: 'next'; offset: number }
  /** Bad offset or length: everything held is dropped and the leader restarts at offset 0. */
  | { kind: 'refused' }
  /** Last chunk: the whole snapshot. */
  | { kind: 'complete'; snapshot: Snapshot };

interface PartialSnapshot {
  index: number;
  term: number;
  total: number;
  /** Leading bytes that encode the snapshot's membership (0: none). */
  prefix: number;
  received: number;
  chunks: Uint8Array[];
}

/**
 * Reassembles a snapshot sent in InstallSnapshot chunks (index, logTerm, hint = total bytes,
 * offset, data, done). Chunks must come in order; a chunk at offset 0 starts over.
 */
export class SnapshotReceiver {
  private partial: PartialSnapshot | null = null;

  /** Forgets a transfer under way (the snapshot became stale). */
  discard(): void {
    this.partial = null;
  }

  receive(m: Message): ChunkOutcome {
    const data = m.data ?? new Uint8Array(0);
    let p = this.partial;
    if (m.offset === 0) {
      p = this.partial = { index: m.index, term: m.logTerm, total: m.hint, prefix: m.commit, received: 0, chunks: [] };
    } else if (p && p.index === m.index && p.term === m.logTerm && m.offset < p.received) {
      return { kind: 'next', offset: p.received }; // duplicate of a chunk we hold
    }
    if (!p || p.index !== m.index || p.term !== m.logTerm || p.total !== m.hint || p.prefix !== m.commit || p.prefix > p.total || m.offset !== p.received ||
        p.received + data.byteLength > p.total || (m.done && p.received + data.byteLength !== p.total)) {
      this.partial = null;
      return { kind: 'refused' };
    }
    p.chunks.push(data.slice()); // the message's bytes may live in a reused transport buffer
    p.received += data.byteLength;
    if (!m.done) return { kind: 'next', offset: p.received };
    const whole = new Uint8Array(p.total);
    let at = 0;
    for (const c of p.chunks) { whole.set(c, at); at += c.byteLength; }
    this.partial = null;
    if (p.prefix === 0) return { kind: 'complete', snapshot: { index: p.index, term: p.term, data: whole } };
    const membership = decodeMembership(whole.subarray(0, p.prefix));
    return { kind: 'complete', snapshot: { index: p.index, term: p.term, data: whole.subarray(p.prefix), membership } };
  }
}
