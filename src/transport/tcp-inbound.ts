/**
 * One accepted connection: it must open with a hello (tcp-hello.ts) that names this cluster
 * and, for a peer, an id of the cluster other than ours, matching its TLS certificate. Then
 * a peer connection carries Raft frames (each must come from the id it claimed and be
 * addressed to us), a client connection carries client requests. Anything else closes this
 * connection alone, with the reason logged; the listener goes on serving the others.
 */
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Message } from '../core/message.js';
import { decode } from './codec.js';
import { FrameBatcher, FrameError, FrameKind, FrameReader, frame } from './tcp-frame.js';
import { Hello, HelloRole, decodeHello } from './tcp-hello.js';
import { refusePeerCert } from './tcp-tls.js';

/** A client's connection as the peer process sees it. */
export interface ClientConnection {
  readonly remote: string;
  /** Sends one ClientResponse body; closes the connection if the client stopped reading. */
  reply(body: Uint8Array): void;
  close(reason: string): void;
  readonly closed: boolean;
}

export interface InboundOptions {
  selfId: number;
  clusterId: string;
  peers: ReadonlySet<number>;
  tls: boolean;
  maxFrameBytes: number;
  helloTimeoutMs: number;
  /** A client whose unread answers exceed this is disconnected. */
  maxClientBacklogBytes: number;
  log: (line: string) => void;
  onMessage: (m: Message, bytes: number) => void;
  onClient?: (conn: ClientConnection) => void;
  onClientRequest?: (conn: ClientConnection, body: Uint8Array) => void;
  onClientClose?: (conn: ClientConnection) => void;
}

export class InboundConnection implements ClientConnection {
  readonly remote: string;
  private hello: Hello | null = null;
  private readonly reader: FrameReader;
  private helloTimer: NodeJS.Timeout | null;
  private isClosed = false;
  /** Answers of one batch of applies leave in one write. */
  private readonly out: FrameBatcher;

  constructor(private readonly socket: net.Socket, private readonly o: InboundOptions) {
    this.out = new FrameBatcher((b) => { if (!this.isClosed) socket.write(b); });
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    this.reader = new FrameReader(o.maxFrameBytes, (kind, body) => this.onFrame(kind, body));
    this.helloTimer = setTimeout(() => this.close(`no hello within ${o.helloTimeoutMs} ms`), o.helloTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      if (this.isClosed) return;
      try {
        this.reader.push(chunk);
      } catch (e) {
        this.close(e instanceof FrameError || (e as Error).message?.startsWith('codec:') ? (e as Error).message : `error: ${(e as Error).stack}`);
      }
    });
    socket.on('end', () => {
      if (this.isClosed) return;
      try {
        this.reader.end();
        this.close(null);
      } catch (e) {
        this.close((e as Error).message);
      }
    });
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close(null));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Who is on the other end, for logs. */
  private who(): string {
    const h = this.hello;
    if (!h) return `connection from ${this.remote}`;
    return h.role === HelloRole.Client ? `client ${this.remote}` : `peer ${h.peerId} (${this.remote})`;
  }

  /** Closes the connection; a non-null reason is logged (null: the other end went away). */
  close(reason: string | null): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    if (reason !== null) this.o.log(`closing ${this.who()}: ${reason}`);
    this.socket.destroy();
    if (this.hello?.role === HelloRole.Client) this.o.onClientClose?.(this);
  }

  /**
   * Tells the caller why it is refused (a dialer cannot see our log), then ends the
   * connection; a caller that does not read is cut off after a second.
   */
  private refuseWith(reason: string): void {
    this.isClosed = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.o.log(`closing ${this.who()}: ${reason}`);
    this.socket.end(frame(FrameKind.Refused, Buffer.from(reason)));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  reply(body: Uint8Array): void {
    if (this.isClosed) return;
    const backlog = this.socket.writableLength + this.out.pendingBytes;
    if (backlog > this.o.maxClientBacklogBytes) {
      this.close(`client is not reading its answers (${backlog} bytes unread)`);
      return;
    }
    this.out.add(FrameKind.ClientResponse, body);
  }

  private onFrame(kind: FrameKind, body: Uint8Array): void {
    if (this.isClosed) return;
    if (!this.hello) {
      if (kind !== FrameKind.Hello) throw new FrameError(`first frame must be a hello, got kind ${kind}`);
      const h = decodeHello(body);
      const why = this.refuse(h);
      if (why) { this.refuseWith(why); return; }
      this.hello = h;
      clearTimeout(this.helloTimer!);
      this.helloTimer = null;
      if (h.role === HelloRole.Client) this.o.onClient?.(this);
      return;
    }
    const h = this.hello;
    if (h.role === HelloRole.Client) {
      if (kind !== FrameKind.ClientRequest) throw new FrameError(`a client may send only requests, got frame kind ${kind}`);
      this.o.onClientRequest?.(this, body);
      return;
    }
    if (kind !== FrameKind.Raft) throw new FrameError(`a peer may send only Raft messages, got frame kind ${kind}`);
    const m = decode(body);
    if (m.from !== h.peerId) throw new FrameError(`message from ${m.from} on the connection of peer ${h.peerId}`);
    if (m.to !== this.o.selfId) throw new FrameError(`message addressed to ${m.to}, this is peer ${this.o.selfId}`);
    this.o.onMessage(m, body.byteLength);
  }

  /** Why this hello is refused, or null. */
  private refuse(h: Hello): string | null {
    if (h.clusterId !== this.o.clusterId) return `hello names cluster ${JSON.stringify(h.clusterId)}, this is cluster ${JSON.stringify(this.o.clusterId)}`;
    if (h.role === HelloRole.Client) {
      if (this.o.tls && !(this.socket as TLSSocket).authorized) return 'client TLS certificate not authorized';
      return this.o.onClientRequest ? null : 'this listener takes no clients';
    }
    if (h.peerId === this.o.selfId) return `hello claims peer id ${h.peerId}, which is this peer's own`;
    if (!this.o.peers.has(h.peerId)) return `hello claims peer id ${h.peerId}, not a peer of this cluster (${[...this.o.peers].join(', ')})`;
    if (this.o.tls) return refusePeerCert(this.socket as TLSSocket, h.peerId);
    return null;
  }
}
