import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePeerArgs } from '../../src/process/peer-args.js';
import { makeCerts, opensslMissing } from '../transport/tls-certs.js';
import { CLI } from './peer-cluster.js';

const peers = '0=127.0.0.1:7000,1=127.0.0.1:7001,2=127.0.0.1:7002';

test('the peer command line becomes options; listen defaults to the own --peers entry', () => {
  const o = parsePeerArgs(['--id', '1', '--peers', peers, '--dir', 'd', '--insecure', '--sessions', '--election-timeout-ms', '500']);
  assert.equal(o.id, 1);
  assert.deepEqual(o.listen, { host: '127.0.0.1', port: 7001 });
  assert.equal(o.peers.size, 3);
  assert.deepEqual(o.storage, { dir: 'd', fsync: 'batch' });
  assert.equal(o.tls, false);
  assert.equal(o.sessions, true);
  assert.deepEqual(o.timing, { electionTimeoutMs: 500 });
  assert.deepEqual(parsePeerArgs(['--id', '0', '--peers', peers, '--memory', '--insecure', '--read-mode', 'lease']).timing, { readMode: 'lease' });
});

test('bad command lines name the flag', () => {
  const base = ['--id', '1', '--peers', peers, '--dir', 'd'];
  assert.throws(() => parsePeerArgs(base), /TLS needs all of --tls-cert, --tls-key and --tls-ca \(or pass --insecure/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--tls-ca', 'x']), /--insecure and --tls-\* exclude each other/);
  assert.throws(() => parsePeerArgs(['--id', 'x', '--peers', peers, '--dir', 'd', '--insecure']), /--id must be a non-negative integer/);
  assert.throws(() => parsePeerArgs(['--id', '1', '--peers', '0=nohost', '--dir', 'd', '--insecure']), /--peers entry for peer 0: expected HOST:PORT/);
  assert.throws(() => parsePeerArgs(['--id', '1', '--peers', '0=a:1,0=b:2', '--dir', 'd', '--insecure']), /peer 0 is listed twice/);
  assert.throws(() => parsePeerArgs(['--id', '1', '--peers', peers, '--insecure']), /--dir DIR is required/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--fsync', 'sometimes']), /--fsync must be one of always, batch, none/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--bogus']), /Unknown option '--bogus'/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--read-mode', 'follower']), /--read-mode must be index or lease, got "follower"/);
  // flags that are each fine but do not fit together, or that the peer would refuse at start
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--election-timeout-ms', '50', '--heartbeat-ms', '100']), /--election-timeout-ms \(50\) must be larger than --heartbeat-ms \(100\)/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--tick-ms', '500']), /--heartbeat-ms \(100\) must be at least --tick-ms \(500\)/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--cluster-id', '']), /--cluster-id: clusterId must be a non-empty string/);
  assert.throws(() => parsePeerArgs([...base, '--insecure', '--snapshot-entries', '100']), /--snapshot-entries needs --state-machine/);
  assert.throws(() => parsePeerArgs([...base, '--tls-cert', '/nonexistent/c.pem', '--tls-key', 'k', '--tls-ca', 'ca']), /cannot read TLS certificate \/nonexistent\/c.pem/);
});

test('the command exits 2 with the usage on a bad command line', () => {
  const r = spawnSync(process.execPath, [CLI, 'peer', '--id', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--peers is required/);
  assert.match(r.stderr, /usage: raft-threads peer/);
  const r1 = spawnSync(process.execPath, [CLI, 'peer', '--id', '0', '--peers', peers, '--memory', '--insecure', '--state-machine', './no-such-machine.js'], { encoding: 'utf8' });
  assert.equal(r1.status, 2, r1.stderr);
  assert.match(r1.stderr, /--state-machine: no such file \S*no-such-machine\.js \(relative paths are resolved against the working directory/);
  const r2 = spawnSync(process.execPath, [CLI, 'serve'], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /unknown command "serve"/);
});

test('TLS files that are missing, not PEM of their kind, or a key of another certificate exit 2 naming the flag', { skip: opensslMissing }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peer-args-tls-'));
  try {
    const certs = makeCerts(dir, ['peer-0', 'peer-1']);
    const p0 = certs.of('peer-0');
    const run = (cert: string, key: string, ca: string) => spawnSync(process.execPath,
      [CLI, 'peer', '--id', '0', '--peers', peers, '--memory', '--tls-cert', cert, '--tls-key', key, '--tls-ca', ca], { encoding: 'utf8' });
    const cases: [string[], RegExp][] = [
      [[path.join(dir, 'nope.pem'), p0.keyPath, p0.caPath], /--tls-cert: cannot read TLS certificate \S*nope\.pem/],
      [[p0.certPath, path.join(dir, 'nope.key'), p0.caPath], /--tls-key: cannot read TLS key \S*nope\.key/],
      [[p0.keyPath, p0.keyPath, p0.caPath], /--tls-cert \S*peer-0\.key is not a PEM certificate/],
      [[p0.certPath, p0.certPath, p0.caPath], /--tls-key \S*peer-0\.pem is not a PEM private key/],
      [[p0.certPath, p0.keyPath, p0.keyPath], /--tls-ca \S*peer-0\.key is not a PEM CA certificate/],
      [[p0.certPath, certs.of('peer-1').keyPath, p0.caPath], /--tls-key \S*peer-1\.key is not the key of --tls-cert \S*peer-0\.pem/],
    ];
    for (const [files, message] of cases) {
      const r = run(files[0], files[1], files[2]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: raft-threads peer/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
