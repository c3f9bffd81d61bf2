/** Number formatting shared by the console report, the HTML report and bench:compare. */

export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Microseconds, with a unit that keeps 3 significant digits: "104 us", "1.23 ms", "2.5 s". */
export function us(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v >= 1e6) return `${Number((v / 1e6).toPrecision(3))} s`;
  if (v >= 1000) return `${Number((v / 1000).toPrecision(3))} ms`;
  return `${Number(v.toPrecision(3))} us`;
}

export function mib(bytes: number | null): string {
  return bytes === null || !Number.isFinite(bytes) ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** +12.3% / -4.0% */
export function signedPct(fraction: number): string {
  if (!Number.isFinite(fraction)) return '-';
  const p = fraction * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}

export function ratio(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(digits)}x`;
}

/** A plain-text table; the first column left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
