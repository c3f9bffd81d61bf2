/**
 * Offers load to a cluster through its ClusterClient, in one of two ways:
 *
 *  - closed loop: `window` commands are kept in flight; each commit sends the next command.
 *    Latency is from send to commit. This finds the saturated throughput, but a stalled
 *    system also stops the sender, so it under-reports queueing (coordinated omission).
 *  - open loop: command k is due at t0 + k / rate whatever happens to earlier ones, and its
 *    latency is measured from that intended time, not from when the event loop got round to
 *    sending it; so a stall shows up in the latency of every command that should have been
 *    sent during it. The service time (from the actual send) is kept too, to show the gap.
 *
 * Refused commands are resent (to the leader the refusal names) keeping their original start
 * time, so a leader change costs latency instead of vanishing from the histogram.
 *
 * With a session (`--sessions`), commands go through the session instead (SessionLoad:
 * ClientSession's streaming form, or a RemoteSession over TCP): the session resends on its
 * own, so every outcome the generator sees is final, and a failure ends the run.

 *
 * With a reader (`--read-ratio R`), a fraction R of the operations are reads (the streaming
 * form, client.submitRead / onReadDone: no promise per read), spread evenly among the
 * writes; a read that fails is sent again. Reads and
 * writes get their own counts and latency histograms beside the combined ones.
 */
import type { FailReason } from '../src/cluster/client.js';
import type { ClientSession } from '../src/cluster/client-session.js';
import { CoarseClock } from '../src/cluster/coarse-clock.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { LoadSpec } from './options.js';

/** Width of a timeline bucket: fine enough to see a GC pause or an arena copy, coarse enough to stay small. */
export const TIMELINE_MS = 100;

/** The timeline counts, per bucket, the latencies above this (the issue-12 goal: p99 <= 1 ms at 250,000/s). */
export const TAIL_THRESHOLD_MS = 1;

/** Latencies above TAIL_THRESHOLD_MS kept one by one (start, send, end) for the tail breakdown: 6 MiB. */
const TAIL_SAMPLES_KEPT = 1 << 18;

/** Open loop: sending pauses while this many commands are unsettled (the client's own cap is 2^20). */
const OPEN_MAX_IN_FLIGHT = 1 << 18;

/** Per TIMELINE_MS bucket of the measured window. */
export interface Timeline {
  bucketMs: number;
  commits: number[];
  maxLatencyUs: number[];
  /** Latencies above `ms` completed in each bucket. */
  overThreshold?: { ms: number; counts: number[] };
  /** Open loop: how late the sender was at worst when it woke in each bucket (ms). */
  sendLagMs?: number[];
  /** GC pause time (ms) of each thread by bucket of the pause's start (RAFT_GC_TALLY=1). */
  gcMs?: Array<{ thread: string; ms: number[] }>;
}

export interface LoadCounters {
  /** Commands committed within the measured window. */
  committed: number;
  /** Length of the measured window in seconds. */
  seconds: number;
  /** Commands handed to the client (first sends, not resends) within the window. */
  sent: number;
  /** Refusals by reason (each refused command is resent). */
  failures: Partial<Record<FailReason, number>>;
  resends: number;
  /** Completions whose start time could not be found (should stay 0). */
  untracked: number;
  /** Open loop: how late (ms) the sender was at worst, i.e. now minus the intended time of the oldest command it sent. */
  maxSendLagMs: number;
  /** Open loop: sending was paused because OPEN_MAX_IN_FLIGHT commands were unsettled. */
  hitInFlightCap: boolean;
}

/** Reads mixed into the load: `ratio` of the operations call `submit()` (ClusterClient.submitRead). */
export interface ReadLoad {
  ratio: number;
  /** Sends a read; returns its sequence number. */
  submit(): number;
  /**
   * Where every read's outcome goes: set once by the generator. `done` gets the result in
   * place (valid during the call): the counting state machine's answer, its count of applied
   * entries as a little-endian float64, which the generator checks (see onReadDone).
   */
  listen(done: (seq: number, bytes: Uint8Array, offset: number, length: number) => void, failed: (seq: number) => void): void;
}

/** Completed operations of each kind in the window (with a ReadLoad). */
export interface MixCounters { reads: number; writes: number; readFailures: number }

/** What the generator needs of a client: the streaming form (ClusterClient, or RemoteClient over TCP). */
export interface StreamingClient {
  submit(command: Uint8Array): number;
  onCommitted: ((seq: number, index: number, result?: Uint8Array) => void) | null;
  onFailed: ((seq: number, reason: FailReason, leaderHint: number) => void) | null;
  /** Where submit() sends; the generator follows refusals' leader hints. */
  leader: number;
  /** Commands submitted and not yet settled. */
  readonly pending: number;
}

/**
 * What the generator needs of an exactly-once client session: submit() returns a seq, and
 * `committed` or `failed` is called with it once, on the callbacks listen() hands over.
 * ClientSession's streaming form (sessionLoadOf), or a RemoteSession over TCP (remote-session-load.ts).
 */
export interface SessionLoad {
  submit(command: Uint8Array): number;
  listen(committed: (seq: number) => void, failed: (seq: number, error: Error) => void): void;
}

export function sessionLoadOf(session: ClientSession): SessionLoad {
  return {
    submit: (command) => session.submit(command),
    listen: (committed, failed) => { session.onCommitted = committed; session.onFailed = failed; },
  };
}

export class LoadGenerator {
  /** Without reads, every latency (with reads: none, see `latency`). */
  private readonly allLatency = new LatencyRecorder();
  /**
   * Latency: closed loop from send, open loop from the intended send time. With reads, the sum
   * of readLatency and writeLatency, made on each call (one record per operation on the hot path).
   */
  get latency(): LatencyRecorder {
    if (!this.reads) return this.allLatency;
    const sum = new LatencyRecorder();
    sum.addAll(this.readLatency);
    sum.addAll(this.writeLatency);
    return sum;
  }
  /** Open loop only: from the actual send (what a naive open loop would report). */
  readonly service = new LatencyRecorder();
  /** Per TIMELINE_MS of the window (by completion time): commits, and the largest latency (ns). */
  readonly timelineCommits: Float64Array;
  readonly timelineMaxNs: Float64Array;
  /** Per bucket: latencies above TAIL_THRESHOLD_MS; open loop: how late the sender was at worst (ms). */
  readonly timelineOverNs: Float64Array;
  readonly timelineSendLagMs: Float64Array;
  /** Open loop: up to TAIL_SAMPLES_KEPT latencies above TAIL_THRESHOLD_MS, spread over the window, as (intended start, actual send, commit) in ms. */
  private readonly tailTimes = new Float64Array(0);
  private tailKept = 0;
  private tailSeen = 0;
  private tailStride = 1;
  /** With a ReadLoad: the reads' and the writes' latencies (closed loop, from send). */
  readonly readLatency = new LatencyRecorder();
  readonly writeLatency = new LatencyRecorder();
  private mix: MixCounters = { reads: 0, writes: 0, readFailures: 0 };
  /** Even spread of reads: a read whenever this passes 1. */
  private readDebt = 0;
  private readsInFlight = 0;
  /** Writes acknowledged so far (reads must see at least those acknowledged before they were sent). */
  private writesAcked = 0;
  private readFloor: Float64Array;
  /** Reads whose result was checked against readFloor (untracked ones, resent after a restart raced them, are not). */
  readsChecked = 0;
  /** The buffer the last read result was in (a ring's bytes) and a view of it. */
  private resultBytes: Uint8Array | null = null;
  private resultView: DataView | null = null;
  /** Commands handed to the client since start (memory-journal budget, progress). */
  totalSent = 0;
  totalCommitted = 0;

  private readonly clock = new CoarseClock(16); // a reading per 16 timestamps at most: see CoarseClock
  private readonly command: Uint8Array;
  private readonly mask: number;
  /** Per slot (seq & mask): the seq it belongs to, its start time and its actual send time. */
  private readonly slotSeq: Float64Array;
  private readonly slotStart: Float64Array;
  private readonly slotSent: Float64Array;
  private readonly retryQueue: Array<{ start: number; sent: number }> = [];
  /** Reads in flight by seq & mask: their seq and start time. */
  private readonly readSeq: Float64Array;
  private readonly readStart: Float64Array;
  private retryTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  /** Commands not yet committed, including those waiting to be resent. */
  private outstanding = 0;
  private running = false;
  private stopping = false;
  private measuring = false;
  private windowStart = Infinity;
  private windowEnd = Infinity;
  private counters: LoadCounters = emptyCounters();
  private fatal: Error | null = null;
  // open loop
  private t0 = 0;
  private scheduled = 0;
  /** Open loop: the intended time of the next command to send. */
  private nextDue = Infinity;
  private readonly perMs: number;

  constructor(
    private readonly client: StreamingClient, private readonly spec: LoadSpec, commandBytes: number, private readonly findLeader: () => Promise<number>, windowSec = 3600,
    private readonly session: SessionLoad | null = null,
    private readonly reads: ReadLoad | null = null,
  ) {
    if (reads && (spec.mode !== 'closed' || session)) throw new Error('reads are measured closed-loop without sessions');
    const buckets = Math.ceil((windowSec * 1000) / TIMELINE_MS) + 1;
    this.timelineCommits = new Float64Array(buckets);
    this.timelineMaxNs = new Float64Array(buckets);
    this.timelineOverNs = new Float64Array(buckets);
    this.timelineSendLagMs = new Float64Array(buckets);
    if (spec.mode === 'open') this.tailTimes = new Float64Array(3 * TAIL_SAMPLES_KEPT);
    this.command = new Uint8Array(commandBytes);
    for (let i = 0; i < commandBytes; i++) this.command[i] = (i * 131 + 7) & 0xff;
    const cap = spec.mode === 'closed' ? spec.window : OPEN_MAX_IN_FLIGHT;
    const slots = 2 ** Math.ceil(Math.log2(Math.max(1024, cap * 4)));
    this.mask = slots - 1;
    this.slotSeq = new Float64Array(slots).fill(-1);
    this.slotStart = new Float64Array(slots);
    this.slotSent = new Float64Array(spec.mode === 'open' ? slots : 0);
    this.perMs = spec.mode === 'open' ? spec.rate / 1000 : 0;
    this.readSeq = new Float64Array(reads ? slots : 0).fill(-1);
    this.readStart = new Float64Array(reads ? slots : 0);
    this.readFloor = new Float64Array(reads ? slots : 0);
    reads?.listen((seq, bytes, offset, length) => this.onReadDone(seq, bytes, offset, length), (seq) => this.onReadFailed(seq));
    if (session) {
      session.listen((seq) => this.onCommitted(seq), (_seq, e) => { this.outstanding--; this.fatal ??= e; });
    } else {
      client.onCommitted = (seq) => this.onCommitted(seq);
      client.onFailed = (seq, reason, hint) => this.onFailed(seq, reason, hint);
    }
  }

  /** A run that must be abandoned (a command refused as invalid), if any. */
  get error(): Error | null { return this.fatal; }

  get inFlight(): number { return this.outstanding; }

  start(): void {
    if (this.running) throw new Error('load generator already started');
    this.running = true;
    // Warm-up measures too (beginMeasurement() starts afresh): the recording code is compiled
    // before the window instead of being taken, at its start, by a deoptimization and a slow
    // interpreted start of the completion path, which showed as the window's worst 100 ms.
    this.beginMeasurement();
    const now = performance.now();
    if (this.spec.mode === 'closed') {
      for (let i = 0; i < this.spec.window; i++) this.send(now, now);
    } else {
      this.t0 = now;
      this.tick();
    }
  }

  /** Starts the measured window: counters and histograms restart from zero. */
  beginMeasurement(): void {
    this.allLatency.reset();
    this.service.reset();
    this.readLatency.reset();
    this.writeLatency.reset();
    this.mix = { reads: 0, writes: 0, readFailures: 0 };
    this.timelineCommits.fill(0);
    this.timelineMaxNs.fill(0);
    this.timelineOverNs.fill(0);
    this.timelineSendLagMs.fill(0);
    this.tailKept = 0;
    this.tailSeen = 0;
    this.tailStride = 1;
    this.counters = emptyCounters();
    this.windowStart = performance.now();
    this.windowEnd = Infinity;
    this.measuring = true;
  }

  /** Ends the measured window and stops offering load; returns the window's counters. */
  endMeasurement(): LoadCounters {
    this.windowEnd = performance.now();
    this.measuring = false;
    this.stopping = true;
    if (this.tickTimer) { clearTimeout(this.tickTimer); this.tickTimer = null; }
    this.counters.seconds = (this.windowEnd - this.windowStart) / 1000;
    return this.counters;
  }

  /**
   * Waits until every command sent has settled (open loop: their latencies still count if
   * they were due within the window), or `timeoutMs`. Returns the number still unsettled.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.stopping = true;
    this.retryQueue.length = 0;
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; }
    const deadline = performance.now() + timeoutMs;
    const unsettled = () => (this.session ? this.outstanding : this.client.pending + this.readsInFlight);
    while (unsettled() > 0 && performance.now() < deadline) await sleep(5);
    return unsettled();
  }

  // ------------------------------------------------------------------ sending

  /** A new command: counts towards `outstanding` until it commits. */
  private send(start: number, now: number): void {
    this.outstanding++;
    this.totalSent++;
    if (this.measuring) this.counters.sent++;
    if (this.reads) {
      this.readDebt += this.reads.ratio;
      if (this.readDebt >= 1) { this.readDebt -= 1; this.submitRead(start); return; }
    }
    this.submit(start, now);
  }

  /** The window's read and write counts (with a ReadLoad). */
  get mixCounters(): MixCounters { return this.mix; }

  /** Sends a read; a failed one (refused, timed out) is sent again keeping its start time. */
  private submitRead(start: number): void {
    this.readsInFlight++;
    const seq = this.reads!.submit();
    const slot = seq & this.mask;
    this.readSeq[slot] = seq;
    this.readStart[slot] = start;
    this.readFloor[slot] = this.writesAcked;
  }

  /**
   * A read's result: the state machine's count of applied entries. A linearizable read sees
   * every write acknowledged before it was sent, so the count is at least the writes this
   * generator had seen committed then; a smaller count (a stale read) or an answer of another
   * size stops the run with an error, instead of counting a wrong answer as throughput.
   */
  private onReadDone(seq: number, bytes: Uint8Array, offset: number, length: number): void {
    this.readsInFlight--;
    const slot = seq & this.mask;
    const tracked = this.readSeq[slot] === seq;
    const start = tracked ? this.readStart[slot] : NaN;
    if (start !== start && this.measuring) this.counters.untracked++;
    if (length !== 8) this.fatal ??= new Error(`read ${seq} answered ${length} bytes, expected the state machine's 8-byte count`);
    else if (tracked) {
      if (bytes !== this.resultBytes) { this.resultBytes = bytes; this.resultView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }
      const count = this.resultView!.getFloat64(offset, true);
      if (count < this.readFloor[slot]) this.fatal ??= new Error(`stale read ${seq}: it saw ${count} entries applied, but ${this.readFloor[slot]} writes had been acknowledged before it was sent`);
      this.readsChecked++;
    }
    this.complete(start, NaN, this.clock.now(), true);
  }

  private onReadFailed(seq: number): void {
    this.readsInFlight--;
    const slot = seq & this.mask;
    const start = this.readSeq[slot] === seq ? this.readStart[slot] : this.clock.now();
    if (this.measuring) this.mix.readFailures++;
    if (this.stopping) { this.outstanding--; return; }
    setTimeout(() => this.submitRead(start), 1);
  }

  /** Hands a command to the client; `sent` is when it was first handed over. */
  private submit(start: number, sent: number): void {
    let seq: number;
    try {
      seq = this.session ? this.session.submit(this.command) : this.client.submit(this.command);
    } catch (e) {
      if (this.session) { this.outstanding--; this.fatal ??= e as Error; return; }
      // the believed leader's channel is gone (crashed) or full: find the leader, resend later
      this.queueRetry(start, sent, 10, true);
      return;
    }
    const slot = seq & this.mask;
    this.slotSeq[slot] = seq;
    this.slotStart[slot] = start;
    if (this.slotSent.length > 0) this.slotSent[slot] = sent;
  }

  /** Open loop: send every command whose intended time has come, then sleep until the next. */
  private readonly tick = (): void => {
    this.tickTimer = null;
    if (this.stopping) return;
    this.sendDue(performance.now());
    // No spinning: the main thread shares the cores with the peers it measures. A timer wakes
    // us ~1 ms late at worst, and every completion also sends what is due (sendDue from
    // complete()), so at high rates commands leave within microseconds of their time; the
    // latency counts from the intended time either way.
    const wait = this.t0 + this.scheduled / this.perMs - performance.now();
    this.tickTimer = setTimeout(this.tick, Math.max(0, wait - 0.5));
  };

  /** Sends every command due by `now` (the intended times are kept), within the in-flight cap. */
  private sendDue(now: number): void {
    const due = Math.floor((now - this.t0) * this.perMs) + 1;
    let n = due - this.scheduled;
    if (n <= 0) return;
    const room = OPEN_MAX_IN_FLIGHT - this.outstanding;
    if (n > room) { n = Math.max(0, room); if (this.measuring) this.counters.hitInFlightCap = true; }
    if (n > 0 && this.measuring) {
      const lag = now - (this.t0 + this.scheduled / this.perMs);
      if (lag > this.counters.maxSendLagMs) this.counters.maxSendLagMs = lag;
      const b = Math.floor((now - this.windowStart) / TIMELINE_MS);
      if (b >= 0 && b < this.timelineSendLagMs.length && lag > this.timelineSendLagMs[b]) this.timelineSendLagMs[b] = lag;
    }
    for (let i = 0; i < n; i++) this.send(this.t0 + this.scheduled++ / this.perMs, now);
    this.nextDue = this.t0 + this.scheduled / this.perMs;
  }

  // ------------------------------------------------------------------ outcomes

  private onCommitted(seq: number): void {
    this.writesAcked++;
    const now = this.clock.now();
    const slot = seq & this.mask;
    if (this.slotSeq[slot] !== seq) {
      if (this.measuring) this.counters.untracked++;
      this.complete(NaN, NaN, now);
    } else {
      this.complete(this.slotStart[slot], this.slotSent.length > 0 ? this.slotSent[slot] : NaN, now);
    }
  }

  /** A command committed at `now`; `start` (NaN: unknown) and `sent` as given to submit(). */
  private complete(start: number, sent: number, now: number, isRead = false): void {
    this.outstanding--;
    this.totalCommitted++;
    if (this.reads && this.measuring) { if (isRead) this.mix.reads++; else this.mix.writes++; }
    if (start === start) {
      const ns = (now - start) * 1e6;
      if (this.spec.mode === 'closed') {
        if (this.measuring) {
          // With reads, each latency goes in its kind's recorder only: `latency` sums the two.
          if (this.reads) (isRead ? this.readLatency : this.writeLatency).record(ns);
          else this.allLatency.record(ns);
          this.mark(now, ns);
        }
      } else if (start >= this.windowStart && start < this.windowEnd) {
        this.allLatency.record(ns);
        this.service.record((now - sent) * 1e6);
        this.mark(now, ns);
        if (ns > TAIL_THRESHOLD_MS * 1e6) this.keepTail(start, sent, now);
      }
    }
    if (this.measuring) this.counters.committed++;
    if (this.stopping) return;
    if (this.spec.mode === 'closed') this.send(now, now);
    else if (now >= this.nextDue) this.sendDue(now);
  }

  /** Keeps every `tailStride`-th slow sample; when full, drops every other one kept and doubles the stride (an even spread over the window). */
  private keepTail(start: number, sent: number, now: number): void {
    if (this.tailSeen++ % this.tailStride !== 0) return;
    if (this.tailKept === TAIL_SAMPLES_KEPT) {
      const t = this.tailTimes;
      for (let k = 0; 2 * k < TAIL_SAMPLES_KEPT; k++) { t[3 * k] = t[6 * k]; t[3 * k + 1] = t[6 * k + 1]; t[3 * k + 2] = t[6 * k + 2]; }
      this.tailKept = TAIL_SAMPLES_KEPT / 2;
      this.tailStride *= 2;
      if ((this.tailSeen - 1) % this.tailStride !== 0) return;
    }
    const i = 3 * this.tailKept++;
    this.tailTimes[i] = start;
    this.tailTimes[i + 1] = sent;
    this.tailTimes[i + 2] = now;
  }

  /** Open loop: the latencies above TAIL_THRESHOLD_MS kept (flat triples, performance.now() ms) and how many there were. */
  tailSamples(): { times: Float64Array; seen: number } {
    return { times: this.tailTimes.subarray(0, 3 * this.tailKept), seen: this.tailSeen };
  }

  private mark(now: number, ns: number): void {
    const b = Math.floor((now - this.windowStart) / TIMELINE_MS);
    if (b < 0 || b >= this.timelineCommits.length) return;
    this.timelineCommits[b]++;
    if (ns > this.timelineMaxNs[b]) this.timelineMaxNs[b] = ns;
    if (ns > TAIL_THRESHOLD_MS * 1e6) this.timelineOverNs[b]++;
  }

  /** The timeline of the window (per bucket, by completion time), trimmed to its length. */
  timeline(seconds: number): Timeline {
    const n = Math.min(this.timelineCommits.length, Math.ceil((seconds * 1000) / TIMELINE_MS));
    return {
      bucketMs: TIMELINE_MS,
      commits: Array.from(this.timelineCommits.subarray(0, n)),
      maxLatencyUs: Array.from(this.timelineMaxNs.subarray(0, n), (v) => Math.round(v / 100) / 10),
      overThreshold: { ms: TAIL_THRESHOLD_MS, counts: Array.from(this.timelineOverNs.subarray(0, n)) },
      ...(this.spec.mode === 'open' ? { sendLagMs: Array.from(this.timelineSendLagMs.subarray(0, n), (v) => Math.round(v * 100) / 100) } : {}),
    };
  }

  private onFailed(seq: number, reason: FailReason, hint: number): void {
    const now = this.clock.now();
    if (this.measuring) this.counters.failures[reason] = (this.counters.failures[reason] ?? 0) + 1;
    const slot = seq & this.mask;
    const known = this.slotSeq[slot] === seq;
    const start = known ? this.slotStart[slot] : now;
    const sent = known && this.slotSent.length > 0 ? this.slotSent[slot] : now;
    if (reason === 'invalid') {
      this.fatal ??= new Error('the cluster refused a command as invalid (larger than its maxCommandBytes?)');
      this.outstanding--;
      return;
    }
    if (this.stopping) { this.outstanding--; return; }
    if (reason === 'not-leader' && hint >= 0) this.client.leader = hint;
    const knownLeader = reason === 'not-leader' && hint >= 0;
    this.queueRetry(start, sent, knownLeader ? 0 : reason === 'backpressure' ? 1 : 10, !knownLeader && reason !== 'backpressure');
  }

  /** Resends after `delayMs` (first asking the peers who leads, if `relocateLeader`). */
  private queueRetry(start: number, sent: number, delayMs: number, relocateLeader: boolean): void {
    this.retryQueue.push({ start, sent });
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      const resend = () => {
        this.retryTimer = null;
        if (this.stopping) return;
        for (const r of this.retryQueue.splice(0)) {
          if (this.measuring) this.counters.resends++;
          this.submit(r.start, r.sent);
        }
      };
      if (relocateLeader) this.findLeader().then((l) => { this.client.leader = l; resend(); }, resend);
      else resend();
    }, delayMs);
  }
}

function emptyCounters(): LoadCounters {
  return { committed: 0, seconds: 0, sent: 0, failures: {}, resends: 0, untracked: 0, maxSendLagMs: 0, hitInFlightCap: false };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
