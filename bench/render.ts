/**
 * Re-renders reports of existing result files without running anything:
 *
 *   node dist/bench/render.js RESULT.json [--print]      the HTML report and SVG plots of one file
 *                                                         (after a change to the report code, or for the README)
 *   npm run bench:report -- a.json b.json [...] [--out FILE.html]
 *                                                         two or more files side by side in one page
 *                                                         (default: side-by-side.html next to the first)
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chartsFor } from './charts.js';
import { loadBenchFile } from './compare.js';
import { renderHtml } from './report-html.js';
import { renderSideBySide } from './report-side-by-side.js';
import { fileText } from './report-text.js';
import { BenchFileError } from './schema.js';

const USAGE = 'usage: node dist/bench/render.js RESULT.json [--print]\n       npm run bench:report -- A.json B.json [...] [--out FILE.html]';

export function main(argv: string[]): number {
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : undefined;
  const rest = outAt >= 0 ? [...argv.slice(0, outAt), ...argv.slice(outAt + 2)] : argv;
  const files = rest.filter((a) => !a.startsWith('--'));
  const unknown = rest.filter((a) => a.startsWith('--') && a !== '--print' && a !== '--help');
  if (argv.includes('--help')) { console.log(USAGE); return 0; }
  if (files.length === 0 || unknown.length > 0 || files.some((f) => !f.endsWith('.json')) || (outAt >= 0 && (!out || !out.endsWith('.html')))) {
    console.error(`render: ${unknown.length > 0 ? `unknown option ${unknown[0]}` : outAt >= 0 && !out?.endsWith('.html') ? '--out needs a .html file' : 'expected one or more .json result files'}\n${USAGE}`);
    return 2;
  }
  try {
    if (files.length > 1) {
      const loaded = files.map((p) => ({ label: p, file: loadBenchFile(p) }));
      const target = out ?? path.join(path.dirname(files[0]), 'side-by-side.html');
      fs.writeFileSync(target, renderSideBySide(loaded));
      console.log(`wrote ${target}`);
      return 0;
    }
    const file = files[0];
    const f = loadBenchFile(file);
    const stem = file.replace(/\.json$/, '');
    const html = out ?? `${stem}.html`;
    fs.writeFileSync(html, renderHtml(f));
    const written = [html];
    for (const c of chartsFor(f)) {
      fs.writeFileSync(`${stem}-${c.id}.svg`, c.svg + '\n');
      written.push(`${stem}-${c.id}.svg`);
    }
    if (argv.includes('--print')) console.log(fileText(f));
    console.log(`wrote ${written.join(', ')}`);
    return 0;
  } catch (e) {
    console.error(`render: ${e instanceof BenchFileError ? e.message : e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
