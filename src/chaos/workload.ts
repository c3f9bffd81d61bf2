/**
 * The clients' operations: a seeded mix of get, put, delete, cas, append and scan over a few
 * keys. Which operation and key come next is a pure function of (seed, client); values are
 * unique per run (so the checks can tell writes apart) and end with ',' (so appended values
 * can be counted in a value); cas expects the value the client last saw, which depends on
 * what the run returned.
 */
import { Prng } from '../sim/prng.js';
import type { KvHistoryOpName } from '../kv/linearizability.js';

export const KEY_PREFIX = 'k';
export const KEY_COUNT = 5;
export const CHAOS_KEYS: readonly string[] = Array.from({ length: KEY_COUNT }, (_, i) => `${KEY_PREFIX}${i}`);

/** An operation to run: what goes into the history's op, key and value. */
export interface PlannedOp {
  op: KvHistoryOpName;
  key: string;
  value?: string | { expected: string | null; next: string | null } | { limit: number };
}

const MIX: ReadonlyArray<[KvHistoryOpName, number]> = [
  ['get', 30], ['put', 18], ['append', 17], ['cas', 15], ['delete', 5], ['scan', 15],
];
const MIX_TOTAL = MIX.reduce((n, [, w]) => n + w, 0);

/** One client's stream of operations. */
export class Workload {
  private readonly rng: Prng;
  private n = 0;
  /** The last value this client saw for each key (read or written), for cas. */
  private readonly seen = new Map<string, string | null>();

  constructor(seed: number, readonly client: number) {
    this.rng = new Prng((seed ^ Math.imul(client + 1, 0x9e3779b1)) >>> 0);
  }

  next(): PlannedOp {
    const n = ++this.n;
    const tag = `${this.client}.${n}`;
    let pick = this.rng.int(MIX_TOTAL);
    let op: KvHistoryOpName = 'get';
    for (const [name, w] of MIX) { if (pick < w) { op = name; break; } pick -= w; }
    const key = this.rng.pick(CHAOS_KEYS);
    switch (op) {
      case 'get': case 'delete': return { op, key };
      case 'put': return { op, key, value: `p${tag},` };
      case 'append': return { op, key, value: `a${tag},` };
      case 'scan': return { op, key: KEY_PREFIX, value: { limit: this.rng.range(2, KEY_COUNT + 1) } };
      case 'cas': {
        // Mostly the value last seen (a cas that may well succeed), sometimes absent.
        const expected = this.rng.chance(0.2) ? null : (this.seen.get(key) ?? null);
        const next = this.rng.chance(0.1) ? null : `c${tag},`;
        return { op, key, value: { expected, next } };
      }
    }
  }

  /** Tells the workload what an operation observed or wrote. */
  observe(key: string, value: string | null): void {
    this.seen.set(key, value);
  }
}
