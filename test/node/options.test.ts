import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closestName, describeValue } from '../../src/core/option-spec.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { Cluster } from '../../src/cluster/cluster.js';

const transport = { send(): void {} };

describe('RaftNode options', () => {
  test('an unknown name is refused with a TypeError that suggests the closest known one', async () => {
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, electionTimeout: 300 } as never),
      { name: 'TypeError', message: /unknown option electionTimeout for RaftNode.start: did you mean electionTimeoutMs\?/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, snapshotPolicy: { entires: 5 } } as never),
      { name: 'TypeError', message: /unknown option snapshotPolicy.entires .*did you mean entries\?/ });
  });

  test('a wrong type names the option, the type expected and the type received', async () => {
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, tickMs: '10' } as never),
      { name: 'TypeError', message: 'option tickMs must be a positive number, got string "10"' });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, noopOnElection: 0 } as never),
      { name: 'TypeError', message: /option noopOnElection must be a boolean, got number 0/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport: null } as never),
      { name: 'TypeError', message: /option transport must be an object with a send\(messages\) method, got null/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0] } as never),
      { name: 'TypeError', message: /option transport is required by RaftNode.start/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport: {} } as never),
      { name: 'TypeError', message: /option transport must have a send\(messages\) method/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, scheduler: { every() {} } } as never),
      { name: 'TypeError', message: /option scheduler must have the methods every\(ms, fn\) and soon\(fn\)/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, stateMachine: {} } as never),
      { name: 'TypeError', message: /option stateMachine must have an apply\(command, index, term\) method/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, maxInflight: 0 }),
      { name: 'RangeError', message: /option maxInflight must be a positive integer, got number 0/ });
  });

  test('noopOnElection defaults to true in a RaftNode (the core default)', async () => {
    const n = await RaftNode.start({ id: 0, peers: [0], transport });
    try {
      assert.equal(n.core.cfg.noopOnElection, true);
    } finally {
      await n.stop();
    }
  });
});

describe('Cluster options (refused before any worker starts)', () => {
  test('lease reads: readMode lease without checkQuorum, and a leaseDriftMs not below electionTimeoutMs, are refused by name before a worker starts', async () => {
    await assert.rejects(Cluster.start({ peers: 3, readMode: 'lease', checkQuorum: false }),
      { name: 'RangeError', message: /^option readMode 'lease' needs checkQuorum: true/ });
    await assert.rejects(Cluster.start({ peers: 3, readMode: 'lease', leaseDriftMs: 400 }),
      { name: 'RangeError', message: /^option leaseDriftMs \(400\) must be below electionTimeoutMs \(300\)/ });
    await assert.rejects(RaftNode.start({ id: 0, peers: [0], transport, readMode: 'lease', electionTimeoutMs: 500, leaseDriftMs: 500 }),
      { name: 'RangeError', message: /^option leaseDriftMs \(500\) must be below electionTimeoutMs \(500\)/ });
  });

  test('an unknown name is refused with a TypeError that suggests the closest known one', async () => {
    await assert.rejects(Cluster.start({ peers: 3, electionTimeout: 1000 } as never),
      { name: 'TypeError', message: /unknown option electionTimeout for Cluster.start: did you mean electionTimeoutMs\?/ });
    await assert.rejects(Cluster.start({ peer: 3 } as never), { name: 'TypeError', message: /unknown option peer .*did you mean peers\?/ });
  });

  test('the fields of storage and sessions: an unknown name, a wrong type or an out-of-range value is refused, naming the field', async () => {
    await assert.rejects(Cluster.start({ peers: 3, storage: { dir: '/tmp/raft-options-test-unused', fsynk: 'batch' } } as never),
      { name: 'TypeError', message: /unknown option storage.fsynk .*did you mean fsync\?/ });
    await assert.rejects(Cluster.start({ peers: 3, storage: { dir: 5 } } as never),
      { name: 'TypeError', message: /option storage.dir must be a non-empty string, got number 5/ });
    await assert.rejects(Cluster.start({ peers: 3, storage: { dir: '/tmp/raft-options-test-unused', fsync: 1 } } as never),
      { name: 'TypeError', message: /option storage.fsync must be "always", "batch" or "none", got number 1/ });
    await assert.rejects(Cluster.start({ peers: 3, storage: { dir: '/tmp/raft-options-test-unused', fsync: 'sometimes' } } as never),
      { name: 'RangeError', message: /option storage.fsync must be "always", "batch" or "none", got string "sometimes"/ });
    await assert.rejects(Cluster.start({ peers: 3, storage: { dir: '/tmp/raft-options-test-unused', clusterId: 5 } } as never),
      { name: 'TypeError', message: /option storage.clusterId must be a non-empty string, got number 5/ });
    await assert.rejects(Cluster.start({ peers: 3, sessions: { maxSession: 5 } } as never),
      { name: 'TypeError', message: /unknown option sessions.maxSession .*did you mean maxSessions\?/ });
    await assert.rejects(Cluster.start({ peers: 3, sessions: { maxSessions: 0 } }),
      { name: 'RangeError', message: /option sessions.maxSessions must be a positive integer, got number 0/ });
    await assert.rejects(Cluster.start({ peers: 3, sessions: { inactivityLimit: '10' } } as never),
      { name: 'TypeError', message: /option sessions.inactivityLimit must be a non-negative integer, got string "10"/ });
  });

  test('a wrong type names the option, the type expected and the type received', async () => {
    await assert.rejects(Cluster.start({ peers: '3' } as never),
      { name: 'TypeError', message: 'option peers must be a positive integer, got string "3"' });
    await assert.rejects(Cluster.start({ peers: 3, applyStream: 'no' } as never),
      { name: 'TypeError', message: /option applyStream must be a boolean, got string "no"/ });
    await assert.rejects(Cluster.start({ peers: 3, stateMachine: 42 } as never),
      { name: 'TypeError', message: /option stateMachine must be a module path \(string\) or a file URL, got number 42/ });
    await assert.rejects(Cluster.start({ peers: 3, storage: 'dir' } as never),
      { name: 'TypeError', message: /option storage must be an object .*got string "dir"/ });
    await assert.rejects(Cluster.start({ peers: 3, maxCommandBytes: 2 ** 40 }),
      { name: 'RangeError', message: /option maxCommandBytes must be at most 268435456 .*got 1099511627776/ });
    await assert.rejects(Cluster.start({ peers: 3, heartbeatMs: [100] } as never),
      { name: 'TypeError', message: /option heartbeatMs must be a positive number, got array/ });
  });
});

describe('option-spec helpers', () => {
  test('closestName: a missing suffix, a case slip or a typo is close; an unrelated name is not', () => {
    const known = ['tickMs', 'heartbeatMs', 'electionTimeoutMs', 'maxInflight'];
    assert.equal(closestName('electionTimeout', known), 'electionTimeoutMs');
    assert.equal(closestName('heartbeatms', known), 'heartbeatMs');
    assert.equal(closestName('maxInflihgt', known), 'maxInflight');
    assert.equal(closestName('color', known), null);
  });

  test('describeValue says the type and the value', () => {
    assert.equal(describeValue('10'), 'string "10"');
    assert.equal(describeValue(0), 'number 0');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue([1]), 'array');
    assert.equal(describeValue(new Map()), 'object Map');
    assert.equal(describeValue(undefined), 'undefined');
  });
});
