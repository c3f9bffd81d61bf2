/**
 * The replicated state machine of the simulation: the list of every command applied, in
 * order. Keeping the whole list (not just a digest) lets a snapshot carry it, so the checker
 * can compare a restored state machine entry by entry with the committed history. Real state
 * machines are smaller; this one exists to be checked.
 */
export class SimStateMachine {
  /** commands[k] is the command applied at index k + 1. */
  private commands: Uint8Array[] = [];

  get applied(): number {
    return this.commands.length;
  }

  command(index: number): Uint8Array {
    return this.commands[index - 1];
  }

  apply(command: Uint8Array): void {
    this.commands.push(command.slice());
  }

  /** Replaces the state with the one a snapshot encodes (empty data = the empty state). */
  restore(data: Uint8Array): void {
    this.commands = decodeSnapshot(data);
  }

  /** Snapshot bytes of the state through `index` (which must be applied). */
  encode(index: number): Uint8Array {
    if (index > this.commands.length) throw new RangeError(`snapshot at ${index} above applied ${this.commands.length}`);
    return encodeSnapshot(this.commands, index);
  }
}

/** Layout: u32 count, then per command u32 length and its bytes (little-endian). */
export function encodeSnapshot(commands: readonly Uint8Array[], count: number): Uint8Array {
  let size = 4;
  for (let k = 0; k < count; k++) size += 4 + commands[k].byteLength;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, count, true);
  let at = 4;
  for (let k = 0; k < count; k++) {
    const c = commands[k];
    dv.setUint32(at, c.byteLength, true);
    out.set(c, at + 4);
    at += 4 + c.byteLength;
  }
  return out;
}

export function decodeSnapshot(data: Uint8Array): Uint8Array[] {
  if (data.byteLength === 0) return [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 4) throw new Error(`snapshot data of ${data.byteLength} bytes is truncated`);
  const count = dv.getUint32(0, true);
  const out: Uint8Array[] = [];
  let at = 4;
  for (let k = 0; k < count; k++) {
    if (at + 4 > data.byteLength) throw new Error(`snapshot data truncated at command ${k + 1} of ${count}`);
    const len = dv.getUint32(at, true);
    if (at + 4 + len > data.byteLength) throw new Error(`snapshot data truncated inside command ${k + 1} of ${count}`);
    out.push(data.slice(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== data.byteLength) throw new Error(`snapshot data has ${data.byteLength - at} trailing bytes`);
  return out;
}
