/**
 * Watches who leads during a run (each peer's getState, a few times a second), so that a
 * report can say when an election happened: under saturation on a small machine a leader can
 * miss its heartbeats, and an election explains a hole in the throughput timeline. The same
 * probe (worker peers or peer processes) finds the leader a run starts with.
 */
import type { Cluster } from '../src/index.js';
import type { RemoteClient } from '../src/process/remote-client.js';

/** What the monitor asks each peer: does it lead, in which term (null: no answer). */
export interface LeaderProbe {
  size: number;
  state(i: number): Promise<{ isLeader: boolean; term: number } | null>;
}

export function clusterProbe(cluster: Cluster): LeaderProbe {
  return { size: cluster.size, state: (i) => cluster.peer(i).getState().catch(() => null) };
}

/** The probe over peer processes: each one's status through the RemoteClient. */
export function remoteProbe(client: RemoteClient, size: number): LeaderProbe {
  return {
    size,
    state: async (i) => {
      const s = await client.status(i);
      return s ? { isLeader: s.leaderId === i, term: s.term } : null;
    },
  };
}

/** The peer that says it leads (the highest term wins if two do); polls until `timeoutMs`. */
export async function findLeader(probe: LeaderProbe, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const states = await Promise.all(Array.from({ length: probe.size }, (_, i) => probe.state(i)));
    let best = -1;
    states.forEach((s, i) => { if (s?.isLeader && (best < 0 || s.term > states[best]!.term)) best = i; });
    if (best >= 0) return best;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no leader elected within ${timeoutMs} ms`);
}

export interface LeaderChange {
  /** Seconds since the monitor started (negative: before the measured window, see `shift`). */
  atSec: number;
  /** -1: nobody said it leads. */
  leader: number;
  term: number;
}

export class LeaderMonitor {
  readonly changes: LeaderChange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private last: { leader: number; term: number } | null = null;
  private readonly t0 = performance.now();

  constructor(private readonly probe: LeaderProbe, private readonly periodMs = 250) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.periodMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.poll();
  }

  /** The changes, with times relative to `originMs` (a performance.now() reading). */
  relativeTo(originMs: number): LeaderChange[] {
    return this.changes.map((c) => ({ ...c, atSec: Math.round((c.atSec - (originMs - this.t0) / 1000) * 100) / 100 }));
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const states = await Promise.all(Array.from({ length: this.probe.size }, (_, i) => this.probe.state(i)));
      let leader = -1, term = 0;
      states.forEach((s, i) => {
        if (!s) return;
        if (s.term > term) term = s.term;
        if (s.isLeader && (leader < 0 || s.term > states[leader]!.term)) leader = i;
      });
      if (!this.last || this.last.leader !== leader || this.last.term !== term) {
        this.last = { leader, term };
        this.changes.push({ atSec: (performance.now() - this.t0) / 1000, leader, term });
      }
    } finally {
      this.polling = false;
    }
  }
}
