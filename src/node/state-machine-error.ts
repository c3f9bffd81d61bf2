/**
 * The application's state machine threw while applying a committed entry. The peer stops
 * (fail-stop): going on would let its state diverge from the other peers'.
 */
export class StateMachineError extends Error {
  constructor(readonly peer: number, readonly index: number, readonly term: number, override readonly cause: unknown) {
    super(`state machine of peer ${peer} threw while applying entry ${index} (term ${term}): ${cause instanceof Error ? cause.message : String(cause)}; the peer stopped`);
    this.name = 'StateMachineError';
  }
}
