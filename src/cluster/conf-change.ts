import { ConfChange, ConfChangeError } from '../core/membership.js';
import type { Remote } from './comlink.js';
import type { ConfChangeOutcome, MembershipReport, MembershipView, WorkerApi } from './protocol.js';

/**
 * The main thread's side of a membership change on the worker cluster: find the leader,
 * propose the change to it, and poll the peers until the configuration it leads to has
 * committed (or a learner has caught up). The rules themselves are the core's
 * (core/membership.ts); this only drives them and waits.
 */
export interface ConfChangeHost {
  /** The running peers' workers. */
  running(): Array<{ id: number; remote: Remote<WorkerApi>; down: Promise<never> }>;
  /** Throws once the cluster is stopped. */
  checkRunning(what: string): void;
  /** How long to wait between polls. */
  readonly pollMs: number;
}

export type PeerReport = MembershipReport & { id: number };

/** Every running peer's view of the configuration (peers that fail to answer are left out). */
export async function reports(host: ConfChangeHost): Promise<PeerReport[]> {
  const all = await Promise.all(host.running().map(async (p) => {
    try {
      const r = await Promise.race([p.remote.membership() as Promise<MembershipReport>, p.down]);
      return { ...r, id: p.id };
    } catch {
      return null; // crashed or stopped meanwhile
    }
  }));
  return all.filter((r): r is PeerReport => r !== null);
}

/** The configuration as the leader sees it (or, with no leader, the peer with the longest log). */
export async function currentMembership(host: ConfChangeHost, what: string, deadline: number): Promise<PeerReport> {
  for (;;) {
    host.checkRunning(what);
    const rs = await reports(host);
    const leader = rs.find((r) => r.isLeader);
    if (leader) return leader;
    if (Date.now() >= deadline) {
      if (rs.length === 0) throw new Error(`${what} failed: no peer is running`);
      return rs.reduce((a, b) => (b.lastIndex > a.lastIndex ? b : a));
    }
    await sleep(host.pollMs);
  }
}

/**
 * Proposes `change` to the leader, following leadership changes and waiting out a change that
 * a new leader is still finishing (a joint configuration it inherited), until `deadline`.
 * Resolves with the configuration the change leads to; refusals of the change itself reject
 * with the core's error class (ConfChangeError, RangeError, TypeError).
 */
export async function proposeChange(host: ConfChangeHost, change: ConfChange, what: string, deadline: number): Promise<MembershipView> {
  let last = 'no leader';
  for (;;) {
    host.checkRunning(what);
    const leader = (await reports(host)).find((r) => r.isLeader);
    if (leader) {
      const p = host.running().find((x) => x.id === leader.id);
      let out: ConfChangeOutcome | null = null;
      try {
        if (p) out = await Promise.race([p.remote.proposeConfChange(change) as Promise<ConfChangeOutcome>, p.down]);
      } catch {
        out = null; // the leader crashed meanwhile
      }
      if (out?.ok && out.isLeader && out.target) return out.target;
      if (out && !out.ok) {
        const inProgress = out.error === 'ConfChangeError' && /already in progress/.test(out.message);
        if (!inProgress) throw errorOf(out.error, out.message);
        last = out.message;
      } else {
        last = `peer ${leader.id} stopped leading`;
      }
    }
    if (Date.now() >= deadline) throw new Error(`${what} failed: the change was not accepted by a leader in time (last: ${last})`);
    await sleep(host.pollMs);
  }
}

/** Waits until some peer knows that `target` (a simple configuration) is in force and committed. */
export async function waitCommitted(host: ConfChangeHost, target: MembershipView, what: string, deadline: number): Promise<void> {
  let rs: PeerReport[] = [];
  for (;;) {
    host.checkRunning(what);
    rs = await reports(host);
    if (rs.some((r) => r.outgoing.length === 0 && r.index <= r.commitIndex && same(r.voters, target.voters) && same(r.learners, target.learners))) return;
    if (Date.now() >= deadline) break;
    await sleep(host.pollMs);
  }
  const said = rs.map((r) => `peer ${r.id}: ${describe(r)} at ${r.index}, commit ${r.commitIndex}`).join('; ');
  throw new Error(`${what} failed: voters [${target.voters.join(',')}], learners [${target.learners.join(',')}] did not commit in time (${said || 'no peer running'})`);
}

/**
 * Waits until learner `id` has applied what the leader had committed at the previous poll: it
 * keeps up with the stream of commits, so promoting it will not stall the commit of new entries.
 */
export async function waitCaughtUp(host: ConfChangeHost, id: number, what: string, deadline: number): Promise<void> {
  let target = -1;
  let learner: PeerReport | undefined;
  for (;;) {
    host.checkRunning(what);
    const rs = await reports(host);
    learner = rs.find((r) => r.id === id);
    const leader = rs.find((r) => r.isLeader);
    if (!learner) throw new Error(`${what} failed: peer ${id} is down`);
    if (target >= 0 && learner.appliedIndex >= target) return;
    if (leader) target = leader.commitIndex;
    if (Date.now() >= deadline) break;
    await sleep(host.pollMs);
  }
  throw new Error(`${what} failed: peer ${id} did not catch up in time (it applied ${learner?.appliedIndex}, the leader had committed ${target})`);
}

function errorOf(name: string, message: string): Error {
  switch (name) {
    case 'ConfChangeError': { const e = new ConfChangeError(''); e.message = message; return e; }
    case 'RangeError': return new RangeError(message);
    case 'TypeError': return new TypeError(message);
    default: return new Error(message);
  }
}

function describe(m: MembershipView): string {
  const v = m.outgoing.length > 0 ? `voters [${m.outgoing.join(',')}] -> [${m.voters.join(',')}] (joint)` : `voters [${m.voters.join(',')}]`;
  return m.learners.length > 0 ? `${v}, learners [${m.learners.join(',')}]` : v;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && [...a].sort((x, y) => x - y).every((v, k) => v === [...b].sort((x, y) => x - y)[k]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
