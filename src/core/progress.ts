/**
 * What the leader knows about one follower's log, and how it sends to it (after etcd's
 * progress tracker):
 * - Probe: one AppendEntries at a time until a reply shows where the logs agree;
 * - Replicate: pipelined AppendEntries, `next` advanced optimistically, bounded in flight;
 * - Snapshot: the follower needs compacted entries; a snapshot transfer is under way.
 *
 * Progress makes the flow-control decisions; the leader builds and sends the messages.
 */
export enum ProgressState { Probe = 0, Replicate = 1, Snapshot = 2 }

/** What the leader sends a follower after hearing from it. */
export enum FollowUp {
  Nothing = 0,
  /** AppendEntries, even an empty one: its reply tells where the follower stands. */
  AppendOrProbe = 1,
  /** The next chunk of the snapshot under transfer. */
  SnapshotChunk = 2,
}

export class Progress {
  state = ProgressState.Probe;
  match = 0;
  next: number;
  /** Probe: a message is out and unanswered; wait for a reply or the next heartbeat. */
  paused = false;
  /** Last index of each in-flight AppendEntries, oldest first (a ring). */
  private inflight: Float64Array;
  private inflightStart = 0;
  inflightCount = 0;
  /** Whether we heard from this peer since the last check-quorum round. */
  recentActive = false;
  /** The commit index this follower was last told about. */
  sentCommit = 0;
  /** Snapshot transfer: index of the snapshot being sent and the next byte offset to send. */
  snapshotIndex = 0;
  snapshotOffset = 0;
  /** Ticks since the last snapshot chunk was sent (to resend a lost chunk). */
  snapshotIdleTicks = 0;

  constructor(next: number, readonly maxInflight: number) {
    this.next = next;
    this.inflight = new Float64Array(maxInflight);
  }

  get inflightFull(): boolean {
    return this.inflightCount >= this.maxInflight;
  }

  /** Whether the state lets an AppendEntries go out now. */
  get canSendAppend(): boolean {
    switch (this.state) {
      case ProgressState.Probe: return !this.paused;
      case ProgressState.Replicate: return !this.inflightFull;
      default: return false;
    }
  }

  tick(): void {
    this.snapshotIdleTicks++;
  }

  becomeProbe(): void {
    // after a snapshot, resume right after it
    this.next = this.state === ProgressState.Snapshot ? Math.max(this.match + 1, this.snapshotIndex + 1) : this.match + 1;
    this.state = ProgressState.Probe;
    this.paused = false;
    this.clearInflight();
  }

  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.paused = false;
    this.clearInflight();
  }

  becomeSnapshot(index: number): void {
    this.state = ProgressState.Snapshot;
    this.snapshotIndex = index;
    this.snapshotOffset = 0;
    this.snapshotIdleTicks = 0;
    this.clearInflight();
  }

  /** A success reply: returns whether it moved `match` forward. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) { this.match = index; updated = true; this.paused = false; }
    if (this.next < index + 1) this.next = index + 1;
    this.freeInflightTo(index);
    return updated;
  }

  /** The follower holds everything through `index`; returns whether `match` moved. Probing ends once the logs agree. */
  appendAccepted(index: number): boolean {
    const moved = this.maybeUpdate(index);
    if (this.state === ProgressState.Probe && this.match >= this.next - 1) this.becomeReplicate();
    return moved;
  }

  /**
   * The follower refused the append after `rejectedIndex`; `retryAt` is where the leader
   * guesses the logs agree. A stale refusal changes nothing; otherwise probe from the guess,
   * kept within (match, rejectedIndex] and at most `lastIndex + 1`.
   */
  appendRejected(rejectedIndex: number, retryAt: number, lastIndex: number): FollowUp {
    if (this.state === ProgressState.Snapshot) return FollowUp.Nothing;
    if (this.state === ProgressState.Replicate && rejectedIndex <= this.match) return FollowUp.Nothing;
    if (this.state === ProgressState.Probe && rejectedIndex !== this.next - 1) return FollowUp.Nothing;
    this.becomeProbe();
    this.next = Math.max(this.match + 1, Math.min(retryAt, rejectedIndex, lastIndex + 1));
    return FollowUp.AppendOrProbe;
  }

  /**
   * A heartbeat reply: the follower held `followerLast` when it answered a heartbeat sent
   * while `sentTo` (our next - 1) was out. `snapshotResendTicks`: silence after which a
   * snapshot chunk is presumed lost.
   */
  heartbeatAnswered(followerLast: number, sentTo: number, leaderLast: number, snapshotResendTicks: number): FollowUp {
    switch (this.state) {
      case ProgressState.Probe:
        this.paused = false;
        return this.match < leaderLast ? FollowUp.AppendOrProbe : FollowUp.Nothing;
      case ProgressState.Replicate:
        if (this.match >= sentTo) return FollowUp.Nothing;
        if (followerLast < sentTo) {
          // The follower had less than we had sent: an append was lost. Probe from what it acknowledged.
          this.becomeProbe();
        } else if (this.inflightFull) {
          // It holds what we sent but the replies were lost (or are late): free a slot so that
          // an append (empty if nothing is new) goes out whose reply acknowledges everything;
          // otherwise a full window never moves again.
          this.freeOldestInflight();
        }
        return FollowUp.AppendOrProbe;
      default:
        return this.snapshotIdleTicks >= snapshotResendTicks ? FollowUp.SnapshotChunk : FollowUp.Nothing;
    }
  }

  /** An InstallSnapshot reply for snapshot `index`: `done` (installed), or the next `offset` wanted (refused: start over). */
  snapshotAnswered(index: number, done: boolean, refused: boolean, offset: number): FollowUp {
    if (done) {
      this.maybeUpdate(index);
      if (this.state !== ProgressState.Snapshot) return FollowUp.Nothing;
      this.becomeProbe();
      return FollowUp.AppendOrProbe;
    }
    if (this.state !== ProgressState.Snapshot || index !== this.snapshotIndex) return FollowUp.Nothing;
    if (refused) this.snapshotOffset = 0;
    else if (offset > this.snapshotOffset) this.snapshotOffset = offset;
    else return FollowUp.Nothing; // duplicate reply
    return FollowUp.SnapshotChunk;
  }

  /** Records an AppendEntries that went out ending at `last`; returns whether more may follow it at once (pipelining). */
  sentAppend(last: number, hasEntries: boolean): boolean {
    if (this.state === ProgressState.Probe) {
      this.paused = true;
      return false;
    }
    if (!hasEntries || this.state !== ProgressState.Replicate) return false;
    this.next = last + 1;
    if (this.inflightCount < this.maxInflight) {
      this.inflight[(this.inflightStart + this.inflightCount) % this.maxInflight] = last;
      this.inflightCount++;
    }
    return true;
  }

  freeInflightTo(index: number): void {
    while (this.inflightCount > 0 && this.inflight[this.inflightStart] <= index) {
      this.inflightStart = (this.inflightStart + 1) % this.maxInflight;
      this.inflightCount--;
    }
  }

  /** Frees the oldest in-flight slot so a heartbeat round can unstick a window lost in the network. */
  freeOldestInflight(): void {
    if (this.inflightCount > 0) {
      this.inflightStart = (this.inflightStart + 1) % this.maxInflight;
      this.inflightCount--;
    }
  }

  clearInflight(): void {
    this.inflightStart = 0;
    this.inflightCount = 0;
  }
}
