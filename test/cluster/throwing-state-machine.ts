/** A state machine that throws on a command whose first byte is 0xee (for the fail-stop test). */
import type { StateMachine } from '../../src/index.js';

export function createStateMachine(): StateMachine {
  return {
    apply(command) {
      if (command[0] === 0xee) throw new RangeError('bad command 0xee');
      return undefined;
    },
  };
}
