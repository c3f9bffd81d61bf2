/**
 * How a configuration travels in the log: a log entry is bytes, so a membership entry is a
 * command that begins with MEMBERSHIP_MAGIC, a header that user commands may not carry
 * (checkCommand refuses them). State machine runtimes skip these entries as they skip no-ops.
 *
 * Layout after the 8 magic bytes (little-endian): u8 version (1), u16 voters, u16 outgoing,
 * u16 learners, then that many u32 ids in that order.
 */
import { Membership } from './membership.js';

/** 0xFF "RAFTCFG": the first byte keeps it apart from session frames (kinds 1-3). */
export const MEMBERSHIP_MAGIC = Uint8Array.of(0xff, 0x52, 0x41, 0x46, 0x54, 0x43, 0x46, 0x47);
const VERSION = 1;
const HEADER = MEMBERSHIP_MAGIC.length + 1 + 6;

/** Whether `command` is a membership entry (begins with the magic header). */
export function isMembershipEntry(command: Uint8Array): boolean {
  if (command.byteLength < MEMBERSHIP_MAGIC.length || command[0] !== 0xff) return false;
  for (let k = 1; k < MEMBERSHIP_MAGIC.length; k++) if (command[k] !== MEMBERSHIP_MAGIC[k]) return false;
  return true;
}

/** isMembershipEntry for the entry data[start, end) of a batch, without a view (the apply path). */
export function isMembershipEntryAt(data: Uint8Array, start: number, end: number): boolean {
  if (end - start < MEMBERSHIP_MAGIC.length || data[start] !== 0xff) return false;
  for (let k = 1; k < MEMBERSHIP_MAGIC.length; k++) if (data[start + k] !== MEMBERSHIP_MAGIC[k]) return false;
  return true;
}

/** The size of encodeMembership(m). */
export function encodedMembershipBytes(m: Membership): number {
  return HEADER + 4 * (m.voters.length + m.outgoing.length + m.learners.length);
}

export function encodeMembership(m: Membership): Uint8Array {
  const ids = [...m.voters, ...m.outgoing, ...m.learners];
  const out = new Uint8Array(HEADER + 4 * ids.length);
  const dv = new DataView(out.buffer);
  out.set(MEMBERSHIP_MAGIC, 0);
  let at = MEMBERSHIP_MAGIC.length;
  out[at++] = VERSION;
  dv.setUint16(at, m.voters.length, true);
  dv.setUint16(at + 2, m.outgoing.length, true);
  dv.setUint16(at + 4, m.learners.length, true);
  at += 6;
  for (const id of ids) { dv.setUint32(at, id, true); at += 4; }
  return out;
}

/**
 * The length of the membership encoding at the start of `b` (storage puts one before a
 * snapshot's data); throws if `b` does not begin with a whole one.
 */
export function encodedMembershipLength(b: Uint8Array): number {
  if (!isMembershipEntry(b) || b.byteLength < HEADER) throw new Error('no membership encoding at the start of these bytes');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = MEMBERSHIP_MAGIC.length + 1;
  const n = HEADER + 4 * (dv.getUint16(at, true) + dv.getUint16(at + 2, true) + dv.getUint16(at + 4, true));
  if (n > b.byteLength) throw new Error(`membership encoding of ${n} bytes runs past the ${b.byteLength} bytes that hold it`);
  return n;
}

/** Decodes a membership entry; throws on bytes that are not one (a corrupt log is a bug, not input). */
export function decodeMembership(b: Uint8Array): Membership {
  if (!isMembershipEntry(b) || b.byteLength < HEADER) throw new Error('not a membership entry');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = MEMBERSHIP_MAGIC.length;
  const version = b[at++];
  if (version !== VERSION) throw new Error(`membership entry of unknown version ${version}`);
  const nv = dv.getUint16(at, true), no = dv.getUint16(at + 2, true), nl = dv.getUint16(at + 4, true);
  at += 6;
  if (b.byteLength !== HEADER + 4 * (nv + no + nl)) throw new Error(`membership entry of ${b.byteLength} bytes does not hold ${nv + no + nl} ids`);
  const read = (n: number): number[] => {
    const ids: number[] = [];
    for (let k = 0; k < n; k++) { ids.push(dv.getUint32(at, true)); at += 4; }
    return ids;
  };
  const voters = read(nv);
  const outgoing = read(no);
  const learners = read(nl);
  return { voters, outgoing, learners };
}
