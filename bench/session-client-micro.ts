/**
 * The main thread's cost per command, raw client against a client session, with the peer
 * scripted in this thread: what `--sessions` measures on the main thread, without the peers'
 * CPU and the scheduling noise of a shared machine.
 *
 *   node dist/bench/session-client-micro.js [--window 20000] [--run 2048] [--seconds 2] [--rounds 3] [--only raw|session] [--commits N]
 *
 * `--commits N` measures a fixed amount of work instead (for an instruction count under
 * valgrind, steadier than any clock on a shared machine)
 *
 * The bench's own LoadGenerator keeps `window` commands in flight through a ClusterClient
 * (raw) or a ClientSession; a scripted peer reads up to `run` commands from the ring per turn
 * and acknowledges them in one Committed run (raw: no result; session: CommittedUniform
 * Applied, as a real peer answers plain applies). Only the client's share is timed, in CPU
 * time (process.cpuUsage, so that other processes on a busy machine do not count): draining
 * the acks (the generator's callbacks submit the next commands from there) and the microtasks
 * after it (the flush). Raw and session samples alternate; the figure is ns of client CPU time
 * per commit.
 */
import { MessageChannel } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { ACK_BYTES, AckKind, writeAck } from '../src/cluster/client-protocol.js';
import { ClusterClient } from '../src/cluster/client.js';
import { ClientSession } from '../src/cluster/client-session.js';
import { SessionStatus } from '../src/node/session-protocol.js';
import { RingBuffer } from '../src/transport/ring.js';
import { RingLink, createRingLinkPair } from '../src/transport/ring-link.js';
import { LoadGenerator, sessionLoadOf } from './load-generator.js';

export interface Sample { commits: number; clientMs: number }

/** The peer end of one client link: reads commands, acknowledges them in runs. */
class ScriptedPeer {
  private readonly commands: RingBuffer;
  private readonly acks: RingBuffer;
  private readonly ack = new Uint8Array(ACK_BYTES);
  private linkSeq = 0;
  private index = 1;

  constructor(ends: { sabAB: SharedArrayBuffer; sabBA: SharedArrayBuffer }, private readonly session: boolean) {
    this.commands = new RingBuffer(ends.sabAB);
    this.acks = new RingBuffer(ends.sabBA);
  }

  /** Reads up to `max` commands and acknowledges them in one run; returns how many. */
  step(max: number): number {
    let n = 0;
    this.commands.drain(() => { n++; }, max);
    if (n === 0) return 0;
    if (this.session) writeAck(this.ack, 0, AckKind.CommittedUniform, this.linkSeq, n, this.index, 1, -1, SessionStatus.Applied);
    else writeAck(this.ack, 0, AckKind.Committed, this.linkSeq, n, this.index, 1, -1);
    if (!this.acks.tryWrite(this.ack)) throw new Error('scripted peer: ack ring full');
    this.linkSeq += n;
    this.index += n;
    return n;
  }
}

/** `commits` > 0: a fixed amount of work instead of a fixed time (a quarter more as warm-up), for instruction counts. */
export async function sample(session: boolean, window: number, run: number, seconds: number, fixed: number): Promise<Sample> {
  const client = new ClusterClient(1);
  const ends = createRingLinkPair(16 << 20);
  const ports = new MessageChannel();
  client.attach(0, { outSab: ends.sabAB, inSab: ends.sabBA, port: ports.port1 });
  const peer = new ScriptedPeer(ends, session);
  const s = session
    ? new (ClientSession as unknown as new (c: ClusterClient, id: number, maxPayload: number) => ClientSession)(client, 7, 1 << 16)
    : null;
  const gen = new LoadGenerator(client, { mode: 'closed', window }, 16, async () => 0, seconds + 1, s ? sessionLoadOf(s) : null);
  // The client's drain, called directly: the scripted peer never wakes the client's reader.
  const channel = (client as unknown as { channels: Array<{ link: RingLink }> }).channels[0];
  const drain = (client as unknown as { drain(i: number, l: RingLink): void }).drain.bind(client);
  gen.start();
  await null;
  const warmEnd = performance.now() + 300;
  let commits = 0, clientMs = 0, measuring = false, warmCommits = 0;
  const end = warmEnd + seconds * 1000;
  for (;;) {
    if (fixed > 0) {
      if (!measuring && warmCommits >= fixed / 4) measuring = true;
      if (commits >= fixed) break;
    } else {
      const now = performance.now();
      if (!measuring && now >= warmEnd) measuring = true;
      if (now >= end) break;
    }
    const n = peer.step(run);
    if (!measuring) warmCommits += n;
    const c0 = process.cpuUsage();
    drain(0, channel.link);
    await null; // the client's end-of-turn flush (a microtask)
    const c1 = process.cpuUsage(c0);
    if (measuring) { commits += n; clientMs += (c1.user + c1.system) / 1000; }
    if (gen.error) throw gen.error;
  }
  gen.endMeasurement();
  client.close();
  ports.port2.close();
  return { commits, clientMs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { window: { type: 'string' }, run: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' }, commits: { type: 'string' } } });
  const window = Number(values.window ?? 20_000), run = Number(values.run ?? 2048);
  const seconds = Number(values.seconds ?? 2), rounds = Number(values.rounds ?? 3), fixed = Number(values.commits ?? 0);
  if (!(fixed >= 0)) throw new RangeError(`--commits must be a number >= 0, got ${values.commits}`);
  for (const [name, v] of [['--window', window], ['--run', run], ['--seconds', seconds], ['--rounds', rounds]] as const) {
    if (!(v > 0)) throw new RangeError(`${name} must be a positive number, got ${String(v)}`);
  }
  if (values.only !== undefined && values.only !== 'raw' && values.only !== 'session') throw new RangeError(`--only must be raw or session, got ${values.only}`);
  const modes = values.only ? [values.only as 'raw' | 'session'] : (['raw', 'session'] as const);
  const ns: Record<'raw' | 'session', number[]> = { raw: [], session: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      const x = await sample(mode === 'session', window, run, seconds, fixed);
      const per = (x.clientMs * 1e6) / x.commits;
      ns[mode].push(per);
      console.log(`round ${r + 1} ${mode.padEnd(7)} ${per.toFixed(0).padStart(5)} ns of client CPU per commit (${x.commits} commits)`);
    }
  }
  // On a shared machine noise only adds time: the least of the samples is the steadiest figure.
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const least = (a: number[]) => Math.min(...a);
  for (const [name, f] of [['median', median], ['least', least]] as const) {
    if (values.only) { console.log(`${name}: ${values.only} ${f(ns[values.only as 'raw' | 'session']).toFixed(0)} ns per commit`); continue; }
    const raw = f(ns.raw), ses = f(ns.session);
    console.log(`${name}: raw ${raw.toFixed(0)} ns, session ${ses.toFixed(0)} ns per commit: session / raw = ${(ses / raw).toFixed(2)}x`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
