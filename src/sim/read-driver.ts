import type { ReadError, ReadListener } from '../node/read-tracker.js';
import { SafetyViolation } from './checker.js';
import type { Prng } from './prng.js';
import type { Simulation } from './simulation.js';

/** How the simulation's clients read: from leaders (ReadIndex or lease, as the core is set up) or from any peer. */
export type SimReadMode = 'index' | 'lease' | 'follower';

/** What the simulation's state machine answers to every query: the index it has applied. */
export function encodeApplied(applied: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, applied, true);
  return out;
}

function decodeApplied(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(0, true);
}

interface PendingRead {
  peer: number;
  /** The highest index known committed when the read was issued: the read must see it. */
  committedAtStart: number;
  issuedAt: number;
}

/**
 * Issues reads during a run and checks each answer for linearizability. The state machine's
 * answer is its applied index r, so a read is linearizable iff r covers every write committed
 * before the read was issued (r >= committed index at its start) and nothing not yet committed
 * when it returned (r <= committed index at its end). A stale leader's read fails the first.
 */
export class SimReads {
  readonly stats = { issued: 0, served: 0, failed: 0, leaderLost: 0, stopped: 0, queryFailed: 0 };
  private nextTag = 1;
  private readonly pending = new Map<number, PendingRead>();

  constructor(private readonly sim: Simulation, private readonly rng: Prng, readonly mode: SimReadMode, private readonly rate: number) {
    sim.onRead = (peer) => this.listener(peer);
  }

  /** Called on each driver tick: maybe issue a few reads. */
  tick(): void {
    if (!this.rng.chance(this.rate)) return;
    const up = this.sim.peers.filter((p) => p.up);
    if (up.length === 0) return;
    const leaders = this.sim.leaders();
    const n = this.rng.range(1, 3);
    for (let k = 0; k < n; k++) {
      // Leaders (stale ones included: those are the interesting ones) or, for follower reads, anyone.
      const p = this.mode !== 'follower' && leaders.length > 0 && this.rng.chance(0.9) ? this.rng.pick(leaders) : this.rng.pick(up);
      this.issue(p.id);
    }
  }

  /** Issues one read to peer `id` (which must be up) now. */
  issue(id: number): void {
    const tag = this.nextTag++;
    this.pending.set(tag, { peer: id, committedAtStart: this.sim.checker.committedIndex, issuedAt: this.sim.now });
    this.stats.issued++;
    // As the worker's read link does: queued, then asked for (a leader's lease may serve it at once).
    const node = this.sim.peer(id).node!;
    node.queueRead(new Uint8Array(0), tag);
    node.submitQueuedReads();
  }

  /** Reads issued and not answered yet. */
  get outstanding(): number {
    return this.pending.size;
  }

  private listener(peer: number): ReadListener {
    return (tag, ok, res) => {
      const r = this.pending.get(tag);
      if (!r) throw new SafetyViolation('read', `peer ${peer} answered read ${tag}, which is not outstanding (answered twice?)`);
      if (r.peer !== peer) throw new SafetyViolation('read', `peer ${peer} answered read ${tag}, issued to peer ${r.peer}`);
      this.pending.delete(tag);
      if (!ok) {
        this.stats.failed++;
        const e = res as ReadError;
        if (e.reason === 'leader-lost') this.stats.leaderLost++;
        else if (e.reason === 'stopped') this.stats.stopped++;
        else this.stats.queryFailed++;
        return;
      }
      this.stats.served++;
      const applied = decodeApplied(res as Uint8Array);
      const end = this.sim.checker.committedIndex;
      if (applied < r.committedAtStart) {
        throw new SafetyViolation('linearizable read',
          `peer ${peer} answered read ${tag} (issued at ${r.issuedAt} ms) from applied index ${applied}, but ${r.committedAtStart} was committed before it was issued: a stale read`);
      }
      if (applied > end) {
        throw new SafetyViolation('linearizable read', `peer ${peer} answered read ${tag} from applied index ${applied}, above the committed index ${end}`);
      }
    };
  }
}
