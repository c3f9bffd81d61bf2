import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineChart, PALETTE, pathOf } from '../../bench/svg-plot.js';

test('a point that was not measured breaks the line instead of being drawn across', () => {
  const id = (v: number) => v;
  assert.equal(pathOf([[0, 1], [1, 2], [2, 3]], id, id), 'M0.0,1.0 L1.0,2.0 L2.0,3.0');
  assert.equal(pathOf([[0, 1], [1, NaN], [2, 3], [3, 4]], id, id), 'M0.0,1.0 M2.0,3.0 L3.0,4.0');
  assert.equal(pathOf([[0, NaN]], id, id), '');
  // in a chart: two sub-paths, and the lone first point gets a dot so that it is seen
  const svg = lineChart({ title: 't', x: { label: 'x', scale: 'linear' }, y: { label: 'y', scale: 'linear' }, series: [{ name: 's', points: [[0, 1], [1, NaN], [2, 3], [3, 4]] }] });
  const d = /<path d="([^"]+)"/.exec(svg)![1];
  assert.equal((d.match(/M/g) ?? []).length, 2);
  assert.equal((svg.match(/<circle/g) ?? []).length, 1);
});

test('the palette is the colour-blind-safe one, and series past its end differ by dash pattern', () => {
  assert.deepEqual(PALETTE.slice(0, 3), ['#0072B2', '#D55E00', '#009E73']);
  const series = Array.from({ length: PALETTE.length + 1 }, (_, i) => ({ name: `s${i}`, points: [[0, 1], [1, 2]] as Array<[number, number]> }));
  const svg = lineChart({ title: 't', x: { label: 'x', scale: 'linear' }, y: { label: 'y', scale: 'linear' }, series });
  const paths = [...svg.matchAll(/<path d="[^"]+" fill="none" stroke="([^"]+)" stroke-width="2"( stroke-dasharray="([^"]+)")?/g)].map((m) => `${m[1]} ${m[3] ?? ''}`);
  assert.equal(paths.length, series.length);
  assert.equal(new Set(paths).size, series.length, paths.join('\n'));
});
