/**
 * The framing of every TCP connection (peer to peer and client to peer):
 *
 *   [u32 LE bodyLength][u32 LE CRC-32C of body][body: u8 kind, then kind-specific bytes]
 *
 * A frame whose length exceeds the maximum is refused from its header alone, before any of
 * it is buffered, so a hostile or corrupt length cannot make the reader allocate. A checksum
 * mismatch, an unknown kind or a stream that ends inside a frame is a FrameError: the
 * connection is closed (nothing on a stream can be trusted after one bad frame).
 */
import { crc32c } from '../storage/crc32c.js';

export const FRAME_HEADER_BYTES = 8;
/** Default largest frame body: a 1 MiB AppendEntries batch plus headers, with room. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

export enum FrameKind {
  /** First frame of every connection; see tcp-hello.ts. */
  Hello = 1,
  /** One Raft message (codec.ts). */
  Raft = 2,
  /** A client's request to a peer; see tcp-client-protocol.ts. */
  ClientRequest = 3,
  /** A peer's answer to a client. */
  ClientResponse = 4,
  /** The listener refuses this connection after its hello: UTF-8 reason, then the connection ends. */
  Refused = 5,
}

const MAX_KIND = FrameKind.Refused;

/** A byte stream that is not a valid sequence of frames. */
export class FrameError extends Error {
  override name = 'FrameError';
}

/** Writes a frame header for `bodyLength` bytes at out[at..at+8) over body bytes already in out[at+8..]. */
export function sealFrame(out: Uint8Array, at: number, bodyLength: number): void {
  const dv = new DataView(out.buffer, out.byteOffset + at, FRAME_HEADER_BYTES);
  dv.setUint32(0, bodyLength, true);
  dv.setUint32(4, crc32c(out, at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + bodyLength), true);
}

/** One whole frame around `kind` and `payload`. */
export function frame(kind: FrameKind, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + payload.byteLength);
  out[FRAME_HEADER_BYTES] = kind;
  out.set(payload, FRAME_HEADER_BYTES + 1);
  sealFrame(out, 0, 1 + payload.byteLength);
  return out;
}

/**
 * Splits a byte stream into frame bodies. push() each chunk as it arrives; it calls onFrame
 * with (kind, body without the kind byte) per whole frame and throws FrameError on bad input.
 * end() throws if the stream stopped inside a frame.
 */
export class FrameReader {
  /** Chunks of a frame not yet whole (kept apart: concatenating on every chunk would be quadratic). */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Bytes the frame at the head of `chunks` needs in all, once its header is known; 0 before. */
  private needed = 0;

  constructor(private readonly maxFrameBytes: number, private readonly onFrame: (kind: FrameKind, body: Uint8Array) => void) {}

  /** Bytes buffered of a frame not yet whole. */
  get buffered(): number {
    return this.chunkBytes;
  }

  push(chunk: Buffer): void {
    if (this.chunks.length > 0) {
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      if (this.chunkBytes < Math.max(this.needed, FRAME_HEADER_BYTES)) {
        if (this.needed === 0 && this.chunkBytes >= FRAME_HEADER_BYTES) this.needed = this.frameBytes(Buffer.concat(this.chunks), 0);
        if (this.chunkBytes < Math.max(this.needed, FRAME_HEADER_BYTES)) return;
      }
      chunk = Buffer.concat(this.chunks, this.chunkBytes);
      this.chunks = [];
      this.chunkBytes = 0;
      this.needed = 0;
    }
    let at = 0;
    while (chunk.length - at >= FRAME_HEADER_BYTES) {
      const total = this.frameBytes(chunk, at);
      if (chunk.length - at < total) break;
      const start = at + FRAME_HEADER_BYTES;
      const sum = crc32c(chunk, start, at + total);
      const want = chunk.readUInt32LE(at + 4);
      if (sum !== want) throw new FrameError(`frame checksum mismatch (CRC-32C ${sum.toString(16)}, header says ${want.toString(16)})`);
      const kind = chunk[start];
      if (kind < 1 || kind > MAX_KIND) throw new FrameError(`unknown frame kind ${kind}`);
      this.onFrame(kind, chunk.subarray(start + 1, at + total));
      at += total;
    }
    if (at < chunk.length) {
      const rest = chunk.subarray(at);
      this.chunks.push(rest);
      this.chunkBytes = rest.length;
      this.needed = rest.length >= FRAME_HEADER_BYTES ? this.frameBytes(rest, 0) : 0;
    }
  }

  end(): void {
    if (this.chunkBytes > 0) {
      throw new FrameError(`stream ended inside a frame (${this.chunkBytes} bytes of an incomplete frame)`);
    }
  }

  /** Header plus body bytes of the frame at `at`; refuses a bad length before anything is buffered. */
  private frameBytes(buf: Buffer, at: number): number {
    const len = buf.readUInt32LE(at);
    if (len > this.maxFrameBytes) throw new FrameError(`frame of ${len} bytes exceeds the maximum ${this.maxFrameBytes}`);
    if (len === 0) throw new FrameError('empty frame (no kind byte)');
    return FRAME_HEADER_BYTES + len;
  }
}

/**
 * Gathers the frames written to one socket during a turn of the event loop and writes them
 * as one buffer at the end of it: one write() (one syscall) for a whole batch of requests or
 * answers, instead of one stream write per frame.
 */
export class FrameBatcher {
  private frames: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly write: (b: Buffer) => void) {}

  /** Bytes waiting for the end of this turn. */
  get pendingBytes(): number {
    return this.bytes;
  }

  add(kind: FrameKind, payload: Uint8Array): void {
    this.push(frame(kind, payload));
  }

  /** A frame whose body (after the kind byte) `write` encodes in place at buf[at, at+bodyBytes): one allocation. */
  addEncoded(kind: FrameKind, bodyBytes: number, write: (buf: Buffer, at: number) => void): void {
    const f = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + bodyBytes);
    f[FRAME_HEADER_BYTES] = kind;
    write(f, FRAME_HEADER_BYTES + 1);
    sealFrame(f, 0, 1 + bodyBytes);
    this.push(f);
  }

  private push(f: Buffer): void {
    this.frames.push(f);
    this.bytes += f.length;
    if (!this.scheduled) { this.scheduled = true; process.nextTick(this.flushBound); }
  }

  private readonly flushBound = () => this.flush();

  flush(): void {
    this.scheduled = false;
    if (this.frames.length === 0) return;
    const b = this.frames.length === 1 ? this.frames[0] : Buffer.concat(this.frames, this.bytes);
    this.frames = [];
    this.bytes = 0;
    this.write(b);
  }
}
