/** Errors of a leader transfer (RaftCore.transferLeader). */

/**
 * Thrown by propose() while the leader hands its leadership to another peer (and by a second
 * transferLeader()): nothing was appended. Retry once the transfer is over, at the new leader
 * or, if it was aborted, here.
 */
export class TransferInProgressError extends Error {
  constructor(readonly leader: number, readonly target: number, what = 'proposal refused') {
    super(`${what}: leader ${leader} is transferring its leadership to peer ${target}; retry once the transfer is over`);
    this.name = 'TransferInProgressError';
  }
}

/** A leader transfer that could not start or did not finish: `reason` says which case. */
export class LeaderTransferError extends Error {
  constructor(readonly reason: 'not-leader' | 'aborted' | 'superseded' | 'stopped', message: string) {
    super(message);
    this.name = 'LeaderTransferError';
  }
}
