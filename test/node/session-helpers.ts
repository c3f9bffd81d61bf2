/** Helpers of the session tests: a user state machine that records what it applied. */
import type { ResultStateMachine } from '../../src/node/session-state-machine.js';

/** Payload of a test command: which (client, seq) it is, so the user state machine can record it. */
export function tagPayload(clientId: number, seq: number): Uint8Array {
  const p = new Uint8Array(16);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, clientId, true);
  dv.setUint32(4, seq, true);
  dv.setUint32(8, 0xc0ffee, true);
  return p;
}

export function readTag(p: Uint8Array): { clientId: number; seq: number } {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return { clientId: dv.getUint32(0, true), seq: dv.getUint32(4, true) };
}

export interface AppliedRecord {
  clientId: number;
  seq: number;
  index: number;
}

/**
 * Records each applied command; its result is the entry's log index as 4 bytes (so a result
 * names the one application it came from). `throwAt` makes apply throw at that index.
 * The result buffer is reused on purpose: the session layer must keep a copy.
 */
export class RecordingMachine implements ResultStateMachine {
  applied: AppliedRecord[] = [];
  throwAt = -1;
  private readonly scratch = new Uint8Array(4);

  apply(command: Uint8Array, index: number): Uint8Array {
    if (index === this.throwAt) throw new Error(`user apply fails at ${index}`);
    const { clientId, seq } = readTag(command);
    this.applied.push({ clientId, seq, index });
    new DataView(this.scratch.buffer).setUint32(0, index, true);
    return this.scratch;
  }

  snapshot(): Uint8Array {
    const out = new Uint8Array(this.applied.length * 12);
    const dv = new DataView(out.buffer);
    this.applied.forEach((r, k) => {
      dv.setUint32(k * 12, r.clientId, true);
      dv.setUint32(k * 12 + 4, r.seq, true);
      dv.setUint32(k * 12 + 8, r.index, true);
    });
    return out;
  }

  restore(s: Uint8Array): void {
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    this.applied = [];
    for (let p = 0; p < s.byteLength; p += 12) {
      this.applied.push({ clientId: dv.getUint32(p, true), seq: dv.getUint32(p + 4, true), index: dv.getUint32(p + 8, true) });
    }
  }
}

export function u32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
}
