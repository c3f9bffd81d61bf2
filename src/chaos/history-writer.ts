/**
 * The history of a chaos run: one record per operation, times in nanoseconds since the start
 * of the run (process.hrtime.bigint) as decimal strings, `return: null` when the outcome is
 * unknown. Written as JSON lines, the format checkHistory reads (parseHistory).
 */
import { writeFileSync } from 'node:fs';
import type { HistoryOp, KvHistoryOpName } from '../kv/linearizability.js';

export interface ChaosHistoryOp extends HistoryOp {
  clientId: number;
  call: string;
  return: string | null;
}

export class HistoryRecorder {
  private readonly t0 = process.hrtime.bigint();
  readonly ops: ChaosHistoryOp[] = [];

  /** Nanoseconds since the recorder was made. */
  now(): bigint {
    return process.hrtime.bigint() - this.t0;
  }

  /** Starts an operation; complete it with ok() or unknown(). */
  begin(clientId: number, op: KvHistoryOpName, key: string, value: unknown): { ok(output: unknown): void; unknown(): void } {
    const rec: ChaosHistoryOp = { clientId, op, key, value, output: null, call: String(this.now()), return: null };
    if (value === undefined) delete rec.value;
    this.ops.push(rec);
    return {
      ok: (output: unknown) => { rec.return = String(this.now()); rec.output = output; },
      unknown: () => { rec.return = null; rec.output = null; },
    };
  }

  /** Records an operation that was called at `call` (from now()) and has just returned `output`. */
  completed(clientId: number, op: KvHistoryOpName, key: string, value: unknown, output: unknown, call: bigint): void {
    this.ops.push({ clientId, op, key, value, output, call: String(call), return: String(this.now()) });
  }

}

/** The history as JSON lines, the fields in the documented order. */
export function historyJsonLines(ops: readonly ChaosHistoryOp[]): string {
  return ops.map((o) => `${JSON.stringify({ clientId: o.clientId, op: o.op, key: o.key, value: o.value, output: o.output, call: o.call, return: o.return })}\n`).join('');
}

export function writeHistory(file: string, ops: readonly ChaosHistoryOp[]): void {
  writeFileSync(file, historyJsonLines(ops));
}
