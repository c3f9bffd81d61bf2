/**
 * The durability check of the crash tests: every command acknowledged as committed (seen
 * applied at some index) must, after any crash, still be at that same index on a majority
 * of the peers. Raft commits an entry only once a majority has it on disk, and a majority
 * is what any future leader must share a member with, so fewer holders means the entry can
 * be (or has been) overwritten: a lost acknowledged write.
 */
export interface AckCheck {
  checked: number;
  lostCount: number;
  /** The first few losses, readable. */
  lost: string[];
}

export function checkAcks(acks: ReadonlyMap<number, string>, peers: ReadonlyArray<ReadonlyMap<number, string>>, quorum = Math.floor(peers.length / 2) + 1): AckCheck {
  const lost: string[] = [];
  let lostCount = 0;
  for (const [index, key] of acks) {
    let holders = 0;
    const others: string[] = [];
    peers.forEach((p, i) => {
      const k = p.get(index);
      if (k === key) holders++;
      else others.push(`peer ${i}: ${k ?? 'nothing'}`);
    });
    if (holders >= quorum) continue;
    lostCount++;
    if (lost.length < 10) lost.push(`index ${index} (${key}) is on ${holders} of ${peers.length} peers (${others.join(', ')})`);
  }
  return { checked: acks.size, lostCount, lost };
}
