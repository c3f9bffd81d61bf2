/**
 * A noisy neighbour for bench/validate-compare.ts: takes one core for 1-4 s, leaves it for
 * 1-4 s, and so on (seeded, so two validations see the same pattern), the way other jobs on a
 * shared CI runner come and go. Runs until killed.
 *
 *   node dist/bench/neighbour.js [seed]
 */
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../src/index.js';

export async function neighbour(seed: number, onPhase: (busy: boolean, ms: number) => void = () => {}): Promise<never> {
  const random = seededRandom(seed);
  for (;;) {
    const busyMs = 1000 + random() * 3000;
    onPhase(true, busyMs);
    const end = Date.now() + busyMs;
    while (Date.now() < end) { /* take the core */ }
    const idleMs = 1000 + random() * 3000;
    onPhase(false, idleMs);
    await new Promise((r) => setTimeout(r, idleMs));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seed = Number(process.argv[2] ?? 1);
  if (!Number.isSafeInteger(seed)) {
    console.error(`neighbour: the seed must be an integer, got ${JSON.stringify(process.argv[2])}`);
    process.exit(2);
  }
  void neighbour(seed);
}
