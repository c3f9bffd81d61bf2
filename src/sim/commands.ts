/**
 * Client commands of the simulation. Every command is unique in a run (a 32-bit id first),
 * so a command applied twice or at the wrong index can never pass for another one; a
 * variable-length tail derived from the id gives the log and snapshots entries of many sizes.
 */
export function makeCommand(id: number, proposer: number, tailBytes: number): Uint8Array {
  const c = new Uint8Array(5 + tailBytes);
  new DataView(c.buffer).setUint32(0, id >>> 0, true);
  c[4] = proposer & 0xff;
  for (let j = 0; j < tailBytes; j++) c[5 + j] = (Math.imul(id, 31) + j * 7) & 0xff;
  return c;
}

/** The id of a command made by makeCommand, or -1 for anything shorter. */
export function commandId(c: Uint8Array): number {
  if (c.byteLength < 5) return -1;
  return new DataView(c.buffer, c.byteOffset, c.byteLength).getUint32(0, true);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Short printable form for messages: "#id" or a hex prefix. */
export function describeCommand(c: Uint8Array | undefined): string {
  if (!c) return '(none)';
  const id = commandId(c);
  if (id >= 0) return `#${id}(${c.byteLength}B)`;
  return `0x${Buffer.from(c).toString('hex')}`;
}

/** The result the simulation's state machine returns for `command` applied at `index`: index and command id. */
export function commandResult(command: Uint8Array, index: number): Uint8Array {
  const r = new Uint8Array(12);
  const v = new DataView(r.buffer);
  v.setFloat64(0, index, true);
  v.setUint32(8, commandId(command) >>> 0, true);
  return r;
}
