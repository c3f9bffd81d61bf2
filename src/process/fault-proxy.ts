/**
 * A TCP proxy in front of one peer's listening port, for partition tests: peers are told
 * (in --peers) to reach each other through the proxies. It reads the hello of each
 * connection to learn which peer is calling (plain TCP only), so it can cut the links from
 * chosen peers, or every link into its peer, and let them be redialed again later.
 */
import net from 'node:net';
import { FRAME_HEADER_BYTES, FrameKind } from '../transport/tcp-frame.js';
import { decodeHello } from '../transport/tcp-hello.js';

interface Piped { from: number; a: net.Socket; b: net.Socket | null }

export class FaultProxy {
  private readonly conns = new Set<Piped>();
  private blockedFrom = new Set<number>();
  private blockAll = false;

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(port: number, target: number): Promise<FaultProxy> {
    let proxy: FaultProxy | null = null;
    const server = net.createServer((a) => proxy?.accept(a, target));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    proxy = new FaultProxy(server, port);
    return proxy;
  }

  /** Cuts links from these peers (and refuses them until heal()); `all`: every link into this proxy's peer. */
  cut(from: number[] | 'all'): void {
    if (from === 'all') this.blockAll = true;
    else for (const id of from) this.blockedFrom.add(id);
    for (const c of this.conns) if (this.blocked(c.from)) this.drop(c);
  }

  heal(): void {
    this.blockAll = false;
    this.blockedFrom.clear();
  }

  async close(): Promise<void> {
    for (const c of this.conns) this.drop(c);
    await new Promise((r) => this.server.close(r));
  }

  private blocked(from: number): boolean {
    return this.blockAll || this.blockedFrom.has(from);
  }

  private drop(c: Piped): void {
    c.a.destroy();
    c.b?.destroy();
    this.conns.delete(c);
  }

  private accept(a: net.Socket, target: number): void {
    const c: Piped = { from: -1, a, b: null };
    this.conns.add(c);
    let head = Buffer.alloc(0);
    a.on('error', () => {});
    a.on('close', () => this.drop(c));
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < FRAME_HEADER_BYTES) return;
      const len = head.readUInt32LE(0);
      if (head.length < FRAME_HEADER_BYTES + len) return;
      a.off('data', onHead);
      a.pause();
      c.from = head[FRAME_HEADER_BYTES] === FrameKind.Hello ? decodeHello(head.subarray(FRAME_HEADER_BYTES + 1, FRAME_HEADER_BYTES + len)).peerId : -1;
      if (this.blocked(c.from)) { this.drop(c); return; }
      const b = net.connect({ host: '127.0.0.1', port: target }, () => { b.write(head); a.pipe(b); b.pipe(a); a.resume(); });
      b.on('error', () => {});
      b.on('close', () => this.drop(c));
      c.b = b;
    };
    a.on('data', onHead);
  }
}
