import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeValue } from '../core/option-spec.js';

/**
 * Turns the `stateMachine` option into the file: URL each worker imports. Accepted: a URL
 * object or a string starting with "file:", an absolute path, or a relative path, which is
 * resolved against the caller's working directory (process.cwd()), never against this
 * library's folder. The file must exist: a typo fails here, naming the path it looked at,
 * rather than in every worker.
 */
export function resolveStateMachineModule(spec: unknown, cwd = process.cwd()): string {
  let file: string;
  if (spec instanceof URL || (typeof spec === 'string' && spec.startsWith('file:'))) {
    const url = spec instanceof URL ? spec : parseUrl(spec);
    if (url.protocol !== 'file:') {
      throw new TypeError(`option stateMachine must be a path or a file: URL, got a ${url.protocol} URL (${url.href})`);
    }
    try { file = fileURLToPath(url); } catch (e) {
      throw new TypeError(`option stateMachine: cannot open ${url.href}: ${(e as Error).message}`);
    }
  } else if (typeof spec === 'string') {
    if (spec === '') throw new TypeError('option stateMachine must be a path or a file: URL, got an empty string');
    file = path.resolve(cwd, spec);
  } else {
    throw new TypeError(`option stateMachine must be a path (string) or a file: URL, got ${spec === null ? 'null' : typeof spec}`);
  }
  if (!existsSync(file)) {
    const from = typeof spec === 'string' && !spec.startsWith('file:') && !path.isAbsolute(spec)
      ? ` (relative paths are resolved against the working directory ${cwd})` : '';
    throw new Error(`option stateMachine: no such file ${file}${from}`);
  }
  return pathToFileURL(file).href;
}

function parseUrl(s: string): URL {
  try { return new URL(s); } catch { throw new TypeError(`option stateMachine: not a valid URL: ${s}`); }
}

/**
 * Checks what a module's createStateMachine(peer) returned, so that a factory that is async or
 * returns no apply() fails at start, naming the module, not at the first committed entry.
 */
export function checkCreatedStateMachine(sm: unknown, moduleUrl: string): void {
  if (typeof (sm as { then?: unknown } | null)?.then === 'function') {
    throw new TypeError(`createStateMachine(peer) of state machine module ${moduleUrl} returned a promise; it must return the state machine itself (an object with an apply(command, index, term) method)`);
  }
  if (typeof (sm as { apply?: unknown } | null)?.apply !== 'function') {
    throw new TypeError(`createStateMachine(peer) of state machine module ${moduleUrl} must return an object with an apply(command, index, term) method, got ${describeValue(sm)}`);
  }
}
