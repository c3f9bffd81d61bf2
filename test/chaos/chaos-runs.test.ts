/**
 * Short chaos runs on real workers: one seed per read mode must pass every check, and each
 * planted bug must make the checks fail. (Longer sweeps: `npm run chaos`, see the README.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { historyJsonLines } from '../../src/chaos/history-writer.js';
import type { ChaosOptions } from '../../src/chaos/options.js';
import { runChaos } from '../../src/chaos/runner.js';
import { checkHistory, parseHistory } from '../../src/kv/linearizability.js';

const CLI = fileURLToPath(new URL('../../src/chaos/cli.js', import.meta.url));

const base: ChaosOptions = { seconds: 4, seed: 0, peers: 3, clients: 4, readMode: 'index', out: null, processes: false, plant: null, verbose: false };

for (const [seed, readMode, peers] of [[101, 'index', 3], [202, 'lease', 3], [303, 'follower', 5]] as const) {
  test(`chaos seed ${seed}, read mode ${readMode}, ${peers} peers: every check passes`, async () => {
    const r = await runChaos({ ...base, seed, readMode, peers });
    assert.equal(r.verdict, 'ok', r.check.violations.map((v) => v.message).join('\n\n') || JSON.stringify(r.check.undecided));
    assert.ok(r.injected.length >= 1, 'at least one fault was injected');
    assert.ok(r.counters.ok > 100, `only ${r.counters.ok} operations completed`);
    // The history file's format: the documented fields, times as decimal nanosecond strings.
    const parsed = parseHistory(historyJsonLines(r.history));
    assert.equal(parsed.length, r.history.length);
    for (const h of parsed) {
      assert.deepEqual(Object.keys(h).filter((k) => k !== 'value'), ['clientId', 'op', 'key', 'output', 'call', 'return']);
      assert.match(h.call as string, /^\d+$/);
      if (h.return !== null) assert.ok(BigInt(h.return as string) >= BigInt(h.call as string));
    }
    // The last line is the final scan, after every other operation returned: the file alone carries what the lost-write check needs.
    const final = parsed[parsed.length - 1];
    const lastReturn = parsed.slice(0, -1).reduce((m, h) => (h.return !== null && BigInt(h.return as string) > m ? BigInt(h.return as string) : m), 0n);
    assert.equal(final.op, 'scan');
    assert.ok(BigInt(final.call as string) > lastReturn, 'the final scan starts after every other operation returned');
    assert.deepEqual(Object.fromEntries((final.output as { entries: [string, string][] }).entries), Object.fromEntries(Object.entries(r.finalState).filter(([, v]) => v !== null)));
    assert.equal(checkHistory(parsed.filter((h) => !(h.return === null && (h.op === 'get' || h.op === 'scan')))).verdict, 'ok', 'the file alone passes');
  });
}

for (const [seed, readMode] of [[606, 'index'], [707, 'follower']] as const) {
  test(`chaos on peer processes over TCP (SIGKILL, restart, proxy partitions), read mode ${readMode}: every check passes`, async () => {
    const r = await runChaos({ ...base, seed, readMode, processes: true });
    assert.equal(r.verdict, 'ok', r.check.violations.map((v) => v.message).join('\n\n') || JSON.stringify(r.check.undecided));
    assert.ok(r.injected.length >= 1, 'at least one fault was injected');
    assert.ok(r.injected.every((f) => /partition|crash-restart/.test(f)), r.injected.join('; '));
    assert.ok(r.counters.ok > 20, `only ${r.counters.ok} operations completed`);
    assert.match(r.readsVia, /^RemoteClient\.read/, 'gets and scans are reads, not log entries');
    assert.ok(r.history.filter((h) => h.op === 'get' && h.return !== null).length > 10, 'reads were answered');
  });
}

for (const processes of [false, true]) {
  test(`a planted stale read (a client-side read cache) is caught${processes ? ' on peer processes' : ''}`, async () => {
    const r = await runChaos({ ...base, seconds: 3, seed: 404, plant: 'stale-read', processes });
    assert.equal(r.verdict, 'violation');
    assert.ok(r.check.violations.some((v) => v.check === 'linearizability'));
  });
}

test('a planted lost write (puts acknowledged, never sent) is caught: the command exits 1 and writes the history', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raft-chaos-')), 'history.jsonl');
  try {
    const r = spawnSync(process.execPath, [CLI, '--seconds', '3', '--seed', '505', '--clients', '4', '--plant', 'lost-write', '--out', out], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /verdict VIOLATION/);
    assert.match(r.stdout, /VIOLATION \((linearizability|lost-write)\)/);
    const history = parseHistory(fs.readFileSync(out, 'utf8'));
    assert.ok(history.length > 50, `${history.length} operations in the file`);
    assert.equal(checkHistory(history.filter((h) => !(h.return === null && (h.op === 'get' || h.op === 'scan')))).verdict, 'violation', 'the file alone shows the violation');
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});
