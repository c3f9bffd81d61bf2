import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Outcome } from '../../src/node/proposal-tracker.js';
import { COMMAND_HEADER_BYTES, decodeFrame, encodeCommand, encodeRegister, encodeRegistered, encodeResult, FrameKind, SessionStatus } from '../../src/node/session-protocol.js';
import { readSessionSnapshot, SessionSnapshotError, SessionStateMachine } from '../../src/node/session-state-machine.js';
import { commandResult } from '../../src/sim/commands.js';
import { Prng } from '../../src/sim/prng.js';
import { runSeed } from '../../src/sim/scenario.js';
import type { RunOptions, RunStats } from '../../src/sim/scenario.js';
import { SessionChecker } from '../../src/sim/session-checker.js';
import { emptyClientStats, SimClient } from '../../src/sim/session-clients.js';
import type { Issued } from '../../src/sim/session-clients.js';
import type { ProposalListener, Simulation } from '../../src/sim/simulation.js';

/**
 * Client sessions under the simulation's faults: every peer runs a SessionStateMachine,
 * simulated clients resend the same seq through crashes, partitions, lost replies and
 * snapshot installs, and the session checker asserts exactly-once, in-order effect and that
 * every answer carries the result of the one application. Planted bugs prove it can fail.
 */
function sweep(seeds: number, options: RunOptions): { failures: string[]; total: Omit<NonNullable<RunStats['sessions']>, 'checks'> & { installs: number; snapshotTables: number } } {
  const failures: string[] = [];
  const total = {
    registered: 0, issued: 0, completed: 0, sends: 0, resends: 0, timeouts: 0, lostReplies: 0, notAccepted: 0, unknown: 0,
    overwritten: 0, committedWithoutResult: 0, duplicates: 0, outOfOrder: 0, installs: 0, snapshotTables: 0,
  };
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSeed(seed, options);
    if (!r.ok) failures.push(r.error!);
    const s = r.stats.sessions!;
    for (const k of Object.keys(total) as (keyof typeof total)[]) if (k in s) total[k] += s[k as keyof typeof s] as number;
    total.installs += r.stats.snapshotsInstalled;
    total.snapshotTables += s.checks.snapshotTables;
  }
  return { failures, total };
}

/** The first failure among the seeds whose message matches `re` (other failures are skipped, and returned for the report). */
function firstMatching(seeds: number, options: RunOptions, re: RegExp): { match: string | null; others: string[] } {
  const others: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSeed(seed, options);
    if (r.ok) continue;
    if (re.test(r.error!)) return { match: r.error!, others };
    others.push(r.error!.split('\n')[0]);
  }
  return { match: null, others };
}

function withPatch<T extends object, K extends keyof T>(proto: T, key: K, impl: T[K], body: () => void): void {
  const original = proto[key];
  proto[key] = impl;
  try { body(); } finally { proto[key] = original; }
}

describe('client sessions under the simulation', () => {
  it('150 seeds, 3 peers, snapshots: every command takes effect exactly once, with its own result', () => {
    const { failures, total } = sweep(150, { peers: 3, snapshots: true, sessions: true, steps: 800 });
    assert.deepEqual(failures, []);
    // The faults the clients must ride out did happen, and the clients did retry through them.
    assert.ok(total.completed > 1000, `only ${total.completed} commands completed`);
    assert.ok(total.duplicates > 0 && total.resends > 0 && total.timeouts > 0 && total.lostReplies > 0, JSON.stringify(total));
    assert.ok(total.unknown > 0 && total.overwritten > 0 && total.outOfOrder > 0, JSON.stringify(total));
    assert.ok(total.installs > 0 && total.snapshotTables > 0, JSON.stringify(total));
  });

  it('50 seeds, 5 peers: the same', () => {
    const { failures, total } = sweep(50, { peers: 5, snapshots: true, sessions: true, steps: 800 });
    assert.deepEqual(failures, []);
    assert.ok(total.completed > 300 && total.duplicates > 0, JSON.stringify(total));
  });

  it('clients write compact command frames: every command entry applied has the varint header', () => {
    const original = SessionStateMachine.prototype.apply;
    const kinds = new Map<number, number>();
    let longest = 0;
    withPatch(SessionStateMachine.prototype, 'apply', function (this: SessionStateMachine, command: Uint8Array, index: number, term: number) {
      kinds.set(command[0], (kinds.get(command[0]) ?? 0) + 1);
      if (command[0] === FrameKind.CompactCommand) longest = Math.max(longest, command.byteLength - decodeFrame(command).payload.byteLength);
      return original.call(this, command, index, term);
    }, () => {
      for (let seed = 1; seed <= 5; seed++) assert.ok(runSeed(seed, { peers: 3, sessions: true, steps: 400 }).ok);
    });
    assert.equal(kinds.get(FrameKind.Command) ?? 0, 0, 'no fixed 25-byte Command frame');
    assert.ok((kinds.get(FrameKind.CompactCommand) ?? 0) > 100, `compact frames applied: ${kinds.get(FrameKind.CompactCommand)}`);
    assert.ok(longest > 0 && longest < COMMAND_HEADER_BYTES, `longest compact header ${longest} bytes`);
  });

  it('the replay command names --sessions', () => {
    const r = runSeed(1, { peers: 3, sessions: true, steps: 50 });
    assert.ok(r.ok, r.error);
    assert.ok(r.stats.sessions && r.stats.sessions.registered >= 2, 'clients registered');
    assert.equal(runSeed(1, { peers: 3, steps: 50 }).stats.sessions, null);
  });
});

describe('planted session bugs are caught', () => {
  it('a session layer that applies a duplicate again', () => {
    const original = SessionStateMachine.prototype.apply;
    withPatch(SessionStateMachine.prototype, 'apply', function (this: SessionStateMachine, command: Uint8Array, index: number, term: number) {
      const out = original.call(this, command, index, term);
      if (out[0] !== SessionStatus.Duplicate) return out;
      const user = (this as unknown as { user: { apply(p: Uint8Array, i: number, t: number): Uint8Array } }).user;
      return encodeResult(SessionStatus.Applied, user.apply(decodeFrame(command).payload, index, term));
    }, () => {
      const { match } = firstMatching(100, { peers: 3, sessions: true, steps: 800 }, /exactly once: .*applied session \d+ seq \d+ at index \d+ again/);
      assert.ok(match, 'no seed caught it');
    });
  });

  it('a client that resends an unknown command under a NEW seq', () => {
    withPatch(SimClient.prototype, 'afterUnknown', function (this: SimClient, c: Issued) {
      this.forget(c.seq); // forgets the old seq ...
      this.track(c.payloadId, c.payload).resendAt = 0; // ... and sends the same command again as the next one
    }, () => {
      const { match } = firstMatching(200, { peers: 3, sessions: true, steps: 800 }, /exactly once: command #\d+ applied twice/);
      assert.ok(match, 'no seed caught it');
    });
  });

  // The session table left out of snapshots: a peer restored from one forgets its sessions.
  type Table = { encodeSnapshot(u: Uint8Array): Uint8Array; sessions: Map<number, unknown>; oldest: unknown; newest: unknown };
  const proto = SessionStateMachine.prototype as unknown as Table;
  const originalEncode = proto.encodeSnapshot;
  const withoutTable = function (this: Table, userSnap: Uint8Array): Uint8Array {
    const saved = [this.sessions, this.oldest, this.newest] as const;
    this.sessions = new Map();
    this.oldest = this.newest = null;
    try { return originalEncode.call(this, userSnap); } finally { [this.sessions, this.oldest, this.newest] = saved; }
  };

  it('a session table left out of snapshots: the snapshot check names it', () => {
    withPatch(proto, 'encodeSnapshot', withoutTable, () => {
      const { match } = firstMatching(100, { peers: 3, snapshots: true, sessions: true, steps: 800 }, /session snapshot: .*lacks session \d+/);
      assert.ok(match, 'no seed caught it');
    });
  });

  it('a session table left out of snapshots: without the snapshot check, what the peers apply gives it away', () => {
    withPatch(proto, 'encodeSnapshot', withoutTable, () => {
      withPatch(SessionChecker.prototype, 'onSnapshotTable', () => {}, () => {
        const { match } = firstMatching(100, { peers: 3, snapshots: true, sessions: true, steps: 800 }, /session agreement|exactly once|session expiry|session result/);
        assert.ok(match, 'no seed caught it');
      });
    });
  });
});

describe('readSessionSnapshot', () => {
  it('returns the session table and the user part of a snapshot, and refuses what is not one', () => {
    const user = { applied: [] as number[], apply(p: Uint8Array) { this.applied.push(p[0]); return Uint8Array.of(p[0] * 2); }, snapshot: () => Uint8Array.of(9, 8, 7), restore() {} };
    const sm = new SessionStateMachine(user);
    sm.apply(encodeRegister(), 1, 1);
    sm.apply(encodeRegister(), 2, 1);
    sm.apply(encodeCommand(1, 1, 0, Uint8Array.of(5)), 3, 1);
    sm.apply(encodeCommand(1, 2, 1, Uint8Array.of(6)), 4, 1);
    const s = readSessionSnapshot(sm.snapshot!());
    assert.equal(s.maxSessions, 10_000);
    assert.equal(s.inactivityLimit, 0);
    assert.deepEqual(s.sessions, [
      { id: 2, lastActivity: 2, lastApplied: 0, ackedThrough: 0 },
      { id: 1, lastActivity: 4, lastApplied: 2, ackedThrough: 1 },
    ]);
    assert.deepEqual([...s.userSnapshot], [9, 8, 7]);
    assert.throws(() => readSessionSnapshot(Uint8Array.of(9, 8, 7)), (e: unknown) => e instanceof SessionSnapshotError && /shorter than the 40-byte header/.test(e.message));
    const bad = sm.snapshot!();
    bad[bad.byteLength - 1] ^= 1;
    assert.throws(() => readSessionSnapshot(bad), /checksum mismatch/);
  });
});

describe('SimClient, against a scripted cluster', () => {
  // The rarer answers, one at a time: a sweep sees few committed outcomes without a result.
  function scripted() {
    const sent: { frame: Uint8Array; cb: ProposalListener }[] = [];
    const sim = { now: 0, peers: [{}, {}, {}], leaders: () => [{ id: 1 }], propose: (_id: number, frame: Uint8Array, cb: ProposalListener) => { sent.push({ frame, cb }); return 'accepted'; } };
    const checker = new SessionChecker();
    const stats = emptyClientStats();
    const client = new SimClient(1, sim as unknown as Simulation, new Prng(7), checker, { clients: 1, maxInFlight: 2, timeoutMs: 100, lostReplyRate: 0 }, stats);
    const last = () => { const f = decodeFrame(sent[sent.length - 1].frame); return { clientId: f.clientId, seq: f.seq, payload: f.payload.slice() }; };
    const advance = (ms: number) => { sim.now += ms; client.tick(false); };
    client.tick(false);
    sent[0].cb(Outcome.Committed, 3, 1, encodeRegistered(3));
    assert.equal(client.session?.clientId, 3);
    return { sent, sim, checker, stats, client, last, advance };
  }

  it('resends the same seq after unknown and after a committed outcome without a result, and takes the Duplicate', () => {
    const { sent, checker, stats, client, last, advance } = scripted();
    assert.ok(client.issue(1, false));
    const first = last();
    assert.deepEqual([first.clientId, first.seq], [3, 1]);
    sent[1].cb(Outcome.Unknown, 4, 1, undefined);
    advance(20);
    assert.equal(sent.length, 3);
    assert.deepEqual(last(), first, 'resent as the same seq and payload');
    sent[2].cb(Outcome.Committed, 5, 1, undefined); // a snapshot covered it: no result
    advance(20);
    assert.equal(sent.length, 4);
    assert.deepEqual(last(), first);
    // What the user state machines applied at indexes 1..4: nothing, then this client's seq 1 at 4.
    for (let i = 1; i <= 4; i++) checker.onEntry(1, i, i === 4 ? { clientId: 3, seq: 1, payloadId: 1 } : null);
    sent[3].cb(Outcome.Committed, 6, 1, encodeResult(SessionStatus.Duplicate, commandResult(first.payload, 4)));
    assert.equal(client.inFlight, 0);
    assert.deepEqual([stats.unknown, stats.committedWithoutResult, stats.duplicates, stats.completed, checker.counts.results], [1, 1, 1, 1, 1]);
  });

  it('sends compact frames, the first send and the resend alike (the resend with the newer ack)', () => {
    const { sent, checker, client, advance } = scripted();
    client.issue(1, false);
    client.issue(2, false);
    for (let i = 1; i <= 4; i++) checker.onEntry(1, i, i === 4 ? { clientId: 3, seq: 1, payloadId: 1 } : null);
    const frames = () => sent.slice(1).map((s) => ({ kind: s.frame[0], bytes: s.frame.byteLength, f: decodeFrame(s.frame) }));
    sent[1].cb(Outcome.Committed, 4, 1, encodeResult(SessionStatus.Applied, commandResult(decodeFrame(sent[1].frame).payload.slice(), 4)));
    sent[2].cb(Outcome.Unknown, 5, 1, undefined);
    advance(20);
    const all = frames();
    assert.equal(all.length, 3, 'seq 1, seq 2, and seq 2 again');
    for (const { kind, bytes, f } of all) {
      assert.equal(kind, FrameKind.CompactCommand);
      assert.ok(bytes < COMMAND_HEADER_BYTES + f.payload.byteLength, `${bytes} bytes for a ${f.payload.byteLength}-byte payload`);
    }
    assert.deepEqual([all[2].f.seq, all[2].f.ackedThrough], [2, 1], 'the resend acks seq 1');
  });

  it('resends on a timeout and after OutOfOrder; a result that is not its application\'s is a violation', () => {
    const { sent, checker, stats, client, last, advance } = scripted();
    client.issue(1, false);
    const first = last();
    advance(100);
    assert.equal(stats.timeouts, 1);
    assert.deepEqual(last(), first);
    sent[2].cb(Outcome.Committed, 4, 1, encodeResult(SessionStatus.OutOfOrder));
    advance(20);
    assert.equal(stats.outOfOrder, 1);
    assert.deepEqual(last(), first);
    for (let i = 1; i <= 4; i++) checker.onEntry(1, i, i === 4 ? { clientId: 3, seq: 1, payloadId: 1 } : null);
    assert.throws(() => sent[3].cb(Outcome.Committed, 4, 1, encodeResult(SessionStatus.Applied, commandResult(first.payload, 5))),
      /session result: .* not that of its one application at index 4/);
  });
});
