/**
 * The replicated key/value store's state machine. Commands and results use kv-codec.ts's
 * binary format. A malformed or oversized command, or an unknown op code, is answered with an
 * Error result and changes nothing: apply() never throws, because a throwing apply stops the
 * peer. query() serves get and scan (the same encoding as those commands) for the read path.
 */
import type { StateMachine } from '../node/raft-node.js';
import {
  DEFAULT_LIMITS, KvErrorCode, KvFrameError, KvOp, decodeCommand, encodeCasFailed, encodeError, encodeLength,
  encodeNotFound, encodeOk, encodeScan, encodeValue, scanEntryBytes, type KvCommand, type KvEntry, type KvLimits,
} from './kv-codec.js';
import { decodeSnapshot, encodeSnapshot } from './kv-snapshot.js';
import { OrderedMap, keyBytes, keyString } from './ordered-map.js';

export type KvStateMachineOptions = Partial<KvLimits>;

export class KvStateMachine implements StateMachine {
  private readonly map = new OrderedMap();
  private readonly limits: KvLimits;

  constructor(options: KvStateMachineOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options };
    for (const k of ['maxKeyBytes', 'maxValueBytes', 'maxScanResultBytes'] as const) {
      const v = this.limits[k];
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`option ${k} must be a positive integer, got ${String(v)}`);
    }
    if (this.limits.maxKeyBytes > 0xffff) throw new RangeError(`option maxKeyBytes must be at most 65535 (keys carry a u16 length), got ${this.limits.maxKeyBytes}`);
  }

  /** Number of keys stored. */
  get size(): number { return this.map.size; }

  /** The log index and term are not needed: the result depends on the command and the state alone. */
  apply(command: Uint8Array, _index?: number, _term?: number): Uint8Array {
    return this.run(command, false);
  }

  /** Runs a get or a scan without going through the log; anything else is an Error result. */
  query(query: Uint8Array): Uint8Array {
    return this.run(query, true);
  }

  snapshot(): Uint8Array {
    const entries = this.map.entries();
    return encodeSnapshot(this.map.size, (function* () { for (const [k, v] of entries) yield [keyBytes(k), v] as [Uint8Array, Uint8Array]; })());
  }

  /** Replaces the whole state; a corrupt snapshot throws KvSnapshotError and leaves the state as it was. */
  restore(snapshot: Uint8Array, _index?: number, _term?: number): void {
    const entries = decodeSnapshot(snapshot, this.limits);
    this.map.clear();
    for (const [k, v] of entries) this.map.set(keyString(k), v);
  }

  private run(bytes: Uint8Array, readOnly: boolean): Uint8Array {
    try {
      if (!(bytes instanceof Uint8Array)) return encodeError(KvErrorCode.Malformed, `a key/value command must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
      const c = decodeCommand(bytes, this.limits);
      if (readOnly && c.op !== KvOp.Get && c.op !== KvOp.Scan) return encodeError(KvErrorCode.NotAQuery, `op ${KvOp[c.op]} changes the state and cannot be a query (only Get and Scan can)`);
      return this.execute(c);
    } catch (e) {
      if (e instanceof KvFrameError) return encodeError(e.code, e.message);
      // A bug here must not stop the peer; every peer hits it identically, so the state stays in agreement.
      return encodeError(KvErrorCode.Internal, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private execute(c: KvCommand): Uint8Array {
    const key = keyString(c.key);
    switch (c.op) {
      case KvOp.Get: {
        const v = this.map.get(key);
        return v ? encodeValue(v) : encodeNotFound();
      }
      case KvOp.Put:
        this.map.set(key, c.value);
        return encodeOk();
      case KvOp.Delete:
        return this.map.delete(key) ? encodeOk() : encodeNotFound();
      case KvOp.Cas: {
        const current = this.map.get(key);
        if (!sameValue(current, c.expected)) return encodeCasFailed(current);
        if (c.value) this.map.set(key, c.value); else this.map.delete(key);
        return encodeOk();
      }
      case KvOp.Append: {
        const current = this.map.get(key);
        const length = (current?.length ?? 0) + c.value.length;
        if (length > this.limits.maxValueBytes) {
          return encodeError(KvErrorCode.ValueTooLarge, `append would grow the value to ${length} bytes, over the limit of ${this.limits.maxValueBytes}`);
        }
        const next = new Uint8Array(length);
        if (current) next.set(current);
        next.set(c.value, current?.length ?? 0);
        this.map.set(key, next);
        return encodeLength(length);
      }
      case KvOp.Scan: {
        const entries: KvEntry[] = [];
        let bytes = 6;
        let more = false;
        for (const [k, v] of this.map.range(key, c.after ? keyString(c.after) : null)) {
          const kb = keyBytes(k);
          const size = scanEntryBytes(kb, v);
          if (entries.length === c.limit || (entries.length > 0 && bytes + size > this.limits.maxScanResultBytes)) { more = true; break; }
          entries.push({ key: kb, value: v });
          bytes += size;
        }
        return encodeScan(entries, more);
      }
    }
  }
}

function sameValue(current: Uint8Array | undefined, expected: Uint8Array | null): boolean {
  if (!current || !expected) return !current && !expected;
  if (current.length !== expected.length) return false;
  for (let i = 0; i < current.length; i++) if (current[i] !== expected[i]) return false;
  return true;
}
