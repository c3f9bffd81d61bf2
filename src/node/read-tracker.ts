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

interface Waiting {
  tag: number;
  query: Uint8Array;
  /** Index the state machine must have applied; -1 until the core reports it. */
  index: number;
}

/**
 * The runtime's half of linearizable reads: gives each read an id for RaftCore.readIndex,
 * waits for its read state, then for the state machine to have applied that index, then runs
 * the query. Reads are served in the order their indexes are applied, never before.
 */
export class ReadTracker {
  private nextId = 1;
  private readonly byId = new Map<number, Waiting>();
  /** Reads whose index is known but not yet applied, in no particular order (few at a time). */
  private waitingApply: Waiting[] = [];

  constructor(
    private readonly peer: number,
    private readonly query: ((q: Uint8Array) => Uint8Array) | null,
    private readonly listener: ReadListener,
  ) {}

  get size(): number {
    return this.byId.size + this.waitingApply.length;
  }

  /** Starts a read under `tag` (default: its id, returned); the outcome reaches the listener later. */
  start(core: RaftCore, query: Uint8Array, tag?: number): number {
    if (!(query instanceof Uint8Array)) throw new TypeError(`a read query must be a Uint8Array, got ${query === null ? 'null' : typeof query}`);
    if (!this.query) throw new TypeError(`peer ${this.peer} cannot serve reads: its state machine has no query(query) method`);
    const id = this.nextId++;
    this.byId.set(id, { tag: tag ?? id, query, index: -1 });
    core.readIndex(id);
    return tag ?? id;
  }

  /** The core's report from one Ready; `applied` is the state machine's applied index after it. */
  reported(states: readonly ReadState[], failed: readonly number[], applied: number): void {
    for (const id of failed) {
      const w = this.byId.get(id);
      if (!w) continue;
      this.byId.delete(id);
      this.listener(w.tag, false, new ReadError('leader-lost', `read on peer ${this.peer} failed: the leader was lost or is unknown before the read was confirmed; retry`));
    }
    for (const s of states) {
      const w = this.byId.get(s.id);
      if (!w) continue;
      this.byId.delete(s.id);
      w.index = s.index;
      this.waitingApply.push(w);
    }
    this.appliedTo(applied);
  }

  /** The state machine has applied through `applied`: serve every read that waited for it. */
  appliedTo(applied: number): void {
    if (this.waitingApply.length === 0) return;
    const due: Waiting[] = [];
    const still: Waiting[] = [];
    for (const w of this.waitingApply) (w.index <= applied ? due : still).push(w);
    this.waitingApply = still; // before serving: a listener that throws must not see them again
    for (const w of due) this.serve(w);
  }

  /** The node stopped: every read not answered yet fails. */
  abandon(): void {
    const all = [...this.byId.values(), ...this.waitingApply];
    this.byId.clear();
    this.waitingApply = [];
    for (const w of all) this.listener(w.tag, false, new ReadError('stopped', `read on peer ${this.peer} failed: the peer stopped`));
  }

  private serve(w: Waiting): void {
    let result: Uint8Array;
    try {
      result = this.query!(w.query);
      if (!(result instanceof Uint8Array)) throw new TypeError(`query() returned ${typeof result}; a result must be a Uint8Array`);
    } catch (e) {
      this.listener(w.tag, false, new ReadError('query-failed', `the state machine of peer ${this.peer} refused the query: ${e instanceof Error ? e.message : String(e)}`, e));
      return;
    }
    this.listener(w.tag, true, result);
  }
}
