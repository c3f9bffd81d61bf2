/** The deterministic simulation: seeded runs of whole clusters on virtual time, with an invariant checker. */
export { Prng } from './prng.js';
export { SimNetwork, RELIABLE } from './network.js';
export type { NetworkFaults } from './network.js';
export { SimStore } from './store.js';
export { SimStateMachine, encodeSnapshot, decodeSnapshot } from './state-machine.js';
export { SimPeer } from './peer.js';
export { SafetyChecker, SafetyViolation } from './checker.js';
export type { LogView, PeerView } from './checker.js';
export { Simulation, TICK_MS } from './simulation.js';
export { Trace } from './trace.js';
export { runSeed, replayCommand, DEFAULTS } from './scenario.js';
export type { RunOptions, RunResult, RunStats, Profile } from './scenario.js';
export { makeCommand, commandId, bytesEqual } from './commands.js';
