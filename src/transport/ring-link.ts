import type { MessagePort } from 'node:worker_threads';
import { RingBuffer } from './ring.js';

/** The shared pieces of one two-way link: a ring per direction and a port for wake-ups. */
export interface RingLinkEnds {
  outSab: SharedArrayBuffer;
  inSab: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * One end of a two-way link made of two single-producer single-consumer rings. Records go
 * through shared memory; the MessagePort carries only a wake-up, and only when the reader
 * said it was going to sleep (see RingBuffer's wake-up protocol). A writer that finds the
 * ring full keeps the record in a local overflow queue and retries shortly.
 */
export class RingLink {
  readonly out: RingBuffer;
  readonly in: RingBuffer;
  private readonly overflow: Uint8Array[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly ends: RingLinkEnds, private readonly onRecords: (link: RingLink) => void) {
    this.out = new RingBuffer(ends.outSab);
    this.in = new RingBuffer(ends.inSab);
    ends.port.on('message', () => this.readAll());
    // Start asleep, so the writer's first record sends a wake-up; read anything already there.
    if (!this.in.prepareToSleep()) setImmediate(() => this.readAll());
  }

  /** Drains the inbound ring until it is empty and the sleep flag is up. */
  readAll(): void {
    if (this.closed) return;
    do this.onRecords(this); while (!this.in.prepareToSleep());
  }

  /** After writing: wake the reader if it sleeps. */
  flush(): void {
    if (this.out.consumerNeedsWakeup()) this.ends.port.postMessage(0);
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
