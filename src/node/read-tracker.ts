import { describeValue } from '../core/option-spec.js';
import type { RaftCore } from '../core/raft.js';
import type { ReadState } from '../core/read-only.js';

/** Why a read was not answered. `retryable` reads may simply be sent again (to the leader). */
export class ReadError extends Error {
  constructor(readonly reason: 'leader-lost' | 'stopped' | 'query-failed', message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'ReadError';
  }

  /** The read was never served: sending it again (to the current leader) is safe. */
  get retryable(): boolean {
    return this.reason === 'leader-lost';
  }
}

/**
 * Hears the outcome of every read, exactly once: ok with the query's result, or not ok with a
 * ReadError (the query threw: reason 'query-failed', the state is unchanged; the leader was
 * lost or unknown: 'leader-lost', retry; the node stopped: 'stopped').
 */
export type ReadListener = (tag: number, ok: boolean, resultOrError: Uint8Array | ReadError) => void;

/**
 * Reads asked of the core together under one core read id: they share its read index (and
 * its heartbeat round). Parallel arrays, so a read costs two array slots, not an object.
 */
interface ReadGroup {
  tags: number[];
  queries: Uint8Array[];
  /** Index the state machine must have applied; -1 until the core reports it. */
  index: number;
}

/**
 * The runtime's half of linearizable reads: gives each group of reads an id for
 * RaftCore.readIndex, waits for its read state, then for the state machine to have applied
 * that index, then runs the queries. Reads are served in the order their indexes are applied,
 * never before.
 *
 * Reads may be queued (queue) and asked of the core together (submitQueued): every read of
 * the group arrived before the core took the group's read index, so that index is at least
 * the commit index each read would have got alone, and the group is as linearizable as its
 * reads one by one. A read must never join a group already asked of the core: writes may
 * have committed since that index was taken.
 */
export class ReadTracker {
  private nextId = 1;
  private nextTag = 1;
  /** Reads queued and not yet asked of the core. */
  private open: ReadGroup | null = null;
  /** Groups asked of the core, by core read id. */
  private readonly byId = new Map<number, ReadGroup>();
  /** Groups whose index is known but not yet applied, in no particular order (few at a time). */
  private waitingApply: ReadGroup[] = [];
  private count = 0;

  constructor(
    private readonly peer: number,
    private readonly query: ((q: Uint8Array) => Uint8Array) | null,
    private readonly listener: ReadListener,
  ) {}

  /** Reads not answered yet. */
  get size(): number {
    return this.count;
  }

  /** Starts a read under `tag` (default: a fresh number, returned) on its own; the outcome reaches the listener later. */
  start(core: RaftCore, query: Uint8Array, tag?: number): number {
    const t = this.queue(query, tag);
    this.submitQueued(core);
    return t;
  }

  /** Queues a read under `tag` (default: a fresh number, returned) for the next submitQueued. */
  queue(query: Uint8Array, tag?: number): number {
    if (!(query instanceof Uint8Array)) throw new TypeError(`a read query must be a Uint8Array, got ${query === null ? 'null' : typeof query}`);
    if (!this.query) throw new TypeError(`peer ${this.peer} cannot serve reads: its state machine has no query(query) method`);
    const t = tag ?? this.nextTag++;
    let g = this.open;
    if (g === null) g = this.open = { tags: [], queries: [], index: -1 };
    g.tags.push(t);
    g.queries.push(query);
    this.count++;
    return t;
  }

  /** Asks the core for one read index serving every queued read. */
  submitQueued(core: RaftCore): void {
    const g = this.open;
    if (g === null) return;
    this.open = null;
    const id = this.nextId++;
    this.byId.set(id, g);
    core.readIndex(id);
  }

  /**
   * Serves every queued read at `index` without asking the core: for a lease read the core
   * confirmed at once (RaftCore.leaseReadIndex). Served here if the state machine has applied
   * `index` (`applied`), else once it has (appliedTo).
   */
  submitQueuedAt(index: number, applied: number): void {
    const g = this.open;
    if (g === null) return;
    this.open = null;
    g.index = index;
    if (index <= applied) this.serve(g);
    else this.waitingApply.push(g);
  }

  /** The core's report from one Ready; `applied` is the state machine's applied index after it. */
  reported(states: readonly ReadState[], failed: readonly number[], applied: number): void {
    for (const id of failed) {
      const g = this.byId.get(id);
      if (!g) continue;
      this.byId.delete(id);
      this.count -= g.tags.length;
      for (const tag of g.tags) {
        this.listener(tag, false, new ReadError('leader-lost', `read on peer ${this.peer} failed: the leader was lost or is unknown before the read was confirmed; retry`));
      }
    }
    for (const s of states) {
      const g = this.byId.get(s.id);
      if (!g) continue;
      this.byId.delete(s.id);
      g.index = s.index;
      this.waitingApply.push(g);
    }
    this.appliedTo(applied);
  }

  /** The state machine has applied through `applied`: serve every read that waited for it. */
  appliedTo(applied: number): void {
    const waiting = this.waitingApply;
    if (waiting.length === 0) return;
    if (waiting.length === 1) {
      if (waiting[0].index > applied) return;
      this.waitingApply = [];
      this.serve(waiting[0]);
      return;
    }
    const due: ReadGroup[] = [];
    const still: ReadGroup[] = [];
    for (const g of waiting) (g.index <= applied ? due : still).push(g);
    this.waitingApply = still; // before serving: a listener that throws must not see them again
    for (const g of due) this.serve(g);
  }

  /** The node stopped: every read not answered yet fails. */
  abandon(): void {
    const all = [...this.byId.values(), ...this.waitingApply];
    if (this.open) all.push(this.open);
    this.open = null;
    this.byId.clear();
    this.waitingApply = [];
    this.count = 0;
    for (const g of all) {
      for (const tag of g.tags) this.listener(tag, false, new ReadError('stopped', `read on peer ${this.peer} failed: the peer stopped`));
    }
  }

  private serve(g: ReadGroup): void {
    const { tags, queries } = g;
    this.count -= tags.length;
    const query = this.query!;
    for (let i = 0; i < tags.length; i++) {
      let result: Uint8Array;
      try {
        result = query(queries[i]);
        if (!(result instanceof Uint8Array)) throw new TypeError(`query() returned ${describeValue(result)}; a result must be a Uint8Array (query() runs synchronously)`);
      } catch (e) {
        this.listener(tags[i], false, new ReadError('query-failed', `the state machine of peer ${this.peer} refused the query: ${e instanceof Error ? e.message : String(e)}`, e));
        continue;
      }
      this.listener(tags[i], true, result);
    }
  }
}
