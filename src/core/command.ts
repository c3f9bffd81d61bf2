import { isMembershipEntry } from './membership-entry.js';

/**
 * The checks every proposed command passes, in the core and (so that callers get a real
 * TypeError or RangeError instead of one relayed from a worker) on the main thread.
 */
export function checkCommand(command: unknown, maxBytes: number, noopReserved: boolean): asserts command is Uint8Array {
  if (!(command instanceof Uint8Array)) {
    const what = command === null ? 'null' : typeof command === 'object' ? (command as object).constructor?.name ?? 'object' : typeof command;
    throw new TypeError(`command must be a Uint8Array, got ${what}`);
  }
  if (command.byteLength === 0 && noopReserved) {
    throw new RangeError('a 0-byte command is reserved for the no-op entry a new leader appends (noopOnElection); send at least one byte');
  }
  if (command.byteLength >= 8 && command[0] === 0xff && isMembershipEntry(command)) { // most commands fail the first byte: no call
    throw new RangeError('a command may not begin with the 8 bytes 0xff "RAFTCFG": they mark membership entries (use proposeConfChange)');
  }
  if (command.byteLength > maxBytes) {
    throw new RangeError(`command of ${command.byteLength} bytes exceeds maxCommandBytes (${maxBytes})`);
  }
}
