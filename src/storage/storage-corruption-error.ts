import path from 'node:path';

const WIRE_TAG = 'raft-threads/StorageCorruptionError';

/**
 * A peer's stored state fails a check (a checksum, a missing segment, a damaged meta file):
 * nothing is skipped, the peer does not start. Carries the file and the offset of the bad
 * record, and says how to recover.
 */
export class StorageCorruptionError extends Error {
  /** The peer's storage directory. */
  readonly dir: string;
  /** What is wrong, without the file, offset and advice. */
  readonly detail: string;
  /** The peer's index in its Cluster, when the error was raised by Cluster (on the main thread). */
  readonly peer: number | undefined;

  constructor(readonly file: string, readonly offset: number, detail: string, opts: { dir?: string; peer?: number } = {}) {
    const dir = opts.dir ?? path.dirname(file);
    super(`${opts.peer !== undefined ? `peer ${opts.peer} failed to start: ` : ''}corrupt Raft storage: ${file} at offset ${offset}: ${detail}; ` +
      'refusing to open (nothing is skipped). To recover, when a majority of the other peers are intact: remove this peer\'s ' +
      `directory ${dir} and start the peer again; it catches up from the others.`);
    this.name = 'StorageCorruptionError';
    this.dir = dir;
    this.detail = detail;
    this.peer = opts.peer;
  }
}

/** A StorageCorruptionError as a plain object that survives structured clone (comlink, postMessage); anything else unchanged. */
export function storageErrorToWire(err: unknown): unknown {
  if (!(err instanceof StorageCorruptionError)) return err;
  return { tag: WIRE_TAG, file: err.file, offset: err.offset, detail: err.detail, dir: err.dir, message: err.message };
}

/** The StorageCorruptionError a tagged object stands for (raised for Cluster's peer `peer`), or null. */
export function storageErrorFromWire(x: unknown, peer?: number): StorageCorruptionError | null {
  if (typeof x !== 'object' || x === null || (x as { tag?: unknown }).tag !== WIRE_TAG) return null;
  const w = x as { file: string; offset: number; detail: string; dir: string };
  return new StorageCorruptionError(w.file, w.offset, w.detail, { dir: w.dir, peer });
}
