/**
 * One Raft peer as an operating-system process: a RaftNode on a TcpTransport, with
 * FileStorage (or memory storage, for benchmarks), the application's state machine loaded
 * from a module, and clients served over the same framing (remote-protocol.ts).
 *
 * The state machine module exports `createStateMachine(peerId)`, as for Cluster workers.
 */
import { closestName, describeValue } from '../core/option-spec.js';
import { checkCreatedStateMachine, resolveStateMachineModule } from '../cluster/state-machine-module.js';
import { TransferInProgressError } from '../core/leader-transfer.js';
import { BackpressureError } from '../core/types.js';
import { Outcome } from '../node/proposal-tracker.js';
import { RaftNode, StateMachine } from '../node/raft-node.js';
import type { SnapshotPolicy, TimingOptions } from '../node/options.js';
import { SessionOptions, SessionStateMachine } from '../node/session-state-machine.js';
import { FileStorage, FsyncPolicy } from '../storage/file-storage.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import type { RaftStorage } from '../storage/storage.js';
import { ClientConnection, PeerAddress, TcpTransport } from '../transport/tcp-transport.js';
import type { TlsFiles } from '../transport/tcp-tls.js';
import { DEFAULT_CLUSTER_ID } from '../transport/tcp-hello.js';
import { RemoteOp, RemoteStatus, decodeRequest, encodeAnswer } from './remote-protocol.js';
import { BATCH_OP, decodeBatchRequest, encodeRun } from './remote-batch-protocol.js';
import { TagWaiters } from './tag-waiters.js';
import { READ_ANY_OP, READ_LEADER_OP } from './remote-read-protocol.js';
import { RemoteReadServer } from './remote-read-server.js';

export { DEFAULT_CLUSTER_ID } from '../transport/tcp-hello.js';

export interface PeerProcessOptions {
  id: number;
  listen: PeerAddress;
  /** Every peer of the cluster, this one included or not, with its address. */
  peers: ReadonlyMap<number, PeerAddress>;
  /** Data directory (FileStorage), or 'memory' for a peer that forgets everything when it stops. */
  storage: { dir: string; fsync?: FsyncPolicy } | 'memory';
  /** Path or file: URL of a module exporting createStateMachine(peerId); none: commands have no effect. */
  stateMachine?: string;
  clusterId?: string;
  tls: TlsFiles | false;
  /** Run the session layer (exactly-once RemoteSession commands). Every peer must agree. */
  sessions?: boolean | SessionOptions;
  timing?: TimingOptions;
  /** Automatic snapshots (the state machine must have snapshot() and restore()). */
  snapshotPolicy?: SnapshotPolicy;
  log?: (line: string) => void;
}

export interface PeerProcess {
  readonly node: RaftNode;
  readonly transport: TcpTransport;
  /** Stops serving, closes the storage cleanly. */
  stop(): Promise<void>;
  /** Resolves once the node stopped (stop(), or a fatal error). */
  readonly stopped: Promise<void>;
}

async function loadStateMachine(spec: string | undefined, id: number): Promise<StateMachine | undefined> {
  if (!spec) return undefined;
  const url = resolveStateMachineModule(spec); // a missing file is refused here, naming the path
  const mod = await import(url);
  if (typeof mod.createStateMachine !== 'function') throw new TypeError(`state machine module ${spec} does not export a function createStateMachine(peerId)`);
  const sm = mod.createStateMachine(id);
  checkCreatedStateMachine(sm, url);
  return sm;
}

const PEER_PROCESS_OPTION_NAMES = ['id', 'listen', 'peers', 'storage', 'stateMachine', 'clusterId', 'tls', 'sessions', 'timing', 'snapshotPolicy', 'log'];

/** A misspelt option name (sesions) must not silently run a peer without what it asked for. */
function checkOptionNames(o: object): void {
  for (const name of Object.keys(o)) {
    if (PEER_PROCESS_OPTION_NAMES.includes(name)) continue;
    const near = closestName(name, PEER_PROCESS_OPTION_NAMES);
    throw new TypeError(`unknown option ${name} for startPeerProcess${near ? `: did you mean ${near}?` : ''} (known options: ${PEER_PROCESS_OPTION_NAMES.join(', ')})`);
  }
}

export async function startPeerProcess(o: PeerProcessOptions): Promise<PeerProcess> {
  checkOptionNames(o);
  // Named here: left to the code below they read 'o.peers is not iterable' or "reading 'port'".
  if (!(o.peers instanceof Map)) throw new TypeError(`option peers of startPeerProcess must be a Map of peer id to { host, port }, got ${describeValue(o.peers)}`);
  if (typeof o.listen !== 'object' || o.listen === null) throw new TypeError(`option listen of startPeerProcess must be { host, port }, got ${describeValue(o.listen)}`);
  const got: { conn: ClientConnection | null; reqId: number; batched: boolean } = { conn: null, reqId: 0, batched: false };
  const clusterId = o.clusterId ?? DEFAULT_CLUSTER_ID;
  const log = o.log ?? ((line: string) => process.stderr.write(`[peer ${o.id}] ${line}\n`));
  const others = new Map([...o.peers].filter(([id]) => id !== o.id));
  const ids = [...new Set([...others.keys(), o.id])].sort((a, b) => a - b);

  let sm = await loadStateMachine(o.stateMachine, o.id);
  if (o.sessions) {
    sm = new SessionStateMachine(sm ?? { apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => {} }, o.sessions === true ? {} : o.sessions);
  }
  const storage: RaftStorage = o.storage === 'memory'
    ? new MemoryStorage()
    // peers: the directory records the membership, so a restart with another --peers list (another majority) is refused
    : await FileStorage.open({ dir: o.storage.dir, clusterId, peerId: o.id, peers: ids, fsync: o.storage.fsync ?? 'batch' });

  // Proposals of clients, by tag, until their outcome is known.
  const waiting = new TagWaiters();
  let node: RaftNode | null = null;
  const leaderHint = () => (node ? node.core.leaderId : -1);
  const answer = (conn: ClientConnection, reqId: number, status: RemoteStatus, index = 0, term = 0, result?: Uint8Array) => {
    conn.reply(encodeAnswer({ status, reqId, leaderHint: leaderHint(), index, term, result }));
  };
  const refuseRun = (conn: ClientConnection, firstReqId: number, count: number, outcome: RemoteStatus, reason?: string) => {
    conn.reply(encodeRun({ firstReqId, count, leaderHint: leaderHint(), firstIndex: 0, term: 0, outcome }, reason === undefined ? null : [new TextEncoder().encode(reason)]));
  };

  /** A batch of commands: proposed in order; refusals answered at once, in runs. */
  const onBatch = (conn: ClientConnection, body: Uint8Array) => {
    let b;
    try { b = decodeBatchRequest(body); } catch (e) { conn.close((e as Error).message); return; }
    if (!node || node.isStopped) { refuseRun(conn, b.firstReqId, b.count, RemoteStatus.NotLeader); return; }
    for (let k = 0; k < b.count; k++) {
      const reqId = (b.firstReqId + k) >>> 0;
      const tag = waiting.add(conn, reqId, true);
      try {
        // A view of the frame: the log copies the bytes into its own arena (a plain
        // Uint8Array view costs less to make than a Buffer's subarray).
        const r = node.propose(new Uint8Array(b.body.buffer, b.body.byteOffset + b.starts[k], b.starts[k + 1] - b.starts[k]), tag);
        if (!r.isLeader) { waiting.drop(tag); refuseRun(conn, reqId, b.count - k, RemoteStatus.NotLeader); return; }
      } catch (e) {
        waiting.drop(tag);
        if (e instanceof BackpressureError || e instanceof TransferInProgressError) { refuseRun(conn, reqId, b.count - k, RemoteStatus.Busy); return; }
        refuseRun(conn, reqId, 1, RemoteStatus.Invalid, (e as Error).message);
      }
    }
  };

  // Linearizable reads (RemoteClient.read): queued on the node, answered per connection and turn.
  const reads = new RemoteReadServer(() => node, o.id, typeof sm?.query === 'function');

  const onClientRequest = (conn: ClientConnection, body: Uint8Array) => {
    if (body[0] === BATCH_OP) { onBatch(conn, body); return; }
    if (body[0] === READ_LEADER_OP || body[0] === READ_ANY_OP) { reads.onBatch(conn, body); return; }
    let req;
    try { req = decodeRequest(body); } catch (e) { conn.close((e as Error).message); return; }
    if (!node || node.isStopped) { answer(conn, req.reqId, RemoteStatus.NotLeader); return; }
    if (req.op === RemoteOp.Status) { const s = node.getState(); answer(conn, req.reqId, RemoteStatus.Status, node.core.commitIndex, s.term); return; }
    const tag = waiting.add(conn, req.reqId, false);
    try {
      // The payload is a view of the socket's buffer: the log keeps what it is given.
      const r = node.propose(req.payload.slice(), tag);
      if (!r.isLeader) { waiting.drop(tag); answer(conn, req.reqId, RemoteStatus.NotLeader); return; }
    } catch (e) {
      waiting.drop(tag);
      if (e instanceof BackpressureError || e instanceof TransferInProgressError) answer(conn, req.reqId, RemoteStatus.Busy);
      else answer(conn, req.reqId, RemoteStatus.Invalid, 0, 0, new TextEncoder().encode((e as Error).message));
    }
  };

  const transport = await TcpTransport.start({ id: o.id, peers: others, listen: o.listen, clusterId, tls: o.tls, log, onClientRequest });
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => { resolveStopped = r; });
  try {
    node = await RaftNode.start({
      ...o.timing,
      id: o.id,
      peers: ids,
      transport,
      storage,
      stateMachine: sm,
      snapshotPolicy: o.snapshotPolicy,
      // Without query() the read server answers NoQuery itself (RaftNode refuses onRead then).
      onRead: typeof sm?.query === 'function' ? (tag, ok, v) => reads.onRead(tag, ok, v) : undefined,
      onRestore: (snap) => log(`state restored from a snapshot through index ${snap.index} (term ${snap.term})`),
      onOutcome: (outcome, firstTag, count, firstIndex, term, results, resultOffset) => {
        const status = outcome === Outcome.Committed ? RemoteStatus.Committed : outcome === Outcome.Overwritten ? RemoteStatus.Overwritten : RemoteStatus.Unknown;
        const hint = leaderHint();
        // Consecutive requests of one connection's batches leave as one run.
        let runConn: ClientConnection | null = null, runReq = 0, runK = 0, runLen = 0;
        const flush = () => {
          if (runConn && runLen > 0) runConn.reply(encodeRun({ firstReqId: runReq, count: runLen, leaderHint: hint, firstIndex: firstIndex + runK, term, outcome: status }, results, resultOffset + runK));
          runConn = null;
          runLen = 0;
        };
        for (let k = 0; k < count; k++) {
          if (!waiting.take(firstTag + k, got)) continue;
          const result = results ? results[resultOffset + k] : undefined;
          if (!got.batched) { flush(); answer(got.conn!, got.reqId, status, firstIndex + k, term, result); continue; }
          if (runConn === got.conn && ((runReq + runLen) >>> 0) === got.reqId && runK + runLen === k) { runLen++; continue; }
          flush();
          runConn = got.conn; runReq = got.reqId; runK = k; runLen = 1;
        }
        flush();
      },
      onFatal: (err) => {
        log(`stopping on a fatal error: ${(err as Error)?.stack ?? String(err)}`);
        void transport.close().then(resolveStopped);
      },
    });
  } catch (e) {
    await transport.close();
    await storage.close();
    throw e;
  }
  const started = node;
  transport.onMessage((m) => started.receive(m));
  let stopping: Promise<void> | null = null;
  return {
    node: started,
    transport,
    stopped,
    stop() {
      stopping ??= (async () => {
        await transport.close();
        await started.stop(); // outstanding proposals become Unknown (their clients are gone with the transport)
        resolveStopped();
      })();
      return stopping;
    },
  };
}
