/** The chaos command line: options, refusals that name the bad argument, exit codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CHAOS_USAGE, ChaosUsageError, parseChaosArgs } from '../../src/chaos/options.js';

const CLI = fileURLToPath(new URL('../../src/chaos/cli.js', import.meta.url));

test('options parse, with defaults and a drawn seed', () => {
  assert.deepEqual(parseChaosArgs(['--seconds', '4', '--seed', '7', '--peers', '5', '--clients', '3', '--read-mode', 'lease', '--out', 'h.jsonl']), {
    seconds: 4, seed: 7, peers: 5, clients: 3, readMode: 'lease', out: 'h.jsonl', processes: false, plant: null, verbose: false,
  });
  const o = parseChaosArgs(['--seconds=2'], () => 42)!;
  assert.equal(o.seed, 42);
  assert.equal(o.peers, 3);
  assert.equal(o.readMode, 'index');
  assert.equal(parseChaosArgs(['--seed', '1', '--help']), null);
});

test('bad arguments are refused, naming them', () => {
  const refuses = (argv: string[], pattern: RegExp) => assert.throws(() => parseChaosArgs(argv), (e: unknown) => e instanceof ChaosUsageError && pattern.test(e.message), argv.join(' '));
  refuses(['--bogus'], /unknown option "--bogus"/);
  refuses(['stray'], /unexpected argument "stray"/);
  refuses(['--peers', '4'], /--peers must be 3 or 5, got 4/);
  refuses(['--seconds', 'x'], /--seconds must be a number .* got "x"/);
  refuses(['--seconds'], /--seconds needs a value/);
  refuses(['--seconds', '0.4'], /--seconds must be a number from 0\.5 to 3600/);
  assert.match(CHAOS_USAGE, /--seconds S .*; 0\.5-3600\)/, 'the usage states the range the parser takes');
  refuses(['--seed', '-1'], /--seed must be an integer/);
  refuses(['--clients', '0'], /--clients must be an integer from 1 to 64/);
  refuses(['--read-mode', 'stale'], /--read-mode must be index, lease or follower, got "stale"/);
  refuses(['--plant', 'x'], /--plant must be stale-read or lost-write/);
  refuses(['--verbose=yes'], /--verbose takes no value/);
  assert.equal(parseChaosArgs(['--processes', '--seed', '1'])!.processes, true);
  assert.equal(parseChaosArgs(['--processes', '--read-mode', 'lease', '--seed', '1'])!.readMode, 'lease', '--processes takes every read mode');
});

test('the command exits 3 on bad arguments and 0 on --help', () => {
  const bad = spawnSync(process.execPath, [CLI, '--seconds', '1', '--nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 3);
  assert.match(bad.stderr, /unknown option "--nope"/);
  assert.match(bad.stderr, /usage: npm run chaos/);
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Exit status: 0 every check passed, 1 .* 2 .* 3 bad arguments/s);
});

test('an --out file that cannot be written is refused as a bad argument before the run, not after it', () => {
  const r = spawnSync(process.execPath, [CLI, '--seconds', '1', '--seed', '1', '--out', '/nonexistent-dir-of-the-chaos-test/h.jsonl'], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /chaos: option --out: cannot write \/nonexistent-dir-of-the-chaos-test\/h\.jsonl: ENOENT/);
  assert.doesNotMatch(r.stdout, /operations:/, 'nothing ran');
});
