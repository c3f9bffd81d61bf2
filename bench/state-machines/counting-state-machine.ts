import type { StateMachine } from '../../src/index.js';

/**
 * The benchmark runs' state machine: it only counts the entries applied, so that the peers can
 * take (8-byte) snapshots and compact their logs during a run without measuring an
 * application's work. What it costs is the library's per-entry apply path. A query (a read,
 * `--read-ratio`) answers the count, 8 bytes.
 */
export function createStateMachine(): StateMachine {
  let count = 0;
  return {
    apply() {
      count++;
    },
    snapshot() {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, count, true);
      return b;
    },
    query() {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, count, true);
      return b;
    },
    restore(snapshot: Uint8Array) {
      count = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength).getFloat64(0, true);
    },
  };
}
