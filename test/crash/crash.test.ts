/**
 * Crash tests with real processes: a child runs a 3-peer cluster on FileStorage under load
 * and reports each command as soon as it sees it applied; the parent SIGKILLs it at a random
 * moment (during recovery, election or load), then a fresh child restarts the cluster on
 * the same directories, checks that every acknowledged command is still at its index on a
 * majority of peers, and that the cluster commits a new command.
 *
 * SIGKILL ends the process, not the machine: what write() handed to the kernel survives it,
 * so this tests recovery (torn records, segment rotation and deletion, snapshot files cut
 * mid-write, restarts during recovery) and the ordering "persist, then acknowledge", not
 * fsync itself. That the check detects lost writes is shown by lost-tail.test.ts.
 *
 * `npm test`: 5 kill points per fsync policy; RAFT_FULL=1: 30 per policy (60 in all).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FULL } from '../cluster/harness.js';
import type { ChildConfig } from './crash-child.js';
import { AckLog, loadAndKill, verify } from './crash-driver.js';

const KILL_POINTS = FULL ? 30 : 5;

/**
 * When to kill, after spawning the child: a quarter of the kill points fall in the first
 * 700 ms (opening and recovering the directories, electing a leader), the rest under load.
 */
function killMoment(): number {
  return Math.random() < 0.25 ? 50 + Math.floor(Math.random() * 650) : 700 + Math.floor(Math.random() * 2300);
}

/** Kill points per set of directories: the snapshots hold the whole history, so keep it bounded. */
const ROUNDS_PER_DIR = 5;

for (const fsync of ['batch', 'always'] as const) {
  test(`acknowledged commands survive SIGKILL at ${KILL_POINTS} random moments (fsync ${fsync})`, { timeout: KILL_POINTS * 30_000 }, async (t) => {
    let round = 0;
    let duringRecovery = 0;
    let checked = 0;
    let distinct = 0;
    while (round < KILL_POINTS) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `raft-crash-${fsync}-`));
      let passed = false;
      try {
        const acks = new AckLog();
        for (let r = 0; r < ROUNDS_PER_DIR && round < KILL_POINTS; r++) {
          round++;
          const cfg: ChildConfig = { dir, fsync, clusterId: 'crash-test', segmentBytes: 64 * 1024, snapshotEntries: 5000, round };
          const killAfterMs = killMoment();
          const load = await loadAndKill(cfg, killAfterMs, acks);
          const what = `kill point ${round} (SIGKILL ${killAfterMs} ms after spawn, ${load.wasReady ? 'under load' : 'before the cluster was up'}, ${acks.byIndex.size} acknowledged so far)`;
          assert.deepEqual(load.errors, [], `${what}: the child saw an error`);
          assert.deepEqual(acks.conflicts, [], `${what}: two commands acknowledged at one index`);
          if (!load.wasReady) duringRecovery++;
          const v = await verify({ ...cfg, round: 100_000 + round }, acks);
          assert.equal(v.error, undefined, `${what}: verify failed: ${v.error}`);
          assert.ok(v.ok, `${what}: ${v.lostCount} of ${v.checked} acknowledged commands lost: ${v.lost.join('; ')}`);
          assert.ok(v.probeIndex > 0, `${what}: no new command committed after restart`);
          checked += v.checked;
          acks.add(v.probeIndex, v.probeKey, 'the probe');
        }
        distinct += acks.byIndex.size;
        passed = true;
      } finally {
        if (passed) fs.rmSync(dir, { recursive: true, force: true });
        else t.diagnostic(`directories kept for inspection: ${dir}`);
      }
    }
    t.diagnostic(`${KILL_POINTS} kill points (${duringRecovery} before the cluster was up), ${distinct} commands acknowledged, ${checked} checks of them after restarts`);
  });
}
