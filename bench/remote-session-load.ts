/**
 * A RemoteSession as the load generator's SessionLoad: its streaming form (submit /
 * onCommitted / onFailed), as the worker runs use ClientSession's, so a command costs no
 * promise here either.
 */
import type { RemoteSession } from '../src/process/remote-client.js';
import type { SessionLoad } from './load-generator.js';

/** Each command with the session's default deadline. */
export function remoteSessionLoad(session: RemoteSession): SessionLoad {
  return {
    submit: (command) => session.submit(command),
    listen(onCommitted, onFailed) {
      session.onCommitted = onCommitted;
      session.onFailed = onFailed;
    },
  };
}
