/**
 * Mutual TLS between peers. Every peer holds a certificate signed by the cluster's CA whose
 * subject CN (or a DNS subjectAltName) is `peer-<id>`; a client's certificate is any the CA
 * signed. A connection is accepted only if the certificate of the other end names the peer
 * id it claims (in its hello, or the id the dialer meant to reach).
 */
import { readFileSync } from 'node:fs';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface TlsFiles {
  /** PEM certificate of this peer (CN or a DNS SAN `peer-<id>`) or client. */
  cert: string | Buffer;
  /** PEM private key of `cert`. */
  key: string | Buffer;
  /** PEM of the CA (or CAs) that signed every peer's and client's certificate. */
  ca: string | Buffer;
}

/** The name a peer's certificate must carry. */
export function peerCertName(id: number): string {
  return `peer-${id}`;
}

/** Reads the three PEM files; errors name the file. */
export function readTlsFiles(paths: { cert: string; key: string; ca: string }): TlsFiles {
  const read = (what: string, p: string) => {
    try { return readFileSync(p); } catch (e) { throw new Error(`cannot read TLS ${what} ${p}: ${(e as Error).message}`); }
  };
  return { cert: read('certificate', paths.cert), key: read('key', paths.key), ca: read('CA', paths.ca) };
}

export function checkTlsFiles(tls: unknown): asserts tls is TlsFiles {
  if (typeof tls !== 'object' || tls === null) throw new TypeError('option tls must be { cert, key, ca } (PEM) or false for plain TCP');
  for (const k of ['cert', 'key', 'ca'] as const) {
    const v = (tls as Record<string, unknown>)[k];
    if (typeof v !== 'string' && !Buffer.isBuffer(v)) throw new TypeError(`option tls.${k} must be PEM text (string or Buffer)`);
  }
}

/** The names a certificate carries: its CN and its DNS subjectAltNames. */
export function certNames(cert: PeerCertificate | null | undefined): string[] {
  if (!cert || Object.keys(cert).length === 0) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const t = part.trim();
    if (t.startsWith('DNS:')) names.push(t.slice(4));
  }
  return names;
}

/**
 * Why the other end of `socket` may not act as peer `id`, or null if it may. Call after the
 * handshake (the CA check is done by TLS itself: rejectUnauthorized).
 */
export function refusePeerCert(socket: TLSSocket, id: number): string | null {
  if (!socket.authorized) return `TLS certificate not authorized: ${String(socket.authorizationError)}`;
  const names = certNames(socket.getPeerCertificate());
  const want = peerCertName(id);
  return names.includes(want) ? null : `TLS certificate names ${names.length ? names.join(', ') : 'nothing'}, not ${want}`;
}
