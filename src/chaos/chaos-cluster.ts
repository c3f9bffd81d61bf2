/**
 * What a chaos run needs of the system under test, whether its peers are worker threads
 * (worker-cluster.ts) or processes over TCP (process-cluster.ts): faults to inject, stores
 * over fresh sessions for the clients, and a linearizable way to read the final state.
 */
import type { FaultKind, FaultTarget } from './nemesis.js';
import type { ChaosStore } from './store-handle.js';

export interface ChaosCluster {
  readonly target: FaultTarget;
  /** The faults this kind of cluster can inject. */
  readonly faultKinds: readonly FaultKind[];
  /** How gets and scans run, for the summary. */
  readonly readsVia: string;
  /** A store over a new exactly-once session; rejects if none can be opened now. */
  openStore(): Promise<ChaosStore>;
  /** A store whose gets and scans are linearizable, for reading the final state (it writes nothing). */
  finalReader(): Promise<ChaosStore>;
  stop(): Promise<void>;
}

/** Timeouts of the clients' operations: past them an outcome is recorded as unknown. */
export const WRITE_TIMEOUT_MS = 1500;
export const READ_TIMEOUT_MS = 1000;
