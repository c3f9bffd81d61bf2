/**
 * RemoteSession's streaming form against peer processes run with --sessions: submit() many
 * commands per turn, each reported exactly once through onCommitted / onFailed; through a
 * SIGKILLed leader and through a leader cut off from the others (its connection stays up but
 * goes silent: attempts are given up on and resent) every command is applied exactly once, in
 * seq order, on every peer; bad input throws and changes nothing; a command that fails for
 * good closes the session and fails every later one; closing the client fails what is in
 * flight with 'closed'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteSession, RemoteSessionError } from '../../src/process/remote-client.js';
import { waitFor } from '../transport/tcp-helpers.js';
import { ProcessCluster, checkSameApplied } from './peer-cluster.js';

const text = (hex: string) => Buffer.from(hex, 'hex').toString();
const maxApplied = (c: ProcessCluster, id: number) => Math.max(0, ...c.applied(id).keys());

/** Records each seq's one outcome, failing the test on a second one. */
class Outcomes {
  readonly committed = new Map<number, { index: number; result: string; duplicate: boolean }>();
  readonly failed = new Map<number, RemoteSessionError>();
  constructor(session: RemoteSession) {
    session.onCommitted = (seq, index, result, duplicate) => {
      assert.ok(!this.committed.has(seq) && !this.failed.has(seq), `seq ${seq} reported twice`);
      this.committed.set(seq, { index, result: Buffer.from(result).toString(), duplicate });
    };
    session.onFailed = (seq, error) => {
      assert.ok(!this.committed.has(seq) && !this.failed.has(seq), `seq ${seq} reported twice`);
      assert.ok(error instanceof RemoteSessionError);
      this.failed.set(seq, error);
    };
  }

  get settled(): number {
    return this.committed.size + this.failed.size;
  }
}

/**
 * Every submitted command committed; the applied log of every peer is exactly the commands in
 * seq order, each once; each result (the applied-log machine answers the index it applied the
 * command at, also to a resend answered from the session table) names that command's entry.
 */
async function checkExactlyOnce(c: ProcessCluster, out: Outcomes, commands: Map<number, string>): Promise<void> {
  for (const [seq] of commands) assert.ok(out.committed.has(seq), `seq ${seq} committed (failed: ${out.failed.get(seq)?.message})`);
  const seqs = [...commands.keys()].sort((a, b) => a - b);
  const appliedAt = seqs.map((s) => Number(out.committed.get(s)!.result));
  const last = Math.max(...seqs.map((s) => out.committed.get(s)!.index));
  await waitFor(`every peer applied through ${last}`, () => c.ids.every((id) => maxApplied(c, id) >= last), 20_000);
  const log = checkSameApplied(c, last).map(text);
  assert.deepEqual(log, seqs.map((s) => commands.get(s)), 'each command applied once, in seq order');
  const at0 = c.applied(0);
  for (const [k, s] of seqs.entries()) assert.equal(text(at0.get(appliedAt[k])!), commands.get(s), `seq ${s}'s result names its entry`);
}

test('RemoteSession streaming: each command reported once and applied once, in seq order, through a SIGKILLed leader', async (t) => {
  const c = await ProcessCluster.start({ size: 3, sessions: true });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 30_000 });
    const out = new Outcomes(session);
    const commands = new Map<number, string>();
    const submit = (n: number) => { for (let k = 0; k < n; k++) { const cmd = `cmd-${commands.size}`; commands.set(session.submit(Buffer.from(cmd)), cmd); } };
    for (let turn = 0; turn < 5; turn++) { submit(1000); await new Promise((r) => setImmediate(r)); }
    await waitFor('the first commands settled', () => out.settled === commands.size, 20_000);
    assert.equal(session.pending, 0);
    assert.ok([...out.committed.values()].every((x) => !x.duplicate), 'nothing resent without a fault');

    // Kill the leader while a stream of commands flows (some committed but not yet answered,
    // some in flight), and keep submitting while it is down.
    const leader = await c.leader(client);
    const pump = setInterval(() => submit(100), 2);
    try {
      const before = out.settled;
      await waitFor('the stream flowing', () => out.settled >= before + 1000, 20_000);
      await c.kill(leader, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      clearInterval(pump);
    }
    await waitFor('every command settled', () => out.settled === commands.size, 30_000);
    assert.equal(out.failed.size, 0, [...out.failed.values()].map((e) => e.message).slice(0, 3).join('; '));
    await c.startPeer(leader);
    await checkExactlyOnce(c, out, commands);
    t.diagnostic(`${commands.size} commands, ${[...out.committed.values()].filter((x) => x.duplicate).length} answered from the session table`);

    // The promise form on the same session, after the stream.
    const r = await session.propose(Buffer.from('last'));
    assert.equal(r.duplicate, false);
    assert.ok(r.index > 0);
  } finally {
    client.close();
    await c.stop();
  }
});

test('RemoteSession streaming: a leader cut off from the others goes silent; its attempts are given up on and resent, each command applied once', async (t) => {
  const c = await ProcessCluster.start({ size: 3, sessions: true, proxied: true });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 30_000, attemptTimeoutMs: 500 });
    const out = new Outcomes(session);
    const commands = new Map<number, string>();
    const submit = (n: number) => { for (let k = 0; k < n; k++) { const cmd = `iso-${commands.size}`; commands.set(session.submit(Buffer.from(cmd)), cmd); } };
    submit(100);
    await waitFor('the first commands settled', () => out.settled === commands.size, 20_000);
    const leader = await c.leader(client);
    c.isolate(leader); // the client still reaches it directly: only its links to the other peers are cut
    for (let turn = 0; turn < 10; turn++) { submit(100); await new Promise((r) => setTimeout(r, 50)); }
    await waitFor('every command settled while the old leader is cut off', () => out.settled === commands.size, 30_000);
    assert.equal(out.failed.size, 0, [...out.failed.values()].map((e) => e.message).slice(0, 3).join('; '));
    assert.notEqual(client.leader, leader, 'the session moved to the new leader');
    c.heal();
    await checkExactlyOnce(c, out, commands);
    t.diagnostic(`${commands.size} commands, ${[...out.committed.values()].filter((x) => x.duplicate).length} answered from the session table`);
  } finally {
    client.close();
    await c.stop();
  }
});

test('RemoteSession streaming: a paused leader (SIGSTOP: its connection up and silent) is given up on; after it resumes, every command is still applied once', async (t) => {
  const c = await ProcessCluster.start({ size: 3, sessions: true });
  const client = c.client();
  try {
    const session = await client.session({ timeoutMs: 30_000, attemptTimeoutMs: 300 });
    const out = new Outcomes(session);
    const commands = new Map<number, string>();
    const submit = (n: number) => { for (let k = 0; k < n; k++) { const cmd = `p-${commands.size}`; commands.set(session.submit(Buffer.from(cmd)), cmd); } };
    submit(200);
    await waitFor('the first commands settled', () => out.settled === commands.size, 20_000);
    const leader = await c.leader(client);
    const pump = setInterval(() => submit(20), 5);
    try {
      await new Promise((r) => setTimeout(r, 50));
      c.procs.get(leader)!.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      clearInterval(pump);
    }
    await waitFor('every command settled while the leader is paused', () => out.settled === commands.size, 30_000);
    assert.equal(out.failed.size, 0, [...out.failed.values()].map((e) => e.message).slice(0, 3).join('; '));
    assert.notEqual(client.leader, leader, 'the session moved to the new leader');
    c.procs.get(leader)!.kill('SIGCONT');
    await checkExactlyOnce(c, out, commands);
    t.diagnostic(`${commands.size} commands, ${[...out.committed.values()].filter((x) => x.duplicate).length} answered from the session table`);
  } finally {
    client.close();
    await c.stop();
  }
});

test('RemoteSession: bad input throws, names the limit and sends nothing; a command that fails for good closes the session and fails every later one; a closed client fails what is in flight', async () => {
  const c = await ProcessCluster.start({ size: 1, sessions: true, memory: true });
  const client = c.client();
  try {
    await assert.rejects(client.session({ timeout: 5 } as never), /unknown session option timeout/);
    await assert.rejects(client.session({ attemptTimeoutMs: 0 }), /attemptTimeoutMs must be a positive number/);
    await assert.rejects(client.session({ maxCommandBytes: 10 }), /maxCommandBytes must be an integer above the 25-byte session header/);
    const session = await client.session({ maxCommandBytes: 1024 });
    await assert.rejects(session.propose(new Uint8Array([1]), { timeout: 5 } as never), (e: Error) => e instanceof TypeError && /unknown option timeout for session.propose: did you mean timeoutMs\?/.test(e.message));
    await assert.rejects(client.propose(new Uint8Array([1]), { timeout: 5 } as never), (e: Error) => e instanceof TypeError && /unknown option timeout for propose: did you mean timeoutMs\?/.test(e.message));
    const out = new Outcomes(session);
    assert.throws(() => session.submit('text' as never), (e: Error) => e instanceof TypeError && /must be a Uint8Array, got string/.test(e.message));
    assert.throws(() => session.submit(new Uint8Array(1000)), (e: Error) => e instanceof RangeError && /1000 bytes exceeds .* maxCommandBytes minus the 25-byte session header \(999\)/.test(e.message));
    assert.throws(() => session.submit(new Uint8Array(1), -1), (e: Error) => e instanceof RangeError && /timeoutMs must be a positive number, got number -1/.test(e.message));
    await assert.rejects(session.propose(null as never), TypeError);
    // Nothing was numbered: the first command is seq 1, and the session works on.
    const first = session.submit(new Uint8Array(999));
    assert.equal(first, 1);
    const r = await session.propose(Buffer.from('after'));
    assert.equal(Number(Buffer.from(r.result).toString()), r.index);
    await waitFor('the first command', () => out.settled === 1);
    assert.ok(out.committed.has(first));

    // With the only peer gone, commands time out: the first fails for good, the later ones with it.
    await c.kill(0, 'SIGKILL');
    const doomed = [session.submit(Buffer.from('x'), 300), session.submit(Buffer.from('y'), 5000), session.submit(Buffer.from('z'), 5000)];
    await waitFor('the doomed commands failed', () => out.settled === 4, 10_000);
    assert.equal(out.failed.get(doomed[0])?.reason, 'timeout');
    for (const s of doomed.slice(1)) {
      assert.equal(out.failed.get(s)?.reason, 'timeout');
      assert.match(out.failed.get(s)!.message, /commands apply in seq order/);
    }
    assert.equal(session.closed?.reason, 'timeout');
    assert.equal(session.pending, 0);
    assert.throws(() => session.submit(Buffer.from('w')), (e: Error) => e instanceof RemoteSessionError && e.reason === 'timeout' && /is closed/.test(e.message));

    // A closed client: what is in flight fails with 'closed', once; later calls say so.
    await c.startPeer(0);
    const s2 = await client.session();
    const out2 = new Outcomes(s2);
    const inflight = Array.from({ length: 50 }, (_, k) => s2.submit(Buffer.from(`c-${k}`)));
    const promised = s2.propose(Buffer.from('p'));
    client.close();
    await assert.rejects(promised, (e: Error) => e instanceof RemoteSessionError && e.reason === 'closed');
    assert.equal(out2.settled, inflight.length);
    for (const s of inflight) assert.equal(out2.failed.get(s)?.reason, 'closed');
    assert.throws(() => s2.submit(Buffer.from('q')), (e: Error) => e instanceof RemoteSessionError && e.reason === 'closed');
    await new Promise((r) => setTimeout(r, 100)); // the connections' close events report nothing more
    assert.equal(out2.settled, inflight.length);
  } finally {
    client.close();
    await c.stop();
  }
});

test('RemoteSession maxOutstanding: beyond it submit throws backpressure and sends nothing; the session works on once commands apply', async () => {
  const c = await ProcessCluster.start({ size: 1, sessions: true, memory: true });
  const client = c.client();
  try {
    await assert.rejects(client.session({ maxOutstanding: 0 }), /option maxOutstanding must be an integer >= 1, got 0/);
    await assert.rejects(client.session({ maxOutstanding: 'many' as never }), /option maxOutstanding must be an integer >= 1, got string/);
    const session = await client.session({ maxOutstanding: 3 });
    assert.equal(session.maxOutstanding, 3);
    const out = new Outcomes(session);
    const held = [session.submit(Buffer.from('a')), session.submit(Buffer.from('b')), session.submit(Buffer.from('c'))];
    assert.throws(() => session.submit(Buffer.from('refused')),
      (e: Error) => e instanceof RemoteSessionError && e.reason === 'backpressure' && /holds 3 commands.*maxOutstanding 3/.test(e.message));
    assert.equal(session.closed, null);
    await waitFor('the held commands', () => out.settled === 3);
    for (const s of held) assert.ok(out.committed.has(s));
    const next = session.submit(Buffer.from('d'));
    assert.equal(next, 4, 'the refused command took no seq');
    await waitFor('the next command', () => out.settled === 4);
    const applied = [...c.applied(0).values()].map(text);
    assert.deepEqual(applied.filter((a) => ['a', 'b', 'c', 'd', 'refused'].includes(a)), ['a', 'b', 'c', 'd']);
  } finally {
    client.close();
    await c.stop();
  }
});
