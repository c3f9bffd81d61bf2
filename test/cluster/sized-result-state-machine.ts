/** A state machine whose query answers with as many bytes as the query's first 4 bytes say (little-endian), for the read size tests. */
import type { StateMachine } from '../../src/index.js';

export function createStateMachine(): StateMachine {
  return {
    apply() { return undefined; },
    query(query: Uint8Array) {
      return new Uint8Array(new DataView(query.buffer, query.byteOffset, 4).getUint32(0, true));
    },
  };
}
