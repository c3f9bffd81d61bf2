import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionDeadlines } from '../../src/cluster/session-deadlines.js';
import { SessionWindow } from '../../src/cluster/session-window.js';

test('a deadline beyond what setTimeout can wait (timeoutMs 3e9) neither fires early nor re-arms a 1 ms timer in a loop', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const w = new SessionWindow();
    const expired: number[] = [];
    const deadlines = new SessionDeadlines(w, (seq) => expired.push(seq));
    const deadline = performance.now() + 3e9;
    w.add(new Uint8Array([1]), deadline);
    deadlines.added(deadline);
    await new Promise((r) => setTimeout(r, 50));
    deadlines.stop();
    assert.deepEqual(expired, []);
    assert.deepEqual(warnings.filter((s) => s.startsWith('TimeoutOverflowWarning')), []);
  } finally {
    process.off('warning', onWarning);
  }
});
