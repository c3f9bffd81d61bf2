import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType } from '../../src/core/message.js';
import { RaftCore } from '../../src/core/raft.js';
import { Role } from '../../src/core/types.js';
import { ELECTION, HEARTBEAT, Net, encodeSnap, logTerms, seeded, text } from './helpers.js';

/**
 * Safety invariants of Figure 3, checked after every step of a Net:
 * - election safety: at most one leader per term;
 * - leader completeness: an entry committed by the leader of term t is in the log of every
 *   leader of a later term (unless compacted into its snapshot);
 * - log matching is checked by checkLogMatching; state machine safety (same command at each
 *   applied index, applied in order exactly once) by the Net itself.
 */
function watch(net: Net): void {
  const leaderOf = new Map<number, number>();
  const committedIn = new Map<number, number>(); // index -> lowest term of a leader that committed it
  const seenCommit = new Map<number, number>();
  net.afterProcess = (id) => {
    const c = net.core(id);
    if (c.role === Role.Leader) {
      const prev = leaderOf.get(c.term);
      assert.ok(prev === undefined || prev === id, `two leaders in term ${c.term}: ${prev} and ${id}`);
      leaderOf.set(c.term, id);
      for (let i = (seenCommit.get(id) ?? 0) + 1; i <= c.commitIndex; i++) {
        const t = committedIn.get(i);
        if (t === undefined || c.term < t) committedIn.set(i, c.term);
      }
      for (const [idx, t] of committedIn) {
        if (t >= c.term || idx <= c.log.snapshotIndex) continue;
        assert.ok(idx <= c.log.lastIndex, `leader ${id} of term ${c.term} lacks entry ${idx} committed in term ${t}`);
        const cmd = net.appliedAt.get(idx);
        if (cmd !== undefined) assert.equal(text(c.log.command(idx)), cmd, `leader ${id} of term ${c.term} holds another entry at ${idx}`);
      }
    }
    seenCommit.set(id, c.commitIndex);
  };
}

function checkLogMatching(net: Net): void {
  for (const a of net.ids) {
    for (const b of net.ids) {
      if (a >= b) continue;
      const la = net.core(a).log;
      const lb = net.core(b).log;
      const lo = Math.max(la.firstIndex, lb.firstIndex);
      const hi = Math.min(la.lastIndex, lb.lastIndex);
      let top = -1;
      for (let i = hi; i >= lo; i--) if (la.term(i) === lb.term(i)) { top = i; break; }
      for (let i = lo; i <= top; i++) {
        assert.equal(la.term(i), lb.term(i), `log matching: peers ${a} and ${b} agree at ${top} but not at ${i}`);
        assert.equal(text(la.command(i)), text(lb.command(i)), `log matching: commands differ at ${i} on ${a} and ${b}`);
      }
    }
  }
}

/** Ticks the whole network until exactly one live leader exists; returns it. */
function awaitLeader(net: Net, maxTicks = 20 * ELECTION): number {
  for (let t = 0; t < maxTicks; t++) {
    const ls = net.leaders();
    if (ls.length === 1) {
      const l = ls[0];
      const term = net.core(l).term;
      if (net.ids.every((id) => net.down.has(id) || net.core(id).term === term)) return l;
    }
    net.tick();
  }
  throw new Error(`no single leader after ${maxTicks} ticks (leaders: ${net.leaders()})`);
}

describe('mini network: elections', () => {
  test('three fresh peers elect exactly one leader; everyone agrees on term and leader', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Net({ seed });
      watch(net);
      const l = awaitLeader(net);
      const term = net.core(l).term;
      for (const id of net.ids) {
        assert.equal(net.core(id).term, term, `seed ${seed}`);
        assert.equal(net.core(id).leaderId, l, `seed ${seed}: peer ${id} knows the leader`);
        if (id !== l) assert.equal(net.core(id).role, Role.Follower);
      }
    }
  });

  test('a leader stays leader while the network is healthy (no spurious elections)', () => {
    const net = new Net({ seed: 3 });
    const l = awaitLeader(net);
    const term = net.core(l).term;
    net.tick(20 * ELECTION);
    assert.deepEqual(net.leaders(), [l]);
    assert.equal(net.core(l).term, term);
  });

  test('a five-peer cluster with two peers down still elects a leader and commits', () => {
    const net = new Net({ ids: [1, 2, 3, 4, 5], seed: 9 });
    watch(net);
    net.down.add(4); net.down.add(5);
    const l = awaitLeader(net);
    net.propose(l, 'a');
    net.tick(HEARTBEAT);
    for (const id of [1, 2, 3]) assert.deepEqual(net.commands(id), ['a']);
  });
});

describe('mini network: replication', () => {
  test('proposals commit and apply on every peer, in order', () => {
    const net = new Net({ seed: 5 });
    watch(net);
    const l = awaitLeader(net);
    for (let i = 0; i < 20; i++) net.propose(l, `c${i}`);
    net.tick(HEARTBEAT);
    const want = Array.from({ length: 20 }, (_, i) => `c${i}`);
    for (const id of net.ids) assert.deepEqual(net.commands(id), want);
    checkLogMatching(net);
  });

  test('a new leader after a crash has every committed entry, and keeps committing', () => {
    const net = new Net({ seed: 11 });
    watch(net);
    const l1 = awaitLeader(net);
    for (let i = 0; i < 5; i++) net.propose(l1, `a${i}`);
    net.tick(HEARTBEAT);
    net.down.add(l1);
    const l2 = awaitLeader(net);
    assert.notEqual(l2, l1);
    for (let i = 0; i < 5; i++) assert.equal(text(net.core(l2).log.command(i + 1)), `a${i}`);
    net.propose(l2, 'b');
    net.tick(HEARTBEAT);
    net.restart(l1);
    net.down.delete(l1);
    net.tick(2 * HEARTBEAT);
    for (const id of net.ids) assert.deepEqual(net.commands(id), ['a0', 'a1', 'a2', 'a3', 'a4', 'b']);
  });

  test('a partitioned leader steps down; its uncommitted entries are replaced after healing', () => {
    const net = new Net({ seed: 21 });
    watch(net);
    const old = awaitLeader(net);
    net.propose(old, 'committed');
    net.tick(HEARTBEAT);
    const cut = (m: { from: number; to: number }) => m.from === old || m.to === old;
    net.drop = cut;
    net.propose(old, 'lost-1');
    net.propose(old, 'lost-2');
    // The majority side elects a new leader; the old one notices it hears from no one.
    const others = net.ids.filter((id) => id !== old);
    let fresh = -1;
    for (let t = 0; t < 20 * ELECTION && (fresh < 0 || net.core(old).role === Role.Leader); t++) {
      net.tick();
      const ls = others.filter((id) => net.core(id).role === Role.Leader);
      if (ls.length === 1) fresh = ls[0];
    }
    assert.ok(fresh > 0, 'the majority elected a leader');
    assert.equal(net.core(old).role, Role.Follower, 'check quorum made the old leader step down');
    net.propose(fresh, 'new');
    net.tick(HEARTBEAT);
    net.drop = () => false;
    net.tick(4 * HEARTBEAT);
    for (const id of net.ids) assert.deepEqual(net.commands(id), ['committed', 'new']);
    checkLogMatching(net);
  });

  test('a follower whose log has a stale tail still receives an append that was lost', () => {
    // Peer 2 holds ten term-1 entries; the others five. Peer 1 wins term 2 with peer 3's vote.
    const net = new Net({
      setup: { 1: { term: 1, log: [1, 1, 1, 1, 1] }, 2: { term: 1, log: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] }, 3: { term: 1, log: [1, 1, 1, 1, 1] } },
    });
    watch(net);
    net.campaign(1);
    assert.equal(net.core(1).role, Role.Leader);
    net.tick(HEARTBEAT);
    net.down.add(3); // peer 2 is now needed for every commit
    let lost = false;
    net.drop = (m) => {
      if (!lost && m.type === MsgType.AppendEntries && m.to === 2 && m.entries && m.entries.count > 0) {
        lost = true;
        return true;
      }
      return false;
    };
    const idx = net.propose(1, 'x');
    assert.equal(idx, 6);
    net.tick(4 * ELECTION);
    assert.ok(lost);
    assert.equal(net.core(1).commitIndex, 6, 'the lost append is sent again and the entry commits');
    assert.deepEqual(logTerms(net.core(2)), [1, 1, 1, 1, 1, 2]);
  });

  test('restart of every peer: term, votes and logs survive; old entries commit with the next proposal', () => {
    const net = new Net({ seed: 2 });
    watch(net);
    const l = awaitLeader(net);
    for (let i = 0; i < 3; i++) net.propose(l, `p${i}`);
    net.tick(HEARTBEAT);
    // One more entry that reaches the logs but not the commit: cut the replies to the leader.
    net.drop = (m) => m.type === MsgType.AppendEntriesReply;
    net.propose(l, 'pending');
    net.deliverAll();
    net.drop = () => false;
    const terms = net.ids.map((id) => net.core(id).term);
    for (const id of net.ids) net.restart(id);
    assert.deepEqual(net.ids.map((id) => net.core(id).term), terms);
    for (const id of net.ids) assert.equal(net.core(id).commitIndex, 0, 'commit is not persisted (no snapshot)');
    const l2 = awaitLeader(net);
    assert.ok(net.core(l2).term > terms[0]);
    net.propose(l2, 'after');
    net.tick(HEARTBEAT);
    for (const id of net.ids) assert.deepEqual(net.commands(id), ['p0', 'p1', 'p2', 'pending', 'after']);
  });

  test('restart with snapshots: commit and applied start at the snapshot index', () => {
    const net = new Net({ seed: 4 });
    const l = awaitLeader(net);
    for (let i = 0; i < 6; i++) net.propose(l, `s${i}`);
    net.tick(HEARTBEAT);
    for (const id of net.ids) net.snapshot(id, 4, encodeSnap(net.commands(id).slice(0, 4)));
    net.deliverAll();
    for (const id of net.ids) {
      net.restart(id);
      const c = net.core(id);
      assert.equal(c.commitIndex, 4);
      assert.equal(c.appliedIndex, 4);
      assert.equal(c.log.snapshotIndex, 4);
      assert.equal(c.log.lastIndex, 6);
      assert.equal(c.snapshot!.index, 4);
      assert.equal(c.hasReady(), false, 'nothing to persist or apply right after a restart');
    }
    const l2 = awaitLeader(net);
    net.propose(l2, 'x');
    net.tick(HEARTBEAT);
    for (const id of net.ids) assert.deepEqual(net.commands(id), ['s0', 's1', 's2', 's3', 's4', 's5', 'x']);
  });
});

/** After the faults stop: waits for a stable leader and gets one new command applied everywhere. */
function healAndConverge(net: Net): void {
  for (let attempt = 0; attempt < 10; attempt++) {
    const l = awaitLeader(net);
    try {
      net.propose(l, `final-${attempt}`);
    } catch (e) {
      if ((e as Error).name !== 'BackpressureError') throw e;
      net.tick(2 * ELECTION); // let the backlog commit, then try again
      continue;
    }
    net.tick(6 * ELECTION);
    const ref = net.commands(l);
    // A leader change right after the heal may drop the proposal (it was never committed).
    if (!ref.includes(`final-${attempt}`)) continue;
    for (const id of net.ids) assert.deepEqual(net.commands(id), ref, `peer ${id} converged`);
    checkLogMatching(net);
    return;
  }
  assert.fail('no command committed after healing');
}

describe('mini network: random faults, then heal', () => {
  const SEEDS = process.env.RAFT_FULL ? 500 : 30;
  const modes = [
    { name: 'loss, crashes, partitions, compaction', reorder: false, dup: false },
    { name: '+ reordering', reorder: true, dup: false },
    { name: '+ duplication', reorder: false, dup: true },
    { name: '+ reordering and duplication', reorder: true, dup: true },
  ];
  for (const mode of modes) {
    test(`${SEEDS} seeds, ${mode.name}: safety throughout, progress once healed`, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const rng = seeded(seed);
        const net = new Net({
          ids: seed % 2 ? [1, 2, 3] : [1, 2, 3, 4, 5],
          seed,
          config: {
            snapshotChunkBytes: 1 + (seed % 20), maxBatchEntries: 1 + (seed % 5), maxInflight: 1 + (seed % 4),
            heartbeatTicks: 1 + (seed % 3), electionTicks: 5 + (seed % 7), checkQuorum: seed % 3 !== 0,
            maxUncommittedEntries: 5 + (seed % 50),
          },
        });
        watch(net);
        let loss = 0.05 + rng() * 0.4;
        let part: Set<number> | null = null;
        net.drop = (m) => rng() < loss || (part !== null && part.has(m.from) !== part.has(m.to));
        if (mode.reorder) net.reorder = rng;
        let dup = mode.dup ? 0.1 : 0;
        net.duplicate = () => rng() < dup;
        const pick = () => net.ids[Math.floor(rng() * net.ids.length)];
        let n = 0;
        try {
          for (let t = 0; t < 400; t++) {
            net.tick();
            const ls = net.leaders();
            if (ls.length > 0 && rng() < 0.6) {
              for (let k = Math.floor(rng() * 3); k >= 0; k--) {
                try { net.propose(ls[ls.length - 1], `s${seed}-${n++}`); } catch (e) { if ((e as Error).name !== 'BackpressureError') throw e; }
              }
            }
            if (rng() < 0.03) part = part ? null : new Set(net.ids.filter(() => rng() < 0.5));
            if (rng() < 0.02) net.restart(pick());
            if (rng() < 0.02) { const id = pick(); if (net.down.has(id)) net.down.delete(id); else net.down.add(id); }
            if (rng() < 0.05) {
              const id = pick();
              const c = net.core(id);
              const at = c.appliedIndex - Math.floor(rng() * 3);
              if (at > c.log.snapshotIndex) c.compact(at, snapData(net, id, at));
            }
            if (t % 25 === 0) checkLogMatching(net);
          }
          loss = 0; dup = 0; part = null; net.reorder = null; net.down.clear();
          healAndConverge(net);
        } catch (e) {
          (e as Error).message = `seed ${seed}: ${(e as Error).message}`;
          throw e;
        }
      }
    });
  }
});

/** The snapshot data of peer `id` through index `at`: its applied commands up to there. */
function snapData(net: Net, id: number, at: number): Uint8Array {
  const cmds = net.commands(id).slice(0, at);
  assert.equal(cmds.length, at);
  return encodeSnap(cmds);
}

describe('mini network: its checks catch broken Readys (the checker is not vacuous)', () => {
  /** Lets `mutate` edit every Ready peer `id` hands out. */
  function tamper(net: Net, id: number, mutate: (rd: ReturnType<RaftCore['ready']>) => void): void {
    const c = net.core(id);
    const ready = c.ready.bind(c);
    c.ready = () => {
      const rd = ready();
      mutate(rd);
      return rd;
    };
  }

  test('a reply moved into sendNow', () => {
    const net = new Net({ seed: 1 });
    tamper(net, 2, (rd) => { rd.sendNow.push(...rd.sendAfterPersist); rd.sendAfterPersist.length = 0; });
    assert.throws(() => awaitLeader(net), /broke the Ready contract: (granted its vote|sends .* but its durable term)/);
  });

  test('a vote granted without its hard state', () => {
    const net = new Net({ seed: 1 });
    for (const id of net.ids) tamper(net, id, (rd) => { if (rd.sendAfterPersist.some((m) => m.type === MsgType.RequestVoteReply && !m.reject)) rd.hardState = null; });
    assert.throws(() => awaitLeader(net), /broke the Ready contract: (granted its vote|sends .* but its durable term)/);
  });

  test('an acknowledgement of entries that were not persisted', () => {
    const net = new Net({ seed: 1 });
    const l = awaitLeader(net);
    const f = net.ids.find((id) => id !== l)!;
    tamper(net, f, (rd) => { rd.entries = null; });
    net.propose(l, 'x');
    assert.throws(() => net.deliverAll(), /broke the Ready contract: acknowledged entries through/);
  });

  test('a committed batch handed out twice', () => {
    const net = new Net({ seed: 1 });
    const l = awaitLeader(net);
    let last: ReturnType<RaftCore['ready']>['committed'] = null;
    tamper(net, l, (rd) => { if (rd.committed) last = rd.committed; else if (last) { rd.committed = last; last = null; } });
    net.propose(l, 'x');
    assert.throws(() => net.tick(4), /applies from/);
  });
});
