/**
 * A small line-chart renderer producing standalone SVG text: no dependencies, no external
 * assets, so the same string can be inlined in the HTML report or saved as a .svg for the
 * README. Linear or log axes; ticks either computed or given with their labels.
 */

export interface Tick { value: number; label: string }

export interface Axis {
  label: string;
  scale: 'linear' | 'log';
  /** Explicit ticks (values in data units); otherwise computed from the data range. */
  ticks?: Tick[];
  format?: (v: number) => string;
  min?: number;
  max?: number;
}

export interface Series {
  name: string;
  /** A point whose y is NaN (or not drawable: <= 0 on a log axis) was not measured: the line breaks there. */
  points: Array<[number, number]>;
  /** Draw a dot on each point (sparse data such as a sweep). */
  dots?: boolean;
  dashed?: boolean;
  /** Index into the palette (series that belong together share a color); default: the series' position. */
  colorIndex?: number;
}

export interface ChartSpec {
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
  width?: number;
  height?: number;
}

/**
 * Okabe & Ito's colour-blind-safe palette (yellow left out: unreadable on white). Past its
 * length, series repeat colours with another dash pattern, so no two look the same.
 */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000'];
const DASHES = ['', '2 3', '8 3 2 3'];
const MARGIN = { left: 78, right: 44, top: 40, bottom: 56 };

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 760;
  const height = (spec.height ?? 420) + spec.series.length * 18 + 6;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = (spec.height ?? 420) - MARGIN.top - MARGIN.bottom;
  const all = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xr = range(spec.x, all.map((p) => p[0]));
  const yr = range(spec.y, all.map((p) => p[1]));
  const sx = scaler(spec.x.scale, xr, 0, plotW);
  const sy = scaler(spec.y.scale, yr, plotH, 0);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${esc(spec.title)}</text>`);
  out.push(`<g transform="translate(${MARGIN.left},${MARGIN.top})">`);
  // grid and ticks
  for (const t of spec.x.ticks ?? autoTicks(spec.x, xr)) {
    const x = sx(t.value);
    if (!(x >= -0.5 && x <= plotW + 0.5)) continue;
    out.push(`<line x1="${f(x)}" y1="0" x2="${f(x)}" y2="${plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${f(x)}" y="${plotH + 16}" text-anchor="middle" fill="#333">${esc(t.label)}</text>`);
  }
  for (const t of spec.y.ticks ?? autoTicks(spec.y, yr)) {
    const y = sy(t.value);
    if (!(y >= -0.5 && y <= plotH + 0.5)) continue;
    out.push(`<line x1="0" y1="${f(y)}" x2="${plotW}" y2="${f(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="-8" y="${f(y + 4)}" text-anchor="end" fill="#333">${esc(t.label)}</text>`);
  }
  out.push(`<rect x="0" y="0" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${plotW / 2}" y="${plotH + 40}" text-anchor="middle" fill="#111">${esc(spec.x.label)}</text>`);
  out.push(`<text transform="translate(${-MARGIN.left + 16},${plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111">${esc(spec.y.label)}</text>`);
  // series
  spec.series.forEach((s, i) => {
    const { color, dash } = styleOf(s, i);
    const d = pathOf(s.points, sx, sy);
    if (d === '') return;
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    const drawable = s.points.filter(([x, y]) => Number.isFinite(sx(x)) && Number.isFinite(sy(y)));
    // a lone point between two gaps has no line: give it a dot so it is seen
    const lone = drawable.filter((p) => s.dots || isolated(s.points, p, sx, sy));
    for (const [x, y] of lone) out.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3.5" fill="${color}"/>`);
  });
  out.push('</g>');
  // legend under the plot, one series per line
  const ly0 = (spec.height ?? 420) + 10;
  spec.series.forEach((s, i) => {
    const { color, dash } = styleOf(s, i);
    const x = MARGIN.left;
    const y = ly0 + i * 18;
    out.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 22}" y2="${y - 4}" stroke="${color}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${x + 28}" y="${y}" fill="#111">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function styleOf(s: Series, i: number): { color: string; dash: string } {
  const k = s.colorIndex ?? i;
  const dash = s.dashed ? '6 4' : DASHES[Math.floor(k / PALETTE.length) % DASHES.length];
  return { color: PALETTE[k % PALETTE.length], dash };
}

/** SVG path data, a new sub-path after every point that cannot be drawn (a gap, not a line across it). */
export function pathOf(points: Array<[number, number]>, sx: (v: number) => number, sy: (v: number) => number): string {
  const parts: string[] = [];
  let pen = false;
  for (const [x, y] of points) {
    const px = sx(x), py = sy(y);
    if (!Number.isFinite(px) || !Number.isFinite(py)) { pen = false; continue; }
    parts.push(`${pen ? 'L' : 'M'}${f(px)},${f(py)}`);
    pen = true;
  }
  return parts.join(' ');
}

function isolated(points: Array<[number, number]>, p: [number, number], sx: (v: number) => number, sy: (v: number) => number): boolean {
  const k = points.indexOf(p);
  const ok = (q: [number, number] | undefined) => q !== undefined && Number.isFinite(sx(q[0])) && Number.isFinite(sy(q[1]));
  return !ok(points[k - 1]) && !ok(points[k + 1]);
}

function range(axis: Axis, values: number[]): [number, number] {
  const usable = axis.scale === 'log' ? values.filter((v) => v > 0) : values;
  let lo = axis.min ?? (usable.length ? Math.min(...usable) : 1);
  let hi = axis.max ?? (usable.length ? Math.max(...usable) : 10);
  if (axis.scale === 'log') {
    if (axis.min === undefined) lo = 10 ** Math.floor(Math.log10(lo));
    if (axis.max === undefined) hi = 10 ** Math.ceil(Math.log10(hi));
    if (hi <= lo) hi = lo * 10;
  } else {
    if (axis.min === undefined) lo = Math.min(0, lo);
    if (axis.max === undefined) hi = niceCeil(hi);
    if (hi <= lo) hi = lo + 1;
  }
  return [lo, hi];
}

function scaler(kind: 'linear' | 'log', [lo, hi]: [number, number], a: number, b: number): (v: number) => number {
  if (kind === 'log') {
    const l0 = Math.log10(lo), l1 = Math.log10(hi);
    return (v) => (v > 0 ? a + ((Math.log10(v) - l0) / (l1 - l0)) * (b - a) : NaN);
  }
  return (v) => a + ((v - lo) / (hi - lo)) * (b - a);
}

function autoTicks(axis: Axis, [lo, hi]: [number, number]): Tick[] {
  const fmt = axis.format ?? compact;
  const ticks: Tick[] = [];
  if (axis.scale === 'log') {
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      const v = 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push({ value: v, label: fmt(v) });
    }
    return ticks;
  }
  const step = niceStep((hi - lo) / 6);
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push({ value: v, label: fmt(v) });
  return ticks;
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw));
  const m = raw / e;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * e;
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const step = niceStep(v / 6);
  return Math.ceil(v / step) * step;
}

/** 1234567 -> "1.23M", 4500 -> "4.5k". */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

function f(v: number): string {
  return v.toFixed(1);
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
