import { test } from 'node:test';
import { ROOT, checkPackedFiles, npm, packedPaths } from './packed-files.js';

// Lists what `npm pack` would publish from this checkout, as built by `npm run build`.
// --ignore-scripts: the prepare script would rebuild dist/ under the running tests.
test('npm pack --dry-run publishes the build with its declarations and nothing else', () => {
  const files = packedPaths(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT));
  checkPackedFiles(files, ROOT);
});
