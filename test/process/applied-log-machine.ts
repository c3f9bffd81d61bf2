/**
 * A state machine module for peer processes in tests: it appends every applied entry as
 * "index hex(command)" to $RAFT_APPLIED_LOG_DIR/applied-<peer>.log (written at once, so a
 * SIGKILL loses nothing already applied) and answers "<index>" as the result. A restarted
 * peer re-applies its log from the start, so a file can repeat a prefix of itself.
 */
import fs from 'node:fs';
import path from 'node:path';

export function createStateMachine(peerId: number) {
  const dir = process.env.RAFT_APPLIED_LOG_DIR;
  if (!dir) throw new Error('RAFT_APPLIED_LOG_DIR is not set');
  const fd = fs.openSync(path.join(dir, `applied-${peerId}.log`), 'a');
  return {
    apply(command: Uint8Array, index: number): Uint8Array {
      fs.writeSync(fd, `${index} ${Buffer.from(command).toString('hex')}\n`);
      return new TextEncoder().encode(String(index));
    },
  };
}
