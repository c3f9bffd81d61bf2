import { type MessagePort, parentPort } from 'node:worker_threads';
import { Role } from '../core/raft.js';
import { RaftNode, StateMachine } from '../node/raft-node.js';
import { SharedJournal } from '../storage/shared-journal.js';
import type { RaftStorage } from '../storage/storage.js';
import { NetworkState } from '../transport/network-state.js';
import { PortTransport } from '../transport/port-transport.js';
import { Comlink, nodeEndpoint } from './comlink.js';
import type { ApplyRecord, WorkerApi, WorkerInit, WorkerStarted } from './protocol.js';

/** The worker entry point: one Raft peer, controlled from the main thread through comlink. */
let node: RaftNode | null = null;
let transport: PortTransport | null = null;
let applyPort: MessagePort | null = null;

function post(rec: ApplyRecord, transfer: ArrayBuffer[] = []): void {
  applyPort?.postMessage(rec, transfer);
}

function requireNode(): RaftNode {
  if (!node) throw new Error('peer is not started');
  return node;
}

const api: WorkerApi = {
  async init(init: WorkerInit): Promise<WorkerStarted> {
    const net = new NetworkState(init.netSab, init.peers.length);
    transport = new PortTransport(init.id, net);
    for (const [id, port] of init.peerPorts) transport.connect(id, port as never);
    applyPort = init.applyPort;
    let storage: RaftStorage | undefined;
    if (init.journalSab) storage = new SharedJournal(init.journalSab, init.journalEpoch);
    if (init.fileStorage) {
      const fileStorageModule = '../storage/file-storage.js'; // loaded only when asked for
      const { FileStorage } = await import(fileStorageModule);
      storage = await FileStorage.open({ ...init.fileStorage, peerId: init.id });
    }
    let sm: StateMachine | undefined;
    if (init.stateMachineModule) {
      const mod = await import(init.stateMachineModule);
      sm = mod.createStateMachine(init.id);
    }
    let started: WorkerStarted = { snapshotIndex: 0, snapshotTerm: 0, snapshot: null };
    let booting = true;
    node = await RaftNode.start({
      ...init.timing,
      id: init.id,
      peers: init.peers,
      seed: init.seed,
      transport,
      storage,
      stateMachine: sm,
      snapshotPolicy: init.snapshotPolicy,
      onApply: applyPort ? (b) => post({ kind: 'entries', firstIndex: b.firstIndex, count: b.count, terms: b.terms, ends: b.ends, data: b.data }, [b.terms.buffer as ArrayBuffer, b.ends.buffer as ArrayBuffer, b.data.buffer as ArrayBuffer]) : undefined,
      onRestore: (s) => {
        if (booting) started = { snapshotIndex: s.index, snapshotTerm: s.term, snapshot: s.data.slice() };
        else if (applyPort) post({ kind: 'snapshot', index: s.index, term: s.term, data: s.data.slice() });
      },
      onFatal: (err) => post({ kind: 'fatal', message: err instanceof Error ? err.message : String(err) }),
    });
    booting = false;
    const n = node;
    transport.onMessage((m) => n.receive(m));
    return started;
  },

  start(command: Uint8Array) {
    return requireNode().propose(command);
  },

  getState() {
    return requireNode().getState();
  },

  snapshot(index: number, data: Uint8Array) {
    requireNode().snapshot(index, data);
  },

  connectPeer(id: number, port: MessagePort) {
    transport?.connect(id, port as never);
  },

  stats() {
    const c = requireNode().core;
    const cpu = process.cpuUsage();
    return {
      term: c.term, role: c.role as Role, commitIndex: c.commitIndex, appliedIndex: c.appliedIndex,
      lastIndex: c.log.lastIndex, snapshotIndex: c.log.snapshotIndex, logEntries: c.log.length, logBytes: c.log.bytes,
      heapUsed: process.memoryUsage().heapUsed, cpuUserMicros: cpu.user, cpuSystemMicros: cpu.system,
    };
  },

  async stop() {
    await node?.stop();
    transport?.close();
    applyPort?.close();
  },
};

Comlink.expose(api, nodeEndpoint(parentPort));
