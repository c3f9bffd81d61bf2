/**
 * The warnings every benchmark run shares, whatever carries its messages (rings or TCP): a
 * data directory on tmpfs, completions the latency histogram could not place, refusals that
 * were resent, and a machine that was not idle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsType } from './environment.js';

/** A fresh data directory under `parent` (made if absent); warns if fdatasync costs nothing there. */
export function makeBenchDir(parent: string, prefix: string, warnings: string[]): string {
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  if (fsType(dir) === 'tmpfs') warnings.push(`${dir} is on tmpfs: fdatasync costs nothing there, so the file-storage figures are not durable ones`);
  return dir;
}

/** What the load generator could not time, and what the cluster refused (and the generator resent). */
export function loadWarnings(counters: { untracked: number; failures: Record<string, number> }, warnings: string[]): void {
  if (counters.untracked > 0) warnings.push(`${counters.untracked} completions could not be matched to their send time (not in the latency histogram)`);
  const refused = Object.entries(counters.failures).map(([k, v]) => `${v} ${k}`).join(', ');
  if (refused) warnings.push(`refused and resent: ${refused}`);
}

/** Other processes took more than 0.15 cores during the window: wall-clock figures are not clean. */
export function busyMachineWarning(cpu: { otherProcessesUtilization: number | null }, warnings: string[]): void {
  if (cpu.otherProcessesUtilization !== null && cpu.otherProcessesUtilization > 0.15) {
    warnings.push(`other processes used ${cpu.otherProcessesUtilization.toFixed(2)} cores on average during the window: the machine was not idle`);
  }
}
