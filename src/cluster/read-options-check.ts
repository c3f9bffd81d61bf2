import { closestName, describeValue } from '../core/option-spec.js';

/** What a read without options gets: one shared object, so that the check below sees the same one each time. */
export const NO_READ_OPTIONS = Object.freeze({});

/**
 * The options object checked last, and the names it was checked against. A streaming caller
 * passes the same object read after read, and walking its names costs about a quarter of a
 * read's work on the main thread (70-80 ns against 250-300 on the development VM), so the same
 * object is checked once. (One changed after its check is not checked again; its values still
 * go through each caller's range checks.)
 */
let lastChecked: object | null = null;
let lastKnown: readonly string[] | null = null;

/** checkReadOptionNames and checkReadOptionTypes, skipped for the object checked last against the same names. */
export function checkReadOptions(options: unknown, known: readonly string[]): void {
  if (options === lastChecked && known === lastKnown) return;
  checkReadOptionNames(options, known);
  checkReadOptionTypes(options as object);
  lastChecked = options as object;
  lastKnown = known;
}

/**
 * The options object of a read (ClusterClient and RemoteClient, read and submitRead): an
 * object whose every name is one of `known`. A misspelt name (`timeout` for `timeoutMs`)
 * would otherwise be ignored and the read run with the default.
 */
export function checkReadOptionNames(options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`read options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  // for-in, not Object.keys: no array allocated per read on the streaming path.
  for (const k in options) {
    if (known.includes(k)) continue;
    const near = closestName(k, known);
    throw new TypeError(`unknown read option ${k}${near ? `: did you mean ${near}?` : ''} (known: ${known.join(', ')})`);
  }
}

/** Which type each read option must have (the callers check the ranges). */
const READ_OPTION_TYPES: Readonly<Record<string, 'number' | 'string'>> = { timeoutMs: 'number', attemptTimeoutMs: 'number', peer: 'number', mode: 'string' };

/**
 * A read option of the wrong type is a TypeError that says what it got: `peer: '1'` would
 * otherwise be refused as "peer 1 is not one of the peers", which hides the real problem.
 */
export function checkReadOptionTypes(options: object): void {
  for (const k in options) {
    const v = (options as Record<string, unknown>)[k];
    const want = READ_OPTION_TYPES[k];
    if (v !== undefined && want !== undefined && typeof v !== want) throw new TypeError(`option ${k} must be a ${want}, got ${describeValue(v)}`);
  }
}
