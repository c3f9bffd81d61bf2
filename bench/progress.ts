/**
 * A progress bar on stderr while a run warms up and measures (cli-progress). By default only
 * when stderr is a terminal, so that CI logs and redirected output stay clean.
 */
import cliProgress from 'cli-progress';

export interface ProgressUpdate {
  phase: 'warm-up' | 'measure';
  /** Seconds into the current phase, and its length. */
  elapsed: number;
  total: number;
  /** Commits per second over the last interval. */
  rate: number;
}

export interface Progress {
  begin(title: string): void;
  update(u: ProgressUpdate): void;
  end(): void;
}

const SILENT: Progress = { begin() {}, update() {}, end() {} };

export function createProgress(enabled: boolean | null, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Progress {
  if (!(enabled ?? stream.isTTY)) return SILENT;
  // cli-progress draws nothing on a stream that is not a terminal unless told to (--progress is that)
  const notTerminal = stream.isTTY !== true;
  let bar: cliProgress.SingleBar | null = null;
  let title = '';
  return {
    begin(t) { title = t; },
    update(u) {
      const payload = { title, phase: u.phase, rate: formatRate(u.rate) };
      const total = Math.max(1, Math.round(u.total * 10));
      const value = Math.min(total, Math.round(u.elapsed * 10));
      if (!bar) {
        bar = new cliProgress.SingleBar({
          stream,
          noTTYOutput: notTerminal,
          notTTYSchedule: 1000,
          format: '{title} {phase} [{bar}] {percentage}% | {rate} commits/s',
          barsize: 30,
          hideCursor: true,
          clearOnComplete: true,
          forceRedraw: true,
        }, cliProgress.Presets.shades_classic);
        bar.start(total, value, payload);
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    end() { bar?.stop(); bar = null; },
  };
}

function formatRate(r: number): string {
  return Math.round(r).toLocaleString('en-US').padStart(9);
}
