import type { StateMachine } from '../../src/index.js';

/**
 * The benchmark runs' state machine: it only counts the entries applied, so that the peers can
 * take (8-byte) snapshots and compact their logs during a run without measuring an
 * application's work. What it costs is the library's per-entry apply path. A query (a read,
 * `--read-ratio`) answers the count, 8 bytes.
 */
export function createStateMachine(): StateMachine {
  let count = 0;
  const answer = new Uint8Array(8);
  const answerView = new DataView(answer.buffer);
  return {
    apply() {
      count++;
    },
    snapshot() {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, count, true);
      return b;
    },
    // One result buffer for every query: the worker copies a result into the read link's
    // ring before the next query runs, so the bench measures the library's read path rather
    // than an allocation (and a backing store for .buffer) per read.
    query() {
      answerView.setFloat64(0, count, true);
      return answer;
    },
    restore(snapshot: Uint8Array) {
      count = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength).getFloat64(0, true);
    },
  };
}
