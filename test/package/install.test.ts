import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ROOT, checkPackedFiles, npm, packedPaths } from './packed-files.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-install-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// What a user gets: an unbuilt checkout (sources only, as from git) is packed, which runs the
// prepare script's build; the tarball is installed into an empty project and used from there.
test('an unbuilt checkout packs into a package that installs and runs a cluster', () => {
  const checkout = path.join(tmp, 'checkout');
  fs.mkdirSync(checkout);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src']) {
    fs.cpSync(path.join(ROOT, f), path.join(checkout, f), { recursive: true });
  }
  // The dev dependencies (typescript) as `npm ci` would have installed them.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
  assert.ok(!fs.existsSync(path.join(checkout, 'dist')));
  const files = packedPaths(npm(['pack', '--json', '--pack-destination', tmp], checkout));
  checkPackedFiles(files, checkout);
  const tarball = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');

  // The project takes comlink (the one runtime dependency) from this checkout's node_modules,
  // so that the install needs no network.
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
    name: 'app', private: true, type: 'module',
    dependencies: { comlink: `file:${path.join(ROOT, 'node_modules', 'comlink')}` },
  }));
  npm(['install', path.join(tmp, tarball), '--offline', '--install-links', '--no-package-lock'], app);
  assert.ok(fs.statSync(path.join(app, 'node_modules', 'raft-threads')).isDirectory(), 'installed as a copy, not a link to the checkout');

  const script = `
    import { Cluster } from 'raft-threads';
    const c = await Cluster.start({ peers: 1 });
    const { leader } = await c.waitForLeader();
    const r = await c.peer(leader).start(new Uint8Array([7]));
    await c.stop();
    console.log(JSON.stringify({ leader, isLeader: r.isLeader, from: import.meta.resolve('raft-threads') }));
  `;
  fs.writeFileSync(path.join(app, 'main.js'), script);
  const run = spawnSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr || String(run.error));
  const out = JSON.parse(run.stdout);
  assert.equal(out.leader, 0);
  assert.equal(out.isLeader, true);
  assert.ok(out.from.startsWith(`file://${fs.realpathSync(app)}/node_modules/raft-threads/dist/src/index.js`), out.from);
});
