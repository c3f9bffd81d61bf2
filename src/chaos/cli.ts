#!/usr/bin/env node
/**
 * `npm run chaos -- --seconds S --seed N [...]`: one chaos run, its summary, and an exit
 * status that says how the checks went (see CHAOS_USAGE).
 */
import { CHAOS_USAGE, ChaosUsageError, parseChaosArgs, type ChaosOptions } from './options.js';
import { runChaos, type ChaosResult } from './runner.js';
import { writeHistory } from './history-writer.js';

export const EXIT = { ok: 0, violation: 1, unknown: 2, usage: 3, failed: 4 } as const;

export function summarize(o: ChaosOptions, r: ChaosResult): string {
  const byOp = new Map<string, { ok: number; unknown: number }>();
  for (const h of r.history) {
    const s = byOp.get(h.op) ?? { ok: 0, unknown: 0 };
    if (h.return === null) s.unknown++; else s.ok++;
    byOp.set(h.op, s);
  }
  const ops = [...byOp].map(([op, s]) => `${op} ${s.ok}${s.unknown ? `+${s.unknown}?` : ''}`).join(', ');
  const lines = [
    `chaos: seed ${o.seed}, ${o.seconds} s, ${o.peers} peers, ${o.clients} clients, ${o.processes ? 'peer processes over TCP' : 'worker threads'}, reads via ${r.readsVia}${o.plant ? `, planted bug ${o.plant}` : ''}; snapshot every ${r.snapshotEntries} entries`,
    `faults (${r.injected.length}): ${r.injected.length ? r.injected.join('; ') : 'none'}`,
    `operations: ${r.history.length} (${ops}; +N? = outcome unknown), ${r.counters.sessions} sessions, ${(r.elapsedMs / 1000).toFixed(1)} s in all`,
    `final state: ${Object.entries(r.finalState).map(([k, v]) => `${k}=${v === null ? 'absent' : `${v.length} chars`}`).join(' ')}`,
    `checks: ${r.check.stats.keys} keys, ${r.check.stats.steps} search steps; verdict ${r.verdict.toUpperCase()}`,
  ];
  if (r.counters.errors.length) lines.push(`errors other than timeouts: ${r.counters.errors.join(' | ')}`);
  for (const u of r.check.undecided) lines.push(`undecided: key ${JSON.stringify(u.key)} (${u.ops} operations, ${u.steps} steps)`);
  for (const v of r.check.violations.slice(0, 3)) lines.push(`VIOLATION (${v.check}): ${v.message}`);
  if (r.check.violations.length > 3) lines.push(`... and ${r.check.violations.length - 3} more violations`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  let o: ChaosOptions | null;
  try {
    o = parseChaosArgs(argv);
  } catch (e) {
    if (!(e instanceof ChaosUsageError)) throw e;
    process.stderr.write(`chaos: ${e.message}\n${CHAOS_USAGE}\n`);
    return EXIT.usage;
  }
  if (o === null) { process.stdout.write(`${CHAOS_USAGE}\n`); return EXIT.ok; }
  let r: ChaosResult;
  try {
    r = await runChaos(o, (l) => process.stdout.write(`${l}\n`));
  } catch (e) {
    process.stderr.write(`chaos: the run failed (seed ${o.seed}): ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.failed;
  }
  if (o.out) {
    writeHistory(o.out, r.history);
  }
  process.stdout.write(`${summarize(o, r)}\n${o.out ? `history: ${o.out}\n` : ''}`);
  return EXIT[r.verdict];
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  process.stderr.write(`chaos: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(EXIT.failed);
});
