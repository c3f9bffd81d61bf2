/**
 * A linearizability checker for histories of the key/value store.
 *
 * A history is a list of operations `{ clientId, op, key, value, output, call, return }` with
 * times in nanoseconds (bigint, or decimal strings as in the JSON-lines files); `return: null`
 * means the outcome is unknown: the operation may or may not have taken effect, at any time
 * after its call, and its output is ignored. Operations known to have failed without effect
 * (refused, never sent) should be left out of the history.
 *
 *   op       key      value                                   output (when return is not null)
 *   get      key      -                                       string | null (null = absent)
 *   put      key      string                                  (ignored)
 *   delete   key      -                                       boolean (the key existed), optional
 *   cas      key      { expected: string|null, next: string|null }   boolean (it swapped)
 *   append   key      string                                  number (new length, UTF-8 bytes), optional
 *   scan     prefix   { limit?: number }, optional            { entries: [key, value][], more: boolean }
 *
 * The store starts empty (or from `initialState`).
 *
 * Method: linearizability is local (Herlihy and Wing), so the history is split by key and each
 * key's operations are checked against a single-register model with the Wing and Gong search,
 * memoized as in Lowe ("Testing for linearizability", 2017): a configuration (set of
 * operations linearized so far, model state) already explored is never explored again. Each
 * key's search has a step budget; a key that runs out is reported as undecided, never as
 * passing.
 *
 * Scans read many keys. They are not searched as one atomic operation: each scan is projected
 * onto every key the history mentions that matches its prefix, as a read of that key over the
 * scan's interval (the value it returned, or "absent" for a key it skipped over: any key not
 * returned when `more` is false, or a key before its last returned key when `more` is true).
 * This catches a scan that returns a stale, lost or never-written value, or misses a key, but
 * not a scan whose keys are each plausible at different instants (a torn cut across keys).
 * Each scan's output is also checked for shape (prefix, strict key order, limit).
 *
 * Two further checks, which do not depend on the search finishing:
 * - every appended value appears at most once in any observed value of its key (reads, scans,
 *   the final state); appended values must therefore be unique per key;
 * - with `finalState` (the whole store, read once every client has stopped), every
 *   acknowledged write is in it unless a write that may have come after it overwrote it.
 *   The final state also joins each key's search as a last read.
 */
import { closestName } from '../core/option-spec.js';

export type HistoryTime = bigint | string | number;
export type KvHistoryOpName = 'get' | 'put' | 'delete' | 'cas' | 'append' | 'scan';

export interface HistoryOp {
  clientId: number | string;
  op: KvHistoryOpName;
  key: string;
  value?: unknown;
  output?: unknown;
  call: HistoryTime;
  return: HistoryTime | null;
}

export interface CheckOptions {
  /** The store after every client stopped: key to value; keys not listed are absent. */
  finalState?: Record<string, string | null> | Map<string, string | null>;
  /** The store before the history (default: empty). */
  initialState?: Record<string, string> | Map<string, string>;
  /** Search steps allowed per key before it is reported undecided (default 2,000,000). */
  maxStepsPerKey?: number;
}

export type CheckName = 'linearizability' | 'duplicate-append' | 'lost-write' | 'scan-shape';

export interface Violation {
  check: CheckName;
  key: string;
  /** What went wrong, with the operations involved. */
  message: string;
  ops: HistoryOp[];
}

export interface CheckResult {
  /** 'unknown' when nothing failed but some key's search ran out of its step budget. */
  verdict: 'ok' | 'violation' | 'unknown';
  violations: Violation[];
  undecided: { key: string; ops: number; steps: number }[];
  stats: { keys: number; ops: number; steps: number };
}

export const DEFAULT_MAX_STEPS_PER_KEY = 2_000_000;

const CHECK_OPTION_NAMES = ['finalState', 'initialState', 'maxStepsPerKey'];

/** A misspelt option would silently skip what it asks for (finalstate: the lost-write check). */
function checkOptionNames(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`checkHistory options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const k of Object.keys(options)) {
    if (CHECK_OPTION_NAMES.includes(k)) continue;
    const near = closestName(k, CHECK_OPTION_NAMES);
    throw new TypeError(`unknown checkHistory option ${k}${near ? `: did you mean ${near}?` : ''} (known: ${CHECK_OPTION_NAMES.join(', ')})`);
  }
}

/** Parses a JSON-lines history (one operation per line; blank lines skipped). */
export function parseHistory(text: string): HistoryOp[] {
  const out: HistoryOp[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try { v = JSON.parse(line); } catch (e) { throw new SyntaxError(`history line ${i + 1} is not JSON: ${(e as Error).message}`); }
    out.push(v as HistoryOp);
  });
  return out;
}

/** Checks a history; throws TypeError on a malformed one (naming the operation and field). */
export function checkHistory(history: readonly HistoryOp[], options: CheckOptions = {}): CheckResult {
  if (!Array.isArray(history)) throw new TypeError('history must be an array of operations');
  checkOptionNames(options);
  const maxSteps = options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`maxStepsPerKey must be a positive integer, got ${String(maxSteps)}`);
  const ops = history.map((h, i) => normalize(h, i));
  const finalState = options.finalState === undefined ? undefined : toMap(options.finalState, 'finalState');
  const initial = toMap(options.initialState ?? {}, 'initialState');

  const violations: Violation[] = [];
  const undecided: CheckResult['undecided'] = [];

  // Every key the history mentions.
  const keys = new Set<string>();
  for (const o of ops) {
    if (o.op !== 'scan') keys.add(o.key);
    else if (o.scan) for (const [k] of o.scan.entries) keys.add(k);
  }
  for (const k of finalState?.keys() ?? []) keys.add(k);
  for (const k of initial.keys()) keys.add(k);

  let maxTime = 0n;
  for (const o of ops) { if (o.call > maxTime) maxTime = o.call; if (o.ret !== null && o.ret > maxTime) maxTime = o.ret; }
  const finalCall = maxTime + 1n, finalReturn = maxTime + 2n, unknownReturn = maxTime + 3n;

  // Per-key operation lists: the key's own operations, scan projections, the final read.
  const perKey = new Map<string, KeyOp[]>();
  for (const k of keys) perKey.set(k, []);
  for (const o of ops) {
    if (o.op !== 'scan') { perKey.get(o.key)!.push(keyOp(o, o.op, o.value, o.output, o.ret ?? unknownReturn)); continue; }
    if (!o.scan) continue; // a scan with an unknown outcome observed nothing
    const shape = scanShapeProblem(o);
    if (shape) violations.push({ check: 'scan-shape', key: o.key, message: `${describe(o.source)}: ${shape}`, ops: [o.source] });
    const returned = new Map(o.scan.entries);
    const last = o.scan.entries.length > 0 ? o.scan.entries[o.scan.entries.length - 1][0] : null;
    for (const k of keys) {
      if (!k.startsWith(o.key)) continue;
      if (returned.has(k)) perKey.get(k)!.push(keyOp(o, 'get', undefined, returned.get(k)!, o.ret!, true));
      else if (!o.scan.more || (last !== null && compareUtf8(k, last) < 0)) perKey.get(k)!.push(keyOp(o, 'get', undefined, null, o.ret!, true));
    }
  }
  if (finalState) {
    for (const k of keys) {
      const source: HistoryOp = { clientId: 'final', op: 'get', key: k, output: finalState.get(k) ?? null, call: finalCall, return: finalReturn };
      perKey.get(k)!.push({ ...keyOp(normalize(source, -1), 'get', undefined, finalState.get(k) ?? null, finalReturn), final: true });
    }
  }

  let steps = 0;
  for (const [key, kops] of perKey) {
    let r = searchKey(key, kops, initial.get(key) ?? null, maxSteps);
    if (r.kind === 'violation') r = searchKey(key, kops, initial.get(key) ?? null, maxSteps, true); // confirmed without hashes (see searchKey)
    steps += r.steps;
    if (r.kind === 'violation') violations.push(r.violation);
    else if (r.kind === 'undecided') undecided.push({ key, ops: kops.length, steps: r.steps });
    violations.push(...duplicateAppends(key, kops));
    if (finalState) violations.push(...lostWrites(key, kops, finalState.get(key) ?? null));
  }

  return {
    verdict: violations.length > 0 ? 'violation' : undecided.length > 0 ? 'unknown' : 'ok',
    violations, undecided, stats: { keys: keys.size, ops: ops.length, steps },
  };
}

// ---------------------------------------------------------------------------------------------
// Normalized operations

interface NormOp {
  index: number;
  source: HistoryOp;
  op: KvHistoryOpName;
  key: string;
  value: unknown;
  output: unknown;
  call: bigint;
  ret: bigint | null;
  scan?: { entries: [string, string][]; more: boolean; limit?: number };
}

/** One operation on one key, as the register model sees it. */
interface KeyOp {
  norm: NormOp;
  kind: 'get' | 'put' | 'delete' | 'cas' | 'append';
  value: unknown;
  output: unknown;
  /** False when the outcome is unknown: the output is not checked. */
  known: boolean;
  call: bigint;
  ret: bigint;
  fromScan?: boolean;
  final?: boolean;
}

function keyOp(o: NormOp, kind: KeyOp['kind'], value: unknown, output: unknown, ret: bigint, fromScan = false): KeyOp {
  return { norm: o, kind, value, output, known: o.ret !== null, call: o.call, ret, fromScan };
}

const OPS: readonly KvHistoryOpName[] = ['get', 'put', 'delete', 'cas', 'append', 'scan'];

function normalize(h: HistoryOp, i: number): NormOp {
  const where = `history[${i}]`;
  if (h === null || typeof h !== 'object' || Array.isArray(h)) throw new TypeError(`${where} must be an object, got ${h === null ? 'null' : Array.isArray(h) ? 'an array' : typeof h}`);
  if (typeof h.clientId !== 'number' && typeof h.clientId !== 'string') throw new TypeError(`${where}.clientId must be a number or a string`);
  if (!OPS.includes(h.op)) throw new TypeError(`${where}.op must be one of ${OPS.join(', ')}, got ${JSON.stringify(h.op)}`);
  if (typeof h.key !== 'string') throw new TypeError(`${where}.key must be a string, got ${h.key === null ? 'null' : typeof h.key}`);
  const call = time(h.call, `${where}.call`);
  const ret = h.return === null ? null : time(h.return, `${where}.return`);
  if (ret !== null && ret < call) throw new TypeError(`${where} returns (${ret}) before its call (${call})`);
  const known = ret !== null;
  const str = (v: unknown, f: string) => { if (typeof v !== 'string') throw new TypeError(`${where}.${f} must be a string, got ${v === null ? 'null' : typeof v}`); return v; };
  const strOrNull = (v: unknown, f: string) => (v === null ? null : str(v, f));
  const o: NormOp = { index: i, source: h, op: h.op, key: h.key, value: h.value, output: h.output, call, ret };
  switch (h.op) {
    case 'get': if (known) o.output = strOrNull(h.output, 'output'); break;
    case 'put': str(h.value, 'value'); break;
    case 'append':
      str(h.value, 'value');
      if (known && h.output !== undefined && !(Number.isInteger(h.output) && (h.output as number) >= 0)) throw new TypeError(`${where}.output of an append must be the new length (a non-negative integer) or absent`);
      break;
    case 'delete':
      if (known && h.output !== undefined && typeof h.output !== 'boolean') throw new TypeError(`${where}.output of a delete must be a boolean (the key existed) or absent`);
      break;
    case 'cas': {
      const v = h.value as { expected?: unknown; next?: unknown } | null;
      if (v === null || typeof v !== 'object' || !('expected' in v) || !('next' in v)) throw new TypeError(`${where}.value of a cas must be { expected: string|null, next: string|null }`);
      o.value = { expected: strOrNull(v.expected, 'value.expected'), next: strOrNull(v.next, 'value.next') };
      if (known && typeof h.output !== 'boolean') throw new TypeError(`${where}.output of a cas must be a boolean (it swapped)`);
      break;
    }
    case 'scan': {
      const limit = (h.value as { limit?: unknown } | undefined)?.limit;
      if (limit !== undefined && !(Number.isInteger(limit) && (limit as number) > 0)) throw new TypeError(`${where}.value.limit must be a positive integer`);
      if (!known) break;
      const out = h.output as { entries?: unknown; more?: unknown } | null;
      if (out === null || typeof out !== 'object' || !Array.isArray(out.entries) || typeof out.more !== 'boolean') throw new TypeError(`${where}.output of a scan must be { entries: [key, value][], more: boolean }`);
      const entries = out.entries.map((e, j) => {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') throw new TypeError(`${where}.output.entries[${j}] must be a [key, value] pair of strings`);
        return [e[0], e[1]] as [string, string];
      });
      o.scan = { entries, more: out.more, limit: limit as number | undefined };
      break;
    }
  }
  return o;
}

function time(t: unknown, where: string): bigint {
  if (typeof t === 'bigint') return t;
  if (typeof t === 'number' && Number.isSafeInteger(t)) return BigInt(t);
  if (typeof t === 'string' && /^-?\d+$/.test(t)) return BigInt(t);
  throw new TypeError(`${where} must be a time in nanoseconds (bigint, safe integer or decimal string), got ${JSON.stringify(typeof t === 'bigint' ? String(t) : t)}`);
}

function toMap<V>(m: Record<string, V> | Map<string, V>, what: string): Map<string, V> {
  if (m instanceof Map) return m;
  if (m === null || typeof m !== 'object') throw new TypeError(`${what} must be a Map or an object`);
  return new Map(Object.entries(m));
}

const utf8 = new TextEncoder();
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}
const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

function scanShapeProblem(o: NormOp): string | null {
  const { entries, limit } = o.scan!;
  if (limit !== undefined && entries.length > limit) return `returned ${entries.length} entries, over its limit of ${limit}`;
  for (let i = 0; i < entries.length; i++) {
    if (!entries[i][0].startsWith(o.key)) return `returned key ${JSON.stringify(entries[i][0])}, which lacks the prefix ${JSON.stringify(o.key)}`;
    if (i > 0 && compareUtf8(entries[i - 1][0], entries[i][0]) >= 0) return `returned keys out of order: ${JSON.stringify(entries[i - 1][0])} then ${JSON.stringify(entries[i][0])}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The register model

type State = string | null;
const ILLEGAL = Symbol('illegal');

function step(state: State, o: KeyOp): State | typeof ILLEGAL {
  switch (o.kind) {
    case 'get': return o.known && o.output !== state ? ILLEGAL : state;
    case 'put': return o.value as string;
    case 'delete': return o.known && o.output !== undefined && o.output !== (state !== null) ? ILLEGAL : null;
    case 'cas': {
      const { expected, next } = o.value as { expected: State; next: State };
      const matched = state === expected;
      if (o.known && o.output !== matched) return ILLEGAL;
      return matched ? next : state;
    }
    case 'append': {
      const next = (state ?? '') + (o.value as string);
      return o.known && o.output !== undefined && o.output !== byteLength(next) ? ILLEGAL : next;
    }
  }
}

/** Why `o` cannot be linearized right after a prefix that left `state` (for counterexamples). */
function whyNot(state: State, o: KeyOp): string {
  if (step(state, o) !== ILLEGAL) return 'fits here, but no linearization of the rest follows from it';
  const shown = show(state);
  switch (o.kind) {
    case 'get': return `read ${show(o.output as State)} but the value was ${shown}`;
    case 'delete': return `said the key ${o.output ? 'existed' : 'was absent'} but the value was ${shown}`;
    case 'cas': return `${o.output ? 'swapped' : 'failed'} but the value was ${shown}`;
    case 'append': return `returned length ${String(o.output)} but the value would be ${byteLength((state ?? '') + (o.value as string))} bytes long`;
    default: return 'cannot happen';
  }
}

const show = (s: State) => (s === null ? 'absent' : JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s));

function describe(h: HistoryOp): string {
  const v = h.op === 'cas' ? `, ${JSON.stringify((h.value as { expected: unknown }).expected)} -> ${JSON.stringify((h.value as { next: unknown }).next)}`
    : h.value !== undefined && h.op !== 'scan' ? `, ${JSON.stringify(h.value)}` : '';
  const out = h.return === null ? ' -> ?' : h.output !== undefined && h.op !== 'put' ? ` -> ${JSON.stringify(h.output)}` : ' -> ok';
  const ret = h.return === null ? 'unknown' : String(h.return);
  return `client ${h.clientId} ${h.op}(${JSON.stringify(h.key)}${v})${out} [${String(h.call)}, ${ret}]`;
}

function describeKeyOp(o: KeyOp): string {
  if (o.final) return `the final state ${show(o.output as State)}`;
  if (o.fromScan) return `${describe(o.norm.source)}, which read this key as ${show(o.output as State)}`;
  return describe(o.norm.source);
}

// ---------------------------------------------------------------------------------------------
// Wing and Gong search with Lowe's memoization

interface EventNode {
  op: KeyOp;
  slot: number;
  isCall: boolean;
  match: EventNode | null; // a call's return event
  prev: EventNode | null;
  next: EventNode | null;
}

type SearchResult = { kind: 'ok'; steps: number } | { kind: 'undecided'; steps: number } | { kind: 'violation'; steps: number; violation: Violation };

/** A fixed random word per operation slot, for the configurations' hashes (seeded: every run searches alike). */
function zobristWords(n: number): Uint32Array {
  const words = new Uint32Array(2 * n);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    // xorshift32: enough spread for a hash of a set, and no state beyond one word
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return words;
}

/**
 * Where searchKey gets its hash words. @internal: a test replaces it with words that make
 * every set collide, to see that a violation is confirmed without hashes before it counts.
 */
export const searchHashing = { words: zobristWords };

/**
 * Searches one key's operations for a linearization. A configuration (the operations
 * linearized so far and the model state) is explored once. With `exact` false it is known by
 * a 64-bit hash of the set, kept up to date as operations go in and out (Zobrist hashing): a
 * step costs the same however long the history. A collision could only make the search skip a
 * configuration it had not explored, so a history that passes is linearizable; a violation
 * found that way is searched again with `exact` (the set itself as the key) before it counts.
 */
function searchKey(key: string, kops: KeyOp[], initial: State, maxSteps: number, exact = false): SearchResult {
  if (kops.length === 0) return { kind: 'ok', steps: 0 };
  // Events in time order; at equal times calls come first, so touching intervals count as concurrent.
  const events: { t: bigint; call: boolean; op: KeyOp; slot: number }[] = [];
  kops.forEach((op, slot) => { events.push({ t: op.call, call: true, op, slot }, { t: op.ret, call: false, op, slot }); });
  events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.call === b.call ? 0 : a.call ? -1 : 1));
  const head: EventNode = { op: kops[0], slot: -1, isCall: false, match: null, prev: null, next: null };
  let tail = head;
  const callNodes = new Map<number, EventNode>();
  for (const e of events) {
    const n: EventNode = { op: e.op, slot: e.slot, isCall: e.call, match: null, prev: tail, next: null };
    tail.next = n;
    tail = n;
    if (e.call) callNodes.set(e.slot, n); else callNodes.get(e.slot)!.match = n;
  }
  const lift = (c: EventNode) => {
    c.prev!.next = c.next; if (c.next) c.next.prev = c.prev;
    const r = c.match!; r.prev!.next = r.next; if (r.next) r.next.prev = r.prev;
  };
  const unlift = (c: EventNode) => {
    const r = c.match!; r.prev!.next = r; if (r.next) r.next.prev = r;
    c.prev!.next = c; if (c.next) c.next.prev = c;
  };

  const bits = new Uint32Array(Math.ceil(kops.length / 32));
  const zobrist = searchHashing.words(kops.length);
  let hashLo = 0, hashHi = 0;
  const flip = (slot: number) => {
    bits[slot >>> 5] ^= 1 << (slot & 31);
    hashLo ^= zobrist[2 * slot];
    hashHi ^= zobrist[2 * slot + 1];
  };
  const stateIds = new Map<State, number>();
  const stateId = (s: State) => { let id = stateIds.get(s); if (id === undefined) { id = stateIds.size; stateIds.set(s, id); } return id; };
  const seen = new Set<string>();

  const stack: { node: EventNode; state: State }[] = [];
  // The deepest prefix reached, for the counterexample: copied when the search first backs out
  // of a new depth, not at every new depth (a search that never backtracks would copy its whole
  // stack per operation).
  let best: { slots: number[]; state: State } = { slots: [], state: initial };
  let bestDepth = 0;
  let atNewDepth = false;
  let state = initial;
  let entry = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > maxSteps) return { kind: 'undecided', steps };
    if (entry!.isCall) {
      const next = step(state, entry!.op);
      if (next !== ILLEGAL) {
        flip(entry!.slot);
        const config = exact ? `${stateId(next)}:${bits.join(',')}` : `${stateId(next)}:${hashLo}:${hashHi}`;
        if (!seen.has(config)) {
          seen.add(config);
          stack.push({ node: entry!, state });
          state = next;
          if (stack.length > bestDepth) { bestDepth = stack.length; atNewDepth = true; }
          lift(entry!);
          entry = head.next;
          continue;
        }
        flip(entry!.slot);
      }
      entry = entry!.next;
    } else {
      // A return: its operation must be linearized before anything later. Backtrack.
      if (atNewDepth) { best = { slots: stack.map((s) => s.node.slot), state }; atNewDepth = false; }
      const top = stack.pop();
      if (!top) return { kind: 'violation', steps, violation: counterexample(key, kops, best) };
      state = top.state;
      flip(top.node.slot);
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return { kind: 'ok', steps };
}

/** Describes the longest linearizable prefix and why none of the operations that must come next fits. */
function counterexample(key: string, kops: KeyOp[], best: { slots: number[]; state: State }): Violation {
  const done = new Set(best.slots);
  const rest = kops.filter((_, slot) => !done.has(slot));
  const firstReturn = rest.reduce((a, b) => (b.ret < a.ret ? b : a));
  const candidates = rest.filter((o) => o.call <= firstReturn.ret);
  const prefix = best.slots.map((s) => kops[s]);
  const shownPrefix = prefix.slice(-8).map(describeKeyOp);
  const lines = [
    `key ${JSON.stringify(key)}: the ${kops.length} operations on it are not linearizable.`,
    `The longest linearizable prefix has ${prefix.length} operations${prefix.length > 8 ? ' (the last 8 shown)' : ''}, leaving the value ${show(best.state)}:`,
    ...shownPrefix.map((d) => `  ${d}`),
    `Next must come one of these (each was called before ${describeKeyOp(firstReturn)} returned), and none fits:`,
    ...candidates.map((o) => `  ${describeKeyOp(o)}: ${whyNot(best.state, o)}`),
  ];
  const ops = [...prefix.slice(-8), ...candidates].filter((o) => !o.final).map((o) => o.norm.source);
  return { check: 'linearizability', key, message: lines.join('\n'), ops: [...new Set(ops)] };
}

// ---------------------------------------------------------------------------------------------
// The two further checks

/** Every appended value appears at most once in each observed value of the key. */
function duplicateAppends(key: string, kops: KeyOp[]): Violation[] {
  const appended = [...new Set(kops.filter((o) => o.kind === 'append').map((o) => o.value as string))].filter((v) => v !== '');
  if (appended.length === 0) return [];
  const observations = kops.filter((o) => o.kind === 'get' && o.known && typeof o.output === 'string');
  const counter = occurrenceCounter(appended);
  const out: Violation[] = [];
  const reported = new Set<string>();
  for (const o of observations) {
    for (const [v, n] of counter(o.output as string)) {
      if (n < 2 || reported.has(v)) continue;
      reported.add(v);
      const appends = kops.filter((a) => a.kind === 'append' && a.value === v).map((a) => a.norm.source);
      out.push({
        check: 'duplicate-append', key,
        message: `key ${JSON.stringify(key)}: the appended value ${JSON.stringify(v)} appears ${n} times in ${describeKeyOp(o)} (appended by ${appends.map(describe).join('; ')})`,
        ops: [...appends, ...(o.final ? [] : [o.norm.source])],
      });
    }
  }
  return out;
}

/**
 * Whether some write of `group` other than `w` may be linearized after the known write `w`: one
 * whose outcome is unknown, or one that had not returned when `w` was called. Answered from the
 * group's two latest returns, so the lost-write check is linear in the history, not quadratic.
 */
function mayFollow(group: KeyOp[]): (w: KeyOp) => boolean {
  let unknown = 0;
  let latest: KeyOp | null = null, second: KeyOp | null = null;
  for (const o of group) {
    if (!o.known) { unknown++; continue; }
    if (latest === null || o.ret > latest.ret) { second = latest; latest = o; } else if (second === null || o.ret > second.ret) second = o;
  }
  return (w) => {
    if (unknown > 0) return true;
    const other = latest === w ? second : latest;
    return other !== null && !(other.ret < w.call);
  };
}

/**
 * Counts occurrences of the appended values in an observed value. When every appended value
 * ends with the same delimiter and holds it nowhere else (such as "c3-17,"), the observation is
 * split into tokens (linear time); otherwise each value is searched for.
 */
function occurrenceCounter(appended: string[]): (observed: string) => Map<string, number> {
  const d = appended[0][appended[0].length - 1];
  const delimited = appended.every((v) => v.endsWith(d) && v.indexOf(d) === v.length - 1);
  if (delimited) {
    const wanted = new Set(appended);
    return (observed) => {
      const counts = new Map<string, number>();
      let from = 0;
      for (let at = observed.indexOf(d); at !== -1; from = at + 1, at = observed.indexOf(d, from)) {
        const token = observed.slice(from, at + 1);
        if (wanted.has(token)) counts.set(token, (counts.get(token) ?? 0) + 1);
      }
      return counts;
    };
  }
  return (observed) => {
    const counts = new Map<string, number>();
    for (const v of appended) {
      let n = 0;
      for (let at = observed.indexOf(v); at !== -1 && n < 2; at = observed.indexOf(v, at + v.length)) n++;
      if (n > 0) counts.set(v, n);
    }
    return counts;
  };
}

/** Every acknowledged write is in the final state unless a write that may follow it overwrote it. */
function lostWrites(key: string, kops: KeyOp[], final: State): Violation[] {
  const writes = kops.filter((o) => !o.fromScan && !o.final && o.kind !== 'get' && !(o.kind === 'cas' && o.known && o.output === false));
  const out: Violation[] = [];
  // Writes that may be linearized after w: any other write not over before w was called.
  const overwriteMayFollow = mayFollow(writes.filter((o) => o.kind !== 'append'));
  const appendMayFollow = mayFollow(writes.filter((o) => o.kind === 'append'));
  for (const w of writes) {
    if (!w.known) continue;
    const laterOverwrite = overwriteMayFollow(w);
    const laterAppend = appendMayFollow(w);
    let lost: string | null = null;
    if (w.kind === 'append') {
      if (!laterOverwrite && !(final ?? '').includes(w.value as string)) lost = `its value ${JSON.stringify(w.value)} is missing from the final state ${show(final)}`;
    } else if (!laterOverwrite) {
      const v = w.kind === 'put' ? (w.value as string) : w.kind === 'delete' ? null : (w.value as { next: State }).next;
      if (!laterAppend && final !== v) lost = `the final state is ${show(final)}, not ${show(v)}`;
      if (laterAppend && v !== null && !(final ?? '').startsWith(v)) lost = `the final state ${show(final)} does not start with ${show(v)} (only appends may have followed it)`;
    }
    if (lost) {
      out.push({
        check: 'lost-write', key,
        message: `key ${JSON.stringify(key)}: the acknowledged ${describe(w.norm.source)} is lost: ${lost}, and no write that may have come after it overwrote it`,
        ops: [w.norm.source],
      });
    }
  }
  return out;
}
