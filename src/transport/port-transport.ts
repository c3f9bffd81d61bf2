import { type Message, isRequest } from '../core/message.js';
import type { Transport } from '../node/raft-node.js';
import { decode, encodeInto, encodedSize } from './codec.js';
import type { NetworkState } from './network-state.js';

/** Lab network parameters (the classic Raft lab's unreliable and long-reordering modes). */
const MAX_SHORT_DELAY_MS = 26;
const DROP_REQUEST = 0.1;
const DROP_REPLY = 0.1;
const LONG_REORDER_SHARE = 2 / 3;
const LONG_REORDER_MIN_MS = 200;
const LONG_REORDER_SPREAD_MS = 2000;

/**
 * Sends Raft messages to other peers over one MessagePort per peer, as binary records, and
 * injects the faults the NetworkState asks for. All messages for one peer produced in one
 * step travel in a single postMessage ([u32 length][record] ...).
 */
export class PortTransport implements Transport {
  private readonly ports = new Map<number, MessagePortLike>();
  private readonly pending = new Map<number, Message[]>();
  private receiver: ((m: Message) => void) | null = null;

  constructor(private readonly self: number, private readonly net: NetworkState) {}

  /** Where received messages go. */
  onMessage(receiver: (m: Message) => void): void {
    this.receiver = receiver;
  }

  /** Attaches (or replaces, after the peer restarted) the port to peer `id`. */
  connect(id: number, port: MessagePortLike): void {
    this.ports.get(id)?.close();
    this.ports.set(id, port);
    port.on('message', (buf: ArrayBuffer) => this.deliver(id, new Uint8Array(buf)));
    port.unref?.();
  }

  close(): void {
    for (const p of this.ports.values()) p.close();
    this.ports.clear();
  }

  send(messages: Message[]): void {
    const net = this.net;
    for (const m of messages) {
      if (!net.canTalk(this.self, m.to)) continue; // the RPC fails; Raft retries on its own timers
      let delay = 0;
      if (net.faulty) {
        const req = isRequest(m.type);
        if (net.unreliable) {
          if (Math.random() < (req ? DROP_REQUEST : DROP_REPLY)) continue;
          if (req) delay = Math.random() * MAX_SHORT_DELAY_MS;
        }
        if (!req && net.longReordering && Math.random() < LONG_REORDER_SHARE) {
          delay = LONG_REORDER_MIN_MS + Math.random() * LONG_REORDER_SPREAD_MS;
        }
      }
      if (delay > 0) {
        setTimeout(() => this.post(m.to, [m]), delay).unref();
      } else {
        let list = this.pending.get(m.to);
        if (!list) this.pending.set(m.to, (list = []));
        list.push(m);
      }
    }
    for (const [to, list] of this.pending) {
      if (list.length > 0) { this.post(to, list); list.length = 0; }
    }
  }

  private post(to: number, list: Message[]): void {
    const port = this.ports.get(to);
    if (!port) return;
    let size = 0;
    for (const m of list) size += 4 + encodedSize(m);
    const buf = new Uint8Array(size);
    const view = new DataView(buf.buffer);
    let at = 0;
    for (const m of list) {
      const n = encodeInto(m, buf, at + 4);
      view.setUint32(at, n, true);
      at += 4 + n;
    }
    port.postMessage(buf.buffer, [buf.buffer]);
  }

  private deliver(from: number, buf: Uint8Array): void {
    if (!this.receiver || !this.net.canTalk(from, this.self)) return;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (at < buf.byteLength) {
      const n = view.getUint32(at, true);
      const m = decode(buf, at + 4, n);
      this.net.countDelivery(this.self, isRequest(m.type), n);
      this.receiver(m);
      at += 4 + n;
    }
  }
}

/** The part of worker_threads' MessagePort used here. */
export interface MessagePortLike {
  postMessage(value: unknown, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (value: ArrayBuffer) => void): void;
  close(): void;
  unref?(): void;
}
