import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/package). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs npm with these arguments in `cwd`; fails the test with npm's stderr if it exits non-zero. */
export function npm(args: string[], cwd: string, timeoutMs = 60_000): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  assert.equal(r.error, undefined, `npm ${args.join(' ')}: ${r.error?.message}`);
  assert.equal(r.status, 0, `npm ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** The file list `npm pack --json` printed (paths relative to the package root). */
export function packedPaths(json: string): string[] {
  const out = JSON.parse(json) as Array<{ files: Array<{ path: string }> }>;
  assert.equal(out.length, 1);
  return out[0].files.map((f) => f.path);
}

/**
 * What the published package must hold: the entry point and its declarations, every module's
 * declarations, no tests, benchmarks or TypeScript sources, and source maps only with their
 * sources inlined (a map pointing at .ts files that are not shipped is useless to a user).
 * `dir` is the package root the listed files are read from.
 */
export function checkPackedFiles(files: string[], dir: string): void {
  const set = new Set(files);
  for (const f of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cluster/worker.js']) {
    assert.ok(set.has(f), `${f} missing from the package (files: ${files.slice(0, 20).join(', ')}, ...)`);
  }
  for (const f of files) {
    assert.ok(f === 'package.json' || f === 'README.md' || f === 'LICENSE' || f.startsWith('dist/src/'), `${f} should not be published`);
    assert.ok(!/\.test\.|\.tsbuildinfo$|(^|\/)(test|bench)\//.test(f), `${f}: tests and benchmarks are not published`);
    assert.ok(!(f.endsWith('.ts') && !f.endsWith('.d.ts')), `${f}: TypeScript sources are not published`);
    if (f.endsWith('.js')) {
      assert.ok(set.has(f.replace(/\.js$/, '.d.ts')), `${f} has no declarations in the package`);
      const mapRef = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(dir, f), 'utf8'));
      if (mapRef) assert.ok(set.has(path.posix.join(path.posix.dirname(f), mapRef[1])), `${f} points at ${mapRef[1]}, which is not published`);
    }
    if (f.endsWith('.map')) {
      const map = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${f}: a source map must carry its sources (inlineSources)`);
      map.sourcesContent!.forEach((s, k) => assert.ok(typeof s === 'string' && s.length > 0, `${f}: no content for ${map.sources[k]}`));
    }
  }
}
