#!/usr/bin/env node
/**
 * `raft-threads peer ...`: one peer of a cluster whose peers are separate processes. SIGTERM
 * or SIGINT stops it cleanly (storage closed); after a SIGKILL it recovers from its data
 * directory on the next start.
 */
import { PEER_USAGE, UsageError, parsePeerArgs } from './peer-args.js';
import { startPeerProcess } from './peer-process.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'peer') {
    process.stderr.write(`${command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`}\n${PEER_USAGE}\n`);
    return 2;
  }
  let options;
  try {
    options = parsePeerArgs(rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`raft-threads peer: ${e.message}\n${PEER_USAGE}\n`);
    return 2;
  }
  const peer = await startPeerProcess(options);
  const a = peer.transport.address;
  // The one line on stdout: scripts (and the tests) wait for it.
  process.stdout.write(`peer ${options.id} listening on ${a.host}:${a.port}\n`);
  let signalled = false;
  const shutdown = (signal: string) => {
    signalled = true;
    process.stderr.write(`[peer ${options.id}] ${signal}: stopping\n`);
    void peer.stop();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  await peer.stopped;
  return signalled ? 0 : 1; // otherwise it stopped on a fatal error, logged above
}

// Exit explicitly: a client connection or timer left open must not keep a stopped peer alive.
main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  process.stderr.write(`raft-threads peer: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
