/**
 * The deterministic simulation: seeded runs of whole clusters on virtual time, with an
 * invariant checker after every step. One seed fixes everything, so a failure replays exactly.
 *
 *   runSeed(seed, { peers, snapshots, sessions, steps })     one run -> { seed, ok, error?, stats }
 *   node dist/test/sim/sweep.js --seeds 2000 [--start S] [--peers 5] [--snapshots] [--steps K]
 *   node dist/test/sim/sweep.js --seed S [...same options]   replay one seed, every event printed
 *
 * Files: prng (the only randomness), event-queue (virtual time), network (delays, drops,
 * duplicates, long reordering, partitions, lossy links), sim-storage (what a peer persisted, and when its writes land),
 * state-machine (applied commands; snapshot bytes), peer (a real RaftNode on virtual time,
 * crashes and restarts), outcome-checker (proposal outcomes), checker (the safety properties), simulation (the event loop),
 * scenario (fault profiles, the safety and liveness phases), trace (run fingerprint, replay log),
 * session-clients and session-checker (with `sessions`: simulated session clients and the exactly-once checks).
 */
export { Prng } from './prng.js';
export { SimNetwork, RELIABLE } from './network.js';
export type { NetworkFaults } from './network.js';
export { SimStorage } from './sim-storage.js';
export { OutcomeChecker } from './outcome-checker.js';
export { SimStateMachine, encodeSnapshot, decodeSnapshot } from './state-machine.js';
export { SimPeer } from './peer.js';
export { SafetyChecker, SafetyViolation } from './checker.js';
export type { LogView, PeerView } from './checker.js';
export { Simulation, TICK_MS } from './simulation.js';
export { Trace } from './trace.js';
export { SessionChecker } from './session-checker.js';
export type { UserApply } from './session-checker.js';
export { SessionClients, SimClient } from './session-clients.js';
export type { ClientProfile, ClientStats } from './session-clients.js';
export { runSeed, replayCommand, DEFAULTS } from './scenario.js';
export type { RunOptions, RunResult, RunStats, Profile } from './scenario.js';
export { makeCommand, commandId, bytesEqual } from './commands.js';
