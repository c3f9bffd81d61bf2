import type { GcPauses } from './gc-tally.js';
import type { SessionOptions } from '../node/session-state-machine.js';
import type { MessagePort } from 'node:worker_threads';
import type { WireCause } from '../node/state-machine-error.js';
import type { SnapshotPolicy, TimingOptions } from '../node/options.js';
import type { RingLinkEnds } from '../transport/ring-link.js';

/** Everything a peer's worker needs to start; sent once through comlink. */
export interface WorkerInit {
  id: number;
  /** The voters the cluster was created with (every peer's initial configuration). */
  peers: number[];
  /** This peer was added to a running cluster: it starts outside `peers`, waiting to be added. */
  joining: boolean;
  /** Peer slots of the shared network state `netSab` (its capacity, not the peer count). */
  netPeers: number;
  timing: TimingOptions;
  seed: number;
  /** Seed of this incarnation's fault choices (drops, delays), derived from the cluster's seed. */
  faultSeed: number;
  netSab: SharedArrayBuffer;
  /** Shared-memory storage: the journal's control word and its two slots. */
  journalSab: SharedArrayBuffer | null;
  journalSlots: [SharedArrayBuffer, SharedArrayBuffer] | null;
  /** Post applied entries to the main thread. */
  forwardApplies: boolean;
  journalEpoch: number;
  fileStorage: { dir: string; fsync: 'always' | 'batch' | 'none'; clusterId: string; segmentBytes?: number } | null;
  applyPort: MessagePort | null;
  /** Shared-memory links to the other peers. */
  peerLinks: Array<[number, RingLinkEnds]>;
  /** The link to the main thread's ClusterClient. */
  clientLink: RingLinkEnds | null;
  /** The read link to the main thread's ClusterClient (see read-protocol.ts). */
  readLink?: RingLinkEnds | null;
  stateMachineModule: string | null;
  snapshotPolicy: SnapshotPolicy | undefined;
  /** Busy-polling: microseconds per spin (0: off) and the shared gate (null: always allowed). */
  busyPoll: { micros: number; gateSab: SharedArrayBuffer | null };
  /** Wrap the state machine in the exactly-once session layer (null: raw mode). */
  sessions: SessionOptions | null;
}

/** How a leader transfer ended, across the thread boundary (error classes do not cross it). */
export type TransferOutcome =
  | { ok: true }
  | { ok: false; error: 'RangeError' | 'TypeError' | 'TransferInProgressError' | 'LeaderTransferError' | 'Error'; reason: string | null; message: string };

/** A membership change proposed to a worker, across the thread boundary. */
export type ConfChangeOutcome =
  | { ok: true; index: number; isLeader: boolean; leaderHint: number; target: MembershipView | null }
  | { ok: false; error: 'ConfChangeError' | 'RangeError' | 'TypeError' | 'Error'; message: string };

/** A peer's view of the configuration (Membership plus where it stands in the log). */
export interface MembershipView {
  voters: number[];
  outgoing: number[];
  learners: number[];
}

export interface MembershipReport extends MembershipView {
  /** Index of the entry (or snapshot) that set this configuration. */
  index: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  isLeader: boolean;
  leaderHint: number;
}

/** What the worker restored at start. */
export interface WorkerStarted {
  snapshotIndex: number;
  snapshotTerm: number;
  snapshot: Uint8Array | null;
}

/** Records on the apply port, worker to main. */
export type ApplyRecord =
  | { kind: 'entries'; firstIndex: number; count: number; terms: Uint32Array; ends: Uint32Array; data: Uint8Array }
  | { kind: 'snapshot'; index: number; term: number; data: Uint8Array }
  | { kind: 'fatal'; message: string; stateMachine: { index: number; term: number; cause: WireCause } | null };

/** The API each worker exposes to the main thread (through comlink). */
export interface WorkerApi {
  init(init: WorkerInit): Promise<WorkerStarted>;
  start(command: Uint8Array): { index: number; term: number; isLeader: boolean; leaderHint: number };
  getState(): { term: number; isLeader: boolean; leaderHint: number };
  snapshot(index: number, data: Uint8Array): void;
  /** Hands this peer's leadership to `to`; settles like RaftNode.transferLeader, refusals as a TransferOutcome. */
  transferLeader(to: number): Promise<TransferOutcome>;
  connectPeer(id: number, ends: RingLinkEnds): void;
  /** Drops the link to a peer that left the cluster. */
  disconnectPeer(id: number): void;
  /** Proposes a membership change if this peer leads (RaftNode.proposeConfChange). */
  proposeConfChange(change: import('../core/membership.js').ConfChange): ConfChangeOutcome;
  membership(): MembershipReport;
  stats(): WorkerStats;
  stop(): Promise<void>;
}

export interface WorkerStats {
  term: number;
  role: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  logEntries: number;
  logBytes: number;
  /** This worker's V8 heap in use, and its ArrayBuffer memory (outside the heap). */
  heapUsed: number;
  arrayBuffers: number;
  /** CPU time of this worker's thread (Linux: /proc/thread-self; elsewhere the process total, see cpuPerThread). */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  cpuPerThread: boolean;
  /** Share of time this worker's event loop was busy since it started (0..1). */
  eventLoopUtilization: number;
  /** Bytes of persisted Raft state (hard state and log after the snapshot); see Cluster.persistedStateBytes. */
  raftStateBytes: number;
  /** This worker's garbage-collection pauses since it started (the maxima: since the previous stats()). */
  /** This thread's GC pauses; null unless RAFT_GC_TALLY=1 is set (watching GC costs throughput). */
  gc: GcPauses | null;
}

/** A user-supplied state machine module exports this (for snapshots taken inside the worker). */
export interface StateMachineModule {
  createStateMachine(peer: number): import('../node/raft-node.js').StateMachine;
}
