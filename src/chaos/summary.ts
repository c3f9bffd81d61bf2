/** The text a chaos run prints: what ran, the faults, the operations, and the checks' verdict with its violations. */
import type { ChaosOptions } from './options.js';
import type { ChaosResult } from './runner.js';

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
