import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

// The package imports itself by name through its "exports" map, as an installed user would.
test('the package root export resolves and exposes the public API with type declarations', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const api = await import(pkg.name);
  for (const name of ['Cluster', 'ClusterClient', 'RaftNode', 'RaftCore', 'MemoryStorage', 'FileStorage', 'encode', 'decode', 'PeerDownError', 'ClusterStoppedError']) {
    assert.equal(typeof api[name], 'function', `${name} is not exported`);
  }
  const types = new URL(`../../../${pkg.exports['.'].types}`, import.meta.url);
  assert.ok(existsSync(types), `type declarations missing at ${types}`);
  assert.match(readFileSync(types, 'utf8'), /export \{ Cluster/);
  assert.deepEqual(pkg.files, ['dist/src']);
});
