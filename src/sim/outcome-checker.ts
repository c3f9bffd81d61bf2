import { Outcome, OUTCOME_NAMES } from '../node/proposal-tracker.js';
import { SafetyViolation } from './checker.js';
import { bytesEqual, commandResult, describeCommand } from './commands.js';

/** One proposal a peer accepted, until its outcome arrives. */
interface Proposal {
  peer: number;
  index: number;
  term: number;
  command: Uint8Array;
  outcome: Outcome | 0;
  result: Uint8Array | undefined;
}

/** What the checker needs of the run's committed history (SafetyChecker provides it). */
export interface CommittedHistory {
  committedAt(index: number): { term: number; command: Uint8Array } | undefined;
}

/**
 * Checks the proposal outcomes RaftNode reports (src/node/proposal-tracker.ts):
 * - each accepted proposal settles exactly once, with the index and term it was accepted at;
 * - `committed`: the committed entry at that index has that term and command, and the result
 *   handed back is the state machine's result of that one application;
 * - `overwritten`: another entry is committed at that index (so the command is in no
 *   applied log: commands are unique in a run);
 * - once the faults are healed and the cluster has converged, none is still pending.
 * Outcomes are reported while the peer applies, before the history hears of that apply, so
 * each is verified at the end of the event (verifyPending).
 */
export class OutcomeChecker {
  private readonly proposals = new Map<number, Proposal>();
  private readonly toVerify: number[] = [];
  readonly counts = { accepted: 0, committed: 0, overwritten: 0, unknown: 0 };

  /** `checkResults`: a committed result must be commandResult of the command (off when a session layer frames results). */
  constructor(private readonly history: CommittedHistory, private readonly checkResults = true) {}

  accepted(tag: number, peer: number, index: number, term: number, command: Uint8Array): void {
    if (this.proposals.has(tag)) throw new Error(`outcome checker: tag ${tag} proposed twice`);
    this.proposals.set(tag, { peer, index, term, command: command.slice(), outcome: 0, result: undefined });
    this.counts.accepted++;
  }

  /** An OutcomeListener for `peer`. */
  listener(peer: number) {
    return (outcome: Outcome, firstTag: number, count: number, firstIndex: number, term: number,
      results: ReadonlyArray<Uint8Array | undefined> | null, resultOffset: number): void => {
      for (let k = 0; k < count; k++) {
        const tag = firstTag + k;
        const p = this.proposals.get(tag);
        const what = `${OUTCOME_NAMES[outcome]} outcome from peer ${peer} for proposal ${tag} at (${firstIndex + k}, t${term})`;
        if (!p) throw new SafetyViolation('outcome', `${what}: no such proposal was accepted`);
        if (p.outcome !== 0) throw new SafetyViolation('outcome', `${what}: it was already settled as ${OUTCOME_NAMES[p.outcome]}`);
        if (p.peer !== peer || p.index !== firstIndex + k || p.term !== term) {
          throw new SafetyViolation('outcome', `${what}: it was accepted by peer ${p.peer} at (${p.index}, t${p.term})`);
        }
        p.outcome = outcome;
        p.result = results ? results[resultOffset + k] : undefined;
        if (outcome === Outcome.Committed) this.counts.committed++;
        else if (outcome === Outcome.Overwritten) this.counts.overwritten++;
        else this.counts.unknown++;
        if (outcome !== Outcome.Unknown) this.toVerify.push(tag);
      }
    };
  }

  /** Checks the outcomes reported since the last call against the committed history. */
  verifyPending(): void {
    for (const tag of this.toVerify) {
      const p = this.proposals.get(tag)!;
      const h = this.history.committedAt(p.index);
      const desc = `proposal ${tag} (${describeCommand(p.command)}) accepted by peer ${p.peer} at (${p.index}, t${p.term})`;
      if (!h) throw new SafetyViolation('outcome', `${desc} reported ${OUTCOME_NAMES[p.outcome]}, but nothing is known committed at index ${p.index}`);
      const same = h.term === p.term && bytesEqual(h.command, p.command);
      if (p.outcome === Outcome.Committed) {
        if (!same) throw new SafetyViolation('outcome', `${desc} reported committed, but ${describeCommand(h.command)} (t${h.term}) is committed there`);
        if (this.checkResults && p.result !== undefined && !bytesEqual(p.result, commandResult(p.command, p.index))) {
          throw new SafetyViolation('outcome', `${desc}: committed with a result that is not its own application's`);
        }
      } else if (same) {
        throw new SafetyViolation('outcome', `${desc} reported overwritten, but it is the committed entry there`);
      }
      this.proposals.delete(tag);
    }
    this.toVerify.length = 0;
  }

  /** After healing: every proposal has its outcome. */
  verifyAllSettled(): void {
    for (const [tag, p] of this.proposals) {
      if (p.outcome === 0) throw new SafetyViolation('outcome', `proposal ${tag} accepted by peer ${p.peer} at (${p.index}, t${p.term}) never settled`);
    }
  }

  /** Proposals accepted and not yet settled. */
  get pending(): number {
    let n = 0;
    for (const p of this.proposals.values()) if (p.outcome === 0) n++;
    return n;
  }
}
