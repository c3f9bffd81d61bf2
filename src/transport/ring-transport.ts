import type { Message } from '../core/message.js';
import type { Transport } from '../node/raft-node.js';
import { decode, encode, encodedSize } from './codec.js';
import { RingLink, RingLinkEnds } from './ring-link.js';
import type { BusyPoller } from './busy-poller.js';
import { MsgType } from '../core/message.js';

/** A receiver of decoded messages, told each one's encoded size (for the message counters). */
export type MessageReceiver = (m: Message, bytes: number) => void;

/**
 * Moves Raft messages between peers through shared-memory rings (one per direction per
 * pair), encoding each message straight into the ring. It injects no faults and checks none
 * on its send path: drops, delays, reordering and disconnection are FaultyTransport's, which
 * wraps this one.
 */
export class RingTransport implements Transport {
  private readonly links = new Map<number, RingLink>();
  private readonly touched = new Set<RingLink>();
  private receiver: MessageReceiver | null = null;
  private poller: BusyPoller | null = null;

  /** Spin briefly after sending requests that expect replies (AppendEntries, heartbeats); watches every link's inbound ring. */
  usePoller(p: BusyPoller): void {
    this.poller = p;
    for (const l of this.links.values()) p.watch(l.in);
  }

  onMessage(receiver: MessageReceiver): void {
    this.receiver = receiver;
  }

  /** Attaches (or replaces, after the peer restarted) the link to peer `id`. */
  connect(id: number, ends: RingLinkEnds): void {
    this.dropLink(id);
    const l = new RingLink(ends, (link) => link.in.drain((buf, off, len) => this.deliver(buf, off, len)));
    this.links.set(id, l);
    this.poller?.watch(l.in);
  }

  /** Drops the link to peer `id` (it left the cluster). */
  disconnect(id: number): void {
    this.dropLink(id);
  }

  private dropLink(id: number): void {
    const l = this.links.get(id);
    if (!l) return;
    l.close();
    this.poller?.unwatch(l.in);
    this.links.delete(id);
  }

  close(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  send(messages: Message[]): void {
    let asks = false;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const link = this.links.get(m.to);
      if (!link) continue;
      if (!link.canWriteInPlace || !link.out.writeMessage(m)) {
        const size = encodedSize(m);
        if (size > link.out.maxRecordBytes) throw new RangeError(`message of ${size} bytes exceeds the ring's record limit ${link.out.maxRecordBytes}`);
        link.queue(encode(m));
      }
      this.touched.add(link);
      if (m.type === MsgType.AppendEntries || m.type === MsgType.Heartbeat) asks = true;
    }
    for (const link of this.touched) link.flush();
    this.touched.clear();
    if (asks) this.poller?.expectAnswer();
  }

  private deliver(buf: Uint8Array, off: number, len: number): void {
    if (this.receiver) this.receiver(decode(buf, off, len), len);
  }
}
