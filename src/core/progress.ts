/**
 * What the leader knows about one follower's log, and how it sends to it (after etcd's
 * progress tracker):
 * - Probe: one AppendEntries at a time until a reply shows where the logs agree;
 * - Replicate: pipelined AppendEntries, `next` advanced optimistically, bounded in flight;
 * - Snapshot: the follower needs compacted entries; a snapshot transfer is under way.
 */
export enum ProgressState { Probe = 0, Replicate = 1, Snapshot = 2 }

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

  /** Records an AppendEntries ending at `last` sent in Replicate state. */
  sentEntries(last: number): void {
    if (this.state === ProgressState.Replicate) {
      this.next = last + 1;
      if (this.inflightCount < this.maxInflight) {
        this.inflight[(this.inflightStart + this.inflightCount) % this.maxInflight] = last;
        this.inflightCount++;
      }
    } else if (this.state === ProgressState.Probe) {
      this.paused = true;
    }
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
