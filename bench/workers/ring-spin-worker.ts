/**
 * Busy-spinning ring endpoints for bench/reference-limits.ts. Roles:
 *  - 'writer': copies `recordBytes`-byte records into `ring` as fast as it can until stopped;
 *  - 'reader': drains `ring` in a busy loop until stopped, copying each record out and counting;
 *  - 'ping':   writes one record to `ring`, spins until the echo arrives on `back`, `iterations` times;
 *  - 'pong':   spins on `ring`, echoes each record to `back`.
 * `control` is an Int32Array over a SharedArrayBuffer: [0] go, [1] stop; results go to parentPort.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from '../../src/transport/ring.js';

export interface SpinWorkerData {
  role: 'writer' | 'reader' | 'ping' | 'pong';
  ring: SharedArrayBuffer;
  back?: SharedArrayBuffer;
  control: SharedArrayBuffer;
  recordBytes: number;
  iterations?: number;
}

const CTRL_GO = 0;
const CTRL_STOP = 1;

const d = workerData as SpinWorkerData;
const port = parentPort!;
const control = new Int32Array(d.control);
const ring = new RingBuffer(d.ring);

let sink = 0;
function touch(buf: Uint8Array, off: number, len: number): void {
  sink ^= buf[off] ^ len;
}

port.postMessage({ ready: true });
while (Atomics.load(control, CTRL_GO) === 0) Atomics.wait(control, CTRL_GO, 0, 10);

if (d.role === 'writer') {
  // copies a whole prepared record in (tryWrite), as a sender encoding a message would
  const record = new Uint8Array(d.recordBytes);
  for (let j = 0; j < record.length; j++) record[j] = j & 0xff;
  let written = 0;
  for (;;) {
    // check the stop flag once per 256 attempts, not on every write
    for (let i = 0; i < 256; i++) {
      if (ring.tryWrite(record)) written++;
    }
    if (Atomics.load(control, CTRL_STOP) !== 0) break;
  }
  port.postMessage({ written });
} else if (d.role === 'reader') {
  // copies every record out, as a receiver decoding it would
  const scratch = new Uint8Array(Math.max(1, d.recordBytes));
  const copyOut = (buf: Uint8Array, off: number, len: number): void => {
    scratch.set(buf.subarray(off, off + len));
    sink ^= scratch[0];
  };
  let read = 0;
  let spins = 0;
  for (;;) {
    const n = ring.drain(copyOut);
    read += n;
    if (n === 0) spins++;
    if (Atomics.load(control, CTRL_STOP) !== 0) break;
  }
  read += ring.drain(touch);
  port.postMessage({ read, emptySpins: spins, sink });
} else if (d.role === 'ping') {
  // Time batches of BATCH round trips (two performance.now() calls per round trip would add
  // a visible fraction of a ~0.2 us round trip); each sample is a batch's mean round trip.
  const BATCH = 64;
  const back = new RingBuffer(d.back!);
  const rec = new Uint8Array(d.recordBytes);
  const n = Math.max(1, Math.floor(d.iterations! / BATCH));
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    for (let j = 0; j < BATCH; j++) {
      while (!ring.tryWrite(rec));
      while (back.drain(touch) === 0);
    }
    samples[i] = (performance.now() - t0) / BATCH;
  }
  Atomics.store(control, CTRL_STOP, 1);
  port.postMessage({ samples }, [samples.buffer]);
} else {
  const back = new RingBuffer(d.back!);
  const rec = new Uint8Array(d.recordBytes);
  for (;;) {
    if (ring.drain(touch) > 0) while (!back.tryWrite(rec));
    else if (Atomics.load(control, CTRL_STOP) !== 0) break;
  }
  port.postMessage({ sink });
}
