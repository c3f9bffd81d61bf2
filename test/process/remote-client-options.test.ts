import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteClient } from '../../src/process/remote-client.js';

const peers = { 0: { host: '127.0.0.1', port: 7000 } };

test('new RemoteClient refuses a missing options object, an unknown option name and a bad peer address, naming the problem', () => {
  assert.throws(() => new RemoteClient(undefined as never), { name: 'TypeError', message: /new RemoteClient options must be an object, got undefined/ });
  assert.throws(() => new RemoteClient({ peers, tls: false, conectTimeoutMs: 5 } as never),
    { name: 'TypeError', message: /unknown option conectTimeoutMs for new RemoteClient: did you mean connectTimeoutMs\?/ });
  assert.throws(() => new RemoteClient({ peers: { 0: { host: '127.0.0.1', port: 'x' } }, tls: false } as never),
    { name: 'RangeError', message: /option peers: peer 0 needs a port \(an integer 1-65535\), got "x"/ });
  assert.throws(() => new RemoteClient({ peers: { 1: { port: 7000 } }, tls: false } as never),
    { name: 'TypeError', message: /option peers: peer 1 needs a host/ });
  assert.throws(() => new RemoteClient({ peers, tls: false, connectTimeoutMs: 0 }), { name: 'RangeError', message: /option connectTimeoutMs must be a positive number, got 0/ });
  new RemoteClient({ peers, tls: false }).close(); // and good options are taken
});
