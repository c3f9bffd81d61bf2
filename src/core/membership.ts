/**
 * Cluster membership: who votes, who only receives the log, and the rules for changing it
 * by joint consensus (Raft dissertation, chapter 4; etcd's "enter joint" / "leave joint").
 *
 * A configuration with an empty `outgoing` is simple: decisions need a majority of `voters`.
 * A joint configuration C_old,new keeps the old voters in `outgoing` and the new ones in
 * `voters`: elections and commitment then need a majority of each. Learners receive the log
 * and count toward nothing.
 */
export interface Membership {
  /** The voters of the configuration (C_new while a joint change is under way). */
  readonly voters: readonly number[];
  /** The voters of C_old while a joint change is under way; empty otherwise. */
  readonly outgoing: readonly number[];
  /** Peers that receive the log but do not vote. */
  readonly learners: readonly number[];
}

/** A change asked of the leader (RaftCore.proposeConfChange). Every list is optional. */
export interface ConfChange {
  /** New peers that join as voters. */
  addVoters?: readonly number[];
  /** Voters that leave the cluster. */
  removeVoters?: readonly number[];
  /** New peers that join as learners (they receive the log, they do not vote). */
  addLearners?: readonly number[];
  /** Learners that leave the cluster. */
  removeLearners?: readonly number[];
  /** Learners that become voters. */
  promoteLearners?: readonly number[];
}

/** Thrown when a membership change is refused; the message names the problem. */
export class ConfChangeError extends Error {
  constructor(what: string) {
    super(`membership change refused: ${what}`);
    this.name = 'ConfChangeError';
  }
}

export function simpleMembership(voters: readonly number[], learners: readonly number[] = []): Membership {
  return { voters: sorted(voters), outgoing: [], learners: sorted(learners) };
}

export function isJoint(m: Membership): boolean {
  return m.outgoing.length > 0;
}

/** A voter of either half of the configuration. */
export function isVoter(m: Membership, id: number): boolean {
  return m.voters.includes(id) || m.outgoing.includes(id);
}

export function isMember(m: Membership, id: number): boolean {
  return isVoter(m, id) || m.learners.includes(id);
}

/** Every peer of the configuration: voters of both halves and learners, ascending. */
export function membersOf(m: Membership): number[] {
  return sorted([...new Set([...m.voters, ...m.outgoing, ...m.learners])]);
}

export function sameMembership(a: Membership, b: Membership): boolean {
  return sameList(a.voters, b.voters) && sameList(a.outgoing, b.outgoing) && sameList(a.learners, b.learners);
}

export function describeMembership(m: Membership): string {
  const v = isJoint(m) ? `voters [${m.outgoing.join(',')}] -> [${m.voters.join(',')}] (joint)` : `voters [${m.voters.join(',')}]`;
  return m.learners.length > 0 ? `${v}, learners [${m.learners.join(',')}]` : v;
}

/**
 * The configuration that `change` leads to from the simple configuration `m`: a joint one
 * when the voters change, a simple one when only learners come or go (learners are in no
 * quorum, so no overlap of majorities is at stake). Throws ConfChangeError on bad input.
 */
export function enterChange(m: Membership, change: ConfChange): Membership {
  if (typeof change !== 'object' || change === null) throw new TypeError('a membership change must be an object { addVoters?, removeVoters?, addLearners?, removeLearners?, promoteLearners? }');
  const known = new Set(['addVoters', 'removeVoters', 'addLearners', 'removeLearners', 'promoteLearners']);
  for (const k of Object.keys(change)) if (!known.has(k)) throw new TypeError(`unknown membership change field ${k} (expected addVoters, removeVoters, addLearners, removeLearners or promoteLearners)`);
  if (isJoint(m)) throw new ConfChangeError(`a change is already in progress (${describeMembership(m)})`);
  const lists = {
    addVoters: idList(change.addVoters, 'addVoters'),
    removeVoters: idList(change.removeVoters, 'removeVoters'),
    addLearners: idList(change.addLearners, 'addLearners'),
    removeLearners: idList(change.removeLearners, 'removeLearners'),
    promoteLearners: idList(change.promoteLearners, 'promoteLearners'),
  };
  const seen = new Map<number, string>();
  for (const [field, ids] of Object.entries(lists)) {
    for (const id of ids) {
      const before = seen.get(id);
      if (before) throw new ConfChangeError(`peer ${id} appears in both ${before} and ${field}`);
      seen.set(id, field);
    }
  }
  if (seen.size === 0) throw new ConfChangeError('the change is empty');
  const role = (id: number): string => m.voters.includes(id) ? 'a voter' : m.learners.includes(id) ? 'a learner' : 'not a member';
  for (const id of [...lists.addVoters, ...lists.addLearners]) {
    if (isMember(m, id)) throw new ConfChangeError(`peer ${id} is already ${role(id)}`);
  }
  for (const id of lists.removeVoters) {
    if (!m.voters.includes(id)) throw new ConfChangeError(`cannot remove voter ${id}: it is ${role(id)}${m.learners.includes(id) ? ' (use removeLearners)' : ' (unknown id)'}`);
  }
  for (const id of [...lists.removeLearners, ...lists.promoteLearners]) {
    if (!m.learners.includes(id)) throw new ConfChangeError(`peer ${id} is not a learner: it is ${role(id)}${isMember(m, id) ? '' : ' (unknown id)'}`);
  }
  const voters = [...m.voters.filter((id) => !lists.removeVoters.includes(id)), ...lists.addVoters, ...lists.promoteLearners];
  if (voters.length === 0) throw new ConfChangeError(`the change would remove the last voter${m.voters.length === 1 ? ` (${m.voters[0]})` : 's'}`);
  const learners = [...m.learners.filter((id) => !lists.removeLearners.includes(id) && !lists.promoteLearners.includes(id)), ...lists.addLearners];
  const next = simpleMembership(voters, learners);
  if (sameList(next.voters, m.voters)) return next;
  return { voters: next.voters, outgoing: m.voters, learners: next.learners };
}

/** C_new: the simple configuration a joint one leads to. */
export function leaveJoint(m: Membership): Membership {
  return { voters: m.voters, outgoing: [], learners: m.learners };
}

function idList(v: readonly number[] | undefined, field: string): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new TypeError(`membership change field ${field} must be an array of peer ids`);
  for (const id of v) if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`membership change field ${field}: ${id} is not a peer id (an integer in [0, 2^32))`);
  if (new Set(v).size !== v.length) throw new ConfChangeError(`${field} lists a peer twice`);
  return [...v];
}

function sorted(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}
