/**
 * Raft messages between processes over TCP (or TLS), for RaftNode: `send(messages)` never
 * blocks, `onMessage(receiver)` hears what arrives.
 *
 * Each peer dials every other peer twice and sends only on its own outbound connections
 * (so there is never a pair of connections to reconcile): one for every message but
 * InstallSnapshot, one for InstallSnapshot alone. Snapshot chunks (64 KiB by default, up to
 * the frame limit) thus queue behind each other and never in front of an AppendEntries or a
 * heartbeat. Inbound connections are accepted from every peer of the cluster and, when the
 * node serves clients, from clients (see tcp-inbound.ts).
 *
 * All frames of one send() call that go to one connection are encoded into one buffer and
 * written with one write().
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Message } from '../core/message.js';
import { MsgType } from '../core/message.js';
import type { Transport } from '../node/raft-node.js';
import { encodeInto, encodedSize } from './codec.js';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, FrameKind, sealFrame } from './tcp-frame.js';
import { HelloRole, checkClusterId } from './tcp-hello.js';
import { ClientConnection, InboundConnection } from './tcp-inbound.js';
import { BackoffOptions, PeerAddress, PeerLink, PeerLinkStats } from './tcp-peer-link.js';
import { TlsFiles, checkTlsFiles } from './tcp-tls.js';

export type { PeerAddress } from './tcp-peer-link.js';
export type { ClientConnection } from './tcp-inbound.js';

export interface TcpTransportOptions {
  /** This peer's id. */
  id: number;
  /** Every peer of the cluster but this one, with the address it listens on. */
  peers: ReadonlyMap<number, PeerAddress> | Record<number, PeerAddress>;
  /** Where this peer listens (port 0: any free port; see `address`). */
  listen: PeerAddress;
  /** Peers and clients of another cluster are refused. */
  clusterId: string;
  /** Mutual TLS, or `false` for plain TCP (must be chosen explicitly). */
  tls: TlsFiles | false;
  /** Largest frame accepted or sent. Default 4 MiB. */
  maxFrameBytes?: number;
  /** Bytes queued per outbound connection while it connects or pushes back; more is dropped. Default 8 MiB. */
  maxQueueBytes?: number;
  /** Redial delays. Default 5 ms doubling to at most 50 ms, with jitter. */
  backoff?: Partial<BackoffOptions>;
  connectTimeoutMs?: number;
  /** An outbound connection pushed back this long is redialed. Default 2,000 ms. */
  stallTimeoutMs?: number;
  /** A connection must complete its TLS handshake and hello within this. Default 5,000 ms. */
  helloTimeoutMs?: number;
  log?: (line: string) => void;
  /** Set by a peer that serves clients: each request frame body of a client connection. */
  onClientRequest?: (conn: ClientConnection, body: Uint8Array) => void;
  onClientClose?: (conn: ClientConnection) => void;
}

export type TcpMessageReceiver = (m: Message, bytes: number) => void;

function peerMap(p: TcpTransportOptions['peers']): Map<number, PeerAddress> {
  const m = p instanceof Map ? new Map(p) : new Map(Object.entries(p ?? {}).map(([k, v]) => [Number(k), v as PeerAddress]));
  for (const [id, a] of m) {
    if (!Number.isInteger(id) || id < 0) throw new TypeError(`peer id ${id} must be a non-negative integer`);
    if (!a || typeof a.host !== 'string' || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535) {
      throw new TypeError(`address of peer ${id} must be { host, port } with a port in 1..65535, got ${JSON.stringify(a)}`);
    }
  }
  return m;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`option ${name} must be a positive number, got ${String(v)}`);
  return v;
}

export class TcpTransport implements Transport {
  private readonly raftLinks = new Map<number, PeerLink>();
  private readonly snapshotLinks = new Map<number, PeerLink>();
  private readonly inbound = new Set<InboundConnection>();
  private receiver: TcpMessageReceiver | null = null;
  private readonly maxFrameBytes: number;
  private readonly log: (line: string) => void;
  /** Messages too big for a frame (a misconfiguration: maxBatchBytes/snapshotChunkBytes above maxFrameBytes). */
  oversizedDropped = 0;

  private constructor(private readonly o: TcpTransportOptions, private readonly server: net.Server, readonly address: PeerAddress, peers: Map<number, PeerAddress>,
    private readonly sockets: Set<net.Socket>) {
    this.maxFrameBytes = o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.log = o.log ?? ((line) => process.stderr.write(`[peer ${o.id}] ${line}\n`));
    const common = {
      selfId: o.id, clusterId: o.clusterId, tls: o.tls,
      maxQueueBytes: positive('maxQueueBytes', o.maxQueueBytes, 8 * 1024 * 1024),
      backoff: { minMs: positive('backoff.minMs', o.backoff?.minMs, 5), maxMs: positive('backoff.maxMs', o.backoff?.maxMs, 50) },
      connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 1000),
      stallTimeoutMs: positive('stallTimeoutMs', o.stallTimeoutMs, 2000),
      log: this.log,
    };
    for (const [id, address] of peers) {
      this.raftLinks.set(id, new PeerLink({ ...common, peerId: id, address, role: HelloRole.Peer }));
      this.snapshotLinks.set(id, new PeerLink({ ...common, peerId: id, address, role: HelloRole.PeerSnapshots }));
    }
  }

  /** Validates the options, starts listening, and starts dialing the peers. */
  static async start(o: TcpTransportOptions): Promise<TcpTransport> {
    if (typeof o !== 'object' || o === null) throw new TypeError('TcpTransport.start needs an options object');
    if (!Number.isInteger(o.id) || o.id < 0) throw new TypeError(`option id must be a non-negative integer, got ${String(o.id)}`);
    checkClusterId(o.clusterId);
    if (o.tls !== false) checkTlsFiles(o.tls);
    const peers = peerMap(o.peers);
    if (peers.has(o.id)) throw new RangeError(`option peers must list the other peers, not this one (${o.id})`);
    const maxFrameBytes = positive('maxFrameBytes', o.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
    const ids = new Set(peers.keys());
    const log = o.log ?? ((line: string) => process.stderr.write(`[peer ${o.id}] ${line}\n`));
    const helloTimeoutMs = positive('helloTimeoutMs', o.helloTimeoutMs, 5000);
    let transport: TcpTransport | null = null;
    const accept = (socket: net.Socket) => {
      if (!transport) { socket.destroy(); return; }
      const t = transport;
      const c = new InboundConnection(socket, {
        selfId: o.id, clusterId: o.clusterId, peers: ids, tls: o.tls !== false, maxFrameBytes,
        helloTimeoutMs, maxClientBacklogBytes: 64 * 1024 * 1024, log,
        onMessage: (m, bytes) => t.receiver?.(m, bytes),
        onClientRequest: o.onClientRequest,
        onClientClose: o.onClientClose,
      });
      t.inbound.add(c);
      socket.once('close', () => t.inbound.delete(c));
    };
    const server = o.tls
      ? tls.createServer({ cert: o.tls.cert, key: o.tls.key, ca: o.tls.ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: helloTimeoutMs }, accept)
      : net.createServer(accept);
    // Every accepted socket, handshakes under way included, so that close() ends them all (server.close waits for them).
    const sockets = new Set<net.Socket>();
    server.on('connection', (s: net.Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
    // A failed handshake (no certificate, one the CA did not sign) never reaches accept.
    server.on('tlsClientError', (err, socket) => {
      const from = socket.remoteAddress === undefined ? 'a client that already hung up' : `${socket.remoteAddress}:${socket.remotePort}`;
      // OpenSSL's messages end in a newline (a blank stderr line per refusal): keep one line each
      log(`refusing TLS connection from ${from}: ${err.message.trim().replace(/\s*\n\s*/g, '; ')}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.listen.port, o.listen.host, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (err) => log(`listener error: ${err.message}`));
    const a = server.address() as net.AddressInfo;
    transport = new TcpTransport(o, server, { host: a.address, port: a.port }, peers, sockets);
    return transport;
  }

  onMessage(receiver: TcpMessageReceiver): void {
    this.receiver = receiver;
  }

  /** Per outbound connection, by peer id. */
  stats(): Record<number, { raft: PeerLinkStats; snapshots: PeerLinkStats; connected: boolean }> {
    const out: Record<number, { raft: PeerLinkStats; snapshots: PeerLinkStats; connected: boolean }> = {};
    for (const [id, l] of this.raftLinks) out[id] = { raft: { ...l.stats }, snapshots: { ...this.snapshotLinks.get(id)!.stats }, connected: l.connected };
    return out;
  }

  /** Outbound connections to peer `id` are up (both of them). */
  connectedTo(id: number): boolean {
    return !!this.raftLinks.get(id)?.connected && !!this.snapshotLinks.get(id)?.connected;
  }

  send(messages: Message[]): void {
    // Pass 1: bytes per destination connection; pass 2: encode into one buffer per connection.
    let sizes: Map<PeerLink, number> | null = null;
    const frameSizes = new Array<number>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const link = this.linkFor(m);
      if (!link) { frameSizes[i] = -1; continue; }
      const body = 1 + encodedSize(m);
      if (body > this.maxFrameBytes) {
        frameSizes[i] = -1;
        if (this.oversizedDropped++ === 0) this.log(`dropping a ${body}-byte ${MsgType[m.type]} to peer ${m.to}: above maxFrameBytes ${this.maxFrameBytes} (lower maxBatchBytes / snapshotChunkBytes)`);
        continue;
      }
      frameSizes[i] = body;
      sizes ??= new Map();
      sizes.set(link, (sizes.get(link) ?? 0) + FRAME_HEADER_BYTES + body);
    }
    if (!sizes) return;
    const bufs = new Map<PeerLink, { buf: Buffer; at: number }>();
    for (const [link, n] of sizes) bufs.set(link, { buf: Buffer.allocUnsafe(n), at: 0 });
    for (let i = 0; i < messages.length; i++) {
      if (frameSizes[i] < 0) continue;
      const m = messages[i];
      const b = bufs.get(this.linkFor(m)!)!;
      b.buf[b.at + FRAME_HEADER_BYTES] = FrameKind.Raft;
      encodeInto(m, b.buf, b.at + FRAME_HEADER_BYTES + 1);
      sealFrame(b.buf, b.at, frameSizes[i]);
      b.at += FRAME_HEADER_BYTES + frameSizes[i];
    }
    for (const [link, b] of bufs) link.enqueue(b.buf);
  }

  private linkFor(m: Message): PeerLink | undefined {
    return (m.type === MsgType.InstallSnapshot ? this.snapshotLinks : this.raftLinks).get(m.to);
  }

  /** Stops listening, closes every connection. */
  async close(): Promise<void> {
    for (const l of this.raftLinks.values()) l.close();
    for (const l of this.snapshotLinks.values()) l.close();
    for (const c of this.inbound) c.close(null);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
