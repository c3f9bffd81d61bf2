/**
 * An in-process cluster of RaftCores for micro-benchmarks of the core's hot path: propose on the
 * leader, ready(), the messages stepped into the followers, their answers stepped back, advance,
 * until nothing is left to do. Persistence is instant (memory) and messages are the objects
 * themselves (no codec, no rings: bench:micro measures those separately), so what it costs is
 * the core alone: the Raft work per command, allocation included.
 */
import { RaftCore } from '../src/core/raft.js';
import type { Message } from '../src/core/message.js';

export class CoreCluster {
  readonly cores: RaftCore[];
  private readonly byId = new Map<number, RaftCore>();
  private readonly queue: Message[] = [];
  private applied = 0;

  constructor(peers: number) {
    const ids = Array.from({ length: peers }, (_, i) => i + 1);
    // peer 1 draws the shortest election timeout and wins; the others wait the longest
    this.cores = ids.map((id) => new RaftCore({ id, peers: ids, electionTicks: 10, heartbeatTicks: 2, random: () => (id === 1 ? 0 : 0.99), noopOnElection: false, maxUncommittedEntries: 1 << 20 }, null));
    for (const c of this.cores) this.byId.set(c.id, c);
    for (let t = 0; t < 100 && !this.leader.isLeader; t++) {
      for (const c of this.cores) c.tick();
      this.pump();
    }
    if (!this.leader.isLeader) throw new Error('core cluster: peer 1 was not elected');
  }

  get leader(): RaftCore { return this.cores[0]; }

  /** Entries applied on all peers together since the start. */
  get appliedEntries(): number { return this.applied; }

  /** Runs every core's ready/step loop until no core has anything to do. */
  pump(): void {
    for (;;) {
      let busy = false;
      for (const c of this.cores) {
        if (!c.hasReady()) continue;
        busy = true;
        const rd = c.ready();
        for (const m of rd.sendNow) this.queue.push(m);
        for (const m of rd.sendAfterPersist) this.queue.push(m); // persisted at once
        if (rd.committed) this.applied += rd.committed.count;
        c.advance(rd);
      }
      for (let k = 0; k < this.queue.length; k++) { const m = this.queue[k]; this.byId.get(m.to)!.step(m); }
      if (this.queue.length > 0) { busy = true; this.queue.length = 0; }
      if (!busy) return;
    }
  }

  /** Snapshots every core at its applied index once its log is long, so that memory stays bounded. */
  compactIfLong(maxEntries: number): void {
    for (const c of this.cores) if (c.appliedIndex - c.log.snapshotIndex > maxEntries) c.compact(c.appliedIndex, new Uint8Array(0));
  }
}
