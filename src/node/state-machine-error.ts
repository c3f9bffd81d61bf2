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

/** A state machine's error as it crosses to another thread: enough to rebuild it for `cause`. */
export interface WireCause { name: string; message: string; stack?: string }

export function causeToWire(cause: unknown): WireCause {
  return cause instanceof Error ? { name: cause.name, message: cause.message, stack: cause.stack } : { name: 'Error', message: String(cause) };
}

/** The original error's name, message and stack (its class does not cross threads). */
export function causeFromWire(w: WireCause): Error {
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}
