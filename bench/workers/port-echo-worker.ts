/** Echoes every message back on parentPort (for measureMessagePortRoundTrip). */
import { parentPort } from 'node:worker_threads';

const port = parentPort!;
port.on('message', (m: unknown) => {
  if (m === 'stop') port.close();
  else port.postMessage(m);
});
port.postMessage('ready');
