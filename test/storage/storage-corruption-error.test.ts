/** StorageCorruptionError: its fields, its advice, and its trip through structured clone (worker to main thread). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { StorageCorruptionError, storageErrorFromWire, storageErrorToWire } from '../../src/storage/storage-corruption-error.js';

const file = path.join('/data', 'peer-1', 'wal-0000000000000001.log');

test('StorageCorruptionError names the file and offset and says how to recover', () => {
  const e = new StorageCorruptionError(file, 92, 'record payload checksum mismatch');
  assert.equal(e.name, 'StorageCorruptionError');
  assert.deepEqual([e.file, e.offset, e.dir, e.detail, e.peer], [file, 92, '/data/peer-1', 'record payload checksum mismatch', undefined]);
  assert.match(e.message, /wal-0000000000000001\.log at offset 92: record payload checksum mismatch/);
  assert.match(e.message, /majority of the other peers are intact: remove this peer's directory \/data\/peer-1 and start the peer again; it catches up/);
});

test('StorageCorruptionError survives structured clone as a tagged object and comes back as the class', () => {
  const e = new StorageCorruptionError(file, 7, 'segment without a header');
  const wire = structuredClone(storageErrorToWire(e));
  assert.ok(!(wire instanceof Error));
  const back = storageErrorFromWire(wire, 1)!;
  assert.ok(back instanceof StorageCorruptionError);
  assert.deepEqual([back.file, back.offset, back.dir, back.detail, back.peer], [file, 7, '/data/peer-1', 'segment without a header', 1]);
  assert.match(back.message, /^peer 1 failed to start: corrupt Raft storage: /);
  // anything else passes through untouched, and is not taken for one
  const other = new Error('x');
  assert.equal(storageErrorToWire(other), other);
  assert.equal(storageErrorFromWire(structuredClone({ file, offset: 1 })), null);
  assert.equal(storageErrorFromWire(other), null);
});
