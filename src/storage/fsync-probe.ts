/**
 * Measures what the disk under a directory charges for durability: the latency of a 4 KiB
 * append followed by fdatasync, the unit of work of FileStorage under fsync 'always'. The
 * benchmark harness prints it beside its results, since it bounds synced commit latency.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface FdatasyncProbe {
  iterations: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  /** 1000 / meanMs: synced appends per second on one file, one at a time. */
  perSecond: number;
}

export function measureFdatasync(dir: string, iterations = 200, appendBytes = 4096): FdatasyncProbe {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `.fdatasync-probe-${process.pid}-${Date.now()}.tmp`);
  const block = new Uint8Array(appendBytes).fill(0xa5);
  const times = new Float64Array(iterations);
  const fd = fs.openSync(file, 'wx');
  try {
    // One untimed round so that file creation is not measured.
    fs.writeSync(fd, block, 0, block.length, 0);
    fs.fdatasyncSync(fd);
    let pos = block.length;
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      fs.writeSync(fd, block, 0, block.length, pos);
      fs.fdatasyncSync(fd);
      times[i] = performance.now() - t0;
      pos += block.length;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const sorted = times.slice().sort();
  let sum = 0;
  for (const t of times) sum += t;
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const meanMs = sum / iterations;
  return { iterations, meanMs, p50Ms: q(0.5), p99Ms: q(0.99), minMs: sorted[0], maxMs: sorted[sorted.length - 1], perSecond: meanMs > 0 ? 1000 / meanMs : Infinity };
}
