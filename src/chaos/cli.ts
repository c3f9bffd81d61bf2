#!/usr/bin/env node
/**
 * `npm run chaos -- --seconds S --seed N [...]`: one chaos run, its summary, and an exit
 * status that says how the checks went (see CHAOS_USAGE).
 */
import { writeFileSync } from 'node:fs';
import { CHAOS_USAGE, ChaosUsageError, parseChaosArgs, type ChaosOptions } from './options.js';
import { runChaos, type ChaosResult } from './runner.js';
import { summarize } from './summary.js';
import { writeHistory } from './history-writer.js';

export const EXIT = { ok: 0, violation: 1, unknown: 2, usage: 3, failed: 4 } as const;

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
  if (o.out) {
    // Found out now, not after a run of --seconds whose verdict the failed write would lose.
    try { writeFileSync(o.out, ''); } catch (e) {
      process.stderr.write(`chaos: option --out: cannot write ${o.out}: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
  }
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
