/**
 * What a chaos client calls: the key/value store's operations with the outputs the history
 * records. KvStore adapts a KvClient; the planted bugs (planted-bugs.ts) wrap one.
 */
import { KvClient } from '../kv/kv-client.js';

export type ScanOutput = { entries: [string, string][]; more: boolean };

export interface ChaosStore {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Whether it swapped, and the value found when it did not. */
  cas(key: string, expected: string | null, next: string | null): Promise<{ ok: boolean; current: string | null }>;
  append(key: string, value: string): Promise<number>;
  scan(prefix: string, limit: number): Promise<ScanOutput>;
}

const text = new TextDecoder();
const str = (b: Uint8Array | undefined) => (b === undefined ? null : text.decode(b));

export class KvStore implements ChaosStore {
  constructor(private readonly kv: KvClient) {}
  async get(key: string) { return str(await this.kv.get(key)); }
  put(key: string, value: string) { return this.kv.put(key, value); }
  delete(key: string) { return this.kv.delete(key); }
  async cas(key: string, expected: string | null, next: string | null) {
    const r = await this.kv.cas(key, expected, next);
    return r.ok ? { ok: true, current: next } : { ok: false, current: str(r.current) };
  }
  append(key: string, value: string) { return this.kv.append(key, value); }
  async scan(prefix: string, limit: number): Promise<ScanOutput> {
    const r = await this.kv.scan(prefix, { limit });
    return { entries: r.entries.map((e) => [e.key, text.decode(e.value)]), more: r.more };
  }
}
