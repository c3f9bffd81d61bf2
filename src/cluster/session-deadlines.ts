import type { SessionWindow } from './session-window.js';
import { timerDelay } from './timer-delay.js';

/**
 * The one timer of a session's command deadlines: it fires at the earliest deadline of what is
 * outstanding in the window and hands the first command past its deadline to `expired` (the
 * session then fails it and everything after it: commands apply in seq order). Shared by the
 * worker cluster's ClientSession and the remote RemoteSession.
 */
export class SessionDeadlines {
  private timer: NodeJS.Timeout | null = null;
  private next = Infinity;

  constructor(private readonly window: SessionWindow, private readonly expired: (seq: number) => void) {}

  /** A command with this deadline (performance.now() ms) was added. */
  added(deadline: number): void {
    if (deadline < this.next) this.arm(deadline);
  }

  stop(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    this.next = Infinity;
  }

  private arm(deadline: number): void {
    this.next = deadline;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.check, timerDelay(deadline - performance.now() + 1));
    this.timer.unref(); // what is in flight or waiting to be resent keeps the process alive
  }

  private readonly check = (): void => {
    this.timer = null;
    this.next = Infinity;
    const w = this.window, now = performance.now();
    for (let s = w.ackedThrough + 1; s < w.next; s++) {
      if (w.isOpen(s) && w.deadline(s) <= now) { this.expired(s); return; }
    }
    const next = w.earliestDeadline();
    if (next !== Infinity) this.arm(next);
  };
}
