import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from './packed-files.js';
import { matchesOutput, readmeBlocks } from './readme-examples.js';

// Each README example runs as a user's program would: from a directory of its own, importing
// 'raft-threads' through node_modules (a link to this checkout, so its package.json "exports"
// map and the build in dist/src are what resolve).
const blocks = readmeBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-readme-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
fs.mkdirSync(path.join(tmp, 'node_modules'));
fs.symlinkSync(ROOT, path.join(tmp, 'node_modules', 'raft-threads'));
fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'readme-examples', private: true, type: 'module' }));

test('the README has runnable examples, and every example file belongs to one', () => {
  const names = new Set(blocks.flatMap((b) => (b.kind === 'example' ? [b.name] : [])));
  assert.ok(names.size >= 2, `only ${names.size} runnable examples in README.md`);
  for (const b of blocks) if (b.kind === 'file') assert.ok(names.has(b.example), `README.md:${b.line}: example-file for unknown example ${b.example}`);
});

for (const b of blocks) {
  if (b.kind === 'example') {
    test(`README example "${b.name}" (README.md:${b.line}) prints what the README says`, () => {
      const dir = path.join(tmp, b.name);
      fs.mkdirSync(dir);
      for (const f of blocks) if (f.kind === 'file' && f.example === b.name) fs.writeFileSync(path.join(dir, f.file), f.code);
      fs.writeFileSync(path.join(dir, 'main.js'), b.code);
      // The process must also exit by itself: an example that leaves a worker running times out.
      const r = spawnSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.error, undefined, `did not exit by itself: ${r.error?.message}\n${r.stdout}`);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(matchesOutput(b.expected, r.stdout), `output:\n${r.stdout}\nexpected (... matches anything):\n${b.expected.join('\n')}`);
    });
  } else {
    // Fragments and examples waiting for an API are at least valid module syntax.
    const name = b.kind === 'file' ? `README file ${b.example}/${b.file}` : `README ${b.kind} at README.md:${b.line}`;
    test(`${name} parses`, b.kind === 'todo' ? { todo: `not yet run: ${b.reason}` } : {}, () => {
      const file = path.join(tmp, `check-${b.line}.mjs`);
      fs.writeFileSync(file, b.code);
      const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }
}

test('the expected-output matcher: whole lines, same count, ... as a wildcard', () => {
  assert.ok(matchesOutput(['peer ... leads term ...', 'done'], 'peer 2 leads term 1\ndone\n'));
  assert.ok(!matchesOutput(['peer ... leads term ...'], 'peer 2 leads term 1\nextra\n'));
  assert.ok(!matchesOutput(['done'], 'not done\n'));
  assert.ok(!matchesOutput(['a.c'], 'abc\n'), 'a literal dot is not a regex wildcard');
  assert.throws(() => readmeBlocks('```js\nx\n```\n'), /needs a marker/);
  assert.throws(() => readmeBlocks('<!-- example: a -->\n```js\nx\n```\n```sh\ny\n```\n'), /must be followed by a ```text block/);
});
