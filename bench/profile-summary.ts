/**
 * Top functions by self time in V8 CPU profiles, one table per thread:
 *
 *   node --cpu-prof --cpu-prof-dir=prof dist/bench/run.js --no-limits --window 20000
 *   node dist/bench/profile-summary.js prof [--top 15] [--callers postMessage]
 *
 * --cpu-prof writes one .cpuprofile per thread (workers inherit the flag); the file name
 * ends in <pid>.<threadId>.<seq>, threadId 0 being the main thread. Times are sample counts
 * times the sampling interval, so they add up to the thread's busy time; "(idle)" is the
 * event loop waiting, "(program)" native code outside JS, "(garbage collector)" GC.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface FunctionTime { name: string; where: string; ms: number; pctOfBusy: number }
export interface ThreadProfile {
  file: string; threadId: number; wallMs: number; busyMs: number; idleMs: number; top: FunctionTime[];
  /** With `callersOf`: the call paths (3 frames up) that led to that function, by time. */
  callers: FunctionTime[];
}

export function summarizeProfile(file: string, top: number, callersOf?: string): ThreadProfile {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callerUs = new Map<string, number>();
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0, totalUs = 0;
  // timeDeltas[i] is the time before sample i; attribute it to that sample's node
  for (let i = 0; i < p.samples.length; i++) {
    const dt = Math.max(0, p.timeDeltas[i] ?? 0);
    totalUs += dt;
    const n = byId.get(p.samples[i]);
    if (!n) continue;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') { idleUs += dt; continue; }
    const where = n.callFrame.url ? `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '';
    if (callersOf && name === callersOf) {
      const path: string[] = [];
      for (let id = parent.get(n.id), k = 0; id !== undefined && k < 3; id = parent.get(id), k++) {
        const f = byId.get(id)!.callFrame;
        path.push(`${f.functionName || '(anonymous)'}${f.url ? ` ${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`);
      }
      const k = path.join(' < ');
      callerUs.set(k, (callerUs.get(k) ?? 0) + dt);
    }
    const key = `${name}@${where}`;
    const e = selfUs.get(key) ?? { name, where, us: 0 };
    e.us += dt;
    selfUs.set(key, e);
  }
  const busyUs = totalUs - idleUs;
  const m = /\.(\d+)\.(\d+)\.cpuprofile$/.exec(file);
  return {
    file,
    threadId: m ? Number(m[1]) : -1,
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    top: [...selfUs.values()].sort((a, b) => b.us - a.us).slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, pctOfBusy: busyUs > 0 ? (100 * e.us) / busyUs : 0 })),
    callers: [...callerUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([k, us]) => ({ name: k, where: '', ms: us / 1000, pctOfBusy: busyUs > 0 ? (100 * us) / busyUs : 0 })),
  };
}

function shortUrl(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

export function main(argv: string[]): number {
  const dir = argv[0];
  const ti = argv.indexOf('--top');
  const top = ti >= 0 ? Number(argv[ti + 1]) : 15;
  const ci = argv.indexOf('--callers');
  const callersOf = ci >= 0 ? argv[ci + 1] : undefined;
  if (!dir || !Number.isInteger(top) || top <= 0) {
    console.error('usage: node dist/bench/profile-summary.js DIR [--top N] [--callers FUNCTION]');
    return 2;
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  if (files.length === 0) { console.error(`no .cpuprofile files in ${dir}`); return 2; }
  const profiles = files.map((f) => summarizeProfile(f, top, callersOf)).sort((a, b) => a.threadId - b.threadId);
  for (const p of profiles) {
    console.log(`\n${p.threadId === 0 ? 'main thread' : `worker thread ${p.threadId}`} (${path.basename(p.file)}): ` +
      `busy ${p.busyMs.toFixed(0)} ms of ${p.wallMs.toFixed(0)} ms (${((100 * p.busyMs) / Math.max(1, p.wallMs)).toFixed(0)}%)`);
    for (const f of p.top) console.log(`  ${f.pctOfBusy.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`);
    if (p.callers.length > 0) {
      console.log(`  ${callersOf} called from:`);
      for (const c of p.callers) console.log(`    ${c.pctOfBusy.toFixed(1).padStart(5)}%  ${c.ms.toFixed(0).padStart(6)} ms  ${c.name}`);
    }
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
