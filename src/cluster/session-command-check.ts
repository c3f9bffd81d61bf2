import { COMMAND_HEADER_BYTES } from '../node/session-protocol.js';
import { checkTimeoutMs } from './call-options.js';

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
  if (timeoutMs !== defaultTimeoutMs) checkTimeoutMs(timeoutMs, 'timeoutMs');
}

/** The options object of a session's open (ClientSession, RemoteSession): an object whose every name is one of `known`. */
export function checkSessionOptionNames(options: unknown, known: ReadonlySet<string>): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`session options must be an object, got ${options === null ? 'null' : typeof options}`);
  for (const k of Object.keys(options)) if (!known.has(k)) throw new TypeError(`unknown session option ${k} (known: ${[...known].join(', ')})`);
}

/** Default of a session's maxOutstanding: the commands it holds (submitted, not yet applied and delivered in seq order). */
export const DEFAULT_MAX_OUTSTANDING = 1 << 20;

/** Checks a session's maxOutstanding option; returns it (the default when absent). */
export function checkMaxOutstanding(v: unknown): number {
  if (v === undefined) return DEFAULT_MAX_OUTSTANDING;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`option maxOutstanding must be an integer >= 1, got ${describeValue(v)}`);
  return v;
}

/**
 * The message of a submit refused because the session already holds `held` commands: the
 * window keeps each one's payload until every command up to it is applied, so without a bound a
 * stalled cluster would let a session grow without limit.
 */
export function outstandingMessage(sessionId: number, held: number, max: number): string {
  return `session ${sessionId} holds ${held} commands, not all applied yet (maxOutstanding ${max}); nothing was sent: submit again once some commit`;
}

function describeValue(v: unknown): string {
  return typeof v === 'number' ? String(v) : describe(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
