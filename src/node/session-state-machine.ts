/**
 * Exactly-once client sessions (Raft dissertation, section 6.3) as a layer around the user's
 * state machine. Every log command is a session frame (session-protocol.ts); this layer keeps a
 * table of sessions, applies each (client, seq) to the user's state machine at most once and in
 * seq order, answers a retried seq with the result stored when it was applied, and discards
 * results the client has acknowledged. The whole table goes into every snapshot.
 *
 * Expiry rule (a function of the log alone, so every peer evaluates it identically; no clock):
 * - A session's last activity is the log index of the last entry addressed to it (its
 *   RegisterSession, or any Command for it, duplicate or not).
 * - At most `maxSessions` sessions live at once. A RegisterSession that finds the table full
 *   first evicts the least recently active session (smallest last-activity index).
 * - With `inactivityLimit` = L > 0, a session is expired at entry index i once
 *   i - lastActivity > L; such sessions are removed after each applied entry.
 * A command for a session that is not in the table is answered SessionExpired and not applied.
 * Every peer must run with the same options; a snapshot records them and restore refuses others.
 */
import { crc32c } from '../storage/crc32c.js';
import {
  FrameKind, SessionFrameError, SessionStatus, decodeCompactFast, decodeFrameAt, encodeInvalid, encodeRegistered, encodeResult, newFrameFields,
  readU64, viewOf, writeU64,
} from './session-protocol.js';

// Result frames without a body, shared: the apply path answers most entries with one of these
// instead of allocating (the runtime and the client only read result frames).
const APPLIED_EMPTY = encodeResult(SessionStatus.Applied);
const DUPLICATE_EMPTY = encodeResult(SessionStatus.Duplicate);
const STALE = encodeResult(SessionStatus.Stale);
const OUT_OF_ORDER = encodeResult(SessionStatus.OutOfOrder);
const EXPIRED = encodeResult(SessionStatus.SessionExpired);
const UNREGISTERED = encodeResult(SessionStatus.Unregistered);

/** The state machine contract with results: apply may return bytes for the proposing client. */
export interface ResultStateMachine {
  apply(command: Uint8Array, index: number, term: number): Uint8Array | undefined | void;
  snapshot?(): Uint8Array;
  restore?(snapshot: Uint8Array, index: number, term: number): void;
  query?(query: Uint8Array): Uint8Array;
}

export interface SessionOptions {
  /** Most sessions kept at once; registering one more evicts the least recently active. Default 10,000. */
  maxSessions?: number;
  /** Log entries of inactivity after which a session expires; 0 (the default) for none. */
  inactivityLimit?: number;
}

export const DEFAULT_MAX_SESSIONS = 10_000;

/** A session snapshot that cannot be decoded or does not match this layer's options. */
export class SessionSnapshotError extends Error {
  override name = 'SessionSnapshotError';
}

/** One client's session; also a node of the LRU list (least recently active first). */
interface Session {
  readonly id: number;
  lastActivity: number;
  /** Highest seq applied; every seq <= it was applied exactly once, in order. */
  lastApplied: number;
  /** Results of seqs <= ackedThrough are discarded. ackedThrough <= lastApplied. */
  ackedThrough: number;
  /**
   * The non-empty results of seqs ackedThrough + 1 .. lastApplied, in seq order, from `head`
   * on: keptSeqs[i] is a seq and kept[i] the Applied result frame that answered it (status
   * byte, then the user's bytes). A seq that is not listed had no result. Only results take
   * room: a stream of commands without results costs the table nothing per command.
   */
  keptSeqs: number[];
  kept: Uint8Array[];
  head: number;
  prev: Session | null;
  next: Session | null;
}

// Snapshot layout (little-endian):
//   0  u32 magic 'RTSS'      4  u16 version (1)     6  u16 reserved (0)
//   8  u32 CRC-32C of bytes [12, end)
//  12  u64 maxSessions      20  u64 inactivityLimit
//  28  u32 session count    32  u64 user snapshot length
//  40  sessions, least recently active first, each:
//        u64 id, u64 lastActivity, u64 lastApplied, u64 ackedThrough, u32 result count,
//        then per result: u32 length (0 = none) and the bytes
//      then the user's snapshot (exactly its length, to the end).
const SNAP_MAGIC = 0x53535452; // 'RTSS' read as a little-endian u32
const SNAP_VERSION = 1;
const SNAP_HEADER_BYTES = 40;
const SESSION_FIXED_BYTES = 36;

function newSession(id: number, lastActivity: number, lastApplied: number, ackedThrough: number): Session {
  return { id, lastActivity, lastApplied, ackedThrough, keptSeqs: [], kept: [], head: 0, prev: null, next: null };
}

/** The kept result frame of `seq` (not acknowledged, applied), or undefined when it had none. */
function keptResult(s: Session, seq: number): Uint8Array | undefined {
  let lo = s.head, hi = s.keptSeqs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1, v = s.keptSeqs[mid];
    if (v === seq) return s.kept[mid];
    if (v < seq) lo = mid + 1; else hi = mid - 1;
  }
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `a ${typeof v}`;
}

export class SessionStateMachine {
  readonly maxSessions: number;
  readonly inactivityLimit: number;
  private readonly sessions = new Map<number, Session>();
  /** The frame being applied (one object for all entries). */
  private readonly frame = newFrameFields();
  private oldest: Session | null = null;
  private newest: Session | null = null;
  /** The session of the previous command: a client's commands come in runs, so this saves most Map lookups. */
  private recent: Session | null = null;

  /** Present when the user's state machine can snapshot (the runtime checks for the method). */
  readonly snapshot?: () => Uint8Array;
  /** Present when the user's state machine answers queries (reads bypass the session table). */
  readonly query?: (query: Uint8Array) => Uint8Array;
  /** Present when the user's state machine can restore. */
  readonly restore?: (snapshot: Uint8Array, index: number, term: number) => void;

  constructor(private readonly user: ResultStateMachine, opts: SessionOptions = {}) {
    const max = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
    const limit = opts.inactivityLimit ?? 0;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxSessions must be an integer >= 1, got ${max}`);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`inactivityLimit must be an integer >= 0 (0 = none), got ${limit}`);
    this.maxSessions = max;
    this.inactivityLimit = limit;
    if (user.snapshot) this.snapshot = () => this.encodeSnapshot(user.snapshot!());
    if (user.restore) this.restore = (s, index, term) => this.decodeAndRestore(s, index, term);
    if (user.query) this.query = (q) => user.query!(q);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Applies one log entry and returns the result frame for the client that proposed it. An
   * exception from the user's apply propagates and leaves the table as it was before the entry.
   */
  apply(command: Uint8Array, index: number, term: number): Uint8Array {
    return this.applyRange(command, 0, command.byteLength, index, term);
  }

  /** apply() of the frame at `data[start, end)`: a Command's payload is the only view made of it. */
  applyRange(data: Uint8Array, start: number, end: number, index: number, term: number): Uint8Array {
    const frame = this.frame;
    if (end > start && data[start] === FrameKind.CompactCommand && decodeCompactFast(data, start, end, frame)) {
      // The common entry: the next command of the session of the previous one (a client's
      // commands come in runs), which it acknowledges up to some seq. The general path below
      // gives the same answer; this one skips its lookups and branches.
      const s = this.recent;
      const seq = frame.seq;
      if (s !== null && s.id === frame.clientId && seq === s.lastApplied + 1 && (this.inactivityLimit === 0 || index - s.lastActivity <= this.inactivityLimit)) {
        const out = this.applied(s, this.user.apply(viewOf(data, frame.payloadAt, end), index, term), index); // may throw: nothing is changed yet
        if (frame.ackedThrough > s.ackedThrough) this.acknowledge(s, frame.ackedThrough);
        s.lastActivity = index;
        if (this.newest !== s) this.touch(s, index);
        if (this.inactivityLimit > 0) this.expireInactive(index);
        return out;
      }
    } else {
      try {
        decodeFrameAt(data, start, end, frame);
      } catch (e) {
        if (!(e instanceof SessionFrameError)) throw e;
        // Every peer sees the same bad bytes and gives the same answer; failing stop would halt the cluster.
        this.expireInactive(index);
        return encodeInvalid(`entry ${index}: ${e.message}`);
      }
    }
    let out: Uint8Array;
    switch (frame.kind) {
      case FrameKind.Command:
      case FrameKind.CompactCommand: // (decoded as Command; listed for the compiler)
        out = this.command(data, end, index, term);
        break;
      case FrameKind.Register:
        out = this.register(index);
        break;
      case FrameKind.Unregister: {
        const s = this.live(frame.clientId, index);
        if (s) this.remove(s);
        out = s ? UNREGISTERED : EXPIRED;
        break;
      }
    }
    this.expireInactive(index);
    return out;
  }

  /** The decoded Command in `this.frame`, whose payload is `data[frame.payloadAt, end)`. */
  private command(data: Uint8Array, end: number, index: number, term: number): Uint8Array {
    const frame = this.frame;
    const s = this.live(frame.clientId, index);
    if (!s) return EXPIRED;
    const seq = frame.seq;
    let out: Uint8Array;
    if (seq === s.lastApplied + 1) {
      out = this.applied(s, this.user.apply(viewOf(data, frame.payloadAt, end), index, term), index); // may throw: nothing is changed yet
    } else if (seq > s.lastApplied) {
      out = OUT_OF_ORDER;
    } else if (seq <= s.ackedThrough) {
      out = STALE;
    } else {
      const kept = keptResult(s, seq);
      out = kept ? encodeResult(SessionStatus.Duplicate, kept.subarray(1)) : DUPLICATE_EMPTY;
    }
    if (frame.ackedThrough > s.ackedThrough) this.acknowledge(s, frame.ackedThrough);
    this.touch(s, index);
    return out;
  }

  /** Session `s` applied its next seq, whose apply returned `r`: the result frame, kept if it has a body. */
  private applied(s: Session, r: Uint8Array | undefined | void, index: number): Uint8Array {
    if (r !== undefined && !(r instanceof Uint8Array)) {
      throw new TypeError(`the state machine's apply returned ${describe(r)} at entry ${index}; a result must be a Uint8Array or undefined`);
    }
    const seq = ++s.lastApplied;
    if (r === undefined || r.byteLength === 0) return APPLIED_EMPTY;
    // The frame keeps a private copy: the user may reuse the buffer it returned.
    const out = encodeResult(SessionStatus.Applied, r);
    s.keptSeqs.push(seq);
    s.kept.push(out);
    return out;
  }

  private register(index: number): Uint8Array {
    if (this.sessions.has(index)) {
      // Only a replayed entry could do this (the runtime applies each index once).
      throw new Error(`session ${index} is already registered: entry ${index} applied twice`);
    }
    while (this.sessions.size >= this.maxSessions) this.remove(this.oldest!);
    const s = newSession(index, index, 0, 0);
    this.sessions.set(index, s);
    this.linkNewest(s);
    return encodeRegistered(index);
  }

  /** The session if it is in the table and not past the inactivity limit at `index`. */
  private live(id: number, index: number): Session | undefined {
    let s: Session | null | undefined = this.recent;
    if (s === null || s.id !== id) {
      s = this.sessions.get(id);
      if (s) this.recent = s;
    }
    if (s && this.inactivityLimit > 0 && index - s.lastActivity > this.inactivityLimit) return undefined;
    return s;
  }

  /** Discards the results of seqs <= ackedThrough (never past what was applied). */
  private acknowledge(s: Session, ackedThrough: number): void {
    const upTo = Math.min(ackedThrough, s.lastApplied);
    if (upTo <= s.ackedThrough) return;
    s.ackedThrough = upTo;
    const seqs = s.keptSeqs, n = seqs.length;
    if (s.head === n) return;
    let h = s.head;
    while (h < n && seqs[h] <= upTo) s.kept[h++] = APPLIED_EMPTY; // let the frame go
    if (h === n) { seqs.length = 0; s.kept.length = 0; h = 0; } else if (h >= 32 && h * 2 >= n) {
      // Compact once the discarded prefix dominates, so the arrays stay proportional to what is kept.
      for (let i = h; i < n; i++) { seqs[i - h] = seqs[i]; s.kept[i - h] = s.kept[i]; }
      seqs.length = n - h; s.kept.length = n - h; h = 0;
    }
    s.head = h;
  }

  private touch(s: Session, index: number): void {
    s.lastActivity = index;
    if (this.newest === s) return;
    this.unlink(s);
    this.linkNewest(s);
  }

  private expireInactive(index: number): void {
    if (this.inactivityLimit === 0) return;
    while (this.oldest && index - this.oldest.lastActivity > this.inactivityLimit) this.remove(this.oldest);
  }

  private remove(s: Session): void {
    if (this.recent === s) this.recent = null;
    this.sessions.delete(s.id);
    this.unlink(s);
  }

  private linkNewest(s: Session): void {
    s.prev = this.newest;
    s.next = null;
    if (this.newest) this.newest.next = s;
    else this.oldest = s;
    this.newest = s;
  }

  private unlink(s: Session): void {
    if (s.prev) s.prev.next = s.next;
    else this.oldest = s.next;
    if (s.next) s.next.prev = s.prev;
    else this.newest = s.prev;
    s.prev = s.next = null;
  }

  // ---- snapshots

  private encodeSnapshot(userSnap: Uint8Array): Uint8Array {
    if (!(userSnap instanceof Uint8Array)) throw new TypeError('the user state machine\'s snapshot() must return a Uint8Array');
    let size = SNAP_HEADER_BYTES + userSnap.byteLength;
    for (let s = this.oldest; s; s = s.next) {
      size += SESSION_FIXED_BYTES + 4 * (s.lastApplied - s.ackedThrough);
      for (let k = s.head; k < s.kept.length; k++) size += s.kept[k].byteLength - 1;
    }
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, SNAP_MAGIC, true);
    dv.setUint16(4, SNAP_VERSION, true);
    writeU64(dv, 12, this.maxSessions);
    writeU64(dv, 20, this.inactivityLimit);
    dv.setUint32(28, this.sessions.size, true);
    writeU64(dv, 32, userSnap.byteLength);
    let p = SNAP_HEADER_BYTES;
    for (let s = this.oldest; s; s = s.next) {
      writeU64(dv, p, s.id);
      writeU64(dv, p + 8, s.lastActivity);
      writeU64(dv, p + 16, s.lastApplied);
      writeU64(dv, p + 24, s.ackedThrough);
      dv.setUint32(p + 32, s.lastApplied - s.ackedThrough, true);
      p += SESSION_FIXED_BYTES;
      let k = s.head;
      for (let seq = s.ackedThrough + 1; seq <= s.lastApplied; seq++) {
        if (k < s.keptSeqs.length && s.keptSeqs[k] === seq) {
          const r = s.kept[k++];
          dv.setUint32(p, r.byteLength - 1, true);
          out.set(r.subarray(1), p + 4);
          p += 4 + r.byteLength - 1;
        } else {
          dv.setUint32(p, 0, true);
          p += 4;
        }
      }
    }
    out.set(userSnap, p);
    dv.setUint32(8, crc32c(out, 12), true);
    return out;
  }

  private decodeAndRestore(snap: Uint8Array, index: number, term: number): void {
    const { sessions, userSnapshot } = this.decodeSnapshot(snap);
    this.user.restore!(userSnapshot, index, term); // if it throws, our table is left as it was
    this.sessions.clear();
    this.oldest = this.newest = this.recent = null;
    for (const s of sessions) {
      this.sessions.set(s.id, s);
      this.linkNewest(s);
    }
  }

  private decodeSnapshot(snap: Uint8Array): { sessions: Session[]; userSnapshot: Uint8Array } {
    const c = parseSnapshot(snap);
    if (c.maxSessions !== this.maxSessions || c.inactivityLimit !== this.inactivityLimit) {
      throw new SessionSnapshotError(`session snapshot: written with maxSessions ${c.maxSessions}, inactivityLimit ${c.inactivityLimit}, but this peer has maxSessions ${this.maxSessions}, ` +
        `inactivityLimit ${this.inactivityLimit}; every peer must use the same session options or they diverge`);
    }
    return c;
  }
}

/** One session as a snapshot records it (readSessionSnapshot). */
export interface SnapshotSession {
  readonly id: number;
  readonly lastActivity: number;
  readonly lastApplied: number;
  readonly ackedThrough: number;
}

/**
 * What a session snapshot holds, without restoring it: the session options it was written
 * with, its sessions (least recently active first) and the user's snapshot (a view into
 * `snap`). Throws SessionSnapshotError, as restore does, on bytes that are not one.
 */
export function readSessionSnapshot(snap: Uint8Array): {
  maxSessions: number; inactivityLimit: number; sessions: SnapshotSession[]; userSnapshot: Uint8Array;
} {
  const c = parseSnapshot(snap);
  return {
    maxSessions: c.maxSessions, inactivityLimit: c.inactivityLimit, userSnapshot: c.userSnapshot,
    sessions: c.sessions.map((s) => ({ id: s.id, lastActivity: s.lastActivity, lastApplied: s.lastApplied, ackedThrough: s.ackedThrough })),
  };
}

function parseSnapshot(snap: Uint8Array): { maxSessions: number; inactivityLimit: number; sessions: Session[]; userSnapshot: Uint8Array } {
  const fail = (m: string): never => { throw new SessionSnapshotError(`session snapshot: ${m}`); };
  if (!(snap instanceof Uint8Array)) fail('not a Uint8Array');
  if (snap.byteLength < SNAP_HEADER_BYTES) fail(`${snap.byteLength} bytes is shorter than the ${SNAP_HEADER_BYTES}-byte header`);
  const dv = new DataView(snap.buffer, snap.byteOffset, snap.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== SNAP_MAGIC) fail(`bad magic 0x${magic.toString(16)} (not a session snapshot: was this state written without sessions?)`);
  const version = dv.getUint16(4, true);
  if (version !== SNAP_VERSION) fail(`unsupported version ${version} (this build reads version ${SNAP_VERSION})`);
  const crc = dv.getUint32(8, true);
  const actual = crc32c(snap, 12);
  if (crc !== actual) fail(`checksum mismatch (stored 0x${crc.toString(16)}, computed 0x${actual.toString(16)}): corrupt`);
  const u64 = (at: number, what: string) => readU64(dv, at, what, SessionSnapshotError);
  const max = u64(12, 'maxSessions');
  const limit = u64(20, 'inactivityLimit');
  const count = dv.getUint32(28, true);
  if (count > max) fail(`${count} sessions exceed maxSessions ${max}`);
  const userLen = u64(32, 'user snapshot length');
  const sessions: Session[] = [];
  const seen = new Set<number>();
  let p = SNAP_HEADER_BYTES;
  let prevActivity = 0;
  for (let i = 0; i < count; i++) {
    if (p + SESSION_FIXED_BYTES > snap.byteLength) fail(`session ${i} of ${count} truncated at offset ${p}`);
    const id = u64(p, 'session id');
    const lastActivity = u64(p + 8, 'lastActivity');
    const lastApplied = u64(p + 16, 'lastApplied');
    const ackedThrough = u64(p + 24, 'ackedThrough');
    const n = dv.getUint32(p + 32, true);
    if (id === 0 || seen.has(id)) fail(`session id ${id} at offset ${p} is ${id === 0 ? 'zero' : 'repeated'}`);
    if (lastActivity < prevActivity || lastActivity < id) fail(`session ${id} is out of activity order at offset ${p}`);
    if (ackedThrough > lastApplied || n !== lastApplied - ackedThrough) {
      fail(`session ${id}: ${n} results for seqs ${ackedThrough + 1}..${lastApplied} at offset ${p}`);
    }
    seen.add(id);
    prevActivity = lastActivity;
    p += SESSION_FIXED_BYTES;
    const s = newSession(id, lastActivity, lastApplied, ackedThrough);
    for (let k = 0; k < n; k++) {
      if (p + 4 > snap.byteLength) fail(`session ${id}: result ${k} truncated at offset ${p}`);
      const len = dv.getUint32(p, true);
      if (p + 4 + len > snap.byteLength) fail(`session ${id}: result ${k} of ${len} bytes runs past the end at offset ${p}`);
      if (len > 0) {
        s.keptSeqs.push(ackedThrough + 1 + k);
        s.kept.push(encodeResult(SessionStatus.Applied, snap.subarray(p + 4, p + 4 + len)));
      }
      p += 4 + len;
    }
    sessions.push(s);
  }
  if (snap.byteLength - p !== userLen) {
    fail(`user snapshot should be ${userLen} bytes, ${snap.byteLength - p} remain after the session table`);
  }
  return { maxSessions: max, inactivityLimit: limit, sessions, userSnapshot: snap.subarray(p) };
}
