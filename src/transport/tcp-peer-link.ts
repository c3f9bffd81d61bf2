/**
 * One outbound connection to one peer (a peer has two per other peer: Raft messages, and
 * InstallSnapshot chunks). It dials, says hello, writes frames, and when the connection is
 * lost dials again after a capped exponential back-off with jitter. Its queue is bounded in
 * bytes: enqueue() never blocks and drops what does not fit (Raft resends what matters).
 * Frames are queued only while the socket is connecting or pushing back (write() returned
 * false, until 'drain'); otherwise they go to the socket at once, corked until the end of the
 * turn of the event loop, so that the sends of one turn (a Ready's messages before and after
 * its persist) leave in one writev, not one syscall each.
 */
import net from 'node:net';
import tls from 'node:tls';
import { FrameError, FrameKind, FrameReader } from './tcp-frame.js';
import { HelloRole, helloFrame } from './tcp-hello.js';
import { TlsFiles, refusePeerCert } from './tcp-tls.js';

export interface PeerAddress { host: string; port: number }

export interface BackoffOptions {
  /** First retry delay. Default 5 ms. */
  minMs: number;
  /** Largest retry delay; keep it well below the election timeout. Default 50 ms. */
  maxMs: number;
}

export interface PeerLinkOptions {
  selfId: number;
  peerId: number;
  clusterId: string;
  role: HelloRole.Peer | HelloRole.PeerSnapshots;
  address: PeerAddress;
  tls: TlsFiles | false;
  maxQueueBytes: number;
  backoff: BackoffOptions;
  /** Dial attempts that take longer are abandoned. */
  connectTimeoutMs: number;
  /**
   * A connection that stays pushed back this long (no 'drain') is taken for dead and redialed:
   * without it, a peer that vanished without a reset would hold the link until TCP gives up.
   */
  stallTimeoutMs: number;
  log: (line: string) => void;
}

export interface PeerLinkStats {
  connects: number;
  framesDropped: number;
  bytesDropped: number;
  queuedBytes: number;
}

export class PeerLink {
  private socket: net.Socket | null = null;
  private ready = false;
  private blocked = false;
  private queue: Buffer[] = [];
  private queued = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Log a run of drops once, not per frame. */
  private dropping = false;
  private lastError = '';
  readonly stats: PeerLinkStats = { connects: 0, framesDropped: 0, bytesDropped: 0, queuedBytes: 0 };

  constructor(private readonly o: PeerLinkOptions) {
    this.dial();
  }

  get connected(): boolean {
    return this.ready;
  }

  /** Sends or queues one buffer of whole frames; drops it if the queue is full. Never blocks. */
  enqueue(frames: Buffer): void {
    if (this.closed) return;
    if (this.ready && !this.blocked) {
      this.write(frames);
      return;
    }
    if (this.queued + frames.length > this.o.maxQueueBytes) {
      this.stats.framesDropped++;
      this.stats.bytesDropped += frames.length;
      if (!this.dropping) {
        this.dropping = true;
        this.o.log(`send queue to peer ${this.o.peerId} (${this.roleName()}) is full (${this.queued} bytes): dropping until it drains`);
      }
      return;
    }
    this.queue.push(frames);
    this.queued += frames.length;
    this.stats.queuedBytes = this.queued;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.unblocked();
    this.socket?.destroy();
    this.socket = null;
    this.clearQueue();
  }

  private roleName(): string {
    return this.o.role === HelloRole.Peer ? 'raft' : 'snapshots';
  }

  /** The socket corked during this turn, if any (uncorked on the next tick). */
  private corked: net.Socket | null = null;
  private readonly uncorkBound = () => {
    const s = this.corked;
    this.corked = null;
    if (s && !s.destroyed) s.uncork();
  };

  private write(frames: Buffer): void {
    const s = this.socket!;
    if (this.corked !== s) {
      if (this.corked === null) process.nextTick(this.uncorkBound);
      else if (!this.corked.destroyed) this.corked.uncork(); // an old socket's turn: let it go
      this.corked = s;
      s.cork();
    }
    if (s.write(frames) || this.blocked) return;
    this.blocked = true;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      s.destroy(new Error(`no write progress for ${this.o.stallTimeoutMs} ms (${s.writableLength + this.queued} bytes waiting)`));
    }, this.o.stallTimeoutMs);
  }

  private unblocked(): void {
    this.blocked = false;
    if (this.stallTimer) { clearTimeout(this.stallTimer); this.stallTimer = null; }
  }

  private flushQueue(): void {
    const s = this.socket;
    if (!s) return;
    this.dropping = false;
    s.cork();
    while (this.queue.length > 0 && !this.blocked) {
      const b = this.queue.shift()!;
      this.queued -= b.length;
      this.write(b);
    }
    s.uncork();
    this.stats.queuedBytes = this.queued;
  }

  private clearQueue(): void {
    this.queue = [];
    this.queued = 0;
    this.stats.queuedBytes = 0;
  }

  private dial(): void {
    if (this.closed) return;
    const { host, port } = this.o.address;
    const t = this.o.tls;
    const s: net.Socket = t
      ? tls.connect({ host, port, cert: t.cert, key: t.key, ca: t.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined })
      : net.connect({ host, port });
    this.socket = s;
    s.setNoDelay(true);
    s.setTimeout(this.o.connectTimeoutMs, () => s.destroy(new Error(`connect timed out after ${this.o.connectTimeoutMs} ms`)));
    s.once(t ? 'secureConnect' : 'connect', () => {
      s.setTimeout(0);
      if (t) {
        const why = refusePeerCert(s as tls.TLSSocket, this.o.peerId);
        if (why) { s.destroy(new Error(`refusing ${host}:${port} as peer ${this.o.peerId}: ${why}`)); return; }
      }
      this.ready = true;
      this.unblocked();
      s.setKeepAlive(true, 5000);
      this.failures = 0;
      this.stats.connects++;
      if (this.lastError) this.o.log(`connected to peer ${this.o.peerId} (${this.roleName()}) at ${host}:${port}`);
      this.lastError = '';
      this.write(helloFrame({ role: this.o.role, peerId: this.o.selfId, clusterId: this.o.clusterId }));
      this.flushQueue();
    });
    s.on('drain', () => { this.unblocked(); this.flushQueue(); });
    // The only frame a peer sends back on this connection is why it refuses it.
    const reader = new FrameReader(64 * 1024, (kind, body) => {
      if (kind !== FrameKind.Refused) throw new FrameError(`unexpected frame kind ${kind} from the listener`);
      s.destroy(new Error(`refused by the listener: ${Buffer.from(body).toString()}`));
    });
    s.on('data', (chunk: Buffer) => {
      try { reader.push(chunk); } catch (e) { s.destroy(e as Error); }
    });
    s.on('error', (err) => {
      const msg = err.message;
      // A peer that is down fails every few ms: log a change of reason, not every attempt.
      if (msg !== this.lastError) this.o.log(`link to peer ${this.o.peerId} (${this.roleName()}) at ${host}:${port}: ${msg}`);
      this.lastError = msg;
    });
    s.on('close', () => {
      if (this.socket !== s) return;
      this.socket = null;
      this.ready = false;
      this.unblocked();
      this.clearQueue(); // frames for a connection that is gone are stale; Raft resends
      if (!this.closed) this.scheduleRedial();
    });
  }

  private scheduleRedial(): void {
    const { minMs, maxMs } = this.o.backoff;
    const capped = Math.min(maxMs, minMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    // Jitter in [50%, 100%] of the delay, so peers that lost each other do not redial in step.
    const delay = capped * (0.5 + Math.random() * 0.5);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.dial(); }, delay);
  }
}
