/**
 * Quorum arithmetic over a configuration that may be joint: a decision needs a majority of
 * `voters` and, while a change is under way, also of `outgoing` (Raft dissertation 4.3).
 * Built once per configuration so that the commit rule on the hot path allocates nothing.
 */
import type { Membership } from './membership.js';
import { majorityIndex } from './quorum.js';

class MajorityOf {
  private readonly values: Float64Array;
  private readonly scratch: Float64Array;

  constructor(readonly ids: readonly number[]) {
    this.values = new Float64Array(ids.length);
    this.scratch = new Float64Array(ids.length);
  }

  /** Highest index that a majority of the ids holds; Infinity for an empty set (no constraint). */
  index(matchOf: (id: number) => number): number {
    const n = this.ids.length;
    if (n === 0) return Infinity;
    for (let k = 0; k < n; k++) this.values[k] = matchOf(this.ids[k]);
    return majorityIndex(this.values, this.scratch);
  }

  /** Whether more than half of the ids pass `yes`; true for an empty set (no constraint). */
  has(yes: (id: number) => boolean): boolean {
    const n = this.ids.length;
    if (n === 0) return true;
    let count = 0;
    for (let k = 0; k < n; k++) if (yes(this.ids[k])) count++;
    return count > n / 2;
  }
}

export class JointQuorum {
  private readonly incoming: MajorityOf;
  private readonly outgoing: MajorityOf;

  constructor(m: Membership) {
    this.incoming = new MajorityOf(m.voters);
    this.outgoing = new MajorityOf(m.outgoing);
  }

  /** The highest index held by a majority of each half. */
  committedIndex(matchOf: (id: number) => number): number {
    return Math.min(this.incoming.index(matchOf), this.outgoing.index(matchOf));
  }

  /** Whether the peers that pass `yes` (granted votes, recent activity) form a majority of each half. */
  isQuorum(yes: (id: number) => boolean): boolean {
    return this.incoming.has(yes) && this.outgoing.has(yes);
  }
}
