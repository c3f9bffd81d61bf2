/**
 * The store's map: byte-string keys kept in byte order, so a scan by prefix is a binary search
 * plus a walk, and a snapshot lists the keys in one deterministic order. Keys are held as
 * "binary strings" (one char per byte, 0..255): JavaScript compares those char by char, which
 * is exactly unsigned byte order, and a Map can hash them.
 */
export class OrderedMap {
  private readonly values = new Map<string, Uint8Array>();
  /** Every key of `values`, sorted. */
  private readonly sorted: string[] = [];

  get size(): number { return this.values.size; }

  get(key: string): Uint8Array | undefined { return this.values.get(key); }

  set(key: string, value: Uint8Array): void {
    if (!this.values.has(key)) this.sorted.splice(this.lowerBound(key), 0, key);
    this.values.set(key, value);
  }

  /** True if the key was there. */
  delete(key: string): boolean {
    if (!this.values.delete(key)) return false;
    this.sorted.splice(this.lowerBound(key), 1);
    return true;
  }

  clear(): void {
    this.values.clear();
    this.sorted.length = 0;
  }

  /**
   * Entries whose keys start with `prefix` (and are greater than `after`, when given), in key
   * order; the caller stops the walk when it has enough.
   */
  *range(prefix: string, after: string | null): Generator<[string, Uint8Array]> {
    const from = after !== null && after >= prefix ? this.upperBound(after) : this.lowerBound(prefix);
    for (let i = from; i < this.sorted.length; i++) {
      const k = this.sorted[i];
      if (!k.startsWith(prefix)) return;
      yield [k, this.values.get(k)!];
    }
  }

  /** All entries in key order. */
  *entries(): Generator<[string, Uint8Array]> {
    for (const k of this.sorted) yield [k, this.values.get(k)!];
  }

  /** First index whose key is >= key. */
  private lowerBound(key: string): number {
    let lo = 0, hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** First index whose key is > key. */
  private upperBound(key: string): number {
    let lo = 0, hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid] <= key) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
}

/** Key bytes to the map's binary-string form, and back. */
export const keyString = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
export const keyBytes = (key: string): Uint8Array => new Uint8Array(Buffer.from(key, 'latin1'));
