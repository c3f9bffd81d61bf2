import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FrameKind, SessionFrameError, SessionStatus, decodeFrame, decodeResult, encodeCommand, encodeRegister,
  encodeUnregister, invalidReason, registeredClientId,
} from '../../src/node/session-protocol.js';
import { SessionSnapshotError, SessionStateMachine, type SessionOptions } from '../../src/node/session-state-machine.js';
import { SessionClient } from '../../src/node/session-client.js';
import type { StateMachine } from '../../src/node/raft-node.js';
import { RecordingMachine, readTag, tagPayload, u32 } from './session-helpers.js';

/** One replica fed a log: each feed() is the next log index. */
class Replica {
  readonly sm: SessionStateMachine;
  index = 0;
  constructor(opts?: SessionOptions, readonly user: RecordingMachine = new RecordingMachine()) {
    this.sm = new SessionStateMachine(this.user, opts);
  }
  feed(frame: Uint8Array): { status: SessionStatus; body: Uint8Array } {
    this.index++;
    return decodeResult(this.sm.apply(frame, this.index, 1));
  }
  register(): number {
    return registeredClientId(this.feed(encodeRegister()));
  }
  cmd(clientId: number, seq: number, acked = 0) {
    return this.feed(encodeCommand(clientId, seq, acked, tagPayload(clientId, seq)));
  }
}

test('sessions: the client id is the log index of the RegisterSession entry', () => {
  const r = new Replica();
  r.feed(encodeCommand(99, 1, 0, tagPayload(99, 1))); // index 1: unknown session
  assert.equal(r.register(), 2);
  assert.equal(r.register(), 3);
  assert.equal(r.sm.sessionCount, 2);
});

test('sessions: a duplicate seq is answered with the stored result and not applied again', () => {
  const r = new Replica();
  const c = r.register();
  const first = r.cmd(c, 1);
  assert.equal(first.status, SessionStatus.Applied);
  assert.equal(u32(first.body), 2);
  r.cmd(c, 2);
  const dup = r.cmd(c, 1);
  assert.equal(dup.status, SessionStatus.Duplicate);
  assert.equal(u32(dup.body), 2, 'the result of the one application, not of this entry');
  assert.equal(u32(r.cmd(c, 2).body), 3);
  assert.deepEqual(r.user.applied.map((a) => a.seq), [1, 2]);
});

test('sessions: a seq that skips ahead is refused as OutOfOrder and applies once its predecessor has', () => {
  const r = new Replica();
  const c = r.register();
  assert.equal(r.cmd(c, 2).status, SessionStatus.OutOfOrder);
  assert.equal(r.user.applied.length, 0);
  assert.equal(r.cmd(c, 1).status, SessionStatus.Applied);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Applied);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Duplicate);
  assert.deepEqual(r.user.applied.map((a) => a.seq), [1, 2]);
});

test('sessions: acknowledged results are discarded and a resend of them is Stale', () => {
  const r = new Replica();
  const c = r.register();
  r.cmd(c, 1);
  r.cmd(c, 2);
  const sizeBefore = r.sm.snapshot!().byteLength;
  r.cmd(c, 3, 2); // acks 1 and 2
  assert.equal(r.cmd(c, 1).status, SessionStatus.Stale);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Stale);
  assert.equal(r.cmd(c, 3).status, SessionStatus.Duplicate, 'seq 3 is not acknowledged yet');
  // Two 4-byte results (4 + 4 bytes each) left, one came: the table shrank by one result, grew by one user record.
  assert.equal(r.sm.snapshot!().byteLength, sizeBefore - 8 + 12);
  assert.equal(r.user.applied.length, 3);
});

test('sessions: an ack beyond what was applied only discards what was applied', () => {
  const r = new Replica();
  const c = r.register();
  r.cmd(c, 1);
  assert.equal(r.cmd(c, 9, 8).status, SessionStatus.OutOfOrder);
  assert.equal(r.cmd(c, 1).status, SessionStatus.Stale);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Applied);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Duplicate, 'seq 2 was not acknowledged by the early ack');
});

test('sessions: a command for an unknown or unregistered session is SessionExpired and never applied', () => {
  const r = new Replica();
  assert.equal(r.cmd(42, 1).status, SessionStatus.SessionExpired);
  const c = r.register();
  r.cmd(c, 1);
  assert.equal(r.feed(encodeUnregister(c)).status, SessionStatus.Unregistered);
  assert.equal(r.feed(encodeUnregister(c)).status, SessionStatus.SessionExpired);
  assert.equal(r.cmd(c, 2).status, SessionStatus.SessionExpired);
  assert.equal(r.user.applied.length, 1);
  assert.equal(r.sm.sessionCount, 0);
});

test('sessions: a full table evicts the least recently active session in log order', () => {
  const r = new Replica({ maxSessions: 2 });
  const a = r.register();
  const b = r.register();
  r.cmd(a, 1); // a is now more recent than b
  const c = r.register(); // evicts b
  assert.equal(r.cmd(b, 1).status, SessionStatus.SessionExpired);
  assert.equal(r.cmd(a, 2).status, SessionStatus.Applied);
  assert.equal(r.cmd(c, 1).status, SessionStatus.Applied);
  r.register(); // evicts a (c was touched after a)
  assert.equal(r.cmd(a, 3).status, SessionStatus.SessionExpired);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Applied);
  assert.equal(r.cmd(c, 2).status, SessionStatus.Duplicate, 'seq 2 was not acknowledged by the early ack');
});

test('sessions: inactivityLimit expires a session idle for more than that many log entries', () => {
  const r = new Replica({ inactivityLimit: 3 });
  const a = r.register(); // index 1
  const b = r.register(); // index 2
  r.cmd(b, 1); // 3
  assert.equal(r.cmd(a, 1).status, SessionStatus.Applied, 'a idle for exactly 3 entries is still live'); // 4
  r.index += 3; // entries 5-7 are no-ops the runtime skips: they still count
  assert.equal(r.cmd(a, 2).status, SessionStatus.SessionExpired, 'a last active at 4, now 8'); // 8
  assert.equal(r.sm.sessionCount, 0, 'b (last active at 3) was removed after entry 8 too');
  assert.equal(r.cmd(b, 2).status, SessionStatus.SessionExpired);
  assert.equal(r.user.applied.length, 2);
});

test('sessions: two replicas applying the same log produce byte-identical snapshots', () => {
  const log: Uint8Array[] = [];
  const x = new Replica({ maxSessions: 3, inactivityLimit: 20 });
  // Build a log with registrations, evictions, duplicates, acks and gaps.
  const ids: number[] = [];
  for (let i = 0; i < 60; i++) {
    let f: Uint8Array;
    if (i % 7 === 0) f = encodeRegister();
    else {
      const c = ids[i % ids.length] ?? 1;
      const seq = 1 + ((i * 5) % 4);
      f = encodeCommand(c, seq, Math.max(0, seq - 2), tagPayload(c, seq));
    }
    log.push(f);
    const res = x.feed(f);
    if (res.status === SessionStatus.Registered) ids.push(registeredClientId(res));
  }
  const y = new Replica({ maxSessions: 3, inactivityLimit: 20 });
  for (const f of log) y.feed(f);
  assert.deepEqual(Buffer.from(y.sm.snapshot!()), Buffer.from(x.sm.snapshot!()));
  assert.ok(x.user.applied.length > 5, 'the log applied something');
});

test('sessions: restoring a snapshot mid-stream then continuing gives the same results as without', () => {
  const frames: Uint8Array[] = [];
  const ref = new Replica({ maxSessions: 4 });
  const a = ref.register(); frames.push(encodeRegister());
  const b = ref.register(); frames.push(encodeRegister());
  const script: Array<[number, number, number]> = [
    [a, 1, 0], [b, 1, 0], [a, 2, 0], [a, 1, 0], [b, 3, 0], [b, 2, 1], [a, 3, 2], [b, 2, 0], [b, 3, 2], [a, 2, 0],
  ];
  for (const [c, s, k] of script) frames.push(encodeCommand(c, s, k, tagPayload(c, s)));
  const expected = frames.map((f, i) => (i < 2 ? null : Buffer.from(ref.sm.apply(f, i + 1, 1))));
  for (let cut = 2; cut <= frames.length; cut++) {
    const before = new Replica({ maxSessions: 4 });
    for (let i = 0; i < cut; i++) before.feed(frames[i]);
    const snap = before.sm.snapshot!();
    const after = new Replica({ maxSessions: 4 });
    after.sm.restore!(snap, cut, 1);
    after.index = cut;
    for (let i = cut; i < frames.length; i++) {
      assert.deepEqual(Buffer.from(after.sm.apply(frames[i], i + 1, 1)), expected[i], `cut at ${cut}, entry ${i + 1}`);
    }
    assert.deepEqual(Buffer.from(after.sm.snapshot!()), Buffer.from(ref.sm.snapshot!()));
  }
});

test('sessions: a corrupt or foreign snapshot is refused with an error that names the problem', () => {
  const r = new Replica();
  const c = r.register();
  r.cmd(c, 1);
  const good = r.sm.snapshot!();
  const fresh = () => new SessionStateMachine(new RecordingMachine());
  const refuse = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => fresh().restore!(bytes, 5, 1), (e: unknown) => e instanceof SessionSnapshotError && re.test(e.message));
  const flipped = good.slice();
  flipped[good.byteLength - 3] ^= 0x40;
  refuse(flipped, /checksum mismatch/);
  refuse(good.subarray(0, 20), /shorter than the 40-byte header/);
  refuse(new Uint8Array(64), /bad magic/);
  const v2 = good.slice();
  v2[4] = 2;
  refuse(v2, /unsupported version 2/);
  assert.throws(() => new SessionStateMachine(new RecordingMachine(), { maxSessions: 5 }).restore!(good, 5, 1),
    /maxSessions 10000, inactivityLimit 0, but this peer has maxSessions 5/);
  // A failed restore leaves the previous state in place.
  const kept = new Replica();
  kept.register();
  const keptSnap = Buffer.from(kept.sm.snapshot!());
  assert.throws(() => kept.sm.restore!(flipped, 5, 1), SessionSnapshotError);
  assert.deepEqual(Buffer.from(kept.sm.snapshot!()), keptSnap);
});

test('sessions: malformed frames give a SessionFrameError naming the problem, and an Invalid result that changes nothing', () => {
  const bad: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(0), /empty session frame/],
    [Uint8Array.of(9, 1, 2), /unknown session frame kind 9/],
    [Uint8Array.of(FrameKind.Register, 0), /RegisterSession frame must be 1 byte, got 2/],
    [new Uint8Array(10).fill(FrameKind.Unregister, 0, 1), /UnregisterSession frame must be 9 bytes, got 10/],
    [Uint8Array.of(FrameKind.Command, 1, 0, 0), /shorter than its 25-byte header/],
    [encodeCommand(3, 1, 0, new Uint8Array(2)).fill(0, 1, 9), /clientId 0/],
    [encodeCommand(3, 1, 0, new Uint8Array(2)).fill(0, 9, 17), /seq 0 is invalid/],
    [encodeCommand(3, 1, 0, new Uint8Array(2)).fill(0xff, 9, 17), /seq at offset 9 exceeds 2\^53 - 1/],
    [(() => { const f = encodeCommand(3, 2, 1, new Uint8Array(2)); f[17] = 5; return f; })(), /ackedThrough \(5\) must be below seq \(2\)/],
  ];
  const r = new Replica();
  r.register();
  const snap = Buffer.from(r.sm.snapshot!());
  for (const [frame, re] of bad) {
    assert.throws(() => decodeFrame(frame), (e: unknown) => e instanceof SessionFrameError && re.test(e.message), String(re));
    const res = r.feed(frame);
    assert.equal(res.status, SessionStatus.Invalid);
    assert.match(invalidReason(res), re);
  }
  assert.deepEqual(Buffer.from(r.sm.snapshot!()), snap);
  assert.throws(() => encodeCommand(1, 3, 3, new Uint8Array(1)), /ackedThrough \(3\) must be below seq \(3\)/);
  assert.throws(() => encodeCommand(0, 1, 0, new Uint8Array(1)), /clientId must be a safe integer >= 1, got 0/);
  assert.throws(() => decodeResult(Uint8Array.of(SessionStatus.Stale, 1)), /Stale result carries 1 unexpected bytes/);
  assert.throws(() => decodeResult(Uint8Array.of(200)), /unknown session result status 200/);
});

test('sessions: an exception from the user apply propagates and leaves the table unchanged', () => {
  const r = new Replica({ inactivityLimit: 2 });
  const a = r.register(); // 1
  r.cmd(a, 1); // 2
  const b = r.register(); // 3: a is due to expire at entry 5 if nothing touches it
  r.cmd(b, 1); // 4
  const snap = Buffer.from(r.sm.snapshot!());
  r.user.throwAt = 5;
  assert.throws(() => r.cmd(b, 2, 1), /user apply fails at 5/);
  assert.deepEqual(Buffer.from(r.sm.snapshot!()), snap, 'no seq recorded, no ack taken, no session expired');
  assert.equal(r.sm.sessionCount, 2);
});

test('sessions: a result that is not a Uint8Array is a TypeError naming it, and the table is unchanged', () => {
  let bad = true;
  const sm = new SessionStateMachine({ apply: () => (bad ? 'done' as unknown as Uint8Array : undefined) });
  sm.apply(encodeRegister(), 1, 1);
  assert.throws(() => sm.apply(encodeCommand(1, 1, 0, Uint8Array.of(1)), 2, 1),
    /apply returned a string at entry 2; a result must be a Uint8Array or undefined/);
  bad = false;
  assert.equal(decodeResult(sm.apply(encodeCommand(1, 1, 0, Uint8Array.of(1)), 3, 1)).status, SessionStatus.Applied,
    'seq 1 was not recorded as applied');
});

test('sessions: the stored result is a copy, not the buffer the user returned', () => {
  const r = new Replica();
  const c = r.register();
  r.cmd(c, 1); // result 2, in the user's scratch buffer
  r.cmd(c, 2); // overwrites the scratch buffer with 3
  assert.equal(u32(r.cmd(c, 1).body), 2);
});

test('sessions: snapshot/restore exist only when the user state machine has them; the wrapper is a StateMachine', () => {
  const bare = new SessionStateMachine({ apply: () => undefined });
  assert.equal(bare.snapshot, undefined);
  assert.equal(bare.restore, undefined);
  const asRuntimeSees: StateMachine = bare;
  asRuntimeSees.apply(encodeRegister(), 1, 1);
  assert.equal(decodeResult(bare.apply(encodeCommand(1, 1, 0, Uint8Array.of(7)), 2, 1)).body.byteLength, 0);
  assert.throws(() => new SessionStateMachine(new RecordingMachine(), { maxSessions: 0 }), /maxSessions must be an integer >= 1, got 0/);
  assert.throws(() => new SessionStateMachine(new RecordingMachine(), { inactivityLimit: -1 }), /inactivityLimit must be an integer >= 0/);
});

test('session client: numbers commands, retries the same seq and payload, acks contiguously', () => {
  const r = new Replica();
  const client = SessionClient.fromRegistration(r.sm.apply(SessionClient.registerFrame(), ++r.index, 1));
  assert.equal(client.clientId, 1);
  const p1 = client.command(tagPayload(1, 1));
  const p2 = client.command(tagPayload(1, 2));
  const p3 = client.command(tagPayload(1, 3));
  assert.deepEqual([p1.seq, p2.seq, p3.seq], [1, 2, 3]);
  // p1 is lost; p2 and p3 land out of order, then p1 is retried.
  const apply = (f: Uint8Array) => r.sm.apply(f, ++r.index, 1);
  assert.equal(client.onResult(2, apply(p2.frame)).kind, 'out-of-order');
  const o1 = client.onResult(1, apply(client.retry(1)));
  assert.deepEqual(o1.kind === 'applied' && [o1.duplicate, u32(o1.result)], [false, 3]);
  assert.equal(client.ackedThrough, 1);
  const o3 = client.onResult(3, apply(client.retry(3))); // 3 before 2: out of order again
  assert.equal(o3.kind, 'out-of-order');
  assert.deepEqual(client.pendingSeqs(), [2, 3]);
  const retry2 = client.retry(2);
  const d = decodeFrame(retry2);
  assert.ok(d.kind === FrameKind.Command && d.seq === 2 && d.ackedThrough === 1, 'the retry carries the newer ack');
  assert.deepEqual(Buffer.from(d.payload), Buffer.from(tagPayload(1, 2)), 'and the same payload');
  client.onResult(2, apply(retry2));
  // The first reply for 3 is lost; its retry gets the stored result.
  apply(client.retry(3));
  const again = client.onResult(3, apply(client.retry(3)));
  assert.ok(again.kind === 'applied' && again.duplicate);
  assert.equal(client.ackedThrough, 3);
  assert.deepEqual(client.pendingSeqs(), []);
  assert.throws(() => client.retry(3), /seq 3 of session 1 is not pending/);
  assert.deepEqual(r.user.applied.map((a) => a.seq), [1, 2, 3]);
  // An expired session is reported, and the client refuses new commands.
  apply(client.unregisterFrame());
  const p4 = client.command(tagPayload(1, 4));
  assert.equal(client.onResult(4, apply(p4.frame)).kind, 'expired');
  assert.ok(client.expired);
  assert.throws(() => client.command(new Uint8Array(1)), /session 1 has expired; register a new one/);
  assert.throws(() => SessionClient.fromRegistration(encodeRegister()), /expected a Registered result/);
});

test('sessions: with results on some seqs only, duplicates get the right one after acks compact the table, and a snapshot keeps them', () => {
  /** Odd seqs answer their log index; even seqs answer nothing. */
  class SomeResults extends RecordingMachine {
    override apply(command: Uint8Array, index: number): Uint8Array {
      const r = super.apply(command, index);
      return readTag(command).seq % 2 === 1 ? r : new Uint8Array(0);
    }
  }
  const make = () => new Replica({}, new SomeResults());
  const r = make();
  const c = r.register();
  const indexOf = new Map<number, number>();
  for (let seq = 1; seq <= 200; seq++) { r.cmd(c, seq); indexOf.set(seq, r.index); }
  r.cmd(c, 201, 150); // acknowledges 1..150: the kept prefix is dropped and the arrays compacted
  const check = (x: Replica) => {
    for (let seq = 151; seq <= 201; seq++) {
      const d = x.cmd(c, seq);
      assert.equal(d.status, SessionStatus.Duplicate, `seq ${seq}`);
      if (seq % 2 === 1) assert.equal(u32(d.body), indexOf.get(seq) ?? 202, `seq ${seq}: the result of its one application`);
      else assert.equal(d.body.byteLength, 0, `seq ${seq} had no result`);
    }
    assert.equal(x.cmd(c, 150).status, SessionStatus.Stale);
  };
  const restored = make();
  restored.sm.restore!(r.sm.snapshot!(), r.index, 1);
  restored.index = r.index;
  check(r);
  check(restored);
  assert.deepEqual(Buffer.from(restored.sm.snapshot!()), Buffer.from(r.sm.snapshot!()));
  assert.equal(r.user.applied.length, 201, 'no duplicate was applied');
});
