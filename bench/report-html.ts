/**
 * A self-contained HTML report of a result file: inline CSS and inline SVG plots, no scripts
 * and no external assets, so it can be archived as a CI artifact and opened anywhere.
 */
import { chartsFor, timelineCharts } from './charts.js';
import { FIGURES, groupByName, noiseSummaries } from './figures.js';
import { int, mib, ratio, us } from './format.js';
import { pairRatios } from './pair-ratios.js';
import { fmtValue } from './report-text.js';
import type { BenchFile, RunResult } from './schema.js';
import { esc } from './svg-plot.js';

const sampleLabel = (r: RunResult) => (r.sample && r.sample.of > 1 ? ` [${r.sample.index + 1}/${r.sample.of}]` : '');

export function renderHtml(f: BenchFile): string {
  const e = f.environment;
  const h: string[] = [];
  h.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  h.push(`<title>raft-bench ${esc(f.createdAt)}</title>`);
  h.push(`<style>${CSS}</style></head><body>`);
  h.push(`<h1>Raft benchmark</h1><p class="sub">${esc(f.createdAt)} · <code>${esc(['bench', ...f.args].join(' '))}</code></p>`);

  h.push('<h2>Machine</h2>');
  h.push(kv([
    ['CPU', `${e.cpuCount} x ${e.cpuModel}`], ['memory', `${(e.memTotalBytes / 2 ** 30).toFixed(1)} GiB`],
    ['OS', `${e.platform} ${e.arch} ${e.osRelease}`], ['Node', `${e.node} (V8 ${e.v8})`],
    ['git', e.gitCommit ? `${e.gitCommit}${e.gitDirty ? ' (with uncommitted changes)' : ''}` : 'unknown'],
    ['load average at start', e.loadAvgAtStart.join(' ')],
  ]));

  if (f.limits) {
    const l = f.limits;
    const rows: Array<[string, string]> = [
      ['MessagePort round trip, main &lt;-&gt; worker', `p50 ${us(l.messagePortRoundTrip.p50Us)}, p99 ${us(l.messagePortRoundTrip.p99Us)}, mean ${us(l.messagePortRoundTrip.meanUs)}`],
      ...l.ringThroughput.map((r): [string, string] => [`ring throughput, ${r.recordBytes} B records, two spinning workers`, `${int(r.recordsPerSec)} records/s`]),
    ];
    if (l.fdatasync) rows.push([`fdatasync of a 4 KiB append (${esc(l.fdatasync.fsType)})`, `p50 ${us(l.fdatasync.p50Ms * 1000)}, p99 ${us(l.fdatasync.p99Ms * 1000)}, ${int(l.fdatasync.perSecond)}/s`]);
    h.push('<h2>Reference limits</h2><p>Measured in the same process just before the runs: what the machine allows, independent of the Raft code.</p>');
    h.push(kv(rows, false));
  }

  if (f.targets && f.targets.length > 0) {
    h.push('<h2>Targets</h2><table><tr><th>target</th><th>run</th><th>measured</th><th>goal</th><th></th></tr>');
    for (const t of f.targets) {
      h.push(`<tr><td>(${esc(t.id)}) ${esc(t.title)}</td><td>${esc(t.run)}</td><td class="n">${esc(fmtValue(t.value, t.unit))}</td>` +
        `<td class="n">${esc(t.op)} ${esc(fmtValue(t.target, t.unit))}</td><td class="${t.pass ? 'pass' : 'miss'}">${t.pass ? 'PASS' : 'MISS'}</td></tr>`);
    }
    h.push('</table>');
  }

  h.push('<h2>Results</h2><table><tr><th>run</th><th>commits/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>CPU cores</th><th>peak RSS</th><th>x ring</th><th>x RTT</th></tr>');
  for (const r of f.runs) {
    h.push(`<tr><td><a href="#${anchor(r)}">${esc(r.name + sampleLabel(r))}</a></td><td class="n">${int(r.throughput.perSec)}</td>` +
      [r.latency.p50, r.latency.p90, r.latency.p99, r.latency.p999, r.latency.max].map((v) => `<td class="n">${us(v)}</td>`).join('') +
      `<td class="n">${r.cpu.processUtilization.toFixed(2)}</td><td class="n">${mib(r.memory.peakRssBytes)}</td>` +
      `<td class="n">${ratio(r.ratios.throughputToRing, 3)}</td><td class="n">${ratio(r.ratios.p50ToPortRoundTrip)}</td></tr>`);
  }
  h.push('</table><p class="note">Closed loop: latency from send to commit. Open loop: from the intended send time (queueing included). ' +
    'x ring: commits/s over the two-thread ring throughput for records of the command size. x RTT: p50 over the MessagePort round trip p50.</p>');

  const pairs = f.pairRatios ?? pairRatios(f.runs);
  if (pairs.length > 0) {
    const x = (v: number) => `${v.toFixed(2)}x`;
    h.push('<h2>Ratios</h2><table><tr><th>run</th><th>figure</th><th>ratio of medians</th><th>rounds</th><th>per round min .. max</th></tr>');
    for (const p of pairs) {
      h.push(`<tr><td>${esc(p.run)}</td><td>${esc(p.label)}</td><td class="n">${x(p.ratio)}</td><td class="n">${p.rounds}</td><td class="n">${x(p.roundMin)} .. ${x(p.roundMax)}</td></tr>`);
    }
    h.push('</table><p class="note">Each ratio: the median over the run\'s samples divided by the median over its base\'s (the writes-only run for reads, the raw run for sessions); round k pairs the k-th sample of each, taken next to each other.</p>');
  }

  const noise = f.noise ?? noiseSummaries(f.runs, e.cpuCount);
  if (noise.length > 0) {
    h.push('<h2>Noise: the samples of each configuration</h2><table><tr><th>configuration</th><th>figure</th><th>median</th><th>min .. max</th><th>spread</th></tr>');
    for (const n of noise) {
      for (const fig of n.figures) {
        const d = FIGURES.find((x) => x.id === fig.id)!;
        const v = (x: number) => (d.unit === 'us' ? us(x) : int(x));
        h.push(`<tr><td>${esc(n.name)} (${n.samples})</td><td>${esc(d.label)} <span class="note">${d.kind}</span></td><td class="n">${v(fig.median)}</td><td class="n">${v(fig.min)} .. ${v(fig.max)}</td><td class="n">${(fig.spread * 100).toFixed(1)}%</td></tr>`);
      }
    }
    h.push('</table>');
    for (const n of noise) h.push(`<p class="note">${esc(n.name)}: trusted ${esc(n.trusted.join(', ') || 'nothing')}${n.flagged.map((x) => `; ${esc(x.id)} ${x.id === 'cpu-time' ? 'doubted' : 'flagged'} (${esc(x.why)})`).join('')}</p>`);
  }

  for (const c of chartsFor(f)) h.push(`<h2>${esc(c.title)}</h2><div class="chart">${c.svg}</div>`);

  h.push('<h2>Runs</h2>');
  for (const [name, samples] of groupByName(f.runs)) {
    const tl = timelineCharts(samples);
    if (tl.length > 0) h.push(`<h3>${esc(name)}: over time${samples.length > 1 ? ` (${samples.length} samples)` : ''}</h3><div class="chart">${tl.join('\n')}</div>`);
    for (const r of samples) h.push(runSection(r));
  }
  h.push(`<h2>Options</h2><pre>${esc(JSON.stringify(f.options, null, 2))}</pre>`);
  h.push('</body></html>');
  return h.join('\n');
}

function runSection(r: RunResult): string {
  const h: string[] = [`<section id="${anchor(r)}"><h3>${esc(r.name + sampleLabel(r))}</h3>`];
  const load = r.config.load.mode === 'closed' ? `closed loop, ${int(r.config.load.window)} in flight` : `open loop, ${int(r.config.load.rate)} commands/s`;
  const storage = r.config.storage.kind === 'memory' ? 'memory' : `file, fsync ${r.config.storage.fsync}`;
  const t = r.throughput;
  h.push(kv([
    ['configuration', `${r.config.peers} peers, ${r.config.commandBytes} B commands, ${load}, ${storage}; warm-up ${r.config.warmupSec} s, measured ${t.seconds.toFixed(2)} s`],
    ['throughput', `${int(t.perSec)} commits/s (${int(t.committed)} commits; leader peer ${r.leader})`],
    ['latency', `p50 ${us(r.latency.p50)}, p90 ${us(r.latency.p90)}, p99 ${us(r.latency.p99)}, p99.9 ${us(r.latency.p999)}, max ${us(r.latency.max)} (${int(r.latency.count)} samples)`],
    ...(r.serviceLatency ? [['service time (from actual send)', `p50 ${us(r.serviceLatency.p50)}, p99 ${us(r.serviceLatency.p99)}, max ${us(r.serviceLatency.max)}; sender at worst ${us(t.maxSendLagMs * 1000)} late`] as [string, string]] : []),
    ['CPU', `${r.cpu.processUtilization.toFixed(2)} cores for the process, ${r.cpu.perCommitMicros.toFixed(2)} us per commit; main event loop ${(r.cpu.mainEventLoopUtilization * 100).toFixed(0)}% busy` +
      (r.cpu.otherProcessesUtilization !== null ? `; other processes ${r.cpu.otherProcessesUtilization.toFixed(2)} cores` : '')],
    ['peak RSS', `${mib(r.memory.peakRssBytes)}${r.memory.method === 'process-lifetime' ? ' (process lifetime)' : ''}`],
    ...(r.storage ? [['storage', `${r.storage.fsType}; ${r.storage.fdatasyncCalls === null ? 'fdatasync not counted' : `${int(r.storage.fdatasyncCalls)} fdatasync calls, ${r.storage.commandsPerFdatasync?.toFixed(1) ?? '-'} commands per fdatasync`}`] as [string, string]] : []),
  ]));
  if (r.cpu.threads) {
    h.push('<table class="small"><tr><th>thread</th><th>CPU cores</th><th>user ms</th><th>system ms</th></tr>');
    for (const th of r.cpu.threads) {
      h.push(`<tr><td>${esc(th.name)}</td><td class="n">${th.utilization.toFixed(2)}</td><td class="n">${(th.userMicros / 1000).toFixed(0)}</td><td class="n">${(th.systemMicros / 1000).toFixed(0)}</td></tr>`);
    }
    h.push(`</table><p class="note">${esc(r.cpu.threadNote)}</p>`);
  }
  if (r.warnings.length > 0) h.push(`<ul class="warn">${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  h.push('</section>');
  return h.join('\n');
}

function kv(rows: Array<[string, string]>, escapeKeys = true): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${escapeKeys ? esc(k) : k}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

function anchor(r: RunResult): string {
  return 'run-' + (r.name + (r.sample ? `-${r.sample.index + 1}` : '')).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

export const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #111; }
h1 { margin-bottom: 0; } .sub { color: #555; margin-top: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 4px 10px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { font-weight: 600; color: #333; white-space: nowrap; }
table.small { font-size: 13px; }
.pass { color: #137333; font-weight: 700; } .miss { color: #b3261e; font-weight: 700; }
.note { color: #555; font-size: 13px; } ul.warn { color: #8a4b00; }
.chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 1em; overflow: auto; }
code { background: #f3f3f3; padding: 1px 4px; }
`;
