import type { StateMachine } from '../../src/index.js';

/**
 * A state machine for benchmarks and tests, loaded inside each worker: it keeps a running FNV hash and a
 * count of the commands applied, and snapshots both (12 bytes), so a restored peer can be
 * checked against the others.
 */
export function createStateMachine(): StateMachine {
  let hash = 0x811c9dc5;
  let count = 0;
  return {
    apply(command: Uint8Array) {
      for (let i = 0; i < command.length; i++) hash = Math.imul(hash ^ command[i], 16777619) >>> 0;
      count++;
    },
    snapshot() {
      const b = new Uint8Array(12);
      const v = new DataView(b.buffer);
      v.setUint32(0, hash, true);
      v.setFloat64(4, count, true);
      return b;
    },
    restore(snapshot: Uint8Array) {
      const v = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
      hash = v.getUint32(0, true);
      count = v.getFloat64(4, true);
    },
  };
}
