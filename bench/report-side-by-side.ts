/**
 * Two or more result files side by side in one self-contained HTML page
 * (`npm run bench:report -- a.json b.json [c.json ...] [--out FILE.html]`): per configuration,
 * each figure's median (and range over the samples) in one column per file; a plot of each
 * figure across the files (a file that did not run a configuration leaves a gap, not a line
 * drawn across it); the latency curves together; and bench:compare's verdicts of every file
 * against the first.
 */
import { nines } from './charts.js';
import { compareFiles } from './compare.js';
import { FIGURES, groupByName, type Figure } from './figures.js';
import { int, us, us as formatUs } from './format.js';
import { CSS } from './report-html.js';
import type { BenchFile, RunResult } from './schema.js';
import { median } from './stats.js';
import { compact, esc, lineChart, type Series } from './svg-plot.js';

export interface LabelledFile { label: string; file: BenchFile }

export function renderSideBySide(files: LabelledFile[]): string {
  const h: string[] = [];
  h.push('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>raft-bench: side by side</title>');
  h.push(`<style>${CSS}</style></head><body><h1>Raft benchmark: ${files.length} result files side by side</h1>`);
  h.push('<table><tr><th>#</th><th>file</th><th>created</th><th>git</th><th>machine</th><th>samples</th></tr>');
  files.forEach((f, i) => {
    const e = f.file.environment;
    h.push(`<tr><td>${i + 1}</td><td>${esc(f.label)}</td><td>${esc(f.file.createdAt)}</td><td>${esc(e?.gitCommit?.slice(0, 10) ?? '?')}${e?.gitDirty ? ' (modified)' : ''}</td>` +
      `<td>${esc(`${e?.cpuCount ?? '?'} x ${e?.cpuModel ?? '?'}, node ${e?.node ?? '?'}`)}</td><td class="n">${f.file.runs.length}</td></tr>`);
  });
  h.push('</table>');

  const groups = files.map((f) => groupByName(f.file.runs));
  const names = [...new Set(groups.flatMap((g) => [...g.keys()]))];
  for (const name of names) {
    h.push(`<h2>${esc(name)}</h2><table><tr><th>figure</th>${files.map((_, i) => `<th>#${i + 1}</th>`).join('')}</tr>`);
    for (const fig of FIGURES) {
      const cells = groups.map((g) => cell(fig, g.get(name)));
      if (cells.every((c) => c === '-')) continue;
      h.push(`<tr><td>${esc(fig.label)} <span class="note">${fig.kind}</span></td>${cells.map((c) => `<td class="n">${c}</td>`).join('')}</tr>`);
    }
    h.push('</table>');
  }

  h.push('<h2>Figures across the files</h2><p class="note">Median over each file\'s samples; a file without the configuration leaves a gap.</p>');
  for (const fig of FIGURES.filter((f) => f.id === 'throughput' || f.id === 'p99' || f.id === 'cpuPerCommit')) {
    const series: Series[] = names.map((name) => ({
      name, dots: true,
      points: groups.map((g, i) => [i + 1, medianOf(fig, g.get(name)) ?? NaN] as [number, number]),
    }));
    h.push(`<div class="chart">${lineChart({
      title: `${fig.label} by file`, height: 300,
      x: { label: 'result file', scale: 'linear', min: 0.7, max: files.length + 0.3, ticks: files.map((_, i) => ({ value: i + 1, label: `#${i + 1}` })) },
      y: { label: fig.unit, scale: fig.unit === 'us' ? 'log' : 'linear', format: fig.unit === 'us' ? formatUs : compact },
      series,
    })}</div>`);
  }

  const curves: Series[] = [];
  files.forEach((f, i) => {
    for (const r of f.file.runs) {
      if ((r.sample?.index ?? 0) !== 0 || !r.latency.curve || r.latency.count === 0) continue;
      curves.push({ name: `#${i + 1} ${r.name}`, colorIndex: i, dashed: names.indexOf(r.name) % 2 === 1, points: r.latency.curve.map(([p, v]) => [nines(p, r.latency.count), v]) });
    }
  });
  if (curves.length > 0) {
    h.push(`<h2>Latency by percentile</h2><p class="note">First sample of each configuration; colour = file.</p><div class="chart">${lineChart({
      title: 'Commit latency by percentile', x: { label: 'percentile (number of nines)', scale: 'linear', min: 0 }, y: { label: 'latency', scale: 'log', format: formatUs }, series: curves,
    })}</div>`);
  }

  if (files.length >= 2) {
    h.push('<h2>bench:compare against #1</h2>');
    for (let i = 1; i < files.length; i++) {
      const c = compareFiles(files[0].file, files[i].file);
      h.push(`<h3>#${i + 1} against #1: ${esc(c.verdict)}</h3><table><tr><th>run</th><th>figure</th><th>change (est.)</th><th>interval</th><th>verdict</th></tr>`);
      for (const r of c.runs) {
        for (const f of r.figures) {
          h.push(`<tr><td>${esc(r.name)}</td><td>${esc(f.label)}</td><td class="n">${pct(f.ratio)}</td><td class="n">${pct(f.lo)} .. ${pct(f.hi)}</td>` +
            `<td class="${f.verdict === 'slower' ? 'miss' : f.verdict === 'faster' || f.verdict === 'same' ? 'pass' : ''}">${esc(f.verdict + (f.why ? ` (${f.why})` : ''))}</td></tr>`);
        }
      }
      h.push('</table>');
      for (const cv of c.caveats) h.push(`<p class="note">${esc(cv)}</p>`);
    }
  }
  h.push('</body></html>');
  return h.join('\n');
}

function medianOf(fig: Figure, samples: RunResult[] | undefined): number | null {
  if (!samples) return null;
  const vs = samples.map(fig.read).filter((v): v is number => v !== null && Number.isFinite(v));
  return vs.length > 0 ? median(vs) : null;
}

function cell(fig: Figure, samples: RunResult[] | undefined): string {
  const m = medianOf(fig, samples);
  if (m === null || !samples) return '-';
  const v = (x: number) => (fig.unit === 'us' ? us(x) : int(x));
  const vs = samples.map(fig.read).filter((x): x is number => x !== null && Number.isFinite(x));
  return vs.length > 1 ? `${v(m)} <span class="note">(${v(Math.min(...vs))} .. ${v(Math.max(...vs))}, ${vs.length})</span>` : v(m);
}

function pct(ratio: number): string {
  if (!Number.isFinite(ratio)) return ratio === Infinity ? '+inf' : '-';
  const p = (ratio - 1) * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}
