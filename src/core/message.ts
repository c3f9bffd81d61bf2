import type { EntryBatch } from './entry-batch.js';

/** Every Raft message kind. Values are stable: the binary codec writes them. */
export enum MsgType {
  RequestVote = 1,
  RequestVoteReply = 2,
  AppendEntries = 3,
  AppendEntriesReply = 4,
  Heartbeat = 5,
  HeartbeatReply = 6,
  InstallSnapshot = 7,
  InstallSnapshotReply = 8,
  /** Would you vote for me in term `term`? Changes no one's term or vote (dissertation 9.6). */
  PreVote = 9,
  PreVoteReply = 10,
  /** Leader to the target of a leader transfer: campaign now. */
  TimeoutNow = 11,
  /** A follower asks the leader for a read index (hint: the follower's read id). */
  ReadIndex = 20,
  /** The leader's answer (index: the read index; hint: the read id; reject: cannot serve it). */
  ReadIndexReply = 21,
}

export const MSG_TYPE_NAMES: Record<number, string> = {
  1: 'RequestVote', 2: 'RequestVoteReply', 3: 'AppendEntries', 4: 'AppendEntriesReply',
  5: 'Heartbeat', 6: 'HeartbeatReply', 7: 'InstallSnapshot', 8: 'InstallSnapshotReply',
  9: 'PreVote', 10: 'PreVoteReply', 11: 'TimeoutNow',
  20: 'ReadIndex', 21: 'ReadIndexReply',
};

export function isRequest(t: MsgType): boolean {
  return t === MsgType.RequestVote || t === MsgType.AppendEntries || t === MsgType.Heartbeat || t === MsgType.InstallSnapshot ||
    t === MsgType.PreVote || t === MsgType.TimeoutNow || t === MsgType.ReadIndex;
}

/**
 * One flat record for every message kind (a single shape keeps V8's property access
 * monomorphic and the codec simple). Field meaning per kind:
 *
 * | field   | RequestVote  | AppendEntries | AppendEntriesReply                 | Heartbeat | InstallSnapshot       | InstallSnapshotReply        |
 * |---------|--------------|---------------|------------------------------------|-----------|-----------------------|-----------------------------|
 * | index   | lastLogIndex | prevLogIndex  | success: match; reject: prevLogIndex | -       | snapshot last index   | snapshot last index         |
 * | logTerm | lastLogTerm  | prevLogTerm   | reject: conflict term (0 = none)   | -         | snapshot last term    | -                           |
 * | commit  | -            | leaderCommit  | -                                  | commit    | membership bytes first | -                          |
 * | hint    | -            | -             | reject: first index to retry       | -         | total snapshot bytes  | -                           |
 * | offset  | -            | -             | -                                  | -         | chunk byte offset     | next offset wanted (reject: 0) |
 * | reject  | -            | -             | consistency check failed           | -         | -                     | chunk refused               |
 * | done    | -            | -             | -                                  | -         | last chunk            | snapshot installed          |
 * | granted lives in `reject === false` for RequestVoteReply and PreVoteReply.
 * | PreVote has RequestVote's fields, its term being the one the sender would campaign in.
 * | `done` on RequestVote and PreVote: the campaign comes from a leader transfer (TimeoutNow),
 * |   so peers that still hear from the leader answer it anyway (no vote stickiness).
 * | Heartbeat and HeartbeatReply carry the read context id in `offset` (the reply echoes it).
 * | ReadIndex: hint = read id, commit = the follower's nonce. ReadIndexReply: hint = read id, commit = that nonce,
 * |   index = read index, reject = not served.
 * InstallSnapshot streams the snapshot's membership encoding (its first `commit` bytes; 0 = none,
 * the initial configuration), then the state machine's data: `hint` and `offset` count both.
 */
export interface Message {
  type: MsgType;
  from: number;
  to: number;
  term: number;
  index: number;
  logTerm: number;
  commit: number;
  hint: number;
  offset: number;
  reject: boolean;
  done: boolean;
  entries: EntryBatch | null;
  data: Uint8Array | null;
}

export function message(type: MsgType, from: number, to: number, term: number): Message {
  return { type, from, to, term, index: 0, logTerm: 0, commit: 0, hint: 0, offset: 0, reject: false, done: false, entries: null, data: null };
}
