import { EntryBatch, batchCommand } from '../core/entry-batch.js';
import type { Message } from '../core/message.js';
import { RaftCore } from '../core/raft.js';
import { PersistedState, ProposeResult, Snapshot } from '../core/types.js';
import { seededRandom } from '../core/random.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { RaftStorage } from '../storage/storage.js';
import { SnapshotPolicy, TimingOptions, checkNodeOptions, coreOptionsOf, resolveTiming } from './options.js';

/** How a node's messages reach other peers. Called once per step with everything to send. */
export interface Transport {
  send(messages: Message[]): void;
}

/** The application's replicated state. Called in log order, each committed entry exactly once. */
export interface StateMachine {
  apply(command: Uint8Array, index: number, term: number): void;
  /** Serializes the whole state (needed for snapshots). */
  snapshot?(): Uint8Array;
  /** Replaces the whole state with a snapshot (after a restart or an InstallSnapshot). */
  restore?(snapshot: Uint8Array, index: number, term: number): void;
}

export interface RaftNodeOptions extends TimingOptions {
  id: number;
  peers: number[];
  transport: Transport;
  storage?: RaftStorage;
  stateMachine?: StateMachine;
  /** Called with each run of committed entries, in order (in addition to stateMachine.apply). */
  onApply?: (entries: EntryBatch) => void;
  /** Called when a snapshot replaces the state (in addition to stateMachine.restore). */
  onRestore?: (snapshot: Snapshot) => void;
  /** Automatic snapshots; needs stateMachine.snapshot. */
  snapshotPolicy?: SnapshotPolicy;
  /** Seed of the election-timeout randomness. */
  seed?: number;
  /** A storage error stops the node (fail-stop); this hears about it. Default: rethrow. */
  onFatal?: (err: unknown) => void;
}

/**
 * Runs one RaftCore with a real clock, a storage and a transport in the current thread.
 * Inputs (ticks, messages, proposals) are stepped into the core at once; their output is
 * processed in one flush per turn of the event loop, so everything queued meanwhile is
 * batched together (no waiting to fill a batch).
 */
export class RaftNode {
  readonly core: RaftCore;
  private readonly timer: NodeJS.Timeout;
  private flushScheduled = false;
  private flushing = false;
  private stopped = false;
  private readonly flushBound = () => void this.flush();

  private constructor(private readonly opts: RaftNodeOptions, private readonly storage: RaftStorage, persisted: PersistedState) {
    const t = resolveTiming(opts);
    this.core = new RaftCore({
      id: opts.id, peers: opts.peers, electionTicks: t.electionTicks, heartbeatTicks: t.heartbeatTicks,
      random: seededRandom(opts.seed ?? (opts.id + 1) * 7919 + Date.now()),
      ...coreOptionsOf(opts),
    }, persisted);
    if (persisted.snapshot) this.restore(persisted.snapshot);
    this.timer = setInterval(() => this.tick(), t.tickMs);
  }

  /** Loads the storage and starts the clock. */
  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    checkNodeOptions(opts);
    const storage = opts.storage ?? new MemoryStorage();
    const persisted = await storage.load();
    return new RaftNode(opts, storage, persisted);
  }

  get id(): number { return this.core.id; }

  /** Appends a command if this node leads; resolves nothing about its commit. */
  propose(command: Uint8Array): ProposeResult {
    if (this.stopped) throw new Error(`raft node ${this.core.id} is stopped`);
    const r = this.core.propose(command);
    if (r.isLeader) this.scheduleFlush();
    return r;
  }

  receive(m: Message): void {
    if (this.stopped) return;
    this.core.step(m);
    this.scheduleFlush();
  }

  /** The state machine holds everything through `index` in `data`; compact the log. */
  snapshot(index: number, data: Uint8Array): void {
    this.core.compact(index, data);
    this.scheduleFlush();
  }

  getState(): { term: number; isLeader: boolean } {
    return { term: this.core.term, isLeader: this.core.isLeader };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.storage.close();
  }

  private tick(): void {
    if (this.stopped) return;
    this.core.tick();
    if (this.core.hasReady()) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.flushing || this.stopped) return;
    this.flushing = true;
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        if (rd.sendNow.length > 0) this.opts.transport.send(rd.sendNow);
        if (rd.hardState || rd.snapshot || rd.entries) {
          const p = this.storage.save(rd.hardState, rd.snapshot, rd.entries);
          if (p) await p;
        }
        if (this.stopped) return;
        if (rd.sendAfterPersist.length > 0) this.opts.transport.send(rd.sendAfterPersist);
        if (rd.applySnapshot) this.restore(rd.applySnapshot);
        if (rd.committed && rd.committed.count > 0) this.apply(rd.committed);
        this.core.advance(rd);
        this.maybeSnapshot();
      }
    } catch (err) {
      // Storage failed (or we were fenced off): stop rather than run on with a lying disk.
      void this.stop();
      if (this.opts.onFatal) this.opts.onFatal(err); else throw err;
    } finally {
      this.flushing = false;
    }
  }

  private apply(b: EntryBatch): void {
    const sm = this.opts.stateMachine;
    if (sm) {
      const skipEmpty = this.core.cfg.noopOnElection; // empty entries are the leaders' no-ops
      for (let k = 0; k < b.count; k++) {
        const c = batchCommand(b, k);
        if (c.byteLength === 0 && skipEmpty) continue;
        sm.apply(c, b.firstIndex + k, b.terms[k]);
      }
    }
    this.opts.onApply?.(b);
  }

  private restore(s: Snapshot): void {
    this.opts.stateMachine?.restore?.(s.data, s.index, s.term);
    this.opts.onRestore?.(s);
  }

  private maybeSnapshot(): void {
    const p = this.opts.snapshotPolicy;
    const sm = this.opts.stateMachine;
    if (!p || !sm?.snapshot) return;
    const log = this.core.log;
    const applied = this.core.appliedIndex;
    if (applied <= log.snapshotIndex) return;
    const entriesSince = applied - log.snapshotIndex;
    if ((p.entries !== undefined && entriesSince >= p.entries) || (p.bytes !== undefined && log.bytes >= p.bytes)) {
      this.core.compact(applied, sm.snapshot());
    }
  }
}
