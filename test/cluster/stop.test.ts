import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

// A child process starts a cluster, commits through both paths, stops it, and must then exit
// on its own: no worker, timer or port may keep the event loop alive after cluster.stop().
test('after cluster.stop() nothing keeps the process alive', () => {
  const index = new URL('../../src/index.js', import.meta.url).href;
  const script = `
    import { Cluster } from ${JSON.stringify(index)};
    const c = await Cluster.start({ peers: 3 });
    const client = c.client();
    for (let i = 0; i < 3; i++) await client.propose(new Uint8Array([i + 1]));
    await c.stop();
    console.log('stopped');
  `;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-stop-'));
  const file = path.join(dir, 'child.mjs');
  fs.writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.error, undefined, `child did not exit by itself: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /stopped/);
});
