/**
 * The parent side of the crash tests: runs crash-child.js in `load` mode and SIGKILLs it at a
 * chosen moment while collecting the commands it acknowledged, then runs it in `verify` mode
 * on the same directories.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildConfig, VerifyResult } from './crash-child.js';

const CHILD = new URL('./crash-child.js', import.meta.url).pathname;

/** Every command acknowledged so far, by index; a second, different command at an index is a failure on its own. */
export class AckLog {
  readonly byIndex = new Map<number, string>();
  readonly conflicts: string[] = [];

  add(index: number, key: string, from: string): void {
    const before = this.byIndex.get(index);
    if (before === undefined) this.byIndex.set(index, key);
    else if (before !== key) this.conflicts.push(`index ${index}: ${before} was acknowledged, then ${from} acknowledged ${key}`);
  }

  write(file: string): void {
    let s = '';
    for (const [i, k] of this.byIndex) s += `${i} ${k}\n`;
    fs.writeFileSync(file, s);
  }
}

export interface LoadRound {
  /** Acknowledgements this child made (including re-applied old indexes). */
  acks: number;
  /** Whether the child had its cluster up when it was killed. */
  wasReady: boolean;
  killedAfterMs: number;
  errors: string[];
}

/**
 * Starts a load child and SIGKILLs it `killAfterMs` after spawning, or once `untilAcks` new
 * indexes were acknowledged (whichever comes first). Rejects if the child dies on its own.
 */
export function loadAndKill(cfg: ChildConfig, killAfterMs: number, acks: AckLog, untilAcks = Infinity): Promise<LoadRound> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, 'load', JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const round: LoadRound = { acks: 0, wasReady: false, killedAfterMs: killAfterMs, errors: [] };
    let killed = false;
    let stderr = '';
    let buf = '';
    const kill = () => { if (!killed) { killed = true; child.kill('SIGKILL'); } };
    const timer = setTimeout(kill, killAfterMs);
    const startSize = acks.byIndex.size;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') round.wasReady = true;
        else if (line.startsWith('ack ')) {
          const [, index, key] = line.split(' ');
          acks.add(Number(index), key, `round ${cfg.round}`);
          round.acks++;
          if (acks.byIndex.size - startSize >= untilAcks) kill();
        } else if (line.startsWith('error ')) round.errors.push(line.slice(6));
      }
      // whatever is left in buf is a line torn by the kill: not acknowledged
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => { stderr += s; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`load child exited on its own (code ${code}, signal ${signal}): ${round.errors.join('; ')} ${stderr}`));
      else resolve(round);
    });
  });
}

/** Runs a verify child on the directories with every acknowledgement so far. */
export function verify(cfg: ChildConfig, acks: AckLog): Promise<VerifyResult> {
  const acksFile = path.join(cfg.dir, `acks-${cfg.round}.txt`);
  acks.write(acksFile);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, 'verify', JSON.stringify({ ...cfg, acksFile })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(acksFile, { force: true });
      const line = stdout.split('\n').find((l) => l.startsWith('result '));
      if (!line) { reject(new Error(`verify child gave no result (code ${code}, signal ${signal}): ${stderr}`)); return; }
      resolve(JSON.parse(line.slice(7)) as VerifyResult);
    });
  });
}
