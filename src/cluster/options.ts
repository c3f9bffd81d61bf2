import { OptionTable, boolean, checkOptions, integer, nonNegativeInt, object, positiveInt, required } from '../core/option-spec.js';
import { TIMING_OPTIONS } from '../node/options.js';

/** Default of the busyPollMicros option (see BusyPoller). */
export const DEFAULT_BUSY_POLL_MICROS = 100;

/** Every option of Cluster.start (ClusterOptions); the timing and size options are RaftNode's. */
export const CLUSTER_OPTIONS = {
  ...TIMING_OPTIONS,
  peers: required(positiveInt('number of peers, one worker_thread each (1-64)')),
  applyStream: boolean('forward every applied entry to the main thread (onApply)', true),
  stateMachine: {
    expects: 'a module path (string) or a file URL',
    isType: (v: unknown) => typeof v === 'string' || v instanceof URL,
    doc: 'module exporting createStateMachine(peer), loaded inside each worker',
  },
  snapshotPolicy: object('automatic snapshots { entries?, bytes? }, taken inside the worker; needs stateMachine', 'an object { entries?, bytes? }'),
  storage: object('durable storage on disk { dir, fsync?, clusterId?, segmentBytes? }; default shared memory',
    'an object { dir: string, fsync?: "always" | "batch" | "none", clusterId?, segmentBytes? }'),
  busyPollMicros: nonNegativeInt('microseconds a thread polls its rings before sleeping, after a request that expects an answer soon, at light load; 0: off', DEFAULT_BUSY_POLL_MICROS),
  busyPollWhen: {
    expects: '"idle-core" or "always"',
    isType: (v: unknown) => typeof v === 'string',
    inRange: (v: string) => v === 'idle-core' || v === 'always',
    default: 'idle-core',
    doc: 'when busy-polling may run: while the machine has an idle core to spare (sampled every 100 ms), or always',
  },
  seed: integer('seed of the election timeouts and of the fault injector; default drawn at random'),
  sessions: {
    expects: 'true, false or an object { maxSessions?, inactivityLimit? }',
    isType: (v: unknown) => typeof v === 'boolean' || (typeof v === 'object' && v !== null),
    doc: 'exactly-once client sessions (cluster.session())',
  },
} satisfies OptionTable;

/** Refuses unknown option names and values of the wrong type (the combined rules are Cluster's). */
export function checkClusterOptionTypes(o: unknown): void {
  checkOptions(CLUSTER_OPTIONS, o, 'Cluster.start');
}
