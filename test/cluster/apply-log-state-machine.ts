/**
 * A state machine for session scenarios: it appends the id (u32 at offset 0) of every
 * command it applies to `$RAFT_TEST_APPLY_DIR/peer-<id>.log`, one per line (a line `start` when a life of the peer begins), so a test can
 * read back what each peer's user state machine applied (after the session layer dropped
 * duplicates). Its result is the number of times this peer has applied that id (1 if
 * exactly once), so the proposer sees it too. Loaded in each worker (ClusterOptions.stateMachine).
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { StateMachine } from '../../src/index.js';

export function createStateMachine(peer: number): StateMachine {
  const dir = process.env.RAFT_TEST_APPLY_DIR;
  if (!dir) throw new Error('RAFT_TEST_APPLY_DIR is not set');
  const file = path.join(dir, `peer-${peer}.log`);
  const seen = new Map<number, number>();
  appendFileSync(file, 'start\n'); // each life of the peer re-applies its log from the start
  return {
    apply(command) {
      const id = new DataView(command.buffer, command.byteOffset, command.byteLength).getUint32(0, true);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      appendFileSync(file, `${id}\n`);
      return new Uint8Array([n]);
    },
  };
}
