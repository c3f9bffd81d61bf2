import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Cluster } from '../../src/index.js';
import { resolveStateMachineModule } from '../../src/cluster/state-machine-module.js';

// A state machine module that tells the main thread, through a BroadcastChannel, that a worker loaded it.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-sm-module-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const moduleFile = path.join(dir, 'announcing state machine.mjs'); // a space: paths and URLs must not be confused
fs.writeFileSync(moduleFile, `
  export function createStateMachine(peer) {
    const ch = new BroadcastChannel('raft-sm-loaded');
    ch.postMessage({ peer, url: import.meta.url });
    ch.close();
    return { apply() {} };
  }
`);
fs.writeFileSync(path.join(dir, 'no-factory.mjs'), 'export const nothing = 1;\n');
fs.writeFileSync(path.join(dir, 'async-factory.mjs'), 'export async function createStateMachine() { return { apply() {} }; }\n');
fs.writeFileSync(path.join(dir, 'no-apply.mjs'), 'export function createStateMachine() { return { snapshot() { return new Uint8Array(0); } }; }\n');

/** Starts a one-peer cluster with this stateMachine option; resolves with what the module announced. */
async function loadedBy(spec: string | URL): Promise<{ peer: number; url: string }> {
  const ch = new BroadcastChannel('raft-sm-loaded');
  const announced = new Promise<{ peer: number; url: string }>((resolve) => { ch.onmessage = (e) => resolve((e as MessageEvent).data); });
  try {
    const c = await Cluster.start({ peers: 1, stateMachine: spec });
    try {
      return await announced;
    } finally {
      await c.stop();
    }
  } finally {
    ch.close();
  }
}

const expectedUrl = pathToFileURL(moduleFile).href;

test('stateMachine as an absolute path', async () => {
  assert.deepEqual(await loadedBy(moduleFile), { peer: 0, url: expectedUrl });
});

test('stateMachine as a file: URL object and as a file: URL string', async () => {
  assert.deepEqual(await loadedBy(pathToFileURL(moduleFile)), { peer: 0, url: expectedUrl });
  assert.deepEqual(await loadedBy(pathToFileURL(moduleFile).href), { peer: 0, url: expectedUrl });
});

test('stateMachine as a relative path is resolved against process.cwd(), not the library folder', async () => {
  const relative = path.relative(process.cwd(), moduleFile);
  assert.ok(!path.isAbsolute(relative));
  assert.deepEqual(await loadedBy(relative), { peer: 0, url: expectedUrl });
  // The resolver itself, against an explicit working directory.
  assert.equal(resolveStateMachineModule('./announcing state machine.mjs', dir), expectedUrl);
});

test('a missing stateMachine file is refused before any worker starts, naming the resolved path', async () => {
  const missingAbs = path.join(dir, 'missing.mjs');
  await assert.rejects(Cluster.start({ peers: 1, stateMachine: missingAbs }),
    (e: Error) => e.message === `option stateMachine: no such file ${missingAbs}`);
  await assert.rejects(Cluster.start({ peers: 1, stateMachine: pathToFileURL(missingAbs) }),
    (e: Error) => e.message === `option stateMachine: no such file ${missingAbs}`);
  await assert.rejects(Cluster.start({ peers: 1, stateMachine: 'lib/missing-sm.js' }), (e: Error) => {
    assert.equal(e.message, `option stateMachine: no such file ${path.resolve('lib/missing-sm.js')}`
      + ` (relative paths are resolved against the working directory ${process.cwd()})`);
    return true;
  });
});

test('a stateMachine that is not a path or file: URL is refused with what it was', () => {
  assert.throws(() => resolveStateMachineModule(new URL('https://example.com/sm.js')), /must be a path or a file: URL, got a https: URL \(https:\/\/example.com\/sm.js\)/);
  assert.throws(() => resolveStateMachineModule(42), /must be a path \(string\) or a file: URL, got number/);
  assert.throws(() => resolveStateMachineModule(''), /got an empty string/);
  assert.throws(() => resolveStateMachineModule('file://remote-host/sm.js'), /option stateMachine: cannot open file:\/\/remote-host\/sm.js/);
});

test('a module without createStateMachine is refused, naming the module', async () => {
  const file = path.join(dir, 'no-factory.mjs');
  await assert.rejects(Cluster.start({ peers: 1, stateMachine: file }),
    (e: Error) => e.message.includes(`state machine module ${pathToFileURL(file).href} does not export a function createStateMachine(peer)`));
});

test('a createStateMachine that returns a promise, or an object without apply(), is refused at start, naming the module', async () => {
  const asyncFile = path.join(dir, 'async-factory.mjs');
  await assert.rejects(Cluster.start({ peers: 1, stateMachine: asyncFile }),
    (e: Error) => e.message.includes(`createStateMachine(peer) of state machine module ${pathToFileURL(asyncFile).href} returned a promise`));
  const noApply = path.join(dir, 'no-apply.mjs');
  await assert.rejects(Cluster.start({ peers: 1, stateMachine: noApply }),
    (e: Error) => e.message.includes(`${pathToFileURL(noApply).href} must return an object with an apply(command, index, term) method, got object`));
});
