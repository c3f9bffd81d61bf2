/**
 * Command-line options of the benchmark harness (bench/run.ts): parsing, defaults and
 * validation. Every refusal names the option, so that a CI log says what to fix; run.ts turns
 * an OptionError into exit code 2.
 */
import { parseArgs } from 'node:util';

/** The cluster's default maxCommandBytes (src/node/options.ts): larger commands are refused by the peers. */
export const MAX_COMMAND_BYTES = 1024 * 1024;
/** ClusterClient's default maxPending per peer, and the leader's default maxUncommittedEntries. */
export const MAX_WINDOW = 1 << 20;
export const MAX_PEERS = 64;
export const MAX_REPEAT = 100;

export type StorageKind = 'memory' | 'file';
export type FsyncPolicy = 'always' | 'batch' | 'none';

/** How load is offered: a fixed number of commands in flight, or a fixed send schedule. */
export type LoadSpec = { mode: 'closed'; window: number } | { mode: 'open'; rate: number };

export interface StorageSpec {
  kind: StorageKind;
  /** File storage only. */
  fsync?: FsyncPolicy;
  /** File storage only: the directory under which a temporary directory is made (and removed). */
  parentDir?: string;
}

/** One measurement: a fresh cluster, warm-up, then the measured period. */
export interface ScenarioSpec {
  name: string;
  peers: number;
  commandBytes: number;
  load: LoadSpec;
  durationSec: number;
  warmupSec: number;
  storage: StorageSpec;
  seed?: number;
  /** Commands go through an exactly-once client session (Cluster.start({ sessions: true }); over TCP, RemoteSession) instead of the raw client. */
  sessions?: boolean;
  /** This fraction of the operations are reads (client.read), the rest writes; absent: writes only. */
  readRatio?: number;
  /** How the reads run (with readRatio): ReadIndex on the leader, lease reads, or spread over the followers. */
  readMode?: BenchReadMode;
  /** The cluster's busyPollMicros and busyPollWhen (`--busy-poll`, `--busy-poll-when`); absent: the cluster's defaults. */
  busyPoll?: { micros?: number; when?: 'idle-core' | 'always' };
  /** 'tcp': the peers are separate processes on loopback and the client a RemoteClient (bench/tcp-scenario.ts); absent: worker threads and rings. */
  transport?: 'tcp';
}

export type BenchReadMode = 'index' | 'lease' | 'follower';
export const READ_MODES: readonly BenchReadMode[] = ['index', 'lease', 'follower'];
export type TransportChoice = 'rings' | 'tcp' | 'both';

export interface BenchOptions {
  mode: 'run' | 'sweep' | 'suite';
  peers: number;
  commandBytes: number;
  /** mode 'run': the load; mode 'sweep': ignored (see sweepWindows). */
  load: LoadSpec;
  sweepWindows: number[];
  durationSec: number;
  warmupSec: number;
  storage: StorageSpec;
  /** JSON output path; HTML and SVG files are written next to it. Null: bench-results/<timestamp>.json. */
  out: string | null;
  limits: boolean;
  /** null: only when stderr is a TTY. */
  progress: boolean | null;
  seed?: number;
  /** Samples per configuration (`--repeat`), each on a fresh cluster; 1 when absent (older files). */
  repeat?: number;
  /** `--sessions`: the load and one in flight, each raw and through a client session, in one run. */
  sessions?: boolean;
  /** `--reads`: writes only and each read mode (at readRatio), saturated and one in flight, in one run. */
  reads?: boolean;
  /** `--busy-poll`, `--busy-poll-when`: the cluster's busy-polling options; absent: its defaults. */
  busyPoll?: { micros?: number; when?: 'idle-core' | 'always' };
  /** `--read-ratio`: this fraction of the operations are reads. */
  readRatio?: number;
  /** `--read-mode` (with --read-ratio; default index). */
  readMode?: BenchReadMode;
  /** `--transport`: worker rings (default), peer processes over TCP, or both in turns. Absent in older files: rings. */
  transport?: TransportChoice;
}

export const DEFAULTS = {
  peers: 3,
  commandBytes: 16,
  /** Enough to saturate 3 peers on the 2-core development machine (see the README sweep). */
  window: 20_000,
  /** `--reads`: the saturated window (the README's read figures were taken at 1,000 in flight). */
  readsWindow: 1000,
  /** `--reads`: the fraction of reads in the mixed runs. */
  readsRatio: 0.9,
  durationSec: 10,
  warmupSec: 2,
  fsync: 'batch' as FsyncPolicy,
};

/** A refused option; `option` is the flag as typed (e.g. "--rate"). */
export class OptionError extends Error {
  constructor(readonly option: string, message: string) {
    super(`option ${option}: ${message}`);
    this.name = 'OptionError';
  }
}

export const USAGE = `usage: npm run bench -- [options]         (or: node dist/bench/run.js [options])

load (pick one; default: --window ${DEFAULTS.window})
  --window N            closed loop: keep N commands in flight (1..${MAX_WINDOW})
  --rate R              open loop: send R commands/s on a fixed schedule; latency is measured
                        from each command's intended send time (k, M suffixes: 500k, 1.2M)
  --sweep-window LIST   closed loop at each window in LIST, e.g. 1,8,64,512,4096,20000
  --suite               the standard set behind the README targets (a)-(e), plus a window sweep

cluster
  --peers N             peers (worker threads), default ${DEFAULTS.peers} (1..${MAX_PEERS})
  --size BYTES          command size, default ${DEFAULTS.commandBytes} (1..${MAX_COMMAND_BYTES})
  --storage KIND        memory (default) or file
  --fsync POLICY        file storage: always, batch (default) or none
  --dir PATH            file storage (and --suite): make the temporary data directory under PATH (default: the OS temp dir)
  --seed N              seed for election timeouts
  --sessions            the load and one in flight, each raw and through an exactly-once client
                        session (cluster.session(); over --transport tcp, a RemoteSession to
                        peers run with --sessions), in one run: the cost of sessions
  --read-ratio R        a fraction R (0..1) of the operations are reads (client.read) instead of
                        writes, interleaved evenly; reads and writes are reported separately.
                        Closed loop only (--window)
  --read-mode M         how the reads run: index (ReadIndex on the leader, default), lease
                        (lease reads) or follower (spread over every peer); needs --read-ratio
  --reads               writes only and each read mode (index, lease, follower) at --read-ratio
                        (default ${DEFAULTS.readsRatio}), saturated (--window, default ${DEFAULTS.readsWindow}) and one in
                        flight, in one run; ends with the ratios of reads to writes
  --busy-poll US        the cluster's busyPollMicros: spin up to US microseconds before sleeping
                        after a request that expects an answer soon (0: off; default: the
                        cluster's, 100)
  --busy-poll-when W    idle-core (the cluster's default: only while a core is idle) or always
  --transport T         rings (default: worker threads), tcp (each peer a \`raft-threads peer\`
                        process on loopback, the load through a RemoteClient), or both: every
                        configuration over each, in turns, side by side in one run

timing
  --duration SEC        measured seconds per run, default ${DEFAULTS.durationSec} (s or ms suffix: 500ms)
  --warmup SEC          unmeasured seconds before each run, default ${DEFAULTS.warmupSec} (0 allowed)
  --repeat K            K samples of every configuration, each on a fresh cluster, taken in turns
                        (all configurations once, then again, ...); default 1 (1..${MAX_REPEAT}).
                        bench:compare needs 3 or more per side to give a verdict

output
  --out FILE.json       default bench-results/<timestamp>.json; .html and .svg files go next to it
  --no-limits           skip the reference-limit measurements (MessagePort round trip, ring throughput, fdatasync)
  --progress, --no-progress   progress bar on stderr (default: when stderr is a TTY)
  --help`;

const SPEC = {
  window: { type: 'string' },
  rate: { type: 'string' },
  'sweep-window': { type: 'string' },
  suite: { type: 'boolean' },
  peers: { type: 'string' },
  size: { type: 'string' },
  storage: { type: 'string' },
  fsync: { type: 'string' },
  dir: { type: 'string' },
  seed: { type: 'string' },
  sessions: { type: 'boolean' },
  reads: { type: 'boolean' },
  'read-ratio': { type: 'string' },
  'read-mode': { type: 'string' },
  transport: { type: 'string' },
  'busy-poll': { type: 'string' },
  'busy-poll-when': { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  repeat: { type: 'string' },
  out: { type: 'string' },
  'no-limits': { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses argv (without node and the script); returns null when --help was asked for. */
export function parseOptions(argv: string[]): BenchOptions | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: SPEC, strict: true, allowPositionals: false }));
  } catch (e) {
    throw translateParseError(e as Error & { code?: string });
  }
  if (values.help) return null;
  const str = (k: keyof typeof SPEC) => values[k] as string | undefined;
  const has = (k: keyof typeof SPEC) => values[k] !== undefined;

  // Combinations that would silently ignore one of the options are refused.
  if (has('window') && has('rate')) throw new OptionError('--rate', 'cannot be combined with --window (closed loop or open loop, not both)');
  if (has('sweep-window') && has('window')) throw new OptionError('--sweep-window', 'cannot be combined with --window');
  if (values.sessions && has('sweep-window')) throw new OptionError('--sessions', 'cannot be combined with --sweep-window');
  if (has('sweep-window') && has('rate')) throw new OptionError('--sweep-window', 'cannot be combined with --rate (the sweep is closed-loop)');
  if (values.suite) {
    // --sessions too: the suite's fixed set already has its session runs, (f), and would ignore it
    for (const k of ['window', 'rate', 'sweep-window', 'peers', 'size', 'storage', 'fsync', 'sessions'] as const) {
      if (has(k)) throw new OptionError(`--${k}`, 'cannot be combined with --suite (the suite runs a fixed set of configurations)');
    }
  }
  if (values.reads) {
    const why: Record<string, string> = {
      sessions: 'one comparison a run: run --sessions separately',
      rate: 'reads are measured closed-loop, with --window',
      'sweep-window': 'reads are measured at --window and at one in flight',
      suite: 'the suite runs a fixed set of configurations',
      'read-mode': '--reads runs every read mode',
    };
    for (const k of ['sessions', 'rate', 'sweep-window', 'suite', 'read-mode'] as const) {
      if (has(k)) throw new OptionError(`--${k}`, `cannot be combined with --reads (${why[k]})`);
    }
    if (has('transport') && str('transport') !== 'rings') throw new OptionError('--transport', `cannot be combined with --reads (the TCP client has no reads yet)`);
  }
  if (has('read-mode') && !has('read-ratio')) throw new OptionError('--read-mode', 'needs --read-ratio');
  if (has('read-ratio')) {
    for (const k of ['rate', 'sweep-window', 'suite', 'sessions'] as const) {
      if (has(k)) throw new OptionError('--read-ratio', `cannot be combined with --${k} (reads are measured closed-loop, with --window)`);
    }
  }
  const readRatio = has('read-ratio') ? fraction('--read-ratio', str('read-ratio')!) : values.reads ? DEFAULTS.readsRatio : undefined;
  if (values.reads && readRatio === 0) throw new OptionError('--read-ratio', 'must be above 0 with --reads (the mixed runs need reads)');
  const readMode = str('read-mode') ?? 'index';
  if (readMode !== 'index' && readMode !== 'lease' && readMode !== 'follower') throw new OptionError('--read-mode', `must be "index", "lease" or "follower", got ${JSON.stringify(readMode)}`);
  const transport = str('transport') ?? 'rings';
  if (transport !== 'rings' && transport !== 'tcp' && transport !== 'both') throw new OptionError('--transport', `must be "rings", "tcp" or "both", got ${JSON.stringify(transport)}`);
  if (has('transport') && values.suite) throw new OptionError('--transport', 'cannot be combined with --suite (the suite runs a fixed set of configurations)');
  if (transport !== 'rings' && has('read-ratio')) throw new OptionError('--read-ratio', `cannot be combined with --transport ${transport} (the TCP client has no reads yet)`);
  if (values.progress && values['no-progress']) throw new OptionError('--progress', 'cannot be combined with --no-progress');

  const storageKind = str('storage') ?? 'memory';
  if (storageKind !== 'memory' && storageKind !== 'file') throw new OptionError('--storage', `must be "memory" or "file", got ${JSON.stringify(storageKind)}`);
  if (storageKind !== 'file' && has('fsync')) throw new OptionError('--fsync', 'needs --storage file');
  if (storageKind !== 'file' && has('dir') && !values.suite) throw new OptionError('--dir', 'needs --storage file (or --suite, whose file-storage runs it places)');
  const fsync = str('fsync') ?? DEFAULTS.fsync;
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'none') throw new OptionError('--fsync', `must be "always", "batch" or "none", got ${JSON.stringify(fsync)}`);
  const dir = str('dir');
  if (dir !== undefined && dir.trim() === '') throw new OptionError('--dir', 'must not be empty');

  const peers = has('peers') ? integer('--peers', str('peers')!, 1, MAX_PEERS) : DEFAULTS.peers;
  const commandBytes = has('size') ? integer('--size', str('size')!, 1, MAX_COMMAND_BYTES) : DEFAULTS.commandBytes;
  const durationSec = has('duration') ? seconds('--duration', str('duration')!, false) : DEFAULTS.durationSec;
  const warmupSec = has('warmup') ? seconds('--warmup', str('warmup')!, true) : DEFAULTS.warmupSec;
  const seed = has('seed') ? integer('--seed', str('seed')!, 0, 2 ** 31 - 1) : undefined;
  const repeat = has('repeat') ? integer('--repeat', str('repeat')!, 1, MAX_REPEAT) : 1;

  const busyWhen = str('busy-poll-when');
  if (busyWhen !== undefined && busyWhen !== 'idle-core' && busyWhen !== 'always') throw new OptionError('--busy-poll-when', `must be "idle-core" or "always", got ${JSON.stringify(busyWhen)}`);
  if (transport !== 'rings' && (has('busy-poll') || has('busy-poll-when'))) throw new OptionError(has('busy-poll') ? '--busy-poll' : '--busy-poll-when', `cannot be combined with --transport ${transport} (busy-polling is the rings')`);
  const busyPoll = has('busy-poll') || busyWhen !== undefined ? {
    ...(has('busy-poll') ? { micros: integer('--busy-poll', str('busy-poll')!, 0, 100_000) } : {}),
    ...(busyWhen !== undefined ? { when: busyWhen as 'idle-core' | 'always' } : {}),
  } : undefined;

  let load: LoadSpec = { mode: 'closed', window: values.reads ? DEFAULTS.readsWindow : DEFAULTS.window };
  if (has('window')) load = { mode: 'closed', window: integer('--window', str('window')!, 1, MAX_WINDOW) };
  if (has('rate')) load = { mode: 'open', rate: rate('--rate', str('rate')!) };

  let sweepWindows: number[] = [];
  if (has('sweep-window')) {
    const parts = str('sweep-window')!.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) throw new OptionError('--sweep-window', `must be a comma-separated list of windows, got ${JSON.stringify(str('sweep-window'))}`);
    sweepWindows = parts.map((p) => integer('--sweep-window', p, 1, MAX_WINDOW));
    // a repeated window would make two runs of one name, each marked as the only sample
    const twice = sweepWindows.find((w, i) => sweepWindows.indexOf(w) !== i);
    if (twice !== undefined) throw new OptionError('--sweep-window', `lists window ${twice} twice (for several samples of each window use --repeat)`);
  }

  const out = str('out');
  if (out !== undefined && !out.endsWith('.json')) throw new OptionError('--out', `must name a .json file, got ${JSON.stringify(out)}`);

  const storage: StorageSpec = storageKind === 'file' || (values.suite && dir !== undefined)
    ? { kind: 'file', fsync, ...(dir !== undefined ? { parentDir: dir } : {}) }
    : { kind: 'memory' };
  return {
    mode: values.suite ? 'suite' : sweepWindows.length > 0 ? 'sweep' : 'run',
    peers, commandBytes, load, sweepWindows, durationSec, warmupSec, storage,
    out: out ?? null,
    limits: !values['no-limits'],
    progress: values.progress ? true : values['no-progress'] ? false : null,
    repeat,
    ...(transport !== 'rings' ? { transport } : {}),
    ...(values.sessions ? { sessions: true } : {}),
    ...(values.reads ? { reads: true } : {}),
    ...(busyPoll ? { busyPoll } : {}),
    ...(readRatio !== undefined ? { readRatio, ...(values.reads ? {} : { readMode }) } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** node:util parseArgs errors, in words that say what to type instead (shared by the bench CLIs). */
export function translateParseError(e: Error & { code?: string }): OptionError {
  const token = (/'([^']+)'/.exec(e.message)?.[1] ?? '?').replace(/ <value>$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return new OptionError(token, 'unknown option (see --help)');
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return new OptionError(token, 'unexpected argument (options take the form --name value)');
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/ambiguous/.test(e.message)) return new OptionError(token, `needs a value; a value starting with "-" is read as an option (write ${token}=VALUE)`);
      return new OptionError(token, /argument missing/.test(e.message) ? 'needs a value' : 'takes no value');
    default: return new OptionError(token, e.message);
  }
}

function integer(option: string, text: string, min: number, max: number): number {
  const n = withSuffix(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new OptionError(option, `must be an integer from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function fraction(option: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new OptionError(option, `must be a fraction from 0 to 1, got ${JSON.stringify(text)}`);
  return n;
}

function rate(option: string, text: string): number {
  const n = withSuffix(text);
  if (!Number.isFinite(n) || n <= 0) throw new OptionError(option, `must be a positive number of commands per second, got ${JSON.stringify(text)}`);
  if (n > 1e8) throw new OptionError(option, `must be at most 100M commands per second, got ${JSON.stringify(text)}`);
  return n;
}

/** "10", "2.5", "10s", "500ms" -> seconds. */
function seconds(option: string, text: string, zeroAllowed: boolean): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)?\s*$/.exec(text);
  const v = m ? Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) : NaN;
  if (!Number.isFinite(v) || v < 0 || (!zeroAllowed && v === 0)) {
    throw new OptionError(option, `must be a ${zeroAllowed ? 'non-negative' : 'positive'} duration in seconds (e.g. 10, 2.5, 500ms), got ${JSON.stringify(text)}`);
  }
  if (v > 3600) throw new OptionError(option, `must be at most 3600 s, got ${JSON.stringify(text)}`);
  return v;
}

/** "20000", "20k", "1.5M" -> number; NaN when it is not a number. */
function withSuffix(text: string): number {
  const m = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e\d+)?)\s*([kKmM]?)\s*$/.exec(text);
  if (!m) return NaN;
  const mult = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1e3 : 1e6;
  return Math.round(Number(m[1]) * mult * 1e6) / 1e6;
}

/** The runs a 'run' or 'sweep' invocation performs (the suite has its own list, see suite.ts). */
export function scenariosOf(o: BenchOptions): ScenarioSpec[] {
  const rings = ringScenariosOf(o);
  if (!o.transport || o.transport === 'rings') return rings;
  const tcp = rings.map((s) => ({ ...s, transport: 'tcp' as const, name: `${s.name} tcp` }));
  return o.transport === 'tcp' ? tcp : rings.flatMap((s, i) => [s, tcp[i]]);
}

function ringScenariosOf(o: BenchOptions): ScenarioSpec[] {
  const base = { peers: o.peers, commandBytes: o.commandBytes, durationSec: o.durationSec, warmupSec: o.warmupSec, storage: o.storage, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.busyPoll ? { busyPoll: o.busyPoll } : {}) };
  if (o.mode === 'sweep') return o.sweepWindows.map((window) => ({ ...base, name: scenarioName(base, { mode: 'closed', window }), load: { mode: 'closed', window } }));
  if (o.sessions) {
    return oneInFlightToo(o.load).flatMap((load) => [false, true].map((sessions) => ({
      ...base, load, name: scenarioName({ ...base, sessions }, load), ...(sessions ? { sessions } : {}),
    })));
  }
  if (o.reads) {
    // writes only and each read mode side by side, at the load and at one in flight: the pairs of the ratios (bench/pair-ratios.ts)
    const ratio = o.readRatio ?? DEFAULTS.readsRatio;
    const configs = [{}, ...READ_MODES.map((readMode) => ({ readRatio: ratio, readMode }))];
    return oneInFlightToo(o.load).flatMap((load) => configs.map((reads) => ({ ...base, ...reads, load, name: scenarioName({ ...base, ...reads }, load) })));
  }
  const reads = o.readRatio !== undefined ? { readRatio: o.readRatio, readMode: o.readMode ?? 'index' } : {};
  return [{ ...base, ...reads, name: scenarioName({ ...base, ...reads }, o.load), load: o.load }];
}

/** The load, and one in flight unless the load already is. */
function oneInFlightToo(load: LoadSpec): LoadSpec[] {
  return load.mode === 'closed' && load.window === 1 ? [load] : [load, { mode: 'closed', window: 1 }];
}

/** A stable name for a configuration: bench:compare matches runs of two files by it. */
export function scenarioName(s: { peers: number; commandBytes: number; storage: StorageSpec; sessions?: boolean; readRatio?: number; readMode?: BenchReadMode; busyPoll?: ScenarioSpec['busyPoll'] }, load: LoadSpec): string {
  const storage = s.storage.kind === 'memory' ? 'memory' : `file-${s.storage.fsync ?? DEFAULTS.fsync}`;
  const l = load.mode === 'closed' ? `window=${load.window}` : `rate=${load.rate}`;
  const reads = s.readRatio !== undefined ? ` reads=${s.readRatio} ${s.readMode ?? 'index'}` : '';
  const bp = s.busyPoll ? ` busy-poll=${s.busyPoll.micros ?? 'default'}${s.busyPoll.when ? `/${s.busyPoll.when}` : ''}` : '';
  return `${s.peers}p ${s.commandBytes}B ${storage} ${l}${s.sessions ? ' sessions' : ''}${reads}${bp}`;
}
