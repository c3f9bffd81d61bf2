/**
 * Which configuration is in force at each point of one peer's log. A peer uses the latest
 * configuration in its log as soon as it is appended, committed or not (dissertation 4.1), so
 * a truncated suffix takes its configurations with it and the one before comes back. Below
 * the log lies the configuration of the snapshot (or, before any, the initial one).
 */
import { Membership } from './membership.js';

interface Change {
  index: number;
  membership: Membership;
}

export class MembershipHistory {
  private base: Membership;
  /** Index through which `base` is known to hold: the snapshot's (0 for the initial one). */
  private baseIndex = 0;
  /** Membership entries above the snapshot, ascending by index. */
  private readonly changes: Change[] = [];

  constructor(initial: Membership) {
    this.base = initial;
  }

  /** The configuration in force: the latest in the log, else the snapshot's. */
  get current(): Membership {
    const n = this.changes.length;
    return n > 0 ? this.changes[n - 1].membership : this.base;
  }

  /** Index of the entry that set the current configuration, or of the snapshot that holds it (0: the initial one). */
  get currentIndex(): number {
    const n = this.changes.length;
    return n > 0 ? this.changes[n - 1].index : this.baseIndex;
  }

  /** The configuration in force once the log holds everything through `index`. */
  at(index: number): Membership {
    for (let k = this.changes.length - 1; k >= 0; k--) if (this.changes[k].index <= index) return this.changes[k].membership;
    return this.base;
  }

  /** A membership entry was appended at `index` (above every one recorded). */
  appended(index: number, membership: Membership): void {
    const n = this.changes.length;
    if (n > 0 && this.changes[n - 1].index >= index) throw new Error(`membership entry at ${index} is not above the last one at ${this.changes[n - 1].index}`);
    this.changes.push({ index, membership });
  }

  /** The log lost its entries from `index` on; returns whether the configuration in force changed. */
  truncateFrom(index: number): boolean {
    const n = this.changes.length;
    while (this.changes.length > 0 && this.changes[this.changes.length - 1].index >= index) this.changes.pop();
    return this.changes.length !== n;
  }

  /** The log was compacted through `index`: the configuration there becomes the base. */
  compact(index: number): void {
    this.base = this.at(index);
    this.baseIndex = index;
    while (this.changes.length > 0 && this.changes[0].index <= index) this.changes.shift();
  }

  /** The log was replaced by a snapshot that carries `membership`. */
  reset(membership: Membership, index: number): void {
    this.base = membership;
    this.baseIndex = index;
    this.changes.length = 0;
  }
}
