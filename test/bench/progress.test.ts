import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createProgress } from '../../bench/progress.js';

/** A stream that is not a terminal (like stderr redirected to a CI log), keeping what is written. */
function notATerminal(): Writable & { text: string } {
  const w = new Writable({ write(chunk, _enc, done) { w.text += String(chunk); done(); } }) as Writable & { text: string };
  w.text = '';
  return w;
}

test('--progress draws the bar when stderr is not a terminal (it is what the flag is for)', () => {
  const stream = notATerminal();
  const p = createProgress(true, stream);
  p.begin('3p 16B memory window=8');
  p.update({ phase: 'measure', elapsed: 0.5, total: 1, rate: 1234 });
  p.end();
  assert.match(stream.text, /3p 16B memory window=8 measure .*1,234 commits\/s/);
});

test('without --progress a stream that is not a terminal gets nothing', () => {
  const stream = notATerminal();
  const p = createProgress(null, stream);
  p.begin('run');
  p.update({ phase: 'measure', elapsed: 0.5, total: 1, rate: 1 });
  p.end();
  assert.equal(stream.text, '');
});
