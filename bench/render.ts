/**
 * Re-renders the HTML report and SVG plots of an existing result file (after a change to the
 * report code, or to make a picture for the README) without running anything:
 *
 *   node dist/bench/render.js bench-results/<file>.json [--print]
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chartsFor } from './charts.js';
import { renderHtml } from './report-html.js';
import { fileText } from './report-text.js';
import { BenchFileError, validateBenchFile } from './schema.js';

export function main(argv: string[]): number {
  const file = argv.find((a) => !a.startsWith('--'));
  if (!file || !file.endsWith('.json')) {
    console.error('usage: node dist/bench/render.js RESULT.json [--print]');
    return 2;
  }
  try {
    const f = validateBenchFile(JSON.parse(fs.readFileSync(file, 'utf8')), file);
    const stem = file.replace(/\.json$/, '');
    fs.writeFileSync(`${stem}.html`, renderHtml(f));
    const written = [`${stem}.html`];
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
