import { readFileSync } from 'node:fs';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { RaftCore } from '../core/raft.js';
import { Role } from '../core/types.js';
import { RaftNode, StateMachine } from '../node/raft-node.js';
import { StateMachineError, causeToWire } from '../node/state-machine-error.js';
import { FencedError, SharedJournal } from '../storage/shared-journal.js';
import { storageErrorToWire } from '../storage/storage-corruption-error.js';
import type { RaftStorage } from '../storage/storage.js';
import { seededRandom } from '../core/random.js';
import { FaultyTransport } from '../transport/faulty-transport.js';
import { NetworkState } from '../transport/network-state.js';
import { RingTransport } from '../transport/ring-transport.js';
import { BusyPoller, LIGHT_LOAD } from '../transport/busy-poller.js';
import { SpinGate } from '../transport/spin-gate.js';
import type { RingLinkEnds } from '../transport/ring-link.js';
import { ReadEndpoint } from './read-endpoint.js';
import { ClientEndpoint } from './client-endpoint.js';
import { GcTally, gcTallyWanted } from './gc-tally.js';
import { Comlink, nodeEndpoint } from './comlink.js';
import type { ApplyRecord, ConfChangeOutcome, MembershipReport, TransferOutcome, WorkerApi, WorkerInit, WorkerStarted } from './protocol.js';
import type { ConfChange } from '../core/membership.js';
import { LeaderTransferError } from '../core/leader-transfer.js';
import { checkCreatedStateMachine } from './state-machine-module.js';

/** The worker entry point: one Raft peer, controlled from the main thread through comlink. */
let node: RaftNode | null = null;
let transport: RingTransport | null = null;
let client: ClientEndpoint | null = null;
let reads: ReadEndpoint | null = null;
let applyPort: MessagePort | null = null;
// Watching GC costs the peers about a fifth of their saturated throughput: only when asked.
const gcTally = gcTallyWanted() ? new GcTally() : null;

function post(rec: ApplyRecord, transfer: ArrayBuffer[] = []): void {
  applyPort?.postMessage(rec, transfer);
}

/** This thread's CPU time: process.cpuUsage() is process-wide even inside a worker. */
function threadCpu(): { user: number; system: number; perThread: boolean } {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields after the command name
    const tickMicros = 1e6 / 100; // USER_HZ is 100 on Linux
    return { user: Number(f[11]) * tickMicros, system: Number(f[12]) * tickMicros, perThread: true };
  } catch {
    const c = process.cpuUsage();
    return { user: c.user, system: c.system, perThread: false };
  }
}

function requireNode(): RaftNode {
  if (!node) throw new Error('peer is not started');
  return node;
}

const api: WorkerApi = {
  async init(init: WorkerInit): Promise<WorkerStarted> {
    const net = new NetworkState(init.netSab, init.netPeers);
    transport = new RingTransport();
    const faulty = new FaultyTransport({ self: init.id, inner: transport, net, random: seededRandom(init.faultSeed) });
    for (const [id, ends] of init.peerLinks) transport.connect(id, ends);
    applyPort = init.applyPort;
    let storage: RaftStorage | undefined;
    if (init.journalSab && init.journalSlots) storage = new SharedJournal(init.journalSab, init.journalSlots, init.journalEpoch);
    const forward = init.forwardApplies;
    if (init.fileStorage) {
      // Loaded only when asked for. If opening fails, init rejects and the main thread
      // terminates this worker, which closes whatever descriptors it opened.
      const { FileStorage } = await import('../storage/file-storage.js');
      // A joining peer is not among the voters the directory would record (its log says what it is).
      storage = await FileStorage.open({ ...init.fileStorage, peerId: init.id, peers: init.joining ? undefined : init.peers }).catch((e) => { throw storageErrorToWire(e); });
    }
    let sm: StateMachine | undefined;
    if (init.stateMachineModule) {
      const mod = await import(init.stateMachineModule);
      if (typeof mod.createStateMachine !== 'function') {
        throw new TypeError(`state machine module ${init.stateMachineModule} does not export a function createStateMachine(peer)`);
      }
      sm = mod.createStateMachine(init.id);
      checkCreatedStateMachine(sm, init.stateMachineModule);
    }
    if (init.sessions) {
      // The layer answers duplicates from its table; without a user state machine, commands have no effect but are deduplicated.
      const { SessionStateMachine } = await import('../node/session-state-machine.js');
      sm = new SessionStateMachine(sm ?? { apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => {} }, init.sessions);
    }
    let started: WorkerStarted = { snapshotIndex: 0, snapshotTerm: 0, snapshot: null };
    let booting = true;
    node = await RaftNode.start({
      ...init.timing,
      id: init.id,
      peers: init.peers,
      joining: init.joining,
      seed: init.seed,
      transport: faulty,
      storage,
      stateMachine: sm,
      snapshotPolicy: init.snapshotPolicy,
      // Reads are tagged with their read id on the read link.
      onRead: sm?.query ? (tag, ok, v) => reads?.onOutcome(tag, ok, v) : undefined,
      // Proposals of the client ring are tagged with their seq (>= 0); those of start() with -index.
      onOutcome: (outcome, firstTag, count, firstIndex, term, results, resultOffset) => {
        if (firstTag >= 0) client?.onOutcome(outcome, firstTag, count, firstIndex, term, results, resultOffset);
      },
      onApply: (b) => {
        if (forward) post({ kind: 'entries', firstIndex: b.firstIndex, count: b.count, terms: b.terms, ends: b.ends, data: b.data }, [b.terms.buffer as ArrayBuffer, b.ends.buffer as ArrayBuffer, b.data.buffer as ArrayBuffer]);
      },
      onRestore: (s) => {
        if (booting) { started = { snapshotIndex: s.index, snapshotTerm: s.term, snapshot: s.data.slice() }; return; }
        if (forward) post({ kind: 'snapshot', index: s.index, term: s.term, data: s.data.slice() });
      },
      onFatal: (err) => {
        if (err instanceof FencedError) return; // the main thread crashed this peer: just stop
        const sm = err instanceof StateMachineError
          ? { index: err.index, term: err.term, cause: causeToWire(err.cause) }
          : null;
        const report = { message: err instanceof Error ? err.message : String(err), stateMachine: sm };
        client?.fatal(report);
        post({ kind: 'fatal', ...report });
      },
    });
    booting = false;
    const n = node;
    faulty.onMessage((m) => n.receive(m));
    const bp = init.busyPoll;
    const poller = new BusyPoller(bp.micros, bp.gateSab ? new SpinGate(bp.gateSab) : null, () => n.outstanding <= LIGHT_LOAD);
    if (poller.enabled) transport.usePoller(poller);
    if (init.clientLink) client = new ClientEndpoint(init.clientLink, n, poller.enabled ? poller : null);
    if (init.readLink) reads = new ReadEndpoint(init.readLink, n, typeof sm?.query === 'function');
    return started;
  },

  start(command: Uint8Array) {
    const n = requireNode();
    const r = n.propose(command, -(n.core.log.lastIndex + 1));
    return { index: r.index, term: r.term, isLeader: r.isLeader, leaderHint: n.core.leaderId };
  },

  getState() {
    const n = requireNode();
    const s = n.getState();
    return { ...s, leaderHint: s.leaderId };
  },

  snapshot(index: number, data: Uint8Array) {
    requireNode().snapshot(index, data);
  },

  async transferLeader(to: number): Promise<TransferOutcome> {
    try {
      await requireNode().transferLeader(to);
      return { ok: true };
    } catch (e) {
      const err = e as Error;
      const known = ['RangeError', 'TypeError', 'TransferInProgressError', 'LeaderTransferError'] as const;
      const error = (known as readonly string[]).includes(err.name) ? err.name as (typeof known)[number] : 'Error';
      return { ok: false, error, reason: e instanceof LeaderTransferError ? e.reason : null, message: err.message };
    }
  },

  connectPeer(id: number, ends: RingLinkEnds) {
    transport?.connect(id, ends);
  },

  disconnectPeer(id: number) {
    transport?.disconnect(id);
  },

  proposeConfChange(change: ConfChange): ConfChangeOutcome {
    const n = requireNode();
    try {
      const r = n.proposeConfChange(change);
      const m = n.core.membership;
      // The configuration the change ends in: C_new once the joint one is left.
      const target = r.isLeader ? { voters: [...m.voters], outgoing: [], learners: [...m.learners] } : null;
      return { ok: true, index: r.index, isLeader: r.isLeader, leaderHint: n.core.leaderId, target };
    } catch (e) {
      const err = e as Error;
      const known = ['ConfChangeError', 'RangeError', 'TypeError'] as const;
      const error = (known as readonly string[]).includes(err.name) ? err.name as (typeof known)[number] : 'Error';
      return { ok: false, error, message: err.message };
    }
  },

  membership(): MembershipReport {
    const n = requireNode();
    const c = n.core;
    const m = c.membership;
    return {
      voters: [...m.voters], outgoing: [...m.outgoing], learners: [...m.learners], index: c.membershipIndex,
      commitIndex: c.commitIndex, appliedIndex: c.appliedIndex, lastIndex: c.log.lastIndex,
      isLeader: n.getState().isLeader, leaderHint: c.leaderId,
    };
  },

  stats() {
    const c = requireNode().core;
    const cpu = threadCpu();
    const mem = process.memoryUsage();
    return {
      term: c.term, role: c.role as Role, commitIndex: c.commitIndex, appliedIndex: c.appliedIndex,
      lastIndex: c.log.lastIndex, snapshotIndex: c.log.snapshotIndex, logEntries: c.log.length, logBytes: c.log.bytes,
      heapUsed: mem.heapUsed, arrayBuffers: mem.arrayBuffers, cpuUserMicros: cpu.user, cpuSystemMicros: cpu.system, cpuPerThread: cpu.perThread,
      eventLoopUtilization: performance.eventLoopUtilization().utilization,
      raftStateBytes: raftStateBytes(c),
      gc: gcTally?.read() ?? null,
    };
  },

  async stop() {
    await node?.stop();
    transport?.close();
    client?.close();
    reads?.close();
    applyPort?.close();
    gcTally?.stop();
  },
};

/**
 * Hard state plus the log after the snapshot through the stable (persisted) index, counted
 * independently of any storage's record layout (see Cluster.persistedStateBytes).
 */
function raftStateBytes(c: RaftCore): number {
  const log = c.log;
  const stable = Math.min(c.stableIndex, log.lastIndex);
  const n = stable - log.snapshotIndex;
  if (n <= 0) return 12;
  let bytes = log.bytes;
  for (let i = stable + 1; i <= log.lastIndex; i++) bytes -= log.command(i).byteLength; // not yet on disk
  return 12 + 12 + 8 * n + bytes;
}

Comlink.expose(api, nodeEndpoint(parentPort));
