import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderTransferError, TransferInProgressError } from '../../src/core/leader-transfer.js';
import { Message, MsgType } from '../../src/core/message.js';
import { Role } from '../../src/core/types.js';
import { ELECTION, HEARTBEAT, Net, bytes, heartbeat, makeLeader, msgsOfType, newCore, tickDrain } from './helpers.js';

/** A 3-peer mini network where peer 1 leads term 1 with pre-vote and check-quorum on. */
function ledBy1(): Net {
  const net = new Net({ config: { preVote: true }, seed: 2 });
  const c = net.core(1);
  for (let n = 0; c.role !== Role.Leader; n++) {
    assert.ok(n < 10 * ELECTION, 'peer 1 never won');
    c.tick();
    net.process(1);
    net.deliverAll();
  }
  net.tick(HEARTBEAT);
  return net;
}

describe('leader transfer', () => {
  test('the target wins in the next term (despite vote stickiness), the old leader follows it, nothing is lost', () => {
    const net = ledBy1();
    const term = net.core(1).term;
    const idx = net.propose(1, 'before');
    net.core(1).transferLeader(2);
    assert.equal(net.core(1).transferTarget, 2);
    assert.throws(() => net.core(1).propose(bytes('during')), TransferInProgressError);
    net.deliverAll();
    assert.equal(net.core(2).role, Role.Leader);
    assert.equal(net.core(2).term, term + 1);
    assert.equal(net.core(1).role, Role.Follower);
    assert.equal(net.core(1).transferTarget, -1);
    net.tick(HEARTBEAT);
    assert.equal(net.core(1).leaderId, 2);
    assert.equal(net.core(3).leaderId, 2);
    const idx2 = net.propose(2, 'after');
    net.tick(HEARTBEAT);
    for (const id of net.ids) {
      assert.ok(net.core(id).commitIndex >= idx2);
      assert.ok(net.commands(id).includes('before') && idx2 > idx);
    }
  });

  test('a lagging target is brought up to date before it gets TimeoutNow', () => {
    const net = ledBy1();
    net.drop = (m) => m.to === 3 && m.type === MsgType.AppendEntries;
    let last = 0;
    for (let k = 0; k < 5; k++) last = net.propose(1, `c${k}`);
    net.tick(HEARTBEAT);
    assert.ok(net.core(3).log.lastIndex < last, 'peer 3 lags');
    net.drop = () => false;
    const seen: Message[] = [];
    net.onDeliver = (m) => {
      if (m.type === MsgType.TimeoutNow) assert.equal(net.core(3).log.lastIndex, last, 'TimeoutNow before the target holds the log');
      seen.push(m);
    };
    net.core(1).transferLeader(3);
    net.deliverAll();
    net.tick(HEARTBEAT);
    assert.equal(seen.filter((m) => m.type === MsgType.TimeoutNow).length, 1);
    assert.deepEqual(net.leaders(), [3]);
  });

  test('aborted after an election timeout if the target does not win; proposals are taken again', () => {
    const net = ledBy1();
    net.down.add(2);
    net.core(1).transferLeader(2);
    net.tick(ELECTION - 1);
    assert.equal(net.core(1).transferTarget, 2);
    net.tick(1);
    assert.equal(net.core(1).transferTarget, -1);
    assert.equal(net.core(1).role, Role.Leader);
    assert.equal(net.core(1).propose(bytes('again')).isLeader, true);
  });

  test('refused: to itself, to an unknown peer, a bad id, a second one, on a non-leader', () => {
    const net = ledBy1();
    const l = net.core(1);
    assert.throws(() => l.transferLeader(1), (e: Error) => e instanceof RangeError && /peer 1 refused: it is this leader itself/.test(e.message));
    assert.throws(() => l.transferLeader(9), (e: Error) => e instanceof RangeError && /not a peer of this cluster \(peers 1, 2, 3\)/.test(e.message));
    assert.throws(() => l.transferLeader(1.5), TypeError);
    assert.equal(l.transferTarget, -1, 'refusals change nothing');
    l.transferLeader(2);
    assert.throws(() => l.transferLeader(3), (e: Error) => e instanceof TransferInProgressError && /to peer 2/.test(e.message));
    assert.throws(() => net.core(3).transferLeader(2), (e: Error) => e instanceof LeaderTransferError && e.reason === 'not-leader' && /peer 1 is/.test(e.message));
  });

  test('a leader that steps down (higher term) drops its transfer', () => {
    const c = newCore({ term: 1, log: [1] });
    makeLeader(c);
    c.transferLeader(2);
    c.step(heartbeat(3, 1, 5));
    assert.equal(c.role, Role.Follower);
    assert.equal(c.transferTarget, -1);
  });
});

describe('stepDownForStall', () => {
  test('a leader steps down in its term and stops heartbeating; a follower is not affected', () => {
    const c = newCore({ term: 1, log: [1] });
    makeLeader(c);
    const term = c.term;
    assert.equal(c.stepDownForStall(), true);
    assert.equal(c.role, Role.Follower);
    assert.equal(c.term, term);
    assert.equal(c.leaderId, -1);
    assert.equal(msgsOfType(tickDrain(c, ELECTION - 1), MsgType.Heartbeat).length, 0);
    assert.equal(c.stepDownForStall(), false);
  });

  test('in a network, another peer takes over', () => {
    const net = ledBy1();
    net.core(1).stepDownForStall();
    net.down.add(1); // its disk hangs: it does nothing more
    let n = 0;
    while (net.leaders().length === 0) { assert.ok(++n < 10 * ELECTION, 'nobody took over'); net.tick(); }
    assert.notEqual(net.leaders()[0], 1);
  });
});
