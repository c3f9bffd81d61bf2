import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_COMMAND_BYTES, OptionError, parseOptions, scenariosOf } from '../../bench/options.js';
import { suiteSteps } from '../../bench/suite.js';

/** Asserts that argv is refused with an OptionError naming `option`. */
function refused(argv: string[], option: string, why?: RegExp): void {
  assert.throws(() => parseOptions(argv), (e: unknown) => {
    assert.ok(e instanceof OptionError, `expected an OptionError, got ${String(e)}`);
    assert.equal(e.option, option);
    assert.ok(e.message.includes(option), `message does not name ${option}: ${e.message}`);
    if (why) assert.match(e.message, why);
    return true;
  }, `${argv.join(' ')} was accepted`);
}

test('defaults: 3 peers, 16 B, closed loop, memory storage', () => {
  const o = parseOptions([])!;
  assert.equal(o.mode, 'run');
  assert.equal(o.peers, 3);
  assert.equal(o.commandBytes, 16);
  assert.equal(o.load.mode, 'closed');
  assert.deepEqual(o.storage, { kind: 'memory' });
  assert.ok(o.durationSec > 0 && o.warmupSec >= 0);
  assert.equal(o.limits, true);
  assert.equal(o.repeat, 1);
  assert.equal(parseOptions(['--help']), null);
  assert.equal(parseOptions(['--repeat', '5'])!.repeat, 5);
});

test('valid options are parsed with their units', () => {
  const o = parseOptions(['--peers', '5', '--size=128', '--rate', '650k', '--duration', '500ms', '--warmup', '0',
    '--storage', 'file', '--fsync', 'always', '--dir', '/tmp/x', '--out', 'r.json', '--no-limits', '--seed', '7'])!;
  assert.equal(o.peers, 5);
  assert.equal(o.commandBytes, 128);
  assert.deepEqual(o.load, { mode: 'open', rate: 650_000 });
  assert.equal(o.durationSec, 0.5);
  assert.equal(o.warmupSec, 0);
  assert.deepEqual(o.storage, { kind: 'file', fsync: 'always', parentDir: '/tmp/x' });
  assert.equal(o.out, 'r.json');
  assert.equal(o.limits, false);
  assert.equal(o.seed, 7);
  assert.deepEqual(parseOptions(['--window', '20k'])!.load, { mode: 'closed', window: 20_000 });
  assert.deepEqual(parseOptions(['--rate', '1.5M'])!.load, { mode: 'open', rate: 1_500_000 });
  assert.equal(parseOptions(['--size', String(MAX_COMMAND_BYTES)])!.commandBytes, MAX_COMMAND_BYTES);
});

test('sweep and suite modes', () => {
  const s = parseOptions(['--sweep-window', '1,8,64'])!;
  assert.equal(s.mode, 'sweep');
  assert.deepEqual(scenariosOf(s).map((x) => x.load), [1, 8, 64].map((window) => ({ mode: 'closed', window })));
  assert.equal(new Set(scenariosOf(s).map((x) => x.name)).size, 3, 'sweep runs need distinct names');
  assert.equal(parseOptions(['--suite', '--duration', '3'])!.mode, 'suite');
  assert.equal(parseOptions(['--suite', '--dir', '/data'])!.storage.parentDir, '/data', '--dir places the suite\'s file-storage runs');
});

test('unknown flags and stray arguments are refused by name', () => {
  refused(['--bogus'], '--bogus', /unknown/);
  refused(['--peers', '3', 'extra'], 'extra', /unexpected/);
  refused(['--peers'], '--peers', /needs a value/);
  refused(['--suite=yes'], '--suite', /takes no value/);
});

test('out-of-range values are refused by name', () => {
  refused(['--duration', '0'], '--duration', /positive/);
  refused(['--duration', '-1'], '--duration');
  refused(['--duration=-1'], '--duration', /positive/);
  refused(['--duration', 'ten'], '--duration');
  refused(['--warmup=-2'], '--warmup', /non-negative/);
  refused(['--rate=-5'], '--rate', /positive/);
  refused(['--rate', '-5'], '--rate');
  refused(['--rate', '0'], '--rate', /positive/);
  refused(['--size', String(MAX_COMMAND_BYTES + 1)], '--size', /1,048,576/);
  refused(['--size', '0'], '--size');
  refused(['--size', '1.5'], '--size', /integer/);
  refused(['--peers', '0'], '--peers');
  refused(['--peers', '65'], '--peers');
  refused(['--window', '0'], '--window');
  refused(['--sweep-window', '1,,8'], '--sweep-window');
  refused(['--sweep-window', '1,0'], '--sweep-window');
  refused(['--storage', 'disk'], '--storage');
  refused(['--storage', 'file', '--fsync', 'sometimes'], '--fsync');
  refused(['--out', 'results.txt'], '--out', /\.json/);
  refused(['--repeat', '0'], '--repeat', /integer from 1/);
  refused(['--repeat', '2.5'], '--repeat');
});

test('contradictory combinations are refused by name', () => {
  refused(['--window', '8', '--rate', '1000'], '--rate', /--window/);
  refused(['--rate', '1000', '--window', '8'], '--rate', /--window/);
  refused(['--sweep-window', '1,8', '--window', '8'], '--sweep-window');
  refused(['--sweep-window', '1,8', '--rate', '100'], '--sweep-window');
  refused(['--suite', '--peers', '5'], '--peers', /--suite/);
  refused(['--fsync', 'batch'], '--fsync', /--storage file/);
  refused(['--dir', '/tmp'], '--dir', /--storage file/);
  refused(['--progress', '--no-progress'], '--progress');
});

test('--sessions: the load and one in flight, each raw and through a session, in one run', () => {
  const runs = scenariosOf(parseOptions(['--sessions', '--window', '512'])!);
  assert.deepEqual(runs.map((r) => [r.load.mode === 'closed' ? r.load.window : -1, r.sessions === true]), [[512, false], [512, true], [1, false], [1, true]]);
  assert.equal(new Set(runs.map((r) => r.name)).size, 4, 'names must differ for bench:compare to match runs');
  assert.match(runs[1].name, / sessions$/);
  assert.equal(scenariosOf(parseOptions(['--sessions', '--window', '1'])!).length, 2);
  assert.equal(scenariosOf(parseOptions([])!).length, 1);
  refused(['--sessions', '--sweep-window', '1,8'], '--sessions');
});

test('--read-ratio and --read-mode: reads mixed into a closed loop, named apart', () => {
  const o = parseOptions(['--read-ratio', '0.9', '--read-mode', 'lease', '--window', '64'])!;
  assert.equal(o.readRatio, 0.9);
  assert.equal(o.readMode, 'lease');
  const [run] = scenariosOf(o);
  assert.equal(run.readRatio, 0.9);
  assert.equal(run.readMode, 'lease');
  assert.match(run.name, / reads=0\.9 lease$/);
  assert.equal(parseOptions(['--read-ratio', '0.5'])!.readMode, 'index');
  assert.equal(parseOptions([])!.readRatio, undefined);
  refused(['--read-ratio', '1.5'], '--read-ratio', /fraction from 0 to 1/);
  refused(['--read-ratio', 'x'], '--read-ratio');
  refused(['--read-mode', 'lease'], '--read-mode', /needs --read-ratio/);
  refused(['--read-ratio', '0.5', '--read-mode', 'stale'], '--read-mode', /"index", "lease" or "follower"/);
  refused(['--read-ratio', '0.5', '--rate', '1000'], '--read-ratio', /--rate/);
  refused(['--read-ratio', '0.5', '--sessions'], '--read-ratio', /--sessions/);
});

test('--reads: writes only and each read mode, saturated and one in flight, named as the single runs are', () => {
  const o = parseOptions(['--reads'])!;
  assert.equal(o.reads, true);
  assert.equal(o.readRatio, 0.9, 'default read ratio');
  assert.deepEqual(o.load, { mode: 'closed', window: 1000 }, 'default window with --reads');
  const runs = scenariosOf(o);
  assert.deepEqual(runs.map((r) => [r.load.mode === 'closed' ? r.load.window : -1, r.readMode ?? 'writes']), [
    [1000, 'writes'], [1000, 'index'], [1000, 'lease'], [1000, 'follower'], [1, 'writes'], [1, 'index'], [1, 'lease'], [1, 'follower'],
  ]);
  // the same names as a run of each configuration alone, so that bench:compare matches them
  assert.equal(runs[0].name, scenariosOf(parseOptions(['--window', '1000'])!)[0].name);
  assert.equal(runs[2].name, scenariosOf(parseOptions(['--window', '1000', '--read-ratio', '0.9', '--read-mode', 'lease'])!)[0].name);
  assert.equal(runs[7].name, scenariosOf(parseOptions(['--window', '1', '--read-ratio', '0.9', '--read-mode', 'follower'])!)[0].name);
  assert.ok(runs.every((r) => r.readRatio === undefined || r.readRatio === 0.9));
  const custom = scenariosOf(parseOptions(['--reads', '--read-ratio', '0.5', '--window', '1', '--peers', '5'])!);
  assert.equal(custom.length, 4, 'window 1 is already one in flight: not run twice');
  assert.ok(custom.every((r) => r.peers === 5 && (r.readRatio === undefined || r.readRatio === 0.5)));
  assert.equal(parseOptions(['--reads', '--transport', 'rings'])!.transport, undefined);
  refused(['--reads', '--sessions'], '--sessions', /--reads/);
  refused(['--reads', '--rate', '1000'], '--rate', /--reads/);
  refused(['--reads', '--sweep-window', '1,8'], '--sweep-window', /--reads/);
  refused(['--reads', '--suite'], '--suite', /--reads/);
  refused(['--reads', '--read-mode', 'lease'], '--read-mode', /--reads runs every read mode/);
  refused(['--reads', '--transport', 'tcp'], '--transport', /--reads/);
  refused(['--reads', '--transport', 'both'], '--transport', /--reads/);
  refused(['--reads', '--read-ratio', '0'], '--read-ratio', /above 0/);
  refused(['--reads', '--read-ratio', '2'], '--read-ratio', /fraction from 0 to 1/);
});

test('--transport: rings by default; tcp names its runs; both alternates the two; bad values and combinations are refused', () => {
  assert.equal(parseOptions([])!.transport, undefined);
  const tcp = scenariosOf(parseOptions(['--transport', 'tcp', '--window', '1'])!);
  assert.deepEqual(tcp.map((s) => [s.name, s.transport]), [['3p 16B memory window=1 tcp', 'tcp']]);
  const both = scenariosOf(parseOptions(['--transport', 'both', '--sweep-window', '1,20000'])!);
  assert.deepEqual(both.map((s) => s.name), ['3p 16B memory window=1', '3p 16B memory window=1 tcp', '3p 16B memory window=20000', '3p 16B memory window=20000 tcp']);
  refused(['--transport', 'udp'], '--transport', /"rings", "tcp" or "both"/);
  refused(['--transport', 'tcp', '--suite'], '--transport', /--suite/);
  const sessions = scenariosOf(parseOptions(['--transport', 'tcp', '--sessions', '--window', '64'])!);
  assert.deepEqual(sessions.map((s) => [s.name, s.transport, s.sessions ?? false]), [
    ['3p 16B memory window=64 tcp', 'tcp', false], ['3p 16B memory window=64 sessions tcp', 'tcp', true],
    ['3p 16B memory window=1 tcp', 'tcp', false], ['3p 16B memory window=1 sessions tcp', 'tcp', true],
  ]);
  refused(['--transport', 'tcp', '--read-ratio', '0.5'], '--read-ratio', /--transport tcp/);
});

test('--busy-poll and --busy-poll-when reach the scenario (and its name); bad values are refused with the option named', () => {
  const o = parseOptions(['--window', '1', '--busy-poll', '80', '--busy-poll-when', 'always'])!;
  assert.deepEqual(o.busyPoll, { micros: 80, when: 'always' });
  const [s] = scenariosOf(o);
  assert.deepEqual(s.busyPoll, { micros: 80, when: 'always' });
  assert.match(s.name, / busy-poll=80\/always$/);
  assert.equal(parseOptions(['--window', '1'])!.busyPoll, undefined, 'absent: the cluster\'s defaults');
  const suite = suiteSteps(parseOptions(['--suite', '--busy-poll', '0'])!);
  assert.ok(suite.length > 0 && suite.every((step) => step.id === 'c' || step.spec(new Map()).busyPoll?.micros === 0), 'the suite\'s runs get it too');
  refused(['--busy-poll-when', 'never'], '--busy-poll-when', /must be "idle-core" or "always", got "never"/);
  refused(['--busy-poll', '-5'], '--busy-poll');
  refused(['--busy-poll', '10', '--transport', 'tcp'], '--busy-poll', /cannot be combined with --transport tcp/);
});

test('--suite refuses --sessions, which it would ignore (the suite has its own session runs, (f))', () => {
  refused(['--suite', '--sessions'], '--sessions', /--suite/);
});

test('--sweep-window refuses a window listed twice (two runs of one name, each "sample 1 of 1"; --repeat takes samples)', () => {
  refused(['--sweep-window', '8,64,8'], '--sweep-window', /8.*twice|--repeat/);
  refused(['--sweep-window', '8,8k,8000'], '--sweep-window', /--repeat/);
});
