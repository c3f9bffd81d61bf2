/**
 * The options of `npm run chaos`: parsed from the command line, checked, with the usage text.
 * Every bad argument is refused with a message that names it.
 */

export type ChaosReadMode = 'index' | 'lease' | 'follower';
/** Deliberate bugs, for checking that the checks catch them (tests only). */
export type PlantedBug = 'stale-read' | 'lost-write';

export interface ChaosOptions {
  /** How long the clients and the nemesis run, in seconds. */
  seconds: number;
  /** Fixes the nemesis schedule, the operation mix and the cluster's own randomness. */
  seed: number;
  peers: 3 | 5;
  clients: number;
  readMode: ChaosReadMode;
  /** Where the history goes (JSON lines); null: not written. */
  out: string | null;
  /** Peers as separate processes over TCP instead of worker threads. */
  processes: boolean;
  plant: PlantedBug | null;
  /** Print the nemesis events as they happen. */
  verbose: boolean;
}

export const CHAOS_DEFAULTS: Omit<ChaosOptions, 'seed'> & { seed: number | null } = {
  seconds: 10, seed: null, peers: 3, clients: 5, readMode: 'index', out: null, processes: false, plant: null, verbose: false,
};

export const CHAOS_USAGE = `usage: npm run chaos -- --seconds S --seed N [options]

Runs the replicated key/value store under a seeded nemesis with concurrent clients, records
the history and checks it for linearizability, appended values at most once, and every
acknowledged write in the final state.

  --seconds S        how long clients and faults run (default ${CHAOS_DEFAULTS.seconds}; 0.5-3600)
  --seed N           seed of the fault schedule and the operation mix (default: drawn, printed)
  --peers 3|5        cluster size (default ${CHAOS_DEFAULTS.peers})
  --clients C        concurrent clients, each one operation at a time (default ${CHAOS_DEFAULTS.clients}; 1-64)
  --read-mode M      index (ReadIndex on the leader), lease (lease reads, check-quorum) or
                     follower (reads spread over every peer) (default ${CHAOS_DEFAULTS.readMode})
  --out FILE         write the history there, one JSON operation per line
  --processes        peers as separate processes over TCP (raft-threads peer, file storage);
                     faults: SIGKILL and restart, partitions by a proxy; gets and scans are
                     RemoteClient reads in the --read-mode given
  --plant BUG        plant a bug the checks must catch: stale-read (gets answered from a
                     client-side cache) or lost-write (some puts acknowledged, never sent)
  --verbose          print each fault as it is injected
  --help             this text

Exit status: 0 every check passed, 1 a check found a violation, 2 the linearizability search
gave up on some key (undecided), 3 bad arguments, 4 the run itself failed (no leader, ...).`;

export class ChaosUsageError extends Error {
  override name = 'ChaosUsageError';
}

/** Parses argv (without node and the script); returns null for --help. */
export function parseChaosArgs(argv: readonly string[], drawSeed: () => number = () => Math.floor(Math.random() * 2 ** 31)): ChaosOptions | null {
  const o = { ...CHAOS_DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new ChaosUsageError(`option ${name} needs a value`);
      return v;
    };
    const flag = () => { if (inline !== undefined) throw new ChaosUsageError(`option ${name} takes no value, got ${JSON.stringify(inline)}`); };
    switch (name) {
      case '--help': case '-h': return null;
      case '--seconds': o.seconds = number(name, value(), 0.5, 3600, false); break;
      case '--seed': o.seed = number(name, value(), 0, Number.MAX_SAFE_INTEGER, true); break;
      case '--peers': {
        const p = number(name, value(), 1, 64, true);
        if (p !== 3 && p !== 5) throw new ChaosUsageError(`option --peers must be 3 or 5, got ${p}`);
        o.peers = p;
        break;
      }
      case '--clients': o.clients = number(name, value(), 1, 64, true); break;
      case '--read-mode': {
        const m = value();
        if (m !== 'index' && m !== 'lease' && m !== 'follower') throw new ChaosUsageError(`option --read-mode must be index, lease or follower, got ${JSON.stringify(m)}`);
        o.readMode = m;
        break;
      }
      case '--out': o.out = value(); if (o.out === '') throw new ChaosUsageError('option --out needs a file name'); break;
      case '--processes': flag(); o.processes = true; break;
      case '--plant': {
        const b = value();
        if (b !== 'stale-read' && b !== 'lost-write') throw new ChaosUsageError(`option --plant must be stale-read or lost-write, got ${JSON.stringify(b)}`);
        o.plant = b;
        break;
      }
      case '--verbose': flag(); o.verbose = true; break;
      default:
        throw new ChaosUsageError(arg.startsWith('-') ? `unknown option ${JSON.stringify(name)}` : `unexpected argument ${JSON.stringify(arg)} (options start with --)`);
    }
  }
  return { ...o, seed: o.seed ?? drawSeed() };
}

function number(name: string, text: string, min: number, max: number, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new ChaosUsageError(`option ${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return v;
}
