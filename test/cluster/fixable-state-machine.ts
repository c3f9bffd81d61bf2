/**
 * A state machine that throws on a command whose first byte is 0xee while the environment has
 * RAFT_TEST_APPLY_THROWS=1 (a worker copies the environment when it starts), for the test that
 * brings a fail-stopped peer back once its state machine is fixed.
 */
import type { StateMachine } from '../../src/index.js';

export function createStateMachine(): StateMachine {
  const throws = process.env.RAFT_TEST_APPLY_THROWS === '1';
  return {
    apply(command) {
      if (throws && command[0] === 0xee) throw new RangeError('bad command 0xee');
      return undefined;
    },
  };
}
