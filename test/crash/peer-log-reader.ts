/**
 * Reads what a peer's FileStorage directory holds without changing it (the WAL reader with
 * repair off: no torn tail is cut, no file is created): the command at every index the peer
 * still knows, from its snapshot (RecordingStateMachine format) and its log.
 */
import { batchCommand } from '../../src/core/entry-batch.js';
import { identityTag } from '../../src/storage/wal-format.js';
import { readWal } from '../../src/storage/wal-reader.js';
import { commandKey, snapshotCommands } from './recording-state-machine.js';

export interface PeerLog {
  /** Command key by index, 1..lastIndex. */
  commands: Map<number, string>;
  snapshotIndex: number;
  lastIndex: number;
  term: number;
}

export function readPeerLog(dir: string, clusterId: string, peerId: number): PeerLog {
  const rec = readWal({ dir, identity: identityTag(clusterId, peerId), repair: false });
  const commands = new Map<number, string>();
  const s = rec.state.snapshot;
  if (s) snapshotCommands(s.data, s.index).forEach((k, i) => commands.set(i + 1, k));
  const e = rec.state.entries;
  if (e) for (let k = 0; k < e.count; k++) commands.set(e.firstIndex + k, commandKey(batchCommand(e, k)));
  return { commands, snapshotIndex: s ? s.index : 0, lastIndex: rec.lastIndex, term: rec.hardState.term };
}
