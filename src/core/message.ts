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
}

export const MSG_TYPE_NAMES: Record<number, string> = {
  1: 'RequestVote', 2: 'RequestVoteReply', 3: 'AppendEntries', 4: 'AppendEntriesReply',
  5: 'Heartbeat', 6: 'HeartbeatReply', 7: 'InstallSnapshot', 8: 'InstallSnapshotReply',
};

export function isRequest(t: MsgType): boolean {
  return t === MsgType.RequestVote || t === MsgType.AppendEntries || t === MsgType.Heartbeat || t === MsgType.InstallSnapshot;
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
 * | granted lives in `reject === false` for RequestVoteReply.
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
