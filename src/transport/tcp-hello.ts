/**
 * The first frame of every connection says who is calling:
 *
 *   [u8 version = 1][u8 role][u32 LE peerId][u16 LE clusterId length][clusterId, UTF-8]
 *
 * role 1: a peer's connection for Raft messages, 2: the same peer's connection for
 * InstallSnapshot chunks (kept apart so that appends and heartbeats never wait behind them),
 * 3: a client (peerId is ignored, written as 0xffffffff). The listener checks the cluster id,
 * that a peer id belongs to the cluster, and with TLS that the certificate names that id.
 */
import { FrameError, FrameKind, frame } from './tcp-frame.js';

export const HELLO_VERSION = 1;
/** The cluster id of peers and clients that name none. */
export const DEFAULT_CLUSTER_ID = 'raft-threads';

export enum HelloRole {
  Peer = 1,
  PeerSnapshots = 2,
  Client = 3,
}

export const CLIENT_PEER_ID = 0xffffffff;
const MAX_CLUSTER_ID_BYTES = 255;

export interface Hello {
  role: HelloRole;
  peerId: number;
  clusterId: string;
}

export function checkClusterId(clusterId: unknown): asserts clusterId is string {
  if (typeof clusterId !== 'string' || clusterId === '') throw new TypeError(`clusterId must be a non-empty string, got ${JSON.stringify(clusterId)}`);
  if (Buffer.byteLength(clusterId) > MAX_CLUSTER_ID_BYTES) throw new RangeError(`clusterId must be at most ${MAX_CLUSTER_ID_BYTES} bytes of UTF-8`);
}

export function helloFrame(h: Hello): Buffer {
  checkClusterId(h.clusterId);
  const id = Buffer.from(h.clusterId, 'utf8');
  const body = Buffer.alloc(8 + id.length);
  body[0] = HELLO_VERSION;
  body[1] = h.role;
  body.writeUInt32LE(h.peerId >>> 0, 2);
  body.writeUInt16LE(id.length, 6);
  id.copy(body, 8);
  return frame(FrameKind.Hello, body);
}

/** Decodes a hello body (after the kind byte); FrameError names what is wrong. */
export function decodeHello(body: Uint8Array): Hello {
  if (body.byteLength < 8) throw new FrameError(`hello of ${body.byteLength} bytes is shorter than its 8-byte header`);
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b[0] !== HELLO_VERSION) throw new FrameError(`hello version ${b[0]} is not supported (expected ${HELLO_VERSION})`);
  const role = b[1];
  if (role < HelloRole.Peer || role > HelloRole.Client) throw new FrameError(`hello names unknown role ${role}`);
  const len = b.readUInt16LE(6);
  if (b.length !== 8 + len) throw new FrameError(`hello says its cluster id has ${len} bytes but carries ${b.length - 8}`);
  return { role, peerId: b.readUInt32LE(2), clusterId: b.toString('utf8', 8) };
}
