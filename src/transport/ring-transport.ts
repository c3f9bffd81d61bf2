import { type Message, isRequest } from '../core/message.js';
import type { Transport } from '../node/raft-node.js';
import { decode, encode, encodedSize } from './codec.js';
import type { NetworkState } from './network-state.js';
import { RingLink, RingLinkEnds } from './ring-link.js';

/** Lab network parameters (the classic Raft lab's unreliable and long-reordering modes). */
const MAX_SHORT_DELAY_MS = 26;
const DROP_REQUEST = 0.1;
const DROP_REPLY = 0.1;
const LONG_REORDER_SHARE = 2 / 3;
const LONG_REORDER_MIN_MS = 200;
const LONG_REORDER_SPREAD_MS = 2000;

/**
 * Moves Raft messages between peers through shared-memory rings (one per direction per
 * pair), encoding each message straight into the ring, and injects the faults the
 * NetworkState asks for: disconnection and crashes (checked at send and at delivery), drops,
 * delays and long reordering.
 */
export class RingTransport implements Transport {
  private readonly links = new Map<number, RingLink>();
  private readonly touched = new Set<RingLink>();
  private receiver: ((m: Message) => void) | null = null;

  constructor(private readonly self: number, private readonly net: NetworkState) {}

  onMessage(receiver: (m: Message) => void): void {
    this.receiver = receiver;
  }

  /** Attaches (or replaces, after the peer restarted) the link to peer `id`. */
  connect(id: number, ends: RingLinkEnds): void {
    this.links.get(id)?.close();
    const from = id;
    this.links.set(id, new RingLink(ends, (link) => link.in.drain((buf, off, len) => this.deliver(from, buf, off, len))));
  }

  close(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  send(messages: Message[]): void {
    const net = this.net;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (!net.canTalk(this.self, m.to)) continue; // the RPC fails; Raft retries on its own timers
      if (net.faulty) {
        const req = isRequest(m.type);
        let delay = 0;
        if (net.unreliable) {
          if (Math.random() < (req ? DROP_REQUEST : DROP_REPLY)) continue;
          if (req) delay = Math.random() * MAX_SHORT_DELAY_MS;
        }
        if (!req && net.longReordering && Math.random() < LONG_REORDER_SHARE) {
          delay = LONG_REORDER_MIN_MS + Math.random() * LONG_REORDER_SPREAD_MS;
        }
        if (delay > 0) {
          const bytes = encode(m); // the message's arrays may be reused before the timer fires
          setTimeout(() => this.writeDelayed(m.to, bytes), delay).unref();
          continue;
        }
      }
      const link = this.links.get(m.to);
      if (!link) continue;
      if (!link.canWriteInPlace || !link.out.writeMessage(m)) {
        const size = encodedSize(m);
        if (size > link.out.maxRecordBytes) throw new RangeError(`message of ${size} bytes exceeds the ring's record limit ${link.out.maxRecordBytes}`);
        link.queue(encode(m));
      }
      this.touched.add(link);
    }
    for (const link of this.touched) link.flush();
    this.touched.clear();
  }

  private writeDelayed(to: number, bytes: Uint8Array): void {
    const link = this.links.get(to);
    if (!link) return;
    link.write(bytes);
    link.flush();
  }

  private deliver(from: number, buf: Uint8Array, off: number, len: number): void {
    if (!this.receiver || !this.net.canTalk(from, this.self)) return;
    const m = decode(buf, off, len);
    this.net.countDelivery(this.self, isRequest(m.type), len);
    this.receiver(m);
  }
}
