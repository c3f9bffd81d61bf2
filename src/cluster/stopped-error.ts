/**
 * Thrown by every call on a cluster after `cluster.stop()` (peer calls, faults, restarts,
 * waitForLeader, the client): the cluster is gone, so retrying another peer cannot help.
 * Deliberately not a PeerDownError, which means "this peer is down, another may answer".
 */
export class ClusterStoppedError extends Error {
  constructor(detail = 'called after cluster.stop()') {
    super(`cluster is stopped: ${detail}`);
    this.name = 'ClusterStoppedError';
  }
}
