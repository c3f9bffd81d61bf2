/**
 * A RemoteSession as the load generator's SessionLoad. RemoteSession has only the promise form
 * (propose), so each command costs a promise here, which the raw TCP client's streaming form
 * (submit/onCommitted) does not: part of what sessions cost over TCP in these figures.
 */
import type { RemoteSession } from '../src/process/remote-client.js';
import type { SessionLoad } from './load-generator.js';

/** Each command with RemoteSession's default deadline, as the worker runs use ClientSession's. */
export function remoteSessionLoad(session: RemoteSession): SessionLoad {
  let committed: (seq: number) => void = () => {};
  let failed: (seq: number, error: Error) => void = () => {};
  let lastSeq = 0;
  return {
    submit(command) {
      const seq = ++lastSeq;
      session.propose(command).then(() => committed(seq), (e: Error) => failed(seq, e));
      return seq;
    },
    listen(onCommitted, onFailed) {
      committed = onCommitted;
      failed = onFailed;
    },
  };
}
