/**
 * A state machine module for the read tests of peer processes: registers set by commands
 * "key=value"; query "key" answers the value (empty: never set), and a query starting with
 * "!" is refused (query() throws), so a read can fail in the state machine.
 */
const text = new TextDecoder();
const bytes = new TextEncoder();

export function createStateMachine(_peerId: number) {
  let registers = new Map<string, string>();
  return {
    apply(command: Uint8Array): Uint8Array {
      const c = text.decode(command);
      const eq = c.indexOf('=');
      if (eq > 0) registers.set(c.slice(0, eq), c.slice(eq + 1));
      return new Uint8Array(0);
    },
    query(query: Uint8Array): Uint8Array {
      const key = text.decode(query);
      if (key.startsWith('!')) throw new Error(`query ${JSON.stringify(key)} refused: keys do not start with "!"`);
      return bytes.encode(registers.get(key) ?? '');
    },
    snapshot(): Uint8Array {
      return bytes.encode(JSON.stringify([...registers]));
    },
    restore(snapshot: Uint8Array): void {
      registers = new Map(JSON.parse(text.decode(snapshot)) as [string, string][]);
    },
  };
}
