/**
 * The command line of `raft-threads peer`, turned into PeerProcessOptions. Every error names
 * the flag and what was wrong with it.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import type { FsyncPolicy } from '../storage/file-storage.js';
import { FSYNC_POLICIES } from '../storage/file-storage.js';
import type { PeerAddress } from '../transport/tcp-peer-link.js';
import { readTlsFiles, type TlsFiles } from '../transport/tcp-tls.js';
import { resolveStateMachineModule } from '../cluster/state-machine-module.js';
import { resolveTiming, type TimingOptions } from '../node/options.js';
import { checkClusterId } from '../transport/tcp-hello.js';
import type { PeerProcessOptions } from './peer-process.js';

export const PEER_USAGE = `usage: raft-threads peer --id N --peers ID=HOST:PORT,... [--listen HOST:PORT] (--dir DIR | --memory)
       [--state-machine MODULE] [--cluster-id ID] [--sessions] [--fsync always|batch|none]
       (--tls-cert FILE --tls-key FILE --tls-ca FILE | --insecure)
       [--snapshot-entries N] [--election-timeout-ms N] [--heartbeat-ms N] [--tick-ms N]
       [--read-mode index|lease]`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseAddress(s: string, what: string): PeerAddress {
  const at = s.lastIndexOf(':');
  const host = s.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(s.slice(at + 1));
  if (at <= 0 || host === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${what}: expected HOST:PORT, got ${JSON.stringify(s)}`);
  return { host, port };
}

/** "0=h:p,1=h:p" -> Map. */
export function parsePeers(s: string): Map<number, PeerAddress> {
  const m = new Map<number, PeerAddress>();
  for (const part of s.split(',').filter((x) => x !== '')) {
    const eq = part.indexOf('=');
    const id = Number(part.slice(0, eq));
    if (eq <= 0 || !Number.isInteger(id) || id < 0) throw new UsageError(`--peers: expected ID=HOST:PORT, got ${JSON.stringify(part)}`);
    if (m.has(id)) throw new UsageError(`--peers: peer ${id} is listed twice`);
    m.set(id, parseAddress(part.slice(eq + 1), `--peers entry for peer ${id}`));
  }
  if (m.size === 0) throw new UsageError('--peers: no peers given');
  return m;
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function parsePeerArgs(argv: string[]): PeerProcessOptions {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      strict: true,
      options: {
        id: { type: 'string' }, listen: { type: 'string' }, peers: { type: 'string' }, dir: { type: 'string' },
        memory: { type: 'boolean' }, 'state-machine': { type: 'string' }, 'cluster-id': { type: 'string' },
        sessions: { type: 'boolean' }, fsync: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' }, insecure: { type: 'boolean' }, 'election-timeout-ms': { type: 'string' },
        'heartbeat-ms': { type: 'string' }, 'tick-ms': { type: 'string' }, 'snapshot-entries': { type: 'string' },
        'read-mode': { type: 'string' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const id = Number(v.id);
  if (v.id === undefined || !Number.isInteger(id) || id < 0) throw new UsageError(`--id must be a non-negative integer, got ${JSON.stringify(v.id)}`);
  if (!v.peers) throw new UsageError('--peers is required');
  const peers = parsePeers(v.peers);
  const listen = v.listen ? parseAddress(v.listen, '--listen') : peers.get(id);
  if (!listen) throw new UsageError(`--listen is required (or list peer ${id} itself in --peers)`);
  if (v.dir && v.memory) throw new UsageError('--dir and --memory exclude each other');
  if (!v.dir && !v.memory) throw new UsageError('--dir DIR is required (or --memory for a peer that keeps nothing)');
  if (v.fsync !== undefined && !FSYNC_POLICIES.includes(v.fsync as FsyncPolicy)) throw new UsageError(`--fsync must be one of ${FSYNC_POLICIES.join(', ')}, got ${JSON.stringify(v.fsync)}`);
  const tlsFlags = [v['tls-cert'], v['tls-key'], v['tls-ca']];
  const anyTls = tlsFlags.some((x) => x !== undefined);
  if (v.insecure && anyTls) throw new UsageError('--insecure and --tls-* exclude each other');
  if (!v.insecure && !tlsFlags.every((x) => x !== undefined)) throw new UsageError('TLS needs all of --tls-cert, --tls-key and --tls-ca (or pass --insecure for plain TCP)');
  const readMode = v['read-mode'];
  if (readMode !== undefined && readMode !== 'index' && readMode !== 'lease') throw new UsageError(`--read-mode must be index or lease, got ${JSON.stringify(readMode)}`);
  const timing = {
    readMode: readMode as 'index' | 'lease' | undefined,
    electionTimeoutMs: positiveInt(v['election-timeout-ms'], '--election-timeout-ms'),
    heartbeatMs: positiveInt(v['heartbeat-ms'], '--heartbeat-ms'),
    tickMs: positiveInt(v['tick-ms'], '--tick-ms'),
  };
  checkTimingFlags(timing);
  if (v['cluster-id'] !== undefined) {
    try { checkClusterId(v['cluster-id']); } catch (e) { throw new UsageError(`--cluster-id: ${(e as Error).message}`); }
  }
  if (v['snapshot-entries'] !== undefined && v['state-machine'] === undefined) {
    throw new UsageError('--snapshot-entries needs --state-machine (a module whose state machine has snapshot() and restore())');
  }
  return {
    id, listen, peers,
    storage: v.memory ? 'memory' : { dir: v.dir!, fsync: (v.fsync as FsyncPolicy | undefined) ?? 'batch' },
    stateMachine: v['state-machine'] === undefined ? undefined : stateMachineUrl(v['state-machine']),
    clusterId: v['cluster-id'],
    sessions: v.sessions ?? false,
    tls: v.insecure ? false : tlsFromFlags(v['tls-cert']!, v['tls-key']!, v['tls-ca']!),
    snapshotPolicy: v['snapshot-entries'] === undefined ? undefined : { entries: positiveInt(v['snapshot-entries'], '--snapshot-entries') },
    timing: Object.fromEntries(Object.entries(timing).filter(([, x]) => x !== undefined)),
  };
}

const TIMING_FLAGS: Record<string, string> = { electionTimeoutMs: '--election-timeout-ms', heartbeatMs: '--heartbeat-ms', tickMs: '--tick-ms' };

/** The timing flags that do not fit together (--election-timeout-ms 50 --heartbeat-ms 100) are a bad command line naming the flags. */
function checkTimingFlags(timing: TimingOptions): void {
  try {
    resolveTiming(timing);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^option /, '').replace(/\b(electionTimeoutMs|heartbeatMs|tickMs)\b/g, (name) => TIMING_FLAGS[name]));
  }
}

/**
 * The --tls-* files, read and checked here so that a missing file, one that is not PEM of
 * its kind, or a key that is not the certificate's is a bad command line naming the flag
 * (exit 2), not a stack trace from the TLS layer at start.
 */
function tlsFromFlags(certPath: string, keyPath: string, caPath: string): TlsFiles {
  let files: TlsFiles;
  try {
    files = readTlsFiles({ cert: certPath, key: keyPath, ca: caPath });
  } catch (e) {
    const msg = (e as Error).message;
    const flag = msg.startsWith('cannot read TLS certificate') ? '--tls-cert' : msg.startsWith('cannot read TLS key') ? '--tls-key' : '--tls-ca';
    throw new UsageError(`${flag}: ${msg}`);
  }
  const check = (flag: string, path: string, what: string, parse: () => unknown) => {
    try { parse(); } catch (e) { throw new UsageError(`${flag} ${path} is not a PEM ${what} (${(e as Error).message})`); }
  };
  check('--tls-cert', certPath, 'certificate', () => new X509Certificate(files.cert));
  check('--tls-key', keyPath, 'private key', () => createPrivateKey(files.key));
  check('--tls-ca', caPath, 'CA certificate', () => new X509Certificate(files.ca));
  try {
    createSecureContext({ cert: files.cert, key: files.key, ca: files.ca });
  } catch (e) {
    throw new UsageError(`--tls-key ${keyPath} is not the key of --tls-cert ${certPath} (${(e as Error).message})`);
  }
  return files;
}

/** A missing --state-machine file is a bad command line (exit 2), not a crash at start. */
function stateMachineUrl(spec: string): string {
  try {
    return resolveStateMachineModule(spec);
  } catch (e) {
    throw new UsageError(`--state-machine: ${(e as Error).message.replace(/^option stateMachine: /, '')}`);
  }
}
