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
  seed: { ...integer('seed of the election timeouts and of the fault injector; default drawn at random'), expects: 'a safe integer (at most 2^53 - 1 in magnitude)' },
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

/** The fields of the storage option; their values are checked in Cluster (fsync, clusterId, segmentBytes). */
const STORAGE_OPTIONS = {
  dir: required({ expects: 'a non-empty string', isType: (v: unknown) => typeof v === 'string', inRange: (v: string) => v !== '', doc: 'the directory holding peer-<i>/' }),
  fsync: { expects: '"always", "batch" or "none"', isType: () => true, doc: 'when saves are synced' },
  clusterId: { expects: 'a non-empty string', isType: () => true, doc: 'the cluster id recorded in each directory' },
  segmentBytes: { expects: 'a number', isType: () => true, doc: 'size of a WAL segment' },
} satisfies OptionTable;

/** The fields of the sessions option (as every peer's SessionStateMachine takes them). */
const SESSION_OPTIONS = {
  maxSessions: positiveInt('most sessions kept at once'),
  inactivityLimit: nonNegativeInt('log entries of inactivity after which a session expires; 0: none'),
} satisfies OptionTable;

/** Checks an object option's fields against `table`; errors name the field in full ("option storage.dir"). */
function checkNested(table: OptionTable, v: unknown, name: string): void {
  try {
    checkOptions(table, v, `option ${name}`);
  } catch (e) {
    if (e instanceof Error) {
      e.message = e.message.replace(/^option (\w+)/, `option ${name}.$1`).replace(/^unknown option (\w+)/, `unknown option ${name}.$1`);
    }
    throw e;
  }
}

/** The nested storage and sessions options: unknown field names and bad values are refused before any worker starts. */
export function checkClusterNestedOptions(o: { storage?: unknown; sessions?: unknown }): void {
  if (o.storage !== undefined) checkNested(STORAGE_OPTIONS, o.storage, 'storage');
  if (typeof o.sessions === 'object' && o.sessions !== null) checkNested(SESSION_OPTIONS, o.sessions, 'sessions');
}
