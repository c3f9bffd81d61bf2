/**
 * A run of consecutive log entries packed into three typed arrays, so that a batch of any
 * size costs a handful of allocations instead of one object per entry.
 *
 * Entry k (0-based) has index `firstIndex + k`, term `terms[k]`, and its command is
 * `data.subarray(k === 0 ? 0 : ends[k - 1], ends[k])`.
 */
export interface EntryBatch {
  firstIndex: number;
  count: number;
  terms: Uint32Array;
  ends: Uint32Array;
  data: Uint8Array;
}

export function batchLastIndex(b: EntryBatch): number {
  return b.firstIndex + b.count - 1;
}

export function batchCommand(b: EntryBatch, k: number): Uint8Array {
  const d = b.data;
  const start = k === 0 ? 0 : b.ends[k - 1];
  // The view constructor costs less than subarray(), which looks up a species constructor; this runs once per applied entry.
  return new Uint8Array(d.buffer, d.byteOffset + start, b.ends[k] - start);
}

/** No entries, starting at `firstIndex`: in a Ready, it truncates the stored log there. */
export function emptyBatch(firstIndex: number): EntryBatch {
  return { firstIndex, count: 0, terms: new Uint32Array(0), ends: new Uint32Array(0), data: new Uint8Array(0) };
}

/** Builds a batch from plain commands; for tests and small callers, not the hot path. */
export function makeBatch(firstIndex: number, entries: ReadonlyArray<{ term: number; command: Uint8Array }>): EntryBatch {
  const count = entries.length;
  const terms = new Uint32Array(count);
  const ends = new Uint32Array(count);
  let total = 0;
  for (let k = 0; k < count; k++) total += entries[k].command.byteLength;
  const data = new Uint8Array(total);
  let at = 0;
  for (let k = 0; k < count; k++) {
    terms[k] = entries[k].term;
    data.set(entries[k].command, at);
    at += entries[k].command.byteLength;
    ends[k] = at;
  }
  return { firstIndex, count, terms, ends, data };
}
