import { closestName, describeValue } from '../core/option-spec.js';

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
