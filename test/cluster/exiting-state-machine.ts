/**
 * A state machine whose query [0xdd, ...path] ends the worker thread it runs in (process.exit
 * in a worker), once: the first worker to create the directory `path` exits, any other (the
 * client retries the read elsewhere) answers normally. A command [0xdc, id] ends the worker of
 * peer `id` when it applies it.
 */
import fs from 'node:fs';
import type { StateMachine } from '../../src/index.js';

export function createStateMachine(peer: number): StateMachine {
  return {
    apply(command) {
      if (command[0] === 0xdc && command[1] === peer) process.exit(7);
      return undefined;
    },
    query(q) {
      if (q[0] !== 0xdd) return new Uint8Array(0);
      try { fs.mkdirSync(new TextDecoder().decode(q.subarray(1))); } catch { return new Uint8Array([1]); }
      process.exit(7);
    },
  };
}
