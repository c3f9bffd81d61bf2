/**
 * The main thread's cost per streamed read, with the leader's side of the read link scripted
 * in this thread: what `--read-ratio 1 --read-mode lease` costs the main thread, without the
 * peers' CPU, the wake-ups and the scheduling noise of a shared machine.
 *
 *   node dist/bench/read-client-micro.js [--window 1000] [--run 256] [--seconds 2] [--rounds 3] [--reads N]
 *
 * `--reads N` answers a fixed number of reads instead (after N/4 as warm-up), for an
 * instruction count under valgrind: the difference between the counts of two N gives the
 * instructions per read, steadier than any clock on a shared machine.
 *
 * The bench's own LoadGenerator keeps `window` reads in flight through a ClusterClient
 * (submitRead / onReadResult, as bench/scenario.ts drives it); the scripted leader answers up to
 * `run` reads per step in one OkBatch with an 8-byte result each, as a lease read is answered.
 * Only the client's share is timed, in CPU time (process.cpuUsage): draining the answers (the
 * generator's callbacks submit the next reads from there) and the microtasks after it (the
 * batch publish). The figure is ns of client CPU time per read.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { ClusterClient } from '../src/cluster/client.js';
import { BATCH_ITEM_HEADER_BYTES, OK_BATCH_HEADER_BYTES, READ_BATCH_HEADER_BYTES, ReadRecordKind } from '../src/cluster/read-protocol.js';
import { RingBuffer } from '../src/transport/ring.js';
import { RingLink, createRingLinkPair } from '../src/transport/ring-link.js';
import { LoadGenerator, type ReadLoad } from './load-generator.js';

const RESULT_BYTES = 8;

/** The leader's end of one read link: reads ReadBatch records, answers each read in an OkBatch. */
class ScriptedLeader {
  private readonly reads: RingBuffer;
  private readonly answers: RingBuffer;
  private readonly view: DataView;
  private readonly ids: number[] = [];

  /** Takes a ReadBatch's read ids (its own walk: forEachBatchItem stays the reader's alone, as on the main thread of a real run). */
  private collect(buf: Uint8Array, off: number, len: number): void {
    const base = buf.byteOffset;
    const count = this.view.getUint32(base + off + 4, true);
    let at = off + READ_BATCH_HEADER_BYTES;
    for (let k = 0; k < count; k++) {
      this.ids.push(this.view.getFloat64(base + at, true));
      at += BATCH_ITEM_HEADER_BYTES + this.view.getUint32(base + at + 8, true);
    }
    if (at !== off + len) throw new Error(`scripted leader: a ReadBatch of ${len} bytes walked to ${at - off}`);
  }

  constructor(ends: { sabAB: SharedArrayBuffer; sabBA: SharedArrayBuffer }) {
    this.reads = new RingBuffer(ends.sabAB);
    this.answers = new RingBuffer(ends.sabBA);
    this.view = new DataView(this.reads.bytes.buffer, 0);
  }

  /** Answers up to `max` of the reads waiting in one OkBatch; returns how many. */
  step(max: number): number {
    while (this.ids.length < max) {
      const before = this.ids.length;
      this.reads.drain((buf, off, len) => {
        if (buf[off] !== ReadRecordKind.ReadBatch) throw new Error(`scripted leader: record kind ${buf[off]}, expected a ReadBatch`);
        this.collect(buf, off, len);
      }, 1);
      if (this.ids.length === before) break;
    }
    const n = Math.min(max, this.ids.length);
    if (n === 0) return 0;
    const item = BATCH_ITEM_HEADER_BYTES + RESULT_BYTES;
    const rec = new Uint8Array(OK_BATCH_HEADER_BYTES + n * item);
    const v = new DataView(rec.buffer);
    v.setUint32(0, ReadRecordKind.OkBatch, true);
    v.setUint32(4, n, true);
    v.setInt32(8, 0, true);
    for (let k = 0; k < n; k++) {
      const at = OK_BATCH_HEADER_BYTES + k * item;
      v.setFloat64(at, this.ids[k], true);
      v.setUint32(at + 8, RESULT_BYTES, true);
    }
    this.ids.splice(0, n);
    if (!this.answers.tryWrite(rec)) throw new Error('scripted leader: answer ring full');
    return n;
  }
}

export interface Sample { reads: number; clientMs: number }

/** `fixed` > 0: that many reads measured (after a quarter as many as warm-up) instead of `seconds`. */
export async function sample(window: number, run: number, seconds: number, fixed = 0): Promise<Sample> {
  const client = new ClusterClient(1);
  const ends = createRingLinkPair(16 << 20);
  const ports = new MessageChannel();
  client.attachReads(0, { outSab: ends.sabAB, inSab: ends.sabBA, port: ports.port1 });
  client.leader = 0;
  const leader = new ScriptedLeader(ends);
  const query = new Uint8Array(0);
  const options = { mode: 'leader' as const };
  const reads: ReadLoad = {
    ratio: 1,
    submit: () => client.submitRead(query, options),
    listen: (done, failed) => { client.onReadResult = done; client.onReadFailed = failed; },
  };
  const gen = new LoadGenerator(client, { mode: 'closed', window }, 16, async () => 0, seconds + 1, null, reads);
  // The reader's drain, called directly: the scripted leader never wakes the reader.
  const reader = (client as unknown as { reader: { links: RingLink[]; drain(l: RingLink): void } }).reader;
  const link = reader.links[0];
  gen.start();
  await null;
  const warmEnd = performance.now() + 300;
  const end = warmEnd + seconds * 1000;
  let done = 0, clientMs = 0, measuring = false, warmReads = 0;
  for (;;) {
    if (fixed > 0) {
      if (!measuring && warmReads >= fixed / 4) measuring = true;
      if (done >= fixed) break;
    } else {
      const now = performance.now();
      if (!measuring && now >= warmEnd) measuring = true;
      if (now >= end) break;
    }
    const n = leader.step(run);
    if (!measuring) warmReads += n;
    if (n === 0) throw new Error('scripted leader: no reads to answer (the reader did not publish its batch)');
    const c0 = process.cpuUsage();
    reader.drain(link);
    await null; // the reader's end-of-turn publish (a microtask)
    const c1 = process.cpuUsage(c0);
    if (measuring) { done += n; clientMs += (c1.user + c1.system) / 1000; }
    if (gen.error) throw gen.error;
  }
  const counted = gen.mixCounters.reads;
  gen.endMeasurement();
  if (counted === 0) throw new Error('the load generator counted no reads');
  client.close('micro-benchmark done');
  ports.port2.close();
  return { reads: done, clientMs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { window: { type: 'string' }, run: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' }, reads: { type: 'string' } } });
  const window = Number(values.window ?? 1000), run = Number(values.run ?? 256);
  const seconds = Number(values.seconds ?? 2), rounds = Number(values.rounds ?? 3), fixed = Number(values.reads ?? 0);
  if (!(fixed >= 0)) throw new RangeError(`--reads must be a number >= 0, got ${String(values.reads)}`);
  for (const [name, v] of [['--window', window], ['--run', run], ['--seconds', seconds], ['--rounds', rounds]] as const) {
    if (!(v > 0)) throw new RangeError(`${name} must be a positive number, got ${String(v)}`);
  }
  const ns: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = await sample(window, run, seconds, fixed);
    const per = (x.clientMs * 1e6) / x.reads;
    ns.push(per);
    console.log(`round ${r + 1} ${per.toFixed(0).padStart(5)} ns of client CPU per read (${x.reads} reads)`);
  }
  // On a shared machine noise only adds time: the least of the samples is the steadiest figure.
  const sorted = [...ns].sort((a, b) => a - b);
  console.log(`median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ns, least ${sorted[0].toFixed(0)} ns per read`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
