/**
 * Test certificates made at test time with the openssl command: one CA, and a certificate
 * per name signed by it (CN = the name). `opensslMissing` says why TLS tests must be skipped.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCerts {
  dir: string;
  ca: Buffer;
  /** cert and key PEM, and their file paths, by name. */
  of(name: string): { cert: Buffer; key: Buffer; ca: Buffer; certPath: string; keyPath: string; caPath: string };
}

function hasOpenssl(): boolean {
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

export const opensslMissing: string | false = hasOpenssl() ? false : 'openssl is not installed: TLS tests skipped';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyAndCsr(dir: string, name: string): void {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
}

/** A CA named `caName` and certificates for `names` signed by it, in `dir`. */
export function makeCerts(dir: string, names: string[], caName = 'test-ca'): TestCerts {
  fs.mkdirSync(dir, { recursive: true });
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${caName}.key`, '-out', `${caName}.pem`, '-days', '2', '-subj', `/CN=${caName}`]);
  for (const n of names) {
    keyAndCsr(dir, n);
    openssl(dir, ['x509', '-req', '-in', `${n}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${n}.pem`, '-days', '2']);
  }
  const caPath = path.join(dir, `${caName}.pem`);
  const ca = fs.readFileSync(caPath);
  return {
    dir, ca,
    of(name) {
      const certPath = path.join(dir, `${name}.pem`);
      const keyPath = path.join(dir, `${name}.key`);
      return { cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath), ca, certPath, keyPath, caPath };
    },
  };
}
