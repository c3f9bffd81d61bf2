import { closestName, describeValue } from '../core/option-spec.js';

/** A call's timeoutMs: a number (else a TypeError saying what it got) above 0 (else a RangeError). */
export function checkTimeoutMs(v: unknown, name = 'option timeoutMs'): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a positive number, got ${describeValue(v)}`);
  if (!(v > 0)) throw new RangeError(`${name} must be a positive number, got ${describeValue(v)}`);
  return v;
}

/**
 * The options object of a call (propose, waitForLeader): an object whose every name is one of
 * `known`, so that a misspelt { timeout: 5000 } is refused instead of silently meaning the
 * default. `where` names the call in the error.
 */
export function checkCallOptionNames(options: unknown, known: readonly string[], where: string): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where} options must be an object, got ${describeValue(options)}`);
  for (const name in options) {
    if (known.includes(name)) continue;
    const near = closestName(name, known);
    throw new TypeError(`unknown option ${name} for ${where}${near ? `: did you mean ${near}?` : ''} (known options: ${known.join(', ')})`);
  }
}
