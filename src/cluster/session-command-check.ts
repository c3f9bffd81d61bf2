import { COMMAND_HEADER_BYTES } from '../node/session-protocol.js';

/**
 * The synchronous checks of a session's submit (ClientSession, RemoteSession): a Uint8Array
 * (TypeError), no larger than the session's payload limit, and a positive timeout unless it is
 * the session's default (RangeError). Nothing is sent when one throws.
 */
export function checkSessionCommand(command: unknown, maxPayload: number, timeoutMs: unknown, defaultTimeoutMs: number): void {
  if (!(command instanceof Uint8Array)) throw new TypeError(`command must be a Uint8Array, got ${describe(command)}`);
  if (command.byteLength > maxPayload) {
    throw new RangeError(`command of ${command.byteLength} bytes exceeds what a session command may carry: maxCommandBytes minus the ${COMMAND_HEADER_BYTES}-byte session header (${maxPayload})`);
  }
  if (timeoutMs !== defaultTimeoutMs && (typeof timeoutMs !== 'number' || !(timeoutMs > 0))) {
    throw new RangeError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
