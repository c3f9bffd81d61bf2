import type { MessagePort } from 'node:worker_threads';
import { RingBuffer } from './ring.js';

/**
 * The shared pieces of one two-way link: a ring per direction, and a port whose only job is
 * to keep the reader's event loop alive while it waits (see RingLink.ref).
 */
export interface RingLinkEnds {
  outSab: SharedArrayBuffer;
  inSab: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * One end of a two-way link made of two single-producer single-consumer rings. Records go
 * through shared memory. A reader with nothing to read raises the ring's sleep flag and waits
 * on it with Atomics.waitAsync; a writer that sees the flag wakes it with Atomics.notify (see
 * RingBuffer's wake-up protocol). That costs about a third less CPU than a MessagePort
 * message per wake-up, which was most of the leader's time at low load. A writer that finds
 * the ring full keeps the record in a local overflow queue and retries shortly.
 */
export class RingLink {
  readonly out: RingBuffer;
  readonly in: RingBuffer;
  private readonly overflow: Uint8Array[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private readonly readAllBound = () => this.readAll();

  /**
   * `maxRoundsPerTurn`: drains of records that keep arriving made in one go before the link
   * lets the event loop run (timers, other links, microtasks) and resumes (setImmediate)
   * without sleeping. A link whose two ends answer each other's records at once (the read
   * link) can otherwise stream for as long as the load lasts, holding its thread's ticks.
   */
  constructor(private readonly ends: RingLinkEnds, private readonly onRecords: (link: RingLink) => void, private readonly maxRoundsPerTurn = Infinity) {
    this.out = new RingBuffer(ends.outSab);
    this.in = new RingBuffer(ends.inSab);
    ends.port.on('message', () => {}); // a listening, ref'd port keeps the event loop alive
    setImmediate(this.readAllBound);
  }

  /** Drains the inbound ring until it is empty, then sleeps until the writer wakes us. */
  readAll(): void {
    for (let round = 1; ; round++) {
      if (this.closed) return;
      this.onRecords(this);
      if (!this.in.prepareToSleep()) { // more arrived meanwhile
        if (round < this.maxRoundsPerTurn) continue;
        setImmediate(this.readAllBound); // awake (the sleep flag is down): writers do not wake us
        return;
      }
      const woken = this.in.sleepUntilWoken();
      if (woken === null) continue; // woken already
      woken.then(this.readAllBound);
      return;
    }
  }

  /** After writing: wake the reader if it sleeps. */
  flush(): void {
    this.out.wakeConsumer();
  }

  /** Writes a record that cannot be encoded in place (or queues it behind earlier overflow). */
  write(record: Uint8Array): void {
    if (this.overflow.length > 0 || !this.out.tryWrite(record)) {
      this.overflow.push(record.slice());
      this.scheduleRetry();
    }
  }

  /** True if nothing waits in the overflow queue, so in-place writes keep order. */
  get canWriteInPlace(): boolean {
    return this.overflow.length === 0;
  }

  queue(record: Uint8Array): void {
    this.overflow.push(record);
    this.scheduleRetry();
  }

  /** Keep the event loop alive for this link's wake-ups (or stop doing so). */
  ref(): void { this.ends.port.ref(); }
  unref(): void { this.ends.port.unref(); }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ends.port.close();
    // End our own wait: a pending Atomics.waitAsync is held by the runtime until notified, and
    // with it the rings (and this link). The writer of a stopped peer never notifies again,
    // so every cluster a process started and stopped kept its client and read rings.
    this.in.wakeConsumer();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      let k = 0;
      while (k < this.overflow.length && this.out.tryWrite(this.overflow[k])) k++;
      this.overflow.splice(0, k);
      this.flush();
      if (this.overflow.length > 0) this.scheduleRetry();
    }, 1);
  }
}

/** Creates both ends of a link: `a` gets the first, `b` the second. */
export function createRingLinkPair(ringBytes: number): { sabAB: SharedArrayBuffer; sabBA: SharedArrayBuffer } {
  return { sabAB: RingBuffer.create(ringBytes).sab, sabBA: RingBuffer.create(ringBytes).sab };
}
