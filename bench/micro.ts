/**
 * Micro-benchmarks of the hot paths: ring write+read, codec encode/decode of an AppendEntries,
 * RaftLog append/slice, majorityIndex, the session layer's apply against a raw apply. Then,
 * unless `--no-threads`, the two-thread reference limits from reference-limits.ts.
 *
 *   npm run bench:micro            (or: node dist/bench/micro.js [--quick] [--no-threads] [--json]
 *                                   [--filter=TEXT: only the cases whose name contains TEXT])
 *
 * Operations that take tens of nanoseconds are run `inner` times per tinybench sample, so the
 * timer's own cost (~tens of ns per call) does not swamp them; the table reports per-operation
 * figures: ops/s = samples/s * inner, mean = sample mean / inner, p99 = 99th percentile of
 * the per-sample means (so it is the p99 of a batch average, not of a single operation).
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { RingBuffer } from '../src/transport/ring.js';
import { decode, encode, encodeInto, encodedSize } from '../src/transport/codec.js';
import { MsgType, message, type Message } from '../src/core/message.js';
import { makeBatch } from '../src/core/entry-batch.js';
import { RaftLog } from '../src/core/log.js';
import { majorityIndex } from '../src/core/quorum.js';
import { CoreCluster } from './core-cluster.js';
import { SessionStateMachine, type ResultStateMachine } from '../src/node/session-state-machine.js';
import { encodeCommand, encodeRegister, writeU64 } from '../src/node/session-protocol.js';
import { measureMessagePortRoundTrip, measureRingSpinRoundTrip, measureRingThroughput } from './reference-limits.js';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const JSON_OUT = args.has('--json');
const FILTER = [...args].find((a) => a.startsWith('--filter='))?.slice('--filter='.length);

export interface MicroResult {
  name: string;
  opsPerSec: number;
  meanNs: number;
  p99Ns: number;
  rmePct: number;
  samples: number;
}

export function machine(): { cpus: number; cpuModel: string; node: string; platform: string; memGiB: number } {
  const c = os.cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

let sink = 0;

function cmd16(seed: number): Uint8Array {
  const c = new Uint8Array(16);
  for (let j = 0; j < 16; j++) c[j] = (seed + j) & 0xff;
  return c;
}

function appendEntries256(): Message {
  const entries = [];
  for (let k = 0; k < 256; k++) entries.push({ term: 7, command: cmd16(k) });
  const m = message(MsgType.AppendEntries, 1, 2, 7);
  m.index = 2 ** 33;
  m.logTerm = 7;
  m.commit = 2 ** 33 - 10;
  m.entries = makeBatch(m.index + 1, entries);
  return m;
}

export async function runMicro(quick = false, filter?: string): Promise<MicroResult[]> {
  const bench = new Bench({ time: quick ? 150 : 700, warmupTime: quick ? 50 : 200 });
  const inner = new Map<string, number>();
  const add = (name: string, n: number, fn: () => void) => {
    if (filter !== undefined && !name.includes(filter)) return;
    inner.set(name, n);
    bench.add(name, fn);
  };

  // ---- ring (single thread: producer and consumer are the same object)
  const ring = RingBuffer.create(1 << 16);
  const rec = cmd16(1);
  const onRecord = (buf: Uint8Array, off: number, len: number) => { sink ^= buf[off] ^ len; };
  add('ring tryWrite+drain(1) 16 B', 1000, () => {
    for (let i = 0; i < 1000; i++) {
      ring.tryWrite(rec);
      ring.drain(onRecord, 1);
    }
  });
  add('ring tryWrite+read (copy) 16 B', 1000, () => {
    for (let i = 0; i < 1000; i++) {
      ring.tryWrite(rec);
      sink ^= ring.read()!.byteLength;
    }
  });
  add('ring reserve/commit+peek/release 16 B', 1000, () => {
    const bytes = ring.bytes;
    for (let i = 0; i < 1000; i++) {
      const off = ring.tryReserve(16);
      bytes[off] = i;
      ring.commit();
      const at = ring.peek();
      sink ^= bytes[at];
      ring.release();
    }
  });
  add('ring 256 x tryWrite, then one drain, per record', 256, () => {
    for (let i = 0; i < 256; i++) ring.tryWrite(rec);
    ring.drain(onRecord);
  });

  // ---- codec
  const ae = appendEntries256();
  const size = encodedSize(ae);
  const buf = new Uint8Array(size);
  const wire = encode(ae);
  add(`codec encodeInto AppendEntries 256x16 B (${size} B)`, 10, () => {
    for (let i = 0; i < 10; i++) sink ^= encodeInto(ae, buf, 0);
  });
  add('codec encode (allocating) AppendEntries 256x16 B', 10, () => {
    for (let i = 0; i < 10; i++) sink ^= encode(ae).byteLength;
  });
  add('codec decode AppendEntries 256x16 B', 10, () => {
    for (let i = 0; i < 10; i++) sink ^= decode(wire, 0, wire.byteLength).entries!.count;
  });
  const ringForMsgs = RingBuffer.create(1 << 16);
  add('ring writeMessage+readMessage AppendEntries 256x16 B', 10, () => {
    for (let i = 0; i < 10; i++) {
      ringForMsgs.writeMessage(ae);
      sink ^= ringForMsgs.readMessage()!.entries!.count;
    }
  });
  const hb = message(MsgType.Heartbeat, 1, 2, 7);
  hb.commit = 12345;
  const hbWire = encode(hb);
  const hbBuf = new Uint8Array(64);
  add('codec encodeInto+decode Heartbeat', 1000, () => {
    for (let i = 0; i < 1000; i++) {
      encodeInto(hb, hbBuf, 0);
      sink ^= decode(hbWire, 0, hbWire.byteLength).commit;
    }
  });

  // ---- RaftLog
  const log = new RaftLog(1 << 16, 1 << 20);
  const command = cmd16(3);
  add('RaftLog.append 16 B', 1000, () => {
    if (log.length >= 1 << 16) log.reset(log.lastIndex, 7); // keep memory bounded; O(1)
    for (let i = 0; i < 1000; i++) log.append(7, command);
  });
  const full = new RaftLog(1 << 16, 1 << 20);
  for (let i = 0; i < 60_000; i++) full.append(1 + (i >> 10), command);
  let lo = 1;
  add('RaftLog.slice 256 entries', 10, () => {
    for (let i = 0; i < 10; i++) {
      sink ^= full.slice(lo, lo + 255).count;
      lo = lo + 256 > 59_000 ? 1 : lo + 256;
    }
  });

  // ---- the core's hot path: propose -> ready -> step (followers) -> step (leader) -> advance
  for (const peers of [3, 5]) {
    const cc = new CoreCluster(peers);
    const cmd = cmd16(5);
    add(`core propose+ready+step, ${peers} peers, 1 command per round`, 100, () => {
      for (let i = 0; i < 100; i++) { cc.leader.propose(cmd); cc.pump(); }
      cc.compactIfLong(1 << 16);
    });
    add(`core propose+ready+step, ${peers} peers, 256 commands per round, per command`, 256, () => {
      for (let i = 0; i < 256; i++) cc.leader.propose(cmd);
      cc.pump();
      cc.compactIfLong(1 << 16);
    });
  }

  // ---- quorum
  const scratch = new Float64Array(8);
  const m3 = [100, 98, 99];
  const m5 = [100, 97, 99, 95, 101];
  add('majorityIndex 3 peers', 1000, () => {
    for (let i = 0; i < 1000; i++) { m3[1] = i; sink ^= majorityIndex(m3, scratch); }
  });
  add('majorityIndex 5 peers', 1000, () => {
    for (let i = 0; i < 1000; i++) { m5[3] = i; sink ^= majorityIndex(m5, scratch); }
  });

  // ---- sessions: the layer's cost per applied command over a raw apply of the same 16 B command.
  // The session frame is reused with its seq and ack rewritten in place (two u64 writes), so the
  // figure is the layer's decode + table work, not the client's framing.
  let userSum = 0;
  const result16 = cmd16(9);
  const userNone: ResultStateMachine = { apply: (c) => { userSum += c[0]; return undefined; } };
  const user16: ResultStateMachine = { apply: (c) => { userSum += c[0]; return result16; } };
  let rawIndex = 0;
  add('sessions: raw apply 16 B (baseline)', 1000, () => {
    for (let i = 0; i < 1000; i++) userNone.apply(command, ++rawIndex, 1);
  });
  // For scale: the session layer makes two typed arrays per command (the payload view, the result frame).
  add('sessions: reference: one Uint8Array.subarray', 1000, () => {
    for (let i = 0; i < 1000; i++) sink ^= command.subarray(4).byteLength;
  });
  const sessionCase = (name: string, user: ResultStateMachine, clients: number) => {
    const sm = new SessionStateMachine(user);
    let index = 0;
    const frames: Uint8Array[] = [];
    const views: DataView[] = [];
    const seqs: number[] = [];
    for (let c = 0; c < clients; c++) {
      sm.apply(encodeRegister(), ++index, 1);
      const f = encodeCommand(index, 1, 0, command);
      frames.push(f);
      views.push(new DataView(f.buffer));
      seqs.push(0);
    }
    let next = 0;
    add(name, 1000, () => {
      for (let i = 0; i < 1000; i++) {
        const c = next;
        next = next + 1 === clients ? 0 : next + 1;
        const seq = ++seqs[c];
        writeU64(views[c], 9, seq);
        writeU64(views[c], 17, seq - 1); // the client acks everything before: one result kept per session
        sink ^= sm.apply(frames[c], ++index, 1).byteLength;
      }
    });
  };
  sessionCase('sessions: session apply 16 B, no result, 1 client', userNone, 1);
  sessionCase('sessions: session apply 16 B, 16 B result, 1 client', user16, 1);
  sessionCase('sessions: session apply 16 B, 16 B result, 1000 clients round robin', user16, 1000);

  await bench.run();
  sink ^= userSum;
  const out: MicroResult[] = [];
  for (const task of bench.tasks) {
    const r = task.result;
    const n = inner.get(task.name) ?? 1;
    if (r.state !== 'completed') {
      out.push({ name: `${task.name} [${r.state}${r.state === 'errored' ? `: ${r.error.message}` : ''}]`, opsPerSec: NaN, meanNs: NaN, p99Ns: NaN, rmePct: NaN, samples: 0 });
      continue;
    }
    out.push({
      name: task.name,
      opsPerSec: (1000 / r.latency.mean) * n,
      meanNs: (r.latency.mean * 1e6) / n,
      p99Ns: (r.latency.p99 * 1e6) / n,
      rmePct: r.latency.rme,
      samples: r.latency.samplesCount,
    });
  }
  return out;
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function printTable(rows: MicroResult[]): void {
  const header = ['benchmark', 'ops/s', 'mean ns/op', 'p99 ns/op', '±%', 'samples'];
  const body = rows.map((r) => [r.name, fmt(r.opsPerSec), fmt(r.meanNs, 1), fmt(r.p99Ns, 1), fmt(r.rmePct, 1), String(r.samples)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

async function main(): Promise<void> {
  const m = machine();
  if (!JSON_OUT) {
    console.log(`machine: ${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, ${m.platform}, node ${m.node}`);
    console.log(`micro-benchmarks (tinybench, ${QUICK ? 'quick' : 'full'}); per-op figures, see bench/micro.ts header\n`);
  }
  const rows = await runMicro(QUICK, FILTER);
  if (!JSON_OUT) printTable(rows);

  let limits: Record<string, unknown> | null = null;
  if (!args.has('--no-threads')) {
    const tp16 = await measureRingThroughput(16, QUICK ? 300 : 1000);
    const tp256 = await measureRingThroughput(256, QUICK ? 300 : 1000);
    // one AppendEntries of 256 x 16 B commands is one 6,216-byte record
    const tpBatch = await measureRingThroughput(6216, QUICK ? 300 : 1000);
    const spin = await measureRingSpinRoundTrip(QUICK ? 20_000 : 200_000);
    const port = await measureMessagePortRoundTrip(QUICK ? 500 : 5000);
    limits = { ringThroughput16: tp16, ringThroughput256: tp256, ringThroughput6216: tpBatch, ringSpinRoundTrip: spin, messagePortRoundTrip: port };
    if (!JSON_OUT) {
      console.log('\nreference limits (two threads):');
      for (const tp of [tp16, tp256, tpBatch]) {
        console.log(`  ring throughput, ${tp.recordBytes} B records, busy-spinning writer and reader workers: ` +
          `${fmt(tp.recordsPerSec / 1e6, 2)} M records/s (${fmt(tp.bytesPerSec / 2 ** 20, 0)} MiB/s payload)`);
      }
      console.log(`  ring round trip, two busy-spinning workers: mean ${fmt(spin.meanUs, 3)} us, p50 ${fmt(spin.p50Us, 3)} us, p99 ${fmt(spin.p99Us, 3)} us (batch means of 64)`);
      console.log(`  MessagePort round trip main <-> worker: mean ${fmt(port.meanUs, 1)} us, p50 ${fmt(port.p50Us, 1)} us, p99 ${fmt(port.p99Us, 1)} us`);
    }
  }
  if (JSON_OUT) console.log(JSON.stringify({ machine: m, micro: rows, limits }, null, 2));
  if (sink === 0.5) console.log('unreachable'); // keep `sink` observable so nothing is optimised away
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
