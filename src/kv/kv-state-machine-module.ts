/**
 * The module a worker cluster loads to run the key/value store:
 * `Cluster.start({ sessions: true, stateMachine: <this file's URL> })`. Sessions make every
 * write take effect exactly once through retries.
 */
import type { StateMachine } from '../node/raft-node.js';
import { KvStateMachine } from './kv-state-machine.js';

export function createStateMachine(_peer: number): StateMachine {
  return new KvStateMachine();
}
