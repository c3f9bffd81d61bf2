/**
 * One chaos client: runs its workload one operation at a time until the deadline and records
 * each in the history. An operation whose outcome is unknown (timed out, the session gave up)
 * is recorded with `return: null`, and stays pending in the history for ever: a history client
 * has at most one pending operation, so after any failure the client goes on under a new
 * history client id. Only a failed write closes the session (its command's seq is left
 * unknown: the session layer fails the session, or would hold every later seq behind it), and
 * only then does the client open a new one; reads do not go through the session (they are
 * client reads), so a failed read leaves it usable.
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
  /** A fresh client id for the history (a new one after every operation whose outcome is unknown). */
  nextClientId(): number;
  counters: ClientCounters;
}

const READS = new Set(['get', 'scan']);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runClient(o: ClientDriverOptions): Promise<void> {
  const w = new Workload(o.seed, o.client);
  let store: ChaosStore | null = null;
  /** -1: take a new history client id before the next operation. */
  let clientId = -1;
  while (performance.now() < o.deadline) {
    if (!store) {
      try {
        store = await o.open();
        o.counters.sessions++;
      } catch (e) {
        note(o.counters, e, 'open a session');
        await sleep(50);
        continue;
      }
    }
    if (clientId < 0) clientId = o.nextClientId();
    const p = w.next();
    const rec = o.history.begin(clientId, p.op, p.key, p.value);
    try {
      rec.ok(await execute(store, p, w));
      o.counters.ok++;
    } catch (e) {
      rec.unknown();
      note(o.counters, e, p.op);
      clientId = -1; // this history client now has a pending operation for ever
      if (READS.has(p.op)) {
        o.counters.failedReads++;
      } else {
        o.counters.unknownWrites++;
        store = null; // the session is closed: its unknown command would hold every later one
      }
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
