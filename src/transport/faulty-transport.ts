import { type Message, isRequest } from '../core/message.js';
import type { Transport } from '../node/raft-node.js';
import { decode, encode } from './codec.js';
import type { NetworkState } from './network-state.js';
import type { MessageReceiver } from './ring-transport.js';

/** Lab network parameters (the classic Raft lab's unreliable and long-reordering modes). */
export const MAX_SHORT_DELAY_MS = 26;
export const DROP_REQUEST = 0.1;
export const DROP_REPLY = 0.1;
export const LONG_REORDER_SHARE = 2 / 3;
export const LONG_REORDER_MIN_MS = 200;
export const LONG_REORDER_SPREAD_MS = 2000;

/** A transport that hands received messages (with their encoded size) to one receiver. */
export interface ReceivingTransport extends Transport {
  onMessage(receiver: MessageReceiver): void;
}

export interface FaultyTransportOptions {
  /** This peer's id (checked against the switchboard at send and at delivery). */
  self: number;
  /** The transport that actually moves the messages. */
  inner: ReceivingTransport;
  /** The shared switchboard the main thread writes, and the delivery counters. */
  net: NetworkState;
  /** The one source of every drop and delay choice, in [0, 1): a seeded generator makes them replayable. */
  random: () => number;
  /** Runs `fn` after `ms` (default: an unref'd setTimeout); tests pass a virtual clock. */
  schedule?: (fn: () => void, ms: number) => void;
}

const realSchedule = (fn: () => void, ms: number): void => { setTimeout(fn, ms).unref(); };

/**
 * Wraps a transport with the faults the NetworkState asks for: disconnection and crashes
 * (checked at send and at delivery), drops, short delays and long reordering, all drawn from
 * one seeded generator. While the switchboard says healthy, a send is one read and a straight
 * hand-over (no per-message work, no draws), so the benchmark path pays nothing for it; the
 * generator is only consulted while drops or delays are on, so the same seed and the same
 * message sequence give the same choices.
 */
export class FaultyTransport implements Transport {
  private readonly self: number;
  private readonly inner: ReceivingTransport;
  private readonly net: NetworkState;
  private readonly random: () => number;
  private readonly schedule: (fn: () => void, ms: number) => void;
  private readonly passing: Message[] = [];

  constructor(opts: FaultyTransportOptions) {
    if (!Number.isInteger(opts.self) || opts.self < 0 || opts.self >= opts.net.peers) {
      throw new RangeError(`FaultyTransport: self must be a peer index 0..${opts.net.peers - 1}, got ${opts.self}`);
    }
    if (typeof opts.random !== 'function') throw new TypeError('FaultyTransport: random must be a function returning [0, 1)');
    this.self = opts.self;
    this.inner = opts.inner;
    this.net = opts.net;
    this.random = opts.random;
    this.schedule = opts.schedule ?? realSchedule;
  }

  onMessage(receiver: (m: Message) => void): void {
    const net = this.net, self = this.self;
    this.inner.onMessage((m, bytes) => {
      if (!net.healthy && !net.canTalk(m.from, self)) return; // sent before a disconnect or crash
      net.countDelivery(self, isRequest(m.type), bytes);
      receiver(m);
    });
  }

  send(messages: Message[]): void {
    const net = this.net;
    if (net.healthy) { this.inner.send(messages); return; }
    const passing = this.passing;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (!net.canTalk(this.self, m.to)) continue; // the RPC fails; Raft retries on its own timers
      const delay = this.delayFor(m);
      if (delay < 0) continue;
      if (delay > 0) {
        const copy = decode(encode(m)); // the message's arrays may be reused before the timer fires
        this.schedule(() => this.inner.send([copy]), delay);
        continue;
      }
      passing.push(m);
    }
    if (passing.length > 0) this.inner.send(passing);
    passing.length = 0;
  }

  /** -1: drop it; 0: send it now; otherwise the delay in ms. */
  private delayFor(m: Message): number {
    const net = this.net;
    const req = isRequest(m.type);
    let delay = 0;
    if (net.unreliable) {
      if (this.random() < (req ? DROP_REQUEST : DROP_REPLY)) return -1;
      if (req) delay = this.random() * MAX_SHORT_DELAY_MS;
    }
    if (!req && net.longReordering && this.random() < LONG_REORDER_SHARE) {
      delay = LONG_REORDER_MIN_MS + this.random() * LONG_REORDER_SPREAD_MS;
    }
    return delay;
  }
}
