/**
 * Preload (`node --import ./dist/bench/probes/fsync-counter.js dist/bench/run.js ...`; the
 * `npm run bench` script does this) that counts fdatasync calls in every thread, so the
 * harness can report how many commands each fdatasync covered under file storage.
 *
 * Why a preload: FileStorage.stats() has the exact figure, but it lives inside the peer's
 * worker and WorkerStats does not carry it; workers inherit the main thread's --import, so
 * this module also runs inside each peer and wraps fs.fdatasync / fs.fdatasyncSync (which
 * FileStorage calls through the shared `fs` object). Counting costs one increment per call.
 * The main thread asks every thread for its count over a BroadcastChannel.
 */
import fs from 'node:fs';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import { PROBE_KEY, type FsyncCounterProbe } from '../fsync-count.js';

const CHANNEL = 'raft-bench:fsync-counter';

let calls = 0;
const origAsync = fs.fdatasync;
const origSync = fs.fdatasyncSync;
(fs as { fdatasync: unknown }).fdatasync = function fdatasync(this: unknown, ...args: unknown[]) {
  calls++;
  return (origAsync as (...a: unknown[]) => void).apply(this, args);
};
(fs as { fdatasyncSync: unknown }).fdatasyncSync = function fdatasyncSync(this: unknown, ...args: unknown[]) {
  calls++;
  return (origSync as (...a: unknown[]) => void).apply(this, args);
};

const channel = new BroadcastChannel(CHANNEL);
channel.unref(); // never keeps a thread alive

if (isMainThread) {
  let nextId = 1;
  const pending = new Map<number, Map<number, number>>();
  channel.onmessage = (ev) => {
    const m = (ev as MessageEvent).data as { type: string; id: number; threadId: number; calls: number };
    if (m.type !== 'count') return;
    const got = pending.get(m.id);
    got?.set(m.threadId, m.calls);
    if (got && waiting?.id === m.id && got.size - 1 >= waiting.expect) waiting.done();
  };
  let waiting: { id: number; expect: number; done: () => void } | null = null;
  const probe: FsyncCounterProbe = {
    async query(timeoutMs = 150, expect = Infinity) {
      const id = nextId++;
      const got = new Map<number, number>([[threadId, calls]]);
      pending.set(id, got);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiting = { id, expect, done: () => { clearTimeout(timer); resolve(); } };
        channel.postMessage({ type: 'query', id });
      });
      waiting = null;
      pending.delete(id);
      return got;
    },
  };
  (globalThis as Record<symbol, unknown>)[PROBE_KEY] = probe;
} else {
  channel.onmessage = (ev) => {
    const m = (ev as MessageEvent).data as { type: string; id: number };
    if (m.type === 'query') channel.postMessage({ type: 'count', id: m.id, threadId, calls });
  };
}

