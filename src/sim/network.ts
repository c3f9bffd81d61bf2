import type { EntryBatch } from '../core/entry-batch.js';
import { Message, isRequest } from '../core/message.js';
import { EventQueue, Timed } from './event-queue.js';
import type { Prng } from './prng.js';

/** How hostile the network is. Delays are in virtual milliseconds. */
export interface NetworkFaults {
  /** Probability that a request (RequestVote, AppendEntries, Heartbeat, InstallSnapshot) is lost. */
  dropRequest: number;
  /** Probability that a reply is lost. Kept apart from requests: losing one or the other exercises different recovery paths. */
  dropReply: number;
  /** Probability that a message is delivered twice (each copy with its own delay). */
  duplicate: number;
  minDelay: number;
  maxDelay: number;
  /** Probability that a message is held back for a long time, so it arrives after newer ones (and often after a term change). */
  longDelay: number;
  longDelayMin: number;
  longDelayMax: number;
}

export const RELIABLE: NetworkFaults = {
  dropRequest: 0, dropReply: 0, duplicate: 0, minDelay: 1, maxDelay: 5, longDelay: 0, longDelayMin: 0, longDelayMax: 0,
};

export interface InFlight extends Timed {
  msg: Message;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  delayedLong: number;
  cutByPartition: number;
}

/**
 * Messages in flight on virtual time, ordered by delivery time. Every message gets its own
 * random delay, so messages between two peers are reordered freely; partitions are arbitrary
 * groups of peers, and a message crosses only if sender and receiver are in the same group
 * both when it is sent and when it arrives.
 */
export class SimNetwork {
  faults: NetworkFaults = { ...RELIABLE };
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, delayedLong: 0, cutByPartition: 0 };
  private readonly queue = new EventQueue<InFlight>();
  private readonly group = new Map<number, number>();
  /** Extra loss on messages *to* a peer: a lossy or one-way link (1 = it hears nothing but is heard). */
  private readonly inboundLoss = new Map<number, number>();

  constructor(private readonly rng: Prng, readonly peers: readonly number[]) {
    this.heal();
  }

  /** Splits the peers into the given groups; a peer listed nowhere is alone. */
  partition(groups: readonly (readonly number[])[]): void {
    let g = 0;
    for (const p of this.peers) this.group.set(p, -1 - p); // alone unless listed
    for (const members of groups) {
      for (const p of members) this.group.set(p, g);
      g++;
    }
  }

  heal(): void {
    for (const p of this.peers) this.group.set(p, 0);
    this.inboundLoss.clear();
  }

  /** Makes messages to `peer` get lost with probability `p` (on top of the other faults); 0 clears it. */
  setInboundLoss(peer: number, p: number): void {
    if (p > 0) this.inboundLoss.set(peer, p); else this.inboundLoss.delete(peer);
  }

  connected(a: number, b: number): boolean {
    return this.group.get(a) === this.group.get(b);
  }

  /** Describes the current partition, e.g. "{1,2}{3}", or "healed". */
  describe(): string {
    const byGroup = new Map<number, number[]>();
    for (const p of this.peers) {
      const g = this.group.get(p)!;
      if (!byGroup.has(g)) byGroup.set(g, []);
      byGroup.get(g)!.push(p);
    }
    const lossy = [...this.inboundLoss].map(([p, l]) => ` ->${p} lossy ${l}`).join('');
    if (byGroup.size === 1) return lossy === '' ? 'healed' : `connected${lossy}`;
    return [...byGroup.values()].map((ps) => `{${ps.join(',')}}`).join('') + lossy;
  }

  /** Takes a copy of `m` (a real transport serializes, so sender and receiver never share memory) and schedules its delivery. */
  send(m: Message, now: number): void {
    this.stats.sent++;
    if (!this.connected(m.from, m.to)) {
      this.stats.cutByPartition++;
      return;
    }
    const drop = isRequest(m.type) ? this.faults.dropRequest : this.faults.dropReply;
    if (this.rng.chance(drop) || this.rng.chance(this.inboundLoss.get(m.to) ?? 0)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.rng.chance(this.faults.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      let delay = this.rng.range(this.faults.minDelay, this.faults.maxDelay);
      if (this.rng.chance(this.faults.longDelay)) {
        delay = this.rng.range(this.faults.longDelayMin, this.faults.longDelayMax);
        this.stats.delayedLong++;
      }
      this.queue.push({ at: now + delay, seq: 0, msg: cloneMessage(m) });
    }
  }

  /** Delivery time of the next message, or Infinity. */
  nextAt(): number {
    return this.queue.peek()?.at ?? Infinity;
  }

  /**
   * Removes the next message. Returns null when the partition of the moment cuts it (it is
   * lost, as on a real network); the caller still owes the check that the receiver is up.
   */
  pop(): Message | null {
    const f = this.queue.pop();
    if (!f) return null;
    if (!this.connected(f.msg.from, f.msg.to)) {
      this.stats.cutByPartition++;
      return null;
    }
    this.stats.delivered++;
    return f.msg;
  }

  get inFlight(): number {
    return this.queue.size;
  }
}

export function cloneMessage(m: Message): Message {
  return { ...m, entries: m.entries ? cloneBatch(m.entries) : null, data: m.data ? m.data.slice() : null };
}

function cloneBatch(b: EntryBatch): EntryBatch {
  return { firstIndex: b.firstIndex, count: b.count, terms: b.terms.slice(), ends: b.ends.slice(), data: b.data.slice() };
}
