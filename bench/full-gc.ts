import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection of the main thread, between benchmark runs. A stopped cluster's
 * rings and journals are SharedArrayBuffers that only leave memory once the main thread's GC
 * has dropped them; the main thread allocates little, so without this they piled up and each
 * run's peak RSS included every earlier run's buffers. Returns false where it is unavailable.
 */
export function fullGc(): boolean {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  return true;
}
