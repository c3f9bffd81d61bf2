/**
 * A state machine module for peer processes in tests: it appends every applied entry as
 * "index hex(command)" to $RAFT_APPLIED_LOG_DIR/applied-<peer>.log (written at once, so a
 * SIGKILL loses nothing already applied) and answers "<index>" as the result. A restarted
 * peer re-applies its log from the start, so a file can repeat a prefix of itself. Its
 * snapshot is the whole applied history; restoring one writes that history to the file, so
 * a peer that caught up by InstallSnapshot still lists every index.
 */
import fs from 'node:fs';
import path from 'node:path';

export function createStateMachine(peerId: number) {
  const dir = process.env.RAFT_APPLIED_LOG_DIR;
  if (!dir) throw new Error('RAFT_APPLIED_LOG_DIR is not set');
  const fd = fs.openSync(path.join(dir, `applied-${peerId}.log`), 'a');
  let history: string[] = [];
  return {
    apply(command: Uint8Array, index: number): Uint8Array {
      const line = `${index} ${Buffer.from(command).toString('hex')}\n`;
      history.push(line);
      fs.writeSync(fd, line);
      return new TextEncoder().encode(String(index));
    },
    snapshot(): Uint8Array {
      return Buffer.from(history.join(''));
    },
    restore(snapshot: Uint8Array): void {
      const text = Buffer.from(snapshot).toString();
      history = text === '' ? [] : text.split(/(?<=\n)/);
      fs.writeSync(fd, text);
    },
  };
}
