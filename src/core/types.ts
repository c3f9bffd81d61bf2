/** The core's data types and errors: what storage, runtimes and tests share with RaftCore. */
import type { EntryBatch } from './entry-batch.js';
import type { Membership } from './membership.js';
import type { Message } from './message.js';
import type { ReadState } from './read-only.js';

export type { ReadState } from './read-only.js';

export enum Role { Follower = 0, Candidate = 1, Leader = 2 }

export const NO_VOTE = -1;

export interface HardState {
  term: number;
  /** The peer voted for in `term`, or NO_VOTE. */
  votedFor: number;
}

export interface Snapshot {
  /** Last log index the snapshot covers. */
  index: number;
  /** Term of that entry. */
  term: number;
  data: Uint8Array;
  /**
   * The configuration in force at `index`; absent when it is the initial one (the peers of
   * the options), so snapshots of clusters whose membership never changed look as before.
   */
  membership?: Membership;
}

/** What a peer reads back from its storage when it starts. */
export interface PersistedState {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** Entries after the snapshot, in order. */
  entries: EntryBatch | null;
}

/**
 * Everything the runtime must do after feeding the core some input, in this order:
 * 1. send `sendNow` (messages that depend on nothing unpersisted: the leader's appends);
 * 2. persist `snapshot` (if any: stored entries through its index go, those after it stay),
 *    then `entries` (they replace the stored log from `entries.firstIndex` on; an empty
 *    batch only truncates there), and `hardState`, atomically enough that a crash never
 *    leaves a vote without its term. The core decides what survives: storage never looks
 *    at its own log to decide;
 * 3. send `sendAfterPersist` (replies and votes: they promise what was just persisted);
 * 4. restore the state machine from `applySnapshot` if set, then apply `committed` in order;
 * 5. call `advance(ready)`.
 * `readStates` and `readsFailed` report reads (RaftCore.readIndex): a ready one may be served
 * once the state machine has applied its index; a failed one must not be served (retry it).
 */
export interface Ready {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: EntryBatch | null;
  sendNow: Message[];
  sendAfterPersist: Message[];
  applySnapshot: Snapshot | null;
  committed: EntryBatch | null;
  readStates: ReadState[];
  readsFailed: number[];
}

export interface ProposeResult {
  index: number;
  term: number;
  isLeader: boolean;
}

/** Thrown by propose() when the leader already holds too many uncommitted entries. */
export class BackpressureError extends Error {
  constructor(uncommitted: number, limit: number) {
    super(`proposal refused: ${uncommitted} uncommitted entries reached maxUncommittedEntries (${limit}); retry after commits catch up`);
    this.name = 'BackpressureError';
  }
}

/** Thrown when the core detects a broken Raft invariant: a bug, never a fault to ride out. */
export class InvariantError extends Error {
  constructor(what: string) {
    super(`Raft invariant broken: ${what}`);
    this.name = 'InvariantError';
  }
}
