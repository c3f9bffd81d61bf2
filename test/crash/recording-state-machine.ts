/**
 * The crash tests' state machine: it records every command in index order, so that a
 * snapshot holds every command through its index and a peer's whole history can be read
 * back from its directory (snapshot file + log) after a crash. Loaded inside each worker
 * through ClusterOptions.stateMachine.
 */
import type { StateMachine } from '../../src/index.js';

/** Every crash-test command has this size: u32 round, u32 client, f64 sequence number. */
export const COMMAND_BYTES = 16;

export function encodeCommand(round: number, client: number, seq: number): Uint8Array {
  const b = new Uint8Array(COMMAND_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, round, true);
  v.setUint32(4, client, true);
  v.setFloat64(8, seq, true);
  return b;
}

export function commandKey(c: Uint8Array): string {
  return Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('hex');
}

/** The commands a snapshot of `index` entries holds, as keys; index i is at [i - 1]. */
export function snapshotCommands(data: Uint8Array, index: number): string[] {
  if (data.byteLength !== index * COMMAND_BYTES) throw new Error(`snapshot of index ${index} has ${data.byteLength} bytes, expected ${index * COMMAND_BYTES}`);
  const keys: string[] = [];
  for (let i = 0; i < index; i++) keys.push(commandKey(data.subarray(i * COMMAND_BYTES, (i + 1) * COMMAND_BYTES)));
  return keys;
}

export class RecordingStateMachine implements StateMachine {
  private bytes = new Uint8Array(64 * 1024);
  private count = 0;

  apply(command: Uint8Array, index: number): void {
    // A gap or a repeat here is an apply-order bug; throwing makes the node report it as fatal.
    if (index !== this.count + 1) throw new Error(`state machine: applied index ${index} after ${this.count}`);
    if (command.byteLength !== COMMAND_BYTES) throw new Error(`state machine: command of ${command.byteLength} bytes at index ${index}`);
    const end = index * COMMAND_BYTES;
    if (end > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.bytes.byteLength * 2));
      grown.set(this.bytes.subarray(0, this.count * COMMAND_BYTES));
      this.bytes = grown;
    }
    this.bytes.set(command, end - COMMAND_BYTES);
    this.count = index;
  }

  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.count * COMMAND_BYTES);
  }

  restore(data: Uint8Array, index: number): void {
    if (data.byteLength !== index * COMMAND_BYTES) throw new Error(`state machine: snapshot of index ${index} has ${data.byteLength} bytes`);
    this.bytes = new Uint8Array(Math.max(64 * 1024, data.byteLength * 2));
    this.bytes.set(data);
    this.count = index;
  }
}

export function createStateMachine(): StateMachine {
  return new RecordingStateMachine();
}
