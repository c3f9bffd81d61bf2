/**
 * Reference numbers for what the machine allows, independent of our Raft code: how fast two
 * threads can move records through a SharedArrayBuffer ring when both busy-spin, and what a
 * thread hand-off costs by MessagePort (sleeping threads) and by ring (spinning threads).
 * The benchmark harness prints these beside its results (DESIGN.md: "design so that these
 * limits, not our code, set the speed").
 */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { RingBuffer } from '../src/transport/ring.js';
import type { SpinWorkerData } from './workers/ring-spin-worker.js';

const SPIN_WORKER = new URL('./workers/ring-spin-worker.js', import.meta.url);
const ECHO_WORKER = new URL('./workers/port-echo-worker.js', import.meta.url);

export interface RingThroughput {
  recordBytes: number;
  seconds: number;
  records: number;
  recordsPerSec: number;
  /** Payload bytes per second (records * recordBytes / seconds). */
  bytesPerSec: number;
}

export interface RoundTrip {
  /** Number of samples (for the spinning ring: batches of 64 round trips, each sample a batch mean). */
  iterations: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

function startWorker(url: URL, workerData?: unknown): { worker: Worker; ready: Promise<unknown> } {
  const worker = new Worker(url, { workerData });
  const ready = once(worker, 'message').then(([m]) => m);
  return { worker, ready };
}

function message<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summarize(samplesMs: Float64Array): RoundTrip {
  const s = Float64Array.from(samplesMs).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return { iterations: s.length, meanUs: (sum / s.length) * 1000, p50Us: percentile(s, 0.5) * 1000, p99Us: percentile(s, 0.99) * 1000 };
}

/**
 * Records per second from one busy-spinning writer worker (copying each record in) to one
 * busy-spinning reader worker (copying each record out) through a `ringBytes` ring, measured
 * over about `durationMs`. Uses two cores fully.
 * Both workers spin, so on a 2-core machine this number collapses whenever anything else runs:
 * read it only from an otherwise idle machine.
 */
export async function measureRingThroughput(recordBytes: number, durationMs: number, ringBytes = 1 << 18): Promise<RingThroughput> {
  const ring = RingBuffer.create(ringBytes);
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const base = { ring: ring.sab, control, recordBytes };
  const reader = startWorker(SPIN_WORKER, { ...base, role: 'reader' } satisfies SpinWorkerData);
  const writer = startWorker(SPIN_WORKER, { ...base, role: 'writer' } satisfies SpinWorkerData);
  try {
    await Promise.all([reader.ready, writer.ready]);
    const readerDone = message<{ read: number }>(reader.worker);
    const writerDone = message<{ written: number }>(writer.worker);
    const t0 = performance.now();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await new Promise((r) => setTimeout(r, durationMs));
    Atomics.store(ctl, 1, 1);
    const [{ read }] = await Promise.all([readerDone, writerDone]);
    const seconds = (performance.now() - t0) / 1000;
    return { recordBytes, seconds, records: read, recordsPerSec: read / seconds, bytesPerSec: (read * recordBytes) / seconds };
  } finally {
    await Promise.all([reader.worker.terminate(), writer.worker.terminate()]);
  }
}

/** Round trip main thread -> worker -> main thread by postMessage of a small object, one at a time. */
export async function measureMessagePortRoundTrip(iterations: number): Promise<RoundTrip> {
  const { worker, ready } = startWorker(ECHO_WORKER);
  try {
    await ready;
    const samples = new Float64Array(iterations);
    const payload = { seq: 0 };
    const warmup = Math.min(200, iterations);
    for (let i = -warmup; i < iterations; i++) {
      payload.seq = i;
      const t0 = performance.now();
      const reply = once(worker, 'message');
      worker.postMessage(payload);
      await reply;
      if (i >= 0) samples[i] = performance.now() - t0;
    }
    return summarize(samples);
  } finally {
    await worker.terminate();
  }
}

/** Round trip between two busy-spinning workers over two rings (the floor for a thread hand-off). */
export async function measureRingSpinRoundTrip(iterations: number, recordBytes = 16): Promise<RoundTrip> {
  const there = RingBuffer.create(1 << 16);
  const back = RingBuffer.create(1 << 16);
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const pong = startWorker(SPIN_WORKER, { role: 'pong', ring: there.sab, back: back.sab, control, recordBytes } satisfies SpinWorkerData);
  const ping = startWorker(SPIN_WORKER, { role: 'ping', ring: there.sab, back: back.sab, control, recordBytes, iterations } satisfies SpinWorkerData);
  try {
    await Promise.all([pong.ready, ping.ready]);
    const done = message<{ samples: Float64Array }>(ping.worker);
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    const { samples } = await done;
    // drop the first tenth as warm-up
    return summarize(samples.subarray(Math.floor(samples.length / 10)));
  } finally {
    Atomics.store(ctl, 1, 1);
    await Promise.all([pong.worker.terminate(), ping.worker.terminate()]);
  }
}
