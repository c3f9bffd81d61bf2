/**
 * One chaos client: runs its workload one operation at a time until the deadline and records
 * each in the history. An operation whose outcome is unknown (timed out, the session gave up)
 * is recorded with `return: null`. A session command left unknown makes the session unusable
 * (the next sequence number would wait for it forever), so after any failure the client opens
 * a new session and goes on under a new client id, as a crashed client would.
 */
import type { HistoryRecorder } from './history-writer.js';
import type { ChaosStore } from './store-handle.js';
import type { PlannedOp } from './workload.js';
import { Workload } from './workload.js';

export interface ClientCounters {
  ok: number;
  unknownWrites: number;
  failedReads: number;
  sessions: number;
  /** Errors that are not timeouts (the first few messages are kept). */
  errors: string[];
}

export interface ClientDriverOptions {
  client: number;
  seed: number;
  deadline: number;
  history: HistoryRecorder;
  /** Opens a store over a new session; rejects if none can be opened now. */
  open(): Promise<ChaosStore>;
  /** A fresh client id for the history (one per session). */
  nextClientId(): number;
  counters: ClientCounters;
}

const READS = new Set(['get', 'scan']);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runClient(o: ClientDriverOptions): Promise<void> {
  const w = new Workload(o.seed, o.client);
  let store: ChaosStore | null = null;
  let clientId = -1;
  while (performance.now() < o.deadline) {
    if (!store) {
      try {
        store = await o.open();
        clientId = o.nextClientId();
        o.counters.sessions++;
      } catch (e) {
        note(o.counters, e, 'open a session');
        await sleep(50);
        continue;
      }
    }
    const p = w.next();
    const rec = o.history.begin(clientId, p.op, p.key, p.value);
    try {
      rec.ok(await execute(store, p, w));
      o.counters.ok++;
    } catch (e) {
      rec.unknown();
      if (READS.has(p.op)) o.counters.failedReads++;
      else o.counters.unknownWrites++;
      note(o.counters, e, p.op);
      store = null; // a new session: this one may wait forever for an unknown command
    }
  }
}

function note(c: ClientCounters, e: unknown, what: string): void {
  const name = (e as Error)?.name ?? 'Error';
  const reason = (e as { reason?: string }).reason;
  if (reason === 'timeout') return;
  if (c.errors.length < 5) c.errors.push(`${what}: ${name}${reason ? ` (${reason})` : ''}: ${(e as Error)?.message ?? String(e)}`);
}

/** Runs one operation; resolves with the output the history records. */
async function execute(store: ChaosStore, p: PlannedOp, w: Workload): Promise<unknown> {
  switch (p.op) {
    case 'get': { const v = await store.get(p.key); w.observe(p.key, v); return v; }
    case 'put': await store.put(p.key, p.value as string); w.observe(p.key, p.value as string); return null;
    case 'delete': { const existed = await store.delete(p.key); w.observe(p.key, null); return existed; }
    case 'cas': {
      const { expected, next } = p.value as { expected: string | null; next: string | null };
      const r = await store.cas(p.key, expected, next);
      w.observe(p.key, r.current);
      return r.ok;
    }
    case 'append': return store.append(p.key, p.value as string);
    case 'scan': {
      const r = await store.scan(p.key, (p.value as { limit: number }).limit);
      for (const [k, v] of r.entries) w.observe(k, v);
      return r;
    }
  }
}
