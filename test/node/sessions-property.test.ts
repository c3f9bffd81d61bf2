/**
 * Property: random interleavings of clients, new commands, retries (duplicates in the log, in any
 * order), lost and delivered replies, acks, snapshot/restore and snapshot installs on 3 replicas.
 * Checks: every replica answers every entry with the same result frame; caught-up replicas have
 * byte-identical snapshots; each (client, seq) is applied at most once, in seq order per client;
 * every 'applied' outcome a client saw carries the result of that one application; a final pass
 * of in-order retries settles every command of a session that did not expire.
 * Replica 0 applies the frames as the clients encode them (25-byte Command headers); replicas 1
 * and 2 apply each Command as the equivalent CompactCommand (the streaming client's form, which
 * takes the session layer's fast path), replica 2 through applyRange at an offset inside a larger
 * buffer, as the runtime hands entries over: all must answer alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SessionStateMachine, type SessionOptions } from '../../src/node/session-state-machine.js';
import { SessionClient } from '../../src/node/session-client.js';
import { FrameKind, decodeFrame, encodeCompactCommand } from '../../src/node/session-protocol.js';
import { RecordingMachine, tagPayload, u32 } from './session-helpers.js';

type Op =
  | { t: 'register' }
  | { t: 'send'; c: number; lost: boolean }
  | { t: 'noop' }
  | { t: 'retry'; c: number; k: number }
  | { t: 'advance'; r: number; n: number }
  | { t: 'deliver'; k: number; lose: boolean }
  | { t: 'snapRestore'; r: number }
  | { t: 'install'; r: number };

/** How a replica is handed its entries. */
type Feed = 'as-sent' | 'compact' | 'compact-in-batch';

/** A Command frame in its CompactCommand form; other frames as they are. */
function compactForm(frame: Uint8Array): Uint8Array {
  if (frame[0] !== FrameKind.Command) return frame;
  const f = decodeFrame(frame);
  return encodeCompactCommand(f.clientId, f.seq, f.ackedThrough, f.payload);
}

class Replica {
  user = new RecordingMachine();
  sm: SessionStateMachine;
  applied = 0;
  constructor(private readonly opts: SessionOptions, readonly feed: Feed = 'as-sent') {
    this.sm = new SessionStateMachine(this.user, opts);
  }
  /** A restart or an InstallSnapshot: a fresh state machine restored from `snap` taken at `index`. */
  restoreFrom(snap: Uint8Array, index: number): void {
    this.user = new RecordingMachine();
    this.sm = new SessionStateMachine(this.user, this.opts);
    this.sm.restore!(snap, index, 1);
    this.applied = index;
  }
}

/** A log entry: its frame, who proposed it (undefined for a registration) and the seq. */
interface Entry {
  frame: Uint8Array;
  client?: SessionClient;
  seq: number;
}

function applyEntry(rep: Replica, frame: Uint8Array, index: number): Uint8Array {
  if (rep.feed === 'as-sent') return rep.sm.apply(frame, index, 1);
  const compact = compactForm(frame);
  if (rep.feed === 'compact') return rep.sm.apply(compact, index, 1);
  // Inside a batch: other bytes before and after it (a compact frame's payload runs to `end`).
  const batch = new Uint8Array(compact.byteLength + 7).fill(0xee);
  batch.set(compact, 3);
  return rep.sm.applyRange(batch, 3, 3 + compact.byteLength, index, 1);
}

function run(opts: SessionOptions, ops: Op[]): void {
  const log: Entry[] = []; // log[i] is index i + 1
  const results: Uint8Array[] = []; // the first answer seen for each index
  const replicas = (['as-sent', 'compact', 'compact-in-batch'] as const).map((feed) => new Replica(opts, feed));
  let clients: SessionClient[] = [];
  const undelivered: number[] = []; // indexes whose reply has not reached the proposer yet
  const seen = new Map<string, number>(); // "client:seq" -> index of the application an outcome reported

  const applyTo = (rep: Replica, upTo: number) => {
    while (rep.applied < upTo) {
      const i = rep.applied + 1;
      rep.applied = i;
      if (log[i - 1].frame.byteLength === 0) continue; // a leader's no-op: the runtime skips it
      const out = applyEntry(rep, log[i - 1].frame, i);
      if (results[i - 1] === undefined) results[i - 1] = out;
      else assert.deepEqual(Buffer.from(out), Buffer.from(results[i - 1]), `replicas answer entry ${i} alike`);
    }
  };
  const append = (e: Entry) => {
    log.push(e);
    undelivered.push(log.length);
  };
  const deliver = (index: number) => {
    const lead = replicas.reduce((a, b) => (a.applied >= b.applied ? a : b));
    applyTo(lead, index);
    const e = log[index - 1];
    const frame = results[index - 1];
    if (!e.client) {
      clients.push(SessionClient.fromRegistration(frame));
      return;
    }
    const o = e.client.onResult(e.seq, frame);
    assert.notEqual(o.kind, 'invalid');
    if (o.kind === 'applied') {
      const key = `${e.client.clientId}:${e.seq}`;
      const at = u32(o.result);
      assert.equal(seen.get(key) ?? at, at, `every reply for ${key} names the same application`);
      seen.set(key, at);
    }
    if (o.kind === 'expired') clients = clients.filter((c) => c !== e.client);
  };

  for (const op of ops) {
    switch (op.t) {
      case 'register':
        append({ frame: SessionClient.registerFrame(), seq: 0 });
        break;
      case 'send': {
        const c = clients[op.c % Math.max(1, clients.length)];
        if (!c) break;
        const { seq, frame } = c.command(tagPayload(c.clientId, c.nextSeq));
        if (!op.lost) append({ frame, client: c, seq }); // else it never reached the log: the outcome is unknown
        break;
      }
      case 'noop':
        log.push({ frame: new Uint8Array(0), seq: 0 });
        break;
      case 'retry': {
        const c = clients[op.c % Math.max(1, clients.length)];
        const pending = c?.pendingSeqs() ?? [];
        if (!c || pending.length === 0) break;
        const seq = pending[op.k % pending.length];
        append({ frame: c.retry(seq), client: c, seq });
        break;
      }
      case 'advance':
        applyTo(replicas[op.r], Math.min(log.length, replicas[op.r].applied + op.n));
        break;
      case 'deliver': {
        if (undelivered.length === 0) break;
        const [index] = undelivered.splice(op.k % undelivered.length, 1);
        if (!op.lose) deliver(index);
        break;
      }
      case 'snapRestore': {
        const rep = replicas[op.r];
        rep.restoreFrom(rep.sm.snapshot!(), rep.applied);
        break;
      }
      case 'install': {
        const lead = replicas.reduce((a, b) => (a.applied >= b.applied ? a : b));
        if (lead !== replicas[op.r]) replicas[op.r].restoreFrom(lead.sm.snapshot!(), lead.applied);
        break;
      }
    }
  }

  // Heal: deliver what is in flight, then retry every pending command in seq order, twice over.
  while (undelivered.length > 0) deliver(undelivered.shift()!);
  for (let round = 0; round < 2; round++) {
    for (const c of [...clients]) {
      for (const seq of c.pendingSeqs()) {
        append({ frame: c.retry(seq), client: c, seq });
        deliver(log.length);
        undelivered.pop();
      }
    }
  }
  for (const c of clients) assert.deepEqual(c.pendingSeqs(), [], `session ${c.clientId} settled everything`);

  for (const rep of replicas) applyTo(rep, log.length);
  const snap0 = Buffer.from(replicas[0].sm.snapshot!());
  for (const rep of replicas.slice(1)) assert.deepEqual(Buffer.from(rep.sm.snapshot!()), snap0, 'byte-identical snapshots');

  const appliedAt = new Map<string, number>();
  const lastSeq = new Map<number, number>();
  for (const a of replicas[0].user.applied) {
    const key = `${a.clientId}:${a.seq}`;
    assert.ok(!appliedAt.has(key), `${key} applied at most once`);
    appliedAt.set(key, a.index);
    assert.equal(a.seq, (lastSeq.get(a.clientId) ?? 0) + 1, `client ${a.clientId} applied in seq order`);
    lastSeq.set(a.clientId, a.seq);
  }
  for (const [key, at] of seen) assert.equal(appliedAt.get(key), at, `the reply for ${key} is the result of its application`);
  for (const c of clients) assert.equal(lastSeq.get(c.clientId) ?? 0, c.nextSeq - 1, `every command of live session ${c.clientId} took effect`);
}

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ t: 'register' as const }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('send' as const), c: fc.nat(7), lost: fc.nat(4).map((n) => n === 0) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'noop' as const }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('retry' as const), c: fc.nat(7), k: fc.nat(7) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('advance' as const), r: fc.nat(2), n: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('deliver' as const), k: fc.nat(31), lose: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('snapRestore' as const), r: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('install' as const), r: fc.nat(2) }) },
);

const arbOpts: fc.Arbitrary<SessionOptions> = fc.record({
  maxSessions: fc.constantFrom(2, 3, 100),
  inactivityLimit: fc.constantFrom(0, 0, 12, 40),
});

test('sessions property: 3 replicas agree; each (client, seq) applied at most once and in order; replies match', () => {
  fc.assert(fc.property(arbOpts, fc.array(arbOp, { minLength: 1, maxLength: 250 }), (opts, ops) => {
    run(opts, [{ t: 'register' }, { t: 'register' }, { t: 'deliver', k: 0, lose: false }, { t: 'deliver', k: 0, lose: false }, ...ops]);
  }), { numRuns: 300 });
});
