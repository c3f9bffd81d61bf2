/**
 * Deliberate bugs, planted to show that the checks catch them (`--plant`, and the tests):
 * - stale-read: gets and scans are answered from a client-side cache that is refreshed only
 *   every 300 ms, as a careless cache in front of the store would;
 * - lost-write: one put in five is acknowledged without being sent.
 */
import type { ChaosStore, ScanOutput } from './store-handle.js';
import type { PlantedBug } from './options.js';

const CACHE_MS = 300;

class StaleReadCache implements ChaosStore {
  private readonly cache = new Map<string, { at: number; value: unknown }>();
  constructor(private readonly store: ChaosStore) {}
  get(key: string) { return this.cached(`get:${key}`, () => this.store.get(key)); }
  scan(prefix: string, limit: number) { return this.cached(`scan:${prefix}:${limit}`, () => this.store.scan(prefix, limit)) as Promise<ScanOutput>; }
  put(key: string, value: string) { return this.store.put(key, value); }
  delete(key: string) { return this.store.delete(key); }
  cas(key: string, expected: string | null, next: string | null) { return this.store.cas(key, expected, next); }
  append(key: string, value: string) { return this.store.append(key, value); }

  private async cached<T>(k: string, read: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(k);
    if (hit && performance.now() - hit.at < CACHE_MS) return hit.value as T;
    const value = await read();
    this.cache.set(k, { at: performance.now(), value });
    return value;
  }
}

class LostWrites implements ChaosStore {
  private puts = 0;
  constructor(private readonly store: ChaosStore) {}
  get(key: string) { return this.store.get(key); }
  scan(prefix: string, limit: number) { return this.store.scan(prefix, limit); }
  async put(key: string, value: string) { if (++this.puts % 5 === 0) return; return this.store.put(key, value); }
  delete(key: string) { return this.store.delete(key); }
  cas(key: string, expected: string | null, next: string | null) { return this.store.cas(key, expected, next); }
  append(key: string, value: string) { return this.store.append(key, value); }
}

export function plantBug(store: ChaosStore, bug: PlantedBug | null): ChaosStore {
  if (bug === 'stale-read') return new StaleReadCache(store);
  if (bug === 'lost-write') return new LostWrites(store);
  return store;
}
