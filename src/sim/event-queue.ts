/**
 * A min-heap of timed items ordered by (time, insertion sequence). The sequence number breaks
 * ties in insertion order, so two events due at the same virtual millisecond always run in the
 * same order and a seed replays exactly.
 */
export interface Timed {
  at: number;
  seq: number;
}

export class EventQueue<T extends Timed> {
  private heap: T[] = [];
  private seqNext = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Stamps `item.seq` and inserts it. */
  push(item: T): void {
    item.seq = this.seqNext++;
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  /** Items in no particular order (for inspection, e.g. counting what is in flight). */
  items(): readonly T[] {
    return this.heap;
  }
}

function before(x: Timed, y: Timed): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
