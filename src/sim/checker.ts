import type { HardState } from '../core/types.js';
import { bytesEqual, describeCommand } from './commands.js';

/**
 * What the checker reads of a peer's log. RaftLog satisfies it; tests fabricate it to prove
 * that the checks can fail.
 */
export interface LogView {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly lastIndex: number;
  /** Term at `index`; the snapshot term at snapshotIndex; -1 outside the log. */
  term(index: number): number;
  command(index: number): Uint8Array;
}

/** A live peer's in-memory Raft state, observed after a step. */
export interface PeerView {
  id: number;
  term: number;
  isLeader: boolean;
  commitIndex: number;
  log: LogView;
}

/** A broken safety property. Never caught by the simulation: it ends the run and names the seed. */
export class SafetyViolation extends Error {
  constructor(readonly property: string, detail: string) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

/** One committed index of the run, as first seen (from a leader's commit or an apply). */
interface Committed {
  term: number;
  command: Uint8Array;
  /** Lowest term of a leader seen committing it; Infinity until a leader is seen doing so. */
  commitTerm: number;
}

/** The first occurrence of (index, term) in any log: every later occurrence must agree. */
interface Registered {
  prevTerm: number;
  command: Uint8Array;
}

/** What the checker remembers of one peer between observations. */
interface Mirror {
  /** terms[i] = term of entry i at the last observation (absolute index). */
  terms: number[];
  low: number;
  last: number;
  commit: number;
  term: number;
  /** Term in which the peer was seen as leader at the last observation, or -1. */
  leaderTerm: number;
  /** Commit index from which this leadership's commits are recorded. */
  leaderCommitFrom: number;
  view: PeerView | null;
  /** Index the peer's state machine has reached (applied or restored). */
  applied: number;
  persisted: HardState;
  persistedSnapshot: number;
}

/**
 * The safety properties of Raft (Figure 3 of the paper) plus in-order apply, checked from
 * observations the simulation feeds in after every step:
 * - election safety: at most one leader per term, over the whole run;
 * - log matching: two logs holding an entry with the same index and term hold the same
 *   entries up to it (checked incrementally through a registry of (index, term) -> (previous
 *   term, command), which implies it by induction, and directly by pairwise audits);
 * - leader completeness: an entry committed in term T is in the log (or snapshot) of every
 *   leader of a term above T;
 * - state machine safety: no two peers apply different commands at one index;
 * - in-order apply: each peer applies index applied + 1, or restores a snapshot above it;
 *   after a restart it starts over from its persisted snapshot;
 * plus durable-state sanity: the persisted term never goes down, a persisted vote never
 * changes within a term, the persisted snapshot never goes back.
 */
export class SafetyChecker {
  private readonly leaders = new Map<number, number>();
  private readonly history: (Committed | undefined)[] = [];
  private readonly registry = new Map<number, Registered>();
  private readonly mirrors = new Map<number, Mirror>();
  /** Checks performed, by kind: a run with zeros here checked nothing. */
  readonly counts = { observations: 0, entriesChecked: 0, applies: 0, restores: 0, leaderChecks: 0, audits: 0 };

  constructor(peerIds: readonly number[]) {
    for (const id of peerIds) this.mirrors.set(id, freshMirror(0));
  }

  /** Highest index known committed. */
  /** The entry known committed at `index`, if any (for the outcome checker). */
  committedAt(index: number): { term: number; command: Uint8Array } | undefined {
    return this.history[index];
  }

  get committedIndex(): number {
    return Math.max(0, this.history.length - 1);
  }

  get termsWithLeader(): number {
    return this.leaders.size;
  }

  // ------------------------------------------------------------------ peer lifecycle

  /** The peer lost everything in memory. */
  onCrash(id: number): void {
    const m = this.mirror(id);
    m.view = null;
    m.leaderTerm = -1;
  }

  /**
   * The peer came back from its persisted state; its state machine was restored from
   * `snapshotCommands` (the persisted snapshot, empty without one).
   */
  onRestart(id: number, snapshotIndex: number, snapshotTerm: number, snapshotCommands: readonly Uint8Array[]): void {
    const old = this.mirror(id);
    const m = freshMirror(snapshotIndex);
    m.persisted = old.persisted;
    m.persistedSnapshot = old.persistedSnapshot;
    this.mirrors.set(id, m);
    if (snapshotIndex !== old.persistedSnapshot) {
      throw new SafetyViolation('durability', `peer ${id} restarted from snapshot ${snapshotIndex} but persisted snapshot ${old.persistedSnapshot}`);
    }
    this.verifySnapshotContents(id, snapshotIndex, snapshotTerm, snapshotCommands, 'restart');
    m.applied = snapshotIndex;
    this.counts.restores++;
  }

  // ------------------------------------------------------------------ durable state

  onPersist(id: number, hs: HardState | null, snapshotIndex: number | null, snapshotTerm: number, snapshotCommands: readonly Uint8Array[] | null): void {
    const m = this.mirror(id);
    if (hs) {
      if (hs.term < m.persisted.term) {
        throw new SafetyViolation('durability', `peer ${id} persisted term ${hs.term} below its persisted term ${m.persisted.term}`);
      }
      if (hs.term === m.persisted.term && m.persisted.votedFor !== -1 && hs.votedFor !== m.persisted.votedFor) {
        throw new SafetyViolation('vote safety', `peer ${id} changed its persisted vote in term ${hs.term} from ${m.persisted.votedFor} to ${hs.votedFor}`);
      }
      m.persisted = { term: hs.term, votedFor: hs.votedFor };
    }
    if (snapshotIndex !== null) {
      if (snapshotIndex <= m.persistedSnapshot) {
        throw new SafetyViolation('durability', `peer ${id} persisted snapshot ${snapshotIndex}, not above its persisted snapshot ${m.persistedSnapshot}`);
      }
      this.verifySnapshotContents(id, snapshotIndex, snapshotTerm, snapshotCommands ?? [], 'persist');
      m.persistedSnapshot = snapshotIndex;
    }
  }

  // ------------------------------------------------------------------ state machine

  /** The peer's state machine applied `command` at `index`. */
  onApply(id: number, index: number, term: number, command: Uint8Array): void {
    const m = this.mirror(id);
    this.counts.applies++;
    if (index !== m.applied + 1) {
      throw new SafetyViolation('in-order apply', `peer ${id} applied index ${index} after ${m.applied}`);
    }
    const h = this.history[index];
    if (!h) {
      throw new SafetyViolation('commit', `peer ${id} applied index ${index} (term ${term}, ${describeCommand(command)}) that no leader was seen committing`);
    }
    if (h.term !== term || !bytesEqual(h.command, command)) {
      throw new SafetyViolation('state machine safety',
        `peer ${id} applied ${describeCommand(command)} (term ${term}) at index ${index}, where ${describeCommand(h.command)} (term ${h.term}) was committed`);
    }
    m.applied = index;
  }

  /** The peer's state machine was replaced by an installed snapshot. */
  onRestore(id: number, index: number, term: number, commands: readonly Uint8Array[]): void {
    const m = this.mirror(id);
    this.counts.restores++;
    if (index <= m.applied) {
      throw new SafetyViolation('in-order apply', `peer ${id} restored snapshot ${index}, not above its applied index ${m.applied}`);
    }
    this.verifySnapshotContents(id, index, term, commands, 'install');
    m.applied = index;
  }

  // ------------------------------------------------------------------ Raft state

  /** Checks a peer's state after a step that may have changed it. */
  observe(v: PeerView): void {
    this.counts.observations++;
    const m = this.mirror(v.id);
    const log = v.log;
    m.view = v;
    if (m.term > v.term) throw new SafetyViolation('term', `peer ${v.id} went from term ${m.term} back to ${v.term}`);
    m.term = v.term;

    if (v.isLeader) {
      const other = this.leaders.get(v.term);
      if (other !== undefined && other !== v.id) {
        throw new SafetyViolation('election safety', `peers ${other} and ${v.id} were both leader in term ${v.term}`);
      }
      this.leaders.set(v.term, v.id);
    }
    const stillLeader = v.isLeader && m.leaderTerm === v.term;

    // Log: find the first index that changed since the last observation.
    if (log.snapshotIndex > v.commitIndex) {
      throw new SafetyViolation('compaction', `peer ${v.id} compacted through ${log.snapshotIndex}, above its commit index ${v.commitIndex}`);
    }
    if (v.commitIndex > log.lastIndex) {
      throw new SafetyViolation('commit', `peer ${v.id} has commit index ${v.commitIndex} beyond its last index ${log.lastIndex}`);
    }
    const lo = Math.max(m.low, log.snapshotIndex);
    const hi = Math.min(m.last, log.lastIndex);
    let d = lo + 1;
    while (d <= hi && m.terms[d] === log.term(d)) d++;
    if (stillLeader && d <= m.last) {
      throw new SafetyViolation('leader append-only', `leader ${v.id} of term ${v.term} changed its log at index ${d} (had entries through ${m.last})`);
    }
    this.checkSnapshotTerm(v);
    // A new snapshot changes what precedes the first entry after it: check that entry again
    // (the registry then compares its previous term with the snapshot's term).
    const from = log.snapshotIndex !== m.low ? Math.min(d, log.snapshotIndex + 1) : d;
    for (let i = Math.max(from, log.snapshotIndex + 1); i <= log.lastIndex; i++) {
      const t = log.term(i);
      const pt = log.term(i - 1);
      if (t < pt) throw new SafetyViolation('log order', `peer ${v.id} holds term ${t} at index ${i} after term ${pt}`);
      if (t > v.term) throw new SafetyViolation('log order', `peer ${v.id} in term ${v.term} holds an entry of term ${t} at index ${i}`);
      this.register(v.id, i, t, pt, log.command(i));
      m.terms[i] = t;
      this.counts.entriesChecked++;
    }
    m.terms.length = log.lastIndex + 1;
    m.low = log.snapshotIndex;
    m.last = log.lastIndex;

    // Commit index: never goes down in one life; what it covers matches what was committed.
    if (v.commitIndex < m.commit) {
      throw new SafetyViolation('commit', `peer ${v.id} commit index went from ${m.commit} down to ${v.commitIndex}`);
    }
    for (let i = Math.max(m.commit, log.snapshotIndex) + 1; i <= v.commitIndex; i++) {
      const h = this.history[i];
      if (h && (h.term !== log.term(i) || !bytesEqual(h.command, log.command(i)))) {
        throw new SafetyViolation('state machine safety',
          `peer ${v.id} commits index ${i} as ${describeCommand(log.command(i))} (term ${log.term(i)}), but ${describeCommand(h.command)} (term ${h.term}) was committed there`);
      }
    }

    // A leader's commits: record when (in which term) each index was first seen committed.
    if (v.isLeader) {
      if (!stillLeader) {
        m.leaderTerm = v.term;
        m.leaderCommitFrom = m.commit; // what it had before this observation was committed by earlier leaders
        this.checkLeaderHasCommitted(v);
      }
      for (let i = Math.max(m.leaderCommitFrom, log.snapshotIndex) + 1; i <= v.commitIndex; i++) {
        this.recordCommit(i, log.term(i), log.command(i), v.term, v.id);
      }
      m.leaderCommitFrom = Math.max(m.leaderCommitFrom, v.commitIndex);
    } else {
      m.leaderTerm = -1;
    }
    m.commit = v.commitIndex;
  }

  /**
   * Direct check of log matching between every pair of live peers: on the overlap of their
   * uncompacted logs, find the highest index where both hold the same term; everything from
   * the start of the overlap up to it must be identical. Costs O(log length) per pair, so the
   * simulation runs it every few hundred steps and at the end of each phase.
   */
  audit(): void {
    this.counts.audits++;
    const views = [...this.mirrors.values()].map((m) => m.view).filter((v): v is PeerView => v !== null);
    for (const v of views) {
      const log = v.log;
      for (let i = log.snapshotIndex + 1; i <= log.lastIndex; i++) {
        const r = this.registry.get(key(i, log.term(i)));
        if (!r || r.prevTerm !== log.term(i - 1) || !bytesEqual(r.command, log.command(i))) {
          throw new SafetyViolation('log matching', `peer ${v.id} entry ${i} (term ${log.term(i)}) differs from the first entry seen with that index and term`);
        }
      }
    }
    for (let a = 0; a < views.length; a++) {
      for (let b = a + 1; b < views.length; b++) {
        const x = views[a].log, y = views[b].log;
        const lo = Math.max(x.snapshotIndex, y.snapshotIndex) + 1;
        let top = Math.min(x.lastIndex, y.lastIndex);
        while (top >= lo && x.term(top) !== y.term(top)) top--;
        for (let i = lo; i <= top; i++) {
          if (x.term(i) !== y.term(i) || !bytesEqual(x.command(i), y.command(i))) {
            throw new SafetyViolation('log matching',
              `peers ${views[a].id} and ${views[b].id} both hold index ${top} in term ${x.term(top)} but differ at index ${i}: ` +
              `term ${x.term(i)} ${describeCommand(x.command(i))} vs term ${y.term(i)} ${describeCommand(y.command(i))}`);
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ internals

  private mirror(id: number): Mirror {
    const m = this.mirrors.get(id);
    if (!m) throw new Error(`checker: unknown peer ${id}`);
    return m;
  }

  private register(id: number, index: number, term: number, prevTerm: number, command: Uint8Array): void {
    const k = key(index, term);
    const r = this.registry.get(k);
    if (!r) {
      this.registry.set(k, { prevTerm, command: command.slice() });
      return;
    }
    if (r.prevTerm !== prevTerm) {
      throw new SafetyViolation('log matching',
        `peer ${id} holds index ${index} in term ${term} after an entry of term ${prevTerm}, but another log holds it after term ${r.prevTerm}`);
    }
    if (!bytesEqual(r.command, command)) {
      throw new SafetyViolation('log matching',
        `peer ${id} holds ${describeCommand(command)} at index ${index} term ${term}, another log holds ${describeCommand(r.command)} there`);
    }
  }

  private recordCommit(index: number, term: number, command: Uint8Array, leaderTerm: number, leader: number): void {
    const h = this.history[index];
    if (!h) {
      while (this.history.length < index) this.history.push(undefined);
      this.history[index] = { term, command: command.slice(), commitTerm: leaderTerm };
      this.checkLeadersHave(index, leaderTerm);
      return;
    }
    if (h.term !== term || !bytesEqual(h.command, command)) {
      throw new SafetyViolation('state machine safety',
        `leader ${leader} of term ${leaderTerm} commits ${describeCommand(command)} (term ${term}) at index ${index}, where ${describeCommand(h.command)} (term ${h.term}) was committed`);
    }
    if (leaderTerm < h.commitTerm) {
      h.commitTerm = leaderTerm;
      this.checkLeadersHave(index, leaderTerm);
    }
  }

  /** Leader completeness for one index just known committed in `commitTerm`: every current leader of a later term holds it. */
  private checkLeadersHave(index: number, commitTerm: number): void {
    for (const m of this.mirrors.values()) {
      const v = m.view;
      if (!v || m.leaderTerm < 0 || v.term <= commitTerm) continue;
      this.checkLeaderHolds(v, index);
    }
  }

  /** Leader completeness for a new leader: it holds every entry committed in an earlier term. */
  private checkLeaderHasCommitted(v: PeerView): void {
    for (let i = 1; i < this.history.length; i++) {
      const h = this.history[i];
      if (h && h.commitTerm < v.term) this.checkLeaderHolds(v, i);
    }
  }

  private checkLeaderHolds(v: PeerView, index: number): void {
    this.counts.leaderChecks++;
    const h = this.history[index]!;
    const log = v.log;
    if (index <= log.snapshotIndex) return; // its snapshot was checked against the history when taken or installed
    if (index > log.lastIndex || log.term(index) !== h.term || !bytesEqual(log.command(index), h.command)) {
      const has = index > log.lastIndex ? 'nothing' : `${describeCommand(log.command(index))} (term ${log.term(index)})`;
      throw new SafetyViolation('leader completeness',
        `leader ${v.id} of term ${v.term} holds ${has} at index ${index}, where ${describeCommand(h.command)} (term ${h.term}) was committed in term ${h.commitTerm}`);
    }
  }

  private checkSnapshotTerm(v: PeerView): void {
    const s = v.log.snapshotIndex;
    if (s === 0) return;
    const h = this.history[s];
    if (h && h.term !== v.log.snapshotTerm) {
      throw new SafetyViolation('compaction', `peer ${v.id} has a snapshot at ${s} with term ${v.log.snapshotTerm}, but term ${h.term} was committed there`);
    }
  }

  /** A snapshot's state must be exactly the committed history up to its index. */
  private verifySnapshotContents(id: number, index: number, term: number, commands: readonly Uint8Array[], what: string): void {
    if (commands.length !== index) {
      throw new SafetyViolation('snapshot', `peer ${id} ${what}: snapshot at ${index} holds ${commands.length} commands`);
    }
    if (index > 0) {
      const last = this.history[index];
      if (!last) throw new SafetyViolation('snapshot', `peer ${id} ${what}: snapshot at ${index}, which no leader was seen committing`);
      if (last.term !== term) throw new SafetyViolation('snapshot', `peer ${id} ${what}: snapshot at ${index} has term ${term}, committed term is ${last.term}`);
    }
    for (let i = 1; i <= index; i++) {
      const h = this.history[i];
      if (!h || !bytesEqual(h.command, commands[i - 1])) {
        throw new SafetyViolation('snapshot',
          `peer ${id} ${what}: snapshot at ${index} holds ${describeCommand(commands[i - 1])} at index ${i}, committed: ${describeCommand(h?.command)}`);
      }
    }
  }
}

function freshMirror(snapshotIndex: number): Mirror {
  return {
    terms: [], low: snapshotIndex, last: snapshotIndex, commit: snapshotIndex, term: 0, leaderTerm: -1, leaderCommitFrom: 0,
    view: null, applied: snapshotIndex, persisted: { term: 0, votedFor: -1 }, persistedSnapshot: 0,
  };
}

/** (index, term) as one number: index * 2^21 + term (terms stay far below 2^21 in a simulation). */
function key(index: number, term: number): number {
  if (term >= 2097152) throw new Error(`checker: term ${term} too large`);
  return index * 2097152 + term;
}
