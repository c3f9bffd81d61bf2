import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftCore } from '../../src/core/raft.js';
import { Role, BackpressureError } from '../../src/core/types.js';
import { bytes, config, drain, makeLeader, newCore } from './helpers.js';

describe('config validation', () => {
  /** Asserts that the constructor throws `type` with a message naming `option`. */
  function rejects(over: Record<string, unknown>, type: typeof Error, option: RegExp): void {
    assert.throws(() => new RaftCore({ ...config(), ...over } as never), (e: unknown) => {
      assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
      assert.match((e as Error).message, option);
      return true;
    });
  }

  test('zero peers', () => rejects({ peers: [] }, RangeError, /\bpeers\b/));
  test('peers missing or not an array: a TypeError', () => {
    rejects({ peers: undefined }, TypeError, /option peers is required/);
    rejects({ peers: 3 }, TypeError, /option peers must be an array of peer ids, got number 3/);
  });
  test('an unknown option is refused, with the closest known name', () => {
    rejects({ electionTimeout: 10 }, TypeError, /unknown option electionTimeout for RaftCore: did you mean electionTicks\?/);
    rejects({ maxinflight: 4 }, TypeError, /unknown option maxinflight .*did you mean maxInflight\?/);
    rejects({ zzzzzzzz: 1 }, TypeError, /^unknown option zzzzzzzz for RaftCore \(known options: id, peers/);
  });
  test('a wrong type names the option, the type expected and the type received', () => {
    rejects({ maxInflight: '4' }, TypeError, /option maxInflight must be a positive integer, got string "4"/);
    rejects({ checkQuorum: 1 }, TypeError, /option checkQuorum must be a boolean, got number 1/);
    rejects({ noopOnElection: 'yes' }, TypeError, /option noopOnElection must be a boolean, got string "yes"/);
    rejects({ electionTicks: null }, TypeError, /option electionTicks must be a positive integer, got null/);
  });
  test('noopOnElection defaults to true', () => {
    const { noopOnElection: _, ...cfg } = config();
    assert.equal(new RaftCore(cfg).cfg.noopOnElection, true);
  });
  test('duplicate peer ids', () => rejects({ peers: [1, 2, 2] }, RangeError, /\bpeers\b/));
  test('id not in peers', () => rejects({ id: 9 }, RangeError, /\bid\b.*9/));
  test('electionTicks zero / negative / fractional', () => {
    rejects({ electionTicks: 0 }, RangeError, /electionTicks/);
    rejects({ electionTicks: -5 }, RangeError, /electionTicks/);
    rejects({ electionTicks: 2.5 }, RangeError, /electionTicks/);
  });
  test('heartbeatTicks zero / negative', () => {
    rejects({ heartbeatTicks: 0 }, RangeError, /heartbeatTicks/);
    rejects({ heartbeatTicks: -1 }, RangeError, /heartbeatTicks/);
  });
  test('electionTicks <= heartbeatTicks', () => {
    rejects({ electionTicks: 3, heartbeatTicks: 3 }, RangeError, /electionTicks.*heartbeatTicks/);
    rejects({ electionTicks: 3, heartbeatTicks: 4 }, RangeError, /electionTicks.*heartbeatTicks/);
  });
  test('random not a function', () => rejects({ random: 42 }, TypeError, /random/));
  test('optional limits must be positive integers', () => {
    for (const k of ['maxBatchBytes', 'maxBatchEntries', 'maxInflight', 'snapshotChunkBytes', 'maxCommandBytes', 'maxUncommittedEntries']) {
      rejects({ [k]: 0 }, RangeError, new RegExp(k));
      rejects({ [k]: -1 }, RangeError, new RegExp(k));
    }
  });
  test('a valid config is accepted, defaults filled in', () => {
    const c = new RaftCore(config());
    assert.equal(c.id, 1);
    assert.deepEqual([...c.others], [2, 3]);
    assert.equal(c.role, Role.Follower);
    assert.equal(c.term, 0);
    assert.ok(c.cfg.maxCommandBytes > 0);
  });
});

describe('propose', () => {
  test('a command that is not a Uint8Array is a TypeError (leader or not)', () => {
    const f = newCore();
    const l = newCore();
    makeLeader(l);
    for (const c of [f, l]) {
      for (const bad of ['text', 42, null, undefined, [1, 2], new ArrayBuffer(4), new Uint16Array(2)]) {
        assert.throws(() => c.propose(bad as never), TypeError);
      }
    }
    assert.equal(l.log.lastIndex, 0, 'a refused command must not reach the log');
  });

  test('an oversize command is a RangeError naming maxCommandBytes', () => {
    const l = newCore({ maxCommandBytes: 8 });
    makeLeader(l);
    assert.throws(() => l.propose(new Uint8Array(9)), (e: unknown) => e instanceof RangeError && /maxCommandBytes/.test(e.message));
    assert.equal(l.log.lastIndex, 0);
    assert.deepEqual(l.propose(new Uint8Array(8)).isLeader, true, 'exactly maxCommandBytes is fine');
  });

  test('on a follower: isLeader false, nothing changes', () => {
    const f = newCore({ term: 3, log: [1, 2] });
    drain(f);
    const r = f.propose(bytes('x'));
    assert.equal(r.isLeader, false);
    assert.equal(r.term, 3);
    assert.equal(f.log.lastIndex, 2);
    assert.equal(f.hasReady(), false);
  });

  test('on a candidate: isLeader false', () => {
    const c = newCore();
    c.tick(); // not yet
    for (let i = 0; i < 10 && c.role === Role.Follower; i++) c.tick();
    assert.equal(c.role, Role.Candidate);
    assert.equal(c.propose(bytes('x')).isLeader, false);
    assert.equal(c.log.lastIndex, 0);
  });

  test('on the leader: returns the new index and the current term, entries are handed out to persist', () => {
    const l = newCore({ term: 4, log: [1, 2, 4] });
    makeLeader(l);
    assert.equal(l.term, 5);
    const a = l.propose(bytes('a'));
    const b = l.propose(bytes('b'));
    assert.deepEqual(a, { index: 4, term: 5, isLeader: true });
    assert.deepEqual(b, { index: 5, term: 5, isLeader: true });
    const rds = drain(l);
    const persisted = rds.flatMap((rd) => (rd.entries ? [rd.entries] : []));
    assert.equal(persisted.length, 1);
    assert.equal(persisted[0].firstIndex, 4);
    assert.equal(persisted[0].count, 2);
  });

  test('backpressure: too many uncommitted entries is a BackpressureError', () => {
    const l = newCore({ maxUncommittedEntries: 2 });
    makeLeader(l);
    l.propose(bytes('a'));
    l.propose(bytes('b'));
    assert.throws(() => l.propose(bytes('c')), BackpressureError);
    assert.equal(l.log.lastIndex, 2);
  });
});

describe('proposeFrom (a command read out of a shared buffer)', () => {
  const ring = new Uint8Array(200);
  ring.set(bytes('..hello..'), 100); // 'hello' at 102..106
  const big = new Uint8Array(100).fill(7);
  ring.set(big, 0);

  test('on the leader: copies the bytes into the log and returns the index', () => {
    const l = newCore({ term: 4, log: [1, 2, 4] });
    makeLeader(l);
    assert.equal(l.proposeFrom(ring, 102, 5), 4);
    assert.equal(l.proposeFrom(ring, 0, 100), 5, 'a command over 64 bytes takes the bulk copy');
    ring[102] = 0; // the log holds a copy, not a view
    assert.deepEqual(l.log.command(4), bytes('hello'));
    assert.deepEqual(l.log.command(5), big);
    ring[102] = bytes('h')[0];
    assert.equal(l.log.term(5), 5);
  });

  test('on a follower: -1, nothing changes', () => {
    const f = newCore({ term: 3, log: [1, 2] });
    drain(f);
    assert.equal(f.proposeFrom(ring, 102, 5), -1);
    assert.equal(f.log.lastIndex, 2);
    assert.equal(f.hasReady(), false);
  });

  test('refuses what propose() refuses, with the same errors', () => {
    const l = newCore({ maxCommandBytes: 8, noopOnElection: true });
    makeLeader(l);
    drain(l);
    const last = l.log.lastIndex;
    assert.throws(() => l.proposeFrom(ring, 0, 9), (e: unknown) => e instanceof RangeError && /maxCommandBytes \(8\)/.test(e.message));
    assert.throws(() => l.proposeFrom(ring, 0, 0), (e: unknown) => e instanceof RangeError && /0-byte command is reserved/.test(e.message));
    assert.equal(l.log.lastIndex, last);
    assert.equal(l.proposeFrom(ring, 0, 8), last + 1, 'exactly maxCommandBytes is fine');
    const b = newCore({ maxUncommittedEntries: 1 });
    makeLeader(b);
    b.proposeFrom(ring, 102, 5);
    assert.throws(() => b.proposeFrom(ring, 102, 5), BackpressureError);
  });
});
