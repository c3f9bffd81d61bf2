import type { EntryBatch } from '../core/entry-batch.js';
import { Message, MSG_TYPE_NAMES, MsgType } from '../core/message.js';
import type { HardState, PersistedState, Ready, Snapshot } from '../core/types.js';

/** A runtime or core broke the Ready contract (src/core/raft.ts, Ready): a bug, never a fault. */
export class ReadyContractError extends Error {
  constructor(peer: number, what: string) {
    super(`peer ${peer} broke the Ready contract: ${what}`);
    this.name = 'ReadyContractError';
  }
}

/**
 * Checks, as a RaftNode runs, that nothing is promised before it is durable and that the
 * state machine sees every index once, in order:
 * - no message speaks for a term that is not durable; a RequestVote only with the own vote durable;
 * - a successful AppendEntriesReply only names an index whose entry has landed on storage;
 * - a granted vote only goes out once that vote (and its term), or a later term, has landed;
 * - a finished InstallSnapshotReply only once that snapshot (or entries through it) landed;
 * - the durable term never goes back, a durable vote never changes within a term;
 * - committed entries are applied from applied + 1 on, a restored snapshot lies above applied.
 * It follows what landed from the Readys alone (the index of the last durable entry and the
 * durable hard state), not from the storage, so a storage that drops or keeps other entries
 * is caught by what its peer then claims.
 */
export class ReadyContract {
  private lastDurable: number;
  private snapshotDurable: number;
  private hard: HardState;
  private applied: number;

  constructor(private readonly peer: number, loaded: PersistedState) {
    this.snapshotDurable = loaded.snapshot?.index ?? 0;
    this.lastDurable = loaded.entries && loaded.entries.count > 0 ? loaded.entries.firstIndex + loaded.entries.count - 1 : this.snapshotDurable;
    this.hard = { ...loaded.hardState };
    this.applied = this.snapshotDurable;
  }

  /** `rd`'s write landed. */
  landed(hardState: HardState | null, snapshot: Snapshot | null, entries: EntryBatch | null): void {
    if (snapshot) {
      this.snapshotDurable = Math.max(this.snapshotDurable, snapshot.index);
      if (this.lastDurable < snapshot.index) this.lastDurable = snapshot.index;
    }
    if (entries) {
      if (entries.firstIndex > this.lastDurable + 1) this.fail(`entries from ${entries.firstIndex} written after durable index ${this.lastDurable}: a gap`);
      this.lastDurable = entries.firstIndex + entries.count - 1;
    }
    if (hardState) {
      if (hardState.term < this.hard.term) this.fail(`durable term went back from ${this.hard.term} to ${hardState.term}`);
      if (hardState.term === this.hard.term && this.hard.votedFor !== -1 && hardState.votedFor !== this.hard.votedFor) {
        this.fail(`durable vote in term ${hardState.term} changed from ${this.hard.votedFor} to ${hardState.votedFor}`);
      }
      this.hard = { term: hardState.term, votedFor: hardState.votedFor };
    }
  }

  /** Messages about to be sent. */
  sending(ms: readonly Message[]): void {
    for (const m of ms) {
      // A pre-vote and its grant name the term the sender would campaign in, and promise nothing.
      const preVote = m.type === MsgType.PreVote || m.type === MsgType.PreVoteReply;
      if (m.term > this.hard.term && !preVote) this.fail(`sends ${MSG_TYPE_NAMES[m.type]} to peer ${m.to} for term ${m.term}, but its durable term is ${this.hard.term}`);
      if (m.type === MsgType.RequestVote && this.hard.term === m.term && this.hard.votedFor !== this.peer) {
        this.fail(`asks for votes in term ${m.term} without its own vote durable (durable vote ${this.hard.votedFor} in term ${this.hard.term})`);
      }
      if (m.type === MsgType.AppendEntriesReply && !m.reject && m.index > this.lastDurable) {
        this.fail(`acknowledged entries through ${m.index} to peer ${m.to}, but only ${this.lastDurable} are durable`);
      } else if (m.type === MsgType.RequestVoteReply && !m.reject && this.hard.term <= m.term && (this.hard.term !== m.term || this.hard.votedFor !== m.to)) {
        // (A durable later term also keeps the promise: this peer can never vote in that term again.)
        this.fail(`granted its vote in term ${m.term} to peer ${m.to}, but its durable vote is ${this.hard.votedFor} in term ${this.hard.term}`);
      } else if (m.type === MsgType.InstallSnapshotReply && m.done && m.index > this.lastDurable) {
        this.fail(`reported snapshot ${m.index} installed, but its durable state (snapshot ${this.snapshotDurable}, entries) reaches only ${this.lastDurable}`);
      }
    }
  }

  /** The Ready's state machine part is about to run. */
  applying(rd: Ready): void {
    if (rd.applySnapshot) {
      if (rd.applySnapshot.index > this.snapshotDurable) this.fail(`restores snapshot ${rd.applySnapshot.index} that is not durable (durable snapshot ${this.snapshotDurable})`);
      if (rd.applySnapshot.index <= this.applied) this.fail(`restores snapshot ${rd.applySnapshot.index}, not above its applied index ${this.applied}`);
      this.applied = rd.applySnapshot.index;
    }
    const b = rd.committed;
    if (b && b.count > 0) {
      if (b.firstIndex !== this.applied + 1) this.fail(`applies from ${b.firstIndex} after applied index ${this.applied}`);
      this.applied = b.firstIndex + b.count - 1;
    }
  }

  private fail(what: string): never {
    throw new ReadyContractError(this.peer, what);
  }
}
