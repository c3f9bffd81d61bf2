import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { SpinGate } from '../transport/spin-gate.js';

/** How often the machine's idle time is sampled. */
const SAMPLE_MS = 100;

/** Machine-wide CPU time so far, in ms: [idle, total] (Linux /proc/stat, else os.cpus()). */
function machineCpuMs(): [number, number] {
  try {
    const line = readFileSync('/proc/stat', 'latin1').slice(0, 256).split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const ticks = 1000 / 100; // USER_HZ is 100 on Linux
    const total = f.reduce((a, b) => a + b, 0);
    return [(f[3] + f[4]) * ticks, total * ticks];
  } catch {
    let idle = 0, total = 0;
    for (const c of os.cpus()) {
      idle += c.times.idle;
      total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
    }
    return [idle, total];
  }
}

/**
 * Tells the spin gate how many cores the machine has idle, sampling its idle time every
 * 100 ms: spinners run only while there are enough (see BusyPoller's needCores). The time
 * the threads spent spinning counts as idle (a spinner only fills a core nobody else wanted),
 * so that spinning does not close the gate by itself. Other processes taking the cores, or a
 * saturated cluster, close it within a sample or two.
 */
export class IdleCoreWatch {
  private readonly timer: NodeJS.Timeout;
  private last: [number, number];
  private lastWallMs = performance.now();

  /** `spareCores`: idle cores that count as none (a margin: 0 by default). */
  constructor(private readonly gate: SpinGate, private readonly spareCores = 0) {
    this.last = machineCpuMs();
    gate.takeSpinMicros();
    gate.setIdleCores(0); // closed until the first sample says otherwise
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Idle cores in the last sample (spinning included); NaN before the first. */
  idleCores = NaN;
  /** Samples taken, and how many of them had at least one idle core (allowed the peers' spinners). */
  samples = 0;
  openSamples = 0;
  /** Microseconds the threads spent spinning, all samples together. */
  spinMicros = 0;

  private sample(): void {
    const now = machineCpuMs();
    const idle = now[0] - this.last[0], total = now[1] - this.last[1];
    const spinMicros = this.gate.takeSpinMicros();
    const spinMs = spinMicros / 1000;
    this.spinMicros += spinMicros;
    const wall = performance.now();
    const wallMs = wall - this.lastWallMs;
    this.last = now;
    this.lastWallMs = wall;
    if (!(total > 0) || !(wallMs > 0)) return; // the counters did not move: keep the last verdict
    this.idleCores = (idle + spinMs) / wallMs;
    const spare = Math.max(0, this.idleCores - this.spareCores);
    this.gate.setIdleCores(spare);
    this.samples++;
    if (spare >= 1) this.openSamples++;
  }

  stop(): void {
    clearInterval(this.timer);
    this.gate.setIdleCores(0);
  }
}
