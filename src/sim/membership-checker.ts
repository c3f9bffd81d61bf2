import type { Membership } from '../core/membership.js';
import { describeMembership, isJoint, isVoter } from '../core/membership.js';
import { SafetyViolation } from './checker.js';

/** What the membership checker reads of a live peer (RaftCore satisfies it). */
export interface MembershipView {
  readonly id: number;
  readonly term: number;
  readonly isLeader: boolean;
  readonly commitIndex: number;
  readonly stableIndex: number;
  readonly membership: Membership;
  /** Index of the latest membership entry, or the snapshot index when the configuration came from the snapshot. */
  readonly membershipIndex: number;
  readonly log: { readonly snapshotIndex: number };
  progressOf(id: number): { match: number } | undefined;
}

interface LeaderMirror {
  term: number;
  commit: number;
  membership: Membership;
  membershipIndex: number;
}

/**
 * The membership invariants of joint consensus, checked on every observation of a leader:
 * - every commit decision has a majority of each half of the configuration it was made in:
 *   when a leader's commit index moves to C, the peers whose match reaches C (the leader by
 *   its stable index) are a majority of its voters and, while it is joint, of its outgoing
 *   voters. Within one event a leader only ever leaves a joint configuration (whose new half
 *   it keeps), so the configuration seen after the event is a sound one to check against;
 *   and the decision that commits a joint entry itself was made in that joint configuration,
 *   so both halves must hold the joint entry even when the leader left it in the same event;
 * - a peer becomes leader only as a voter of its configuration, or of the one before while it
 *   does not know the latest committed (dissertation 4.2.2: it may hold the only log that can
 *   win); and never with a configuration older than the latest one seen committed. A peer that
 *   knows it was removed never leads; a re-added one may.
 * One-leader-per-term and committed entries surviving changes are the SafetyChecker's.
 */
export class MembershipChecker {
  private readonly leaders = new Map<number, LeaderMirror>();
  /** Highest index of a membership entry seen committed by a leader. */
  private committedMembershipIndex = 0;
  readonly counts = { commitDecisions: 0, jointCommitDecisions: 0, newLeaders: 0 };

  observe(v: MembershipView): void {
    if (!v.isLeader) { this.leaders.delete(v.id); return; }
    const before = this.leaders.get(v.id);
    if (!before || before.term !== v.term) {
      this.counts.newLeaders++;
      // A voter of C_old,new may win while it does not know that C_new, which removes it, committed.
      if (!isVoter(v.membership, v.id) && v.membershipIndex <= v.commitIndex) {
        throw new SafetyViolation('membership', `peer ${v.id} leads term ${v.term} but is not a voter of its configuration (${describeMembership(v.membership)}), committed at ${v.membershipIndex} as it knows`);
      }
      if (v.membershipIndex < this.committedMembershipIndex) {
        throw new SafetyViolation('membership', `peer ${v.id} leads term ${v.term} with the configuration of index ${v.membershipIndex}, older than the committed one at ${this.committedMembershipIndex}`);
      }
    } else if (v.commitIndex > before.commit) {
      this.checkDecision(v, v.commitIndex, v.membership, 'in force');
      const jointAt = before.membership === v.membership ? -1 : before.membershipIndex;
      if (isJoint(before.membership) && before.commit < jointAt && jointAt <= v.commitIndex) this.checkDecision(v, jointAt, before.membership, 'entered at that index');
    }
    // Recorded by entry index only: a snapshot index says where the configuration held, not where it was set.
    const fromEntry = v.membershipIndex > v.log.snapshotIndex;
    if (fromEntry && v.commitIndex >= v.membershipIndex && v.membershipIndex > this.committedMembershipIndex) this.committedMembershipIndex = v.membershipIndex;
    this.leaders.set(v.id, { term: v.term, commit: v.commitIndex, membership: v.membership, membershipIndex: v.membershipIndex });
  }

  private checkDecision(v: MembershipView, index: number, m: Membership, which: string): void {
    this.counts.commitDecisions++;
    if (isJoint(m)) this.counts.jointCommitDecisions++;
    const reached = (id: number): boolean => (id === v.id ? v.stableIndex : v.progressOf(id)?.match ?? 0) >= index;
    for (const [half, ids] of [['new', m.voters], ['old', m.outgoing]] as const) {
      if (ids.length === 0) continue;
      const holders = ids.filter(reached);
      if (holders.length <= ids.length / 2) {
        throw new SafetyViolation('joint quorum', `leader ${v.id} (term ${v.term}) committed ${index} held by [${holders.join(',')}] only, not a majority of the ${half} voters [${ids.join(',')}] (configuration ${which}: ${describeMembership(m)})`);
      }
    }
  }
}
