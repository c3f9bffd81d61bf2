import { LeaderTransferError } from '../core/leader-transfer.js';
import type { RaftCore } from '../core/raft.js';

/**
 * Follows one leader transfer from the old leader's side, after every tick and every input,
 * until the old leader hears from the target as the new leader (done), or the core aborts
 * the transfer, another peer takes over, or nothing is heard for `maxTicks` (failed).
 */
export class TransferWatch {
  private ticks = 0;

  constructor(
    private readonly core: RaftCore,
    readonly target: number,
    private readonly maxTicks: number,
    private readonly resolve: () => void,
    private readonly reject: (e: Error) => void,
  ) {}

  /** Looks at the core; returns true once the transfer has settled (the promise is then settled). */
  check(ticked: boolean): boolean {
    const c = this.core;
    if (ticked) this.ticks++;
    if (!c.isLeader && c.leaderId === this.target) return this.settle(null);
    if (c.isLeader && c.transferTarget === -1) {
      return this.settle(new LeaderTransferError('aborted', `leader transfer to peer ${this.target} aborted: it did not win an election within an election timeout; peer ${c.id} still leads (term ${c.term})`));
    }
    if (!c.isLeader && c.leaderId !== -1) {
      return this.settle(new LeaderTransferError('superseded', `leader transfer to peer ${this.target} failed: peer ${c.leaderId} became leader instead (term ${c.term})`));
    }
    if (this.ticks > this.maxTicks) {
      return this.settle(new LeaderTransferError('aborted', `leader transfer to peer ${this.target} failed: peer ${c.id} heard of no new leader within ${this.maxTicks} ticks (term ${c.term})`));
    }
    return false;
  }

  /** The node stopped first. */
  stopped(): void {
    this.settle(new LeaderTransferError('stopped', `leader transfer to peer ${this.target} failed: raft node ${this.core.id} stopped`));
  }

  private settle(err: Error | null): boolean {
    if (err) this.reject(err);
    else this.resolve();
    return true;
  }
}
