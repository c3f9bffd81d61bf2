/**
 * A typed client for the key/value store over anything that proposes bytes and resolves with
 * the state machine's result, such as a ClientSession (`await cluster.session()`), which makes
 * every write take effect exactly once. Keys are strings (stored as UTF-8); values are bytes
 * or strings (stored as UTF-8). Get and scan go through the log for now (linearizable, at the
 * cost of a log entry each).
 */
import {
  DEFAULT_LIMITS, KvErrorCode, KvFrameError, KvOp, KvStatus, decodeResult, encodeCommand, type KvCommand, type KvLimits, type KvResult,
} from './kv-codec.js';
import { closestName } from '../core/option-spec.js';

/** What KvClient needs: ClientSession fits. */
export interface KvProposer {
  propose(command: Uint8Array): Promise<{ result: Uint8Array }>;
}

/** Linearizable reads of the state machine (ClusterClient.read has this shape): get and scan then skip the log. */
export interface KvReader {
  read(query: Uint8Array): Promise<Uint8Array>;
}

export type KvValue = Uint8Array | string;

export interface KvScanOptions {
  /** Most entries returned (default 100). */
  limit?: number;
  /** Resume after this key (pass the last key of the previous page). */
  after?: string;
}

export interface KvScanResult {
  entries: { key: string; value: Uint8Array }[];
  /** More keys matched than were returned (the limit, or the result size cap, was reached). */
  more: boolean;
}

export type KvCasResult = { ok: true } | { ok: false; current: Uint8Array | undefined };

/** The state machine refused a command; `code` says why. */
export class KvError extends Error {
  override name = 'KvError';
  constructor(readonly code: KvErrorCode, message: string) {
    super(message);
  }
}

const SCAN_OPTION_NAMES = ['limit', 'after'];

/** A misspelt scan option would otherwise be ignored (and the scan run with the default). */
function checkScanOptionNames(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`scan options must be an object { limit?, after? }, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const k of Object.keys(options)) {
    if (SCAN_OPTION_NAMES.includes(k)) continue;
    const near = closestName(k, SCAN_OPTION_NAMES);
    throw new TypeError(`unknown scan option ${k}${near ? `: did you mean ${near}?` : ''} (known: ${SCAN_OPTION_NAMES.join(', ')})`);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** UTF-8 cannot hold a lone surrogate: encoding would turn it into U+FFFD, so two different strings would be stored as one. */
function checkWellFormed(s: string, what: string): void {
  const m = LONE_SURROGATE.exec(s);
  if (m) throw new RangeError(`${what} is not well-formed UTF-16: a lone surrogate at index ${m.index} (UTF-8 would store it as U+FFFD)`);
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class KvClient {
  private readonly limits: KvLimits;

  /**
   * `limits` must match the state machine's (the defaults do); they are checked here before
   * proposing. With a `reader` (a ClusterClient), get and scan are linearizable reads that skip
   * the log; without one they go through the log like writes.
   */
  constructor(private readonly proposer: KvProposer, limits: Partial<KvLimits> = {}, private readonly reader: KvReader | null = null) {
    if (!proposer || typeof proposer.propose !== 'function') throw new TypeError('KvClient needs an object with a propose(bytes) method, such as a ClientSession');
    if (reader !== null && typeof reader?.read !== 'function') throw new TypeError('KvClient reader must have a read(query) method, such as a ClusterClient');
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** The value, or undefined if the key is absent. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const r = await this.send({ op: KvOp.Get, key: this.key(key) }, true);
    return r.status === KvStatus.Ok ? r.value : undefined;
  }

  /** The value decoded as UTF-8, or undefined if the key is absent. */
  async getText(key: string): Promise<string | undefined> {
    const v = await this.get(key);
    return v === undefined ? undefined : utf8Decoder.decode(v);
  }

  async put(key: string, value: KvValue): Promise<void> {
    await this.send({ op: KvOp.Put, key: this.key(key), value: this.value(value) });
  }

  /** True if the key was there. */
  async delete(key: string): Promise<boolean> {
    const r = await this.send({ op: KvOp.Delete, key: this.key(key) });
    return r.status === KvStatus.Ok;
  }

  /**
   * Sets `key` to `next` only if its value is `expected`; `expected` null means "only if the
   * key is absent", `next` null deletes. On a mismatch, `current` is the value found.
   */
  async cas(key: string, expected: KvValue | null, next: KvValue | null): Promise<KvCasResult> {
    const r = await this.send({
      op: KvOp.Cas, key: this.key(key),
      expected: expected === null ? null : this.value(expected, 'expected value'),
      value: next === null ? null : this.value(next, 'new value'),
    });
    return r.status === KvStatus.CasFailed ? { ok: false, current: r.current ?? undefined } : { ok: true };
  }

  /** Appends to the value (an absent key counts as empty); resolves with the new length in bytes. */
  async append(key: string, value: KvValue): Promise<number> {
    const r = await this.send({ op: KvOp.Append, key: this.key(key), value: this.value(value) });
    return (r as { length: number }).length;
  }

  /** Keys starting with `prefix` ('' for all), in UTF-8 byte order, at most `limit` of them. */
  async scan(prefix: string, options: KvScanOptions = {}): Promise<KvScanResult> {
    checkScanOptionNames(options);
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 0xffffffff) throw new RangeError(`scan limit must be a positive integer, got ${String(limit)}`);
    const r = await this.send({
      op: KvOp.Scan, key: this.key(prefix, 'prefix', true), limit,
      after: options.after === undefined ? null : this.key(options.after, 'after', true),
    }, true);
    const ok = r as { entries: { key: Uint8Array; value: Uint8Array }[]; more: boolean };
    return { entries: ok.entries.map((e) => ({ key: utf8Decoder.decode(e.key), value: e.value })), more: ok.more };
  }

  /** A read-only command goes to the reader when there is one, everything else through the log. */
  private async send(c: KvCommand, readOnly = false): Promise<KvResult> {
    const result = readOnly && this.reader ? await this.reader.read(encodeCommand(c)) : (await this.proposer.propose(encodeCommand(c))).result;
    if (!(result instanceof Uint8Array)) throw new KvError(KvErrorCode.Malformed, `the proposer returned no result for a ${KvOp[c.op]} (is the cluster running the key/value state machine with sessions?)`);
    let r: KvResult;
    try {
      r = decodeResult(c.op, result);
    } catch (e) {
      if (!(e instanceof KvFrameError)) throw e;
      throw new KvError(e.code, `key/value ${KvOp[c.op]}: the result is not one the key/value store gives (${e.message}); is the proposer a ClientSession (cluster.session()) of a cluster running KV_STATE_MACHINE with sessions: true?`);
    }
    if (r.status === KvStatus.Error) throw new KvError(r.code, `key/value ${KvOp[c.op]} refused: ${r.message}`);
    return r;
  }

  private key(key: unknown, what = 'key', emptyOk = false): Uint8Array {
    if (typeof key !== 'string') throw new TypeError(`${what} must be a string, got ${key === null ? 'null' : typeof key}`);
    if (!emptyOk && key === '') throw new RangeError(`${what} must not be empty`);
    checkWellFormed(key, what);
    const b = utf8.encode(key);
    if (b.length > this.limits.maxKeyBytes) throw new RangeError(`${what} of ${b.length} bytes (UTF-8) exceeds the limit of ${this.limits.maxKeyBytes}`);
    return b;
  }

  private value(value: unknown, what = 'value'): Uint8Array {
    let b: Uint8Array;
    if (typeof value === 'string') { checkWellFormed(value, what); b = utf8.encode(value); }
    else if (value instanceof Uint8Array) b = value;
    else throw new TypeError(`${what} must be a Uint8Array or a string, got ${value === null ? 'null' : typeof value}`);
    if (b.length > this.limits.maxValueBytes) throw new RangeError(`${what} of ${b.length} bytes exceeds the limit of ${this.limits.maxValueBytes}`);
    return b;
  }
}
