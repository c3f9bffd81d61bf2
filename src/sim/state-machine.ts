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

  /** Snapshot bytes of the state through `index` (which must be applied); `nonce` varies the bytes, not the state. */
  encode(index: number, nonce = 0): Uint8Array {
    if (index > this.commands.length) throw new RangeError(`snapshot at ${index} above applied ${this.commands.length}`);
    return encodeSnapshot(this.commands, index, nonce);
  }
}

/**
 * Layout (little-endian): u32 count, u32 checksum of everything after it, 8 bytes of nonce,
 * then per command u32 length and its bytes. The nonce makes two snapshots of the same state
 * differ in their bytes (as real snapshots often do: map order, compression), so a core that
 * mixed chunks of two snapshots would assemble garbage, which the checksum then reports.
 */
export function encodeSnapshot(commands: readonly Uint8Array[], count: number, nonce = 0): Uint8Array {
  let size = HEADER;
  for (let k = 0; k < count; k++) size += 4 + commands[k].byteLength;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, count, true);
  dv.setUint32(8, nonce >>> 0, true);
  dv.setUint32(12, Math.imul(nonce, 0x9e3779b1) >>> 0, true);
  let at = HEADER;
  for (let k = 0; k < count; k++) {
    const c = commands[k];
    dv.setUint32(at, c.byteLength, true);
    out.set(c, at + 4);
    at += 4 + c.byteLength;
  }
  dv.setUint32(4, checksum(out, 8), true);
  return out;
}

export function decodeSnapshot(data: Uint8Array): Uint8Array[] {
  if (data.byteLength === 0) return [];
  if (data.byteLength < HEADER) throw new Error(`snapshot data of ${data.byteLength} bytes is truncated`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dv.getUint32(4, true) !== checksum(data, 8)) throw new Error(`snapshot data of ${data.byteLength} bytes fails its checksum`);
  const count = dv.getUint32(0, true);
  const out: Uint8Array[] = [];
  let at = HEADER;
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

const HEADER = 16;

/** FNV-1a over data[from..]. */
function checksum(data: Uint8Array, from: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < data.byteLength; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return h >>> 0;
}
