import type { SnapshotSession } from '../node/session-state-machine.js';
import { SafetyViolation } from './checker.js';
import { bytesEqual, commandId, commandResult, describeCommand } from './commands.js';

/** What the user state machine applied at one log index: a session's command. */
export interface UserApply {
  clientId: number;
  seq: number;
  /** The logical command (the id makeCommand put first in the payload): unique per command a client issued. */
  payloadId: number;
}

/**
 * The exactly-once properties of client sessions, checked from what every peer's user state
 * machine applies (below the SessionStateMachine) and what the clients are answered:
 * - agreement: at each log index, every peer's user state machine applies the same (clientId,
 *   seq, payload), or every peer applies nothing;
 * - exactly once, in order: per session, the seqs applied are 1, 2, 3, ... (no duplicate, no
 *   gap, no reordering), and each logical command is applied at most once over all sessions;
 * - results: every Applied or Duplicate answer a client gets for a seq is the result of the one
 *   application of that seq (the deterministic commandResult of its payload and index);
 * - snapshots: the session table a snapshot carries says, for every session that had commands
 *   applied up to its index, exactly how many;
 * - at the end, every command a client issued was applied (verifyIssued).
 * The canonical record (what was applied at each index) is filled by the first peer to apply
 * an index; a peer only applies index i with the state of 1..i-1, so the record is a prefix.
 */
export class SessionChecker {
  /** at[i]: what the user state machines applied at index i (null: nothing); defined for 1..known. */
  private readonly at: (UserApply | null)[] = [null];
  /** Per session, the index at which each seq (1, 2, ...) was applied. */
  private readonly seqIndexes = new Map<number, number[]>();
  /** Per logical command, where it was applied. */
  private readonly byPayload = new Map<number, { clientId: number; seq: number; index: number }>();
  readonly counts = { entries: 0, userApplies: 0, results: 0, duplicateAnswers: 0, snapshotTables: 0 };

  get known(): number {
    return this.at.length - 1;
  }

  /** Peer `peer` applied the committed entry at `index`; its user state machine applied `a` (or nothing). */
  onEntry(peer: number, index: number, a: UserApply | null): void {
    this.counts.entries++;
    if (index <= this.known) {
      const c = this.at[index];
      if (!sameApply(c, a)) {
        throw new SafetyViolation('session agreement', `peer ${peer}'s user state machine applied ${show(a)} at index ${index}, where another peer's applied ${show(c)}`);
      }
      return;
    }
    if (index !== this.known + 1) {
      throw new SafetyViolation('session agreement', `peer ${peer} applied index ${index}, but the user applies known run only through ${this.known}`);
    }
    if (a) {
      this.counts.userApplies++;
      const seqs = this.seqIndexes.get(a.clientId) ?? [];
      const expected = seqs.length + 1;
      if (a.seq !== expected) {
        const what = a.seq < expected ? `again (it was applied at index ${seqs[a.seq - 1]})` : `before seq ${expected} (a gap)`;
        throw new SafetyViolation('exactly once', `peer ${peer}'s user state machine applied session ${a.clientId} seq ${a.seq} at index ${index} ${what}`);
      }
      const first = this.byPayload.get(a.payloadId);
      if (first) {
        throw new SafetyViolation('exactly once', `command #${a.payloadId} applied twice: as session ${first.clientId} seq ${first.seq} at index ${first.index}, ` +
          `and as session ${a.clientId} seq ${a.seq} at index ${index} (peer ${peer})`);
      }
      seqs.push(index);
      this.seqIndexes.set(a.clientId, seqs);
      this.byPayload.set(a.payloadId, { clientId: a.clientId, seq: a.seq, index });
    }
    this.at.push(a);
  }

  /**
   * A client was answered Applied (`duplicate` false) or Duplicate for (clientId, seq), whose
   * payload is `payload`, by the entry at `answerIndex`.
   */
  onResult(clientId: number, seq: number, payload: Uint8Array, result: Uint8Array, duplicate: boolean, answerIndex: number): void {
    this.counts.results++;
    if (duplicate) this.counts.duplicateAnswers++;
    const desc = `session ${clientId} seq ${seq} (${describeCommand(payload)}) answered ${duplicate ? 'Duplicate' : 'Applied'} by entry ${answerIndex}`;
    const index = this.seqIndexes.get(clientId)?.[seq - 1];
    if (index === undefined) throw new SafetyViolation('session result', `${desc}, but no user state machine applied that seq`);
    const a = this.at[index]!;
    if (a.payloadId !== commandId(payload)) {
      throw new SafetyViolation('session result', `${desc}, but the seq applied at index ${index} carried command #${a.payloadId}`);
    }
    if (!duplicate && index !== answerIndex) {
      throw new SafetyViolation('session result', `${desc}, but it was applied at index ${index}`);
    }
    if (!bytesEqual(result, commandResult(payload, index))) {
      throw new SafetyViolation('session result', `${desc} with a result that is not that of its one application at index ${index}`);
    }
  }

  /** A snapshot at `index` (persisted, installed or restarted from) carries this session table. */
  onSnapshotTable(peer: number, what: string, index: number, sessions: readonly SnapshotSession[]): void {
    this.counts.snapshotTables++;
    if (index > this.known) throw new SafetyViolation('session snapshot', `peer ${peer} ${what}: snapshot at ${index} above the applies known (${this.known})`);
    const table = new Map(sessions.map((s) => [s.id, s.lastApplied]));
    for (const s of sessions) {
      if (s.lastApplied > 0 && !this.seqIndexes.has(s.id)) {
        throw new SafetyViolation('session snapshot', `peer ${peer} ${what}: snapshot at ${index} has session ${s.id} through seq ${s.lastApplied}, which had nothing applied`);
      }
    }
    for (const [clientId, seqs] of this.seqIndexes) {
      let n = 0;
      while (n < seqs.length && seqs[n] <= index) n++;
      if (n === 0) continue;
      const has = table.get(clientId);
      if (has !== n) {
        throw new SafetyViolation('session snapshot', `peer ${peer} ${what}: snapshot at ${index} ` +
          (has === undefined ? `lacks session ${clientId}` : `has session ${clientId} through seq ${has}`) + `, which had seqs 1..${n} applied by then`);
      }
    }
  }

  /** Every command a client issued was applied, as the seq it was issued with. */
  verifyIssued(issued: ReadonlyArray<{ clientId: number; seq: number; payloadId: number }>): void {
    for (const c of issued) {
      const got = this.byPayload.get(c.payloadId);
      if (!got) throw new SafetyViolation('exactly once', `command #${c.payloadId} (session ${c.clientId} seq ${c.seq}) was never applied`);
      if (got.clientId !== c.clientId || got.seq !== c.seq) {
        throw new SafetyViolation('exactly once', `command #${c.payloadId} issued as session ${c.clientId} seq ${c.seq} was applied as session ${got.clientId} seq ${got.seq}`);
      }
    }
  }
}

function sameApply(x: UserApply | null, y: UserApply | null): boolean {
  if (!x || !y) return x === y;
  return x.clientId === y.clientId && x.seq === y.seq && x.payloadId === y.payloadId;
}

function show(a: UserApply | null): string {
  return a ? `session ${a.clientId} seq ${a.seq} (#${a.payloadId})` : 'nothing';
}
