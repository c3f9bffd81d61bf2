/**
 * The nemesis: a seeded schedule of faults, and the driver that injects them into a cluster.
 *
 * The schedule is a pure function of (seed, seconds, peers): the same seed gives the same
 * faults in the same order at the same offsets. Which peer "the leader" is gets decided when
 * the fault fires, so on real workers (whose timing varies) the victim may differ between runs.
 * One fault is active at a time and every fault is healed before the next, so a majority can
 * always make progress between faults.
 */
import { Prng } from '../sim/prng.js';

export type FaultKind = 'partition-leader' | 'partition-minority' | 'crash-restart' | 'unreliable' | 'long-reordering';

export interface Fault {
  kind: FaultKind;
  /** Offset from the start of the run, in ms. */
  atMs: number;
  /** How long it lasts before it is healed, in ms. */
  durationMs: number;
  /** partition-minority: the peers cut off; crash-restart: the peer, or 'leader'. */
  peers: number[] | 'leader';
}

/** What the nemesis needs from a cluster (Cluster fits). */
export interface FaultTarget {
  readonly size: number;
  disconnect(i: number): void;
  connect(i: number): void;
  setUnreliable(on: boolean): void;
  setLongReordering(on: boolean): void;
  crash(i: number): Promise<void>;
  restart(i: number): Promise<unknown>;
  isAlive(i: number): boolean;
  waitForLeader(opts?: { timeoutMs?: number }): Promise<{ leader: number }>;
}

export const FAULT_KINDS: readonly FaultKind[] = ['partition-leader', 'partition-minority', 'crash-restart', 'unreliable', 'long-reordering'];

/** The faults of a run, drawn from `kinds`: alternating fault and quiet periods until `seconds` is over. */
export function nemesisSchedule(seed: number, seconds: number, peers: number, kinds: readonly FaultKind[] = FAULT_KINDS): Fault[] {
  if (kinds.length === 0) throw new RangeError('nemesisSchedule needs at least one kind of fault');
  const rng = new Prng(seed ^ 0x6e656d65); // its own stream: the workload's draws do not shift it
  const out: Fault[] = [];
  const endMs = seconds * 1000;
  let t = rng.range(200, 600);
  while (t < endMs) {
    const kind = rng.pick(kinds);
    const durationMs = Math.min(rng.range(400, 2000), Math.max(100, endMs - t));
    let victims: Fault['peers'] = [];
    if (kind === 'partition-minority') {
      const n = rng.range(1, Math.floor((peers - 1) / 2));
      const all = Array.from({ length: peers }, (_, i) => i);
      victims = [];
      for (let k = 0; k < n; k++) victims.push(all.splice(rng.int(all.length), 1)[0]);
      victims.sort((a, b) => a - b);
    } else if (kind === 'crash-restart') {
      victims = rng.chance(0.4) ? 'leader' : [rng.int(peers)];
    } else if (kind === 'partition-leader') {
      victims = 'leader';
    }
    out.push({ kind, atMs: t, durationMs, peers: victims });
    t += durationMs + rng.range(300, 1200);
  }
  return out;
}

export function describeFault(f: Fault, resolved?: number[]): string {
  const who = resolved ? `peer${resolved.length === 1 ? '' : 's'} ${resolved.join(',')}` : f.peers === 'leader' ? 'the leader' : `peers ${f.peers.join(',')}`;
  const what = f.kind === 'unreliable' || f.kind === 'long-reordering' ? f.kind : `${f.kind} (${who})`;
  return `${(f.atMs / 1000).toFixed(1)}s ${what} for ${f.durationMs} ms`;
}

/** Runs a schedule against a cluster; stop() cuts it short and heal() undoes whatever is left. */
export class Nemesis {
  private stopped = false;
  private wake: (() => void) | null = null;
  /** What was injected, in order, with the peers it hit. */
  readonly log: string[] = [];

  constructor(private readonly target: FaultTarget, private readonly schedule: readonly Fault[], private readonly onEvent: (line: string) => void = () => {}) {}

  /** Resolves once the schedule is done or stop() was called; the cluster is healed either way. */
  async run(startedAt: number): Promise<void> {
    for (const f of this.schedule) {
      if (!(await this.sleepUntil(startedAt + f.atMs))) break;
      const hit = await this.inject(f);
      const line = describeFault(f, hit);
      this.log.push(line);
      this.onEvent(line);
      await this.sleepUntil(startedAt + f.atMs + f.durationMs);
      await this.heal();
    }
    await this.heal();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Reconnects every peer, turns the network faults off and restarts every crashed peer. */
  async heal(): Promise<void> {
    const t = this.target;
    t.setUnreliable(false);
    t.setLongReordering(false);
    for (let i = 0; i < t.size; i++) t.connect(i);
    for (let i = 0; i < t.size; i++) if (!t.isAlive(i)) await t.restart(i);
  }

  private async inject(f: Fault): Promise<number[]> {
    const t = this.target;
    const victims = f.peers === 'leader' ? [await this.leader()] : f.peers;
    if (victims.includes(-1)) return [];
    switch (f.kind) {
      case 'partition-leader': case 'partition-minority': for (const i of victims) t.disconnect(i); break;
      case 'crash-restart': for (const i of victims) await t.crash(i); break;
      case 'unreliable': t.setUnreliable(true); break;
      case 'long-reordering': t.setLongReordering(true); break;
    }
    return victims;
  }

  /** The current leader, or -1 when none is found soon (the fault is then skipped). */
  private async leader(): Promise<number> {
    try { return (await this.target.waitForLeader({ timeoutMs: 2000 })).leader; } catch { return -1; }
  }

  /** False if stopped before `at`. */
  private sleepUntil(at: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const ms = at - performance.now();
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = null; resolve(!this.stopped); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = null; resolve(false); };
    });
  }
}
