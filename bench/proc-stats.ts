/**
 * Per-thread CPU time and peak RSS, read from Linux /proc.
 *
 * Why not process.cpuUsage(): in Node 20 it is getrusage(RUSAGE_SELF), the whole process,
 * even when called inside a worker (checked: a worker spinning 0.5 s and the main thread
 * report the same delta). So the WorkerStats cpu fields are process totals, and per-thread
 * figures have to come from /proc/self/task/<tid>/{stat,schedstat}. Node 20 does not name
 * its threads, so a peer's thread is recognised as one of the threads that appeared while
 * the cluster started, in creation order (Cluster.start creates peer 0's Worker first).
 *
 * Elsewhere (macOS, Windows) every reader returns null and the report falls back to the
 * process total.
 */
import fs from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux we run on. */
const TICKS_PER_SEC = 100;

export interface ThreadTimes {
  tid: number;
  /** From stat (10 ms resolution). */
  userMicros: number;
  systemMicros: number;
  /** From schedstat: time on a CPU, nanosecond resolution (user + system); null if the kernel lacks it. */
  runMicros: number | null;
}

export function listThreadIds(): number[] | null {
  try {
    return fs.readdirSync('/proc/self/task').map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  } catch {
    return null;
  }
}

export function readThread(tid: number): ThreadTimes | null {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // fields after "(comm)"; comm may contain spaces and parentheses, so cut at the last ')'
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const userMicros = (Number(f[11]) * 1e6) / TICKS_PER_SEC;
    const systemMicros = (Number(f[12]) * 1e6) / TICKS_PER_SEC;
    let runMicros: number | null = null;
    try {
      runMicros = Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    } catch { /* no schedstat */ }
    return { tid, userMicros, systemMicros, runMicros };
  } catch {
    return null; // the thread is gone
  }
}

/** CPU times of a whole process (every thread of it), e.g. a peer process; null if it is gone or there is no /proc. */
export function readProcess(pid: number): ThreadTimes | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let runMicros: number | null = 0;
    try {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) runMicros += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    } catch { runMicros = null; }
    return { tid: pid, userMicros: (Number(f[11]) * 1e6) / TICKS_PER_SEC, systemMicros: (Number(f[12]) * 1e6) / TICKS_PER_SEC, runMicros };
  } catch {
    return null;
  }
}

/** Times of every thread of this process, by tid; null where /proc is not available. */
export function readAllThreads(): Map<number, ThreadTimes> | null {
  const tids = listThreadIds();
  if (!tids) return null;
  const m = new Map<number, ThreadTimes>();
  for (const tid of tids) {
    const t = readThread(tid);
    if (t) m.set(tid, t);
  }
  return m;
}

/**
 * Resets the kernel's peak-RSS mark (VmHWM) so that a later readPeakRss() covers only what
 * follows. Returns false where that is not possible.
 */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** VmHWM in bytes, or null. */
export function readPeakRss(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU time every process on the machine spent busy (not idle or iowait), in microseconds,
 * from the first line of /proc/stat. Minus our own process CPU over the same window, it says
 * how much of the machine something else took: on 2 cores that matters more than anything.
 */
export function readSystemBusyMicros(): number | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = f[0] + f[1] + f[2] + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return (busy * 1e6) / TICKS_PER_SEC;
  } catch {
    return null;
  }
}
