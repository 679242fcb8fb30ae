/**
 * ReadAheadPolicy (pure): a sequential run starts with the initial window,
 * which doubles per read that moves the frontier up to the maximum and is
 * clipped at the end of the file; each decision asks only for what earlier
 * ones did not cover; a random read resets the window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadAheadPolicy } from '../../client/data/read-ahead-policy.js';

const MiB = 1 << 20;

test('the window starts at the initial size and doubles up to the maximum', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  assert.deepEqual(p.onRead(0, MiB, 1024 * MiB), { isSequential: true, prefetchOffset: MiB, prefetchLength: 4 * MiB });
  assert.equal(p.currentWindowBytes, 4 * MiB);
  assert.deepEqual(p.onRead(MiB, MiB, 1024 * MiB), { isSequential: true, prefetchOffset: 5 * MiB, prefetchLength: 5 * MiB });
  assert.equal(p.currentWindowBytes, 8 * MiB);
  p.onRead(2 * MiB, MiB, 1024 * MiB);
  p.onRead(3 * MiB, MiB, 1024 * MiB);
  p.onRead(4 * MiB, MiB, 1024 * MiB);
  assert.equal(p.currentWindowBytes, 32 * MiB, 'capped at the maximum');
});

test('requests reordered by the kernel stay sequential and do not grow the window twice', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  p.onRead(0, MiB, 1024 * MiB);
  p.onRead(2 * MiB, MiB, 1024 * MiB);
  const window = p.currentWindowBytes;
  const d = p.onRead(MiB, MiB, 1024 * MiB);
  assert.equal(d.isSequential, true);
  assert.equal(p.currentWindowBytes, window, 'a read behind the frontier does not grow it');
  assert.equal(d.prefetchLength, 0, 'nothing new to ask for');
});

test('read-ahead stops at the end of the file', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  assert.deepEqual(p.onRead(0, MiB, 2 * MiB), { isSequential: true, prefetchOffset: MiB, prefetchLength: MiB });
  assert.equal(p.onRead(MiB, MiB, 2 * MiB).prefetchLength, 0);
});

test('a random read resets the window; the next run starts over', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  p.onRead(0, MiB, 1024 * MiB);
  p.onRead(MiB, MiB, 1024 * MiB);
  const r = p.onRead(500 * MiB, 4096, 1024 * MiB);
  assert.deepEqual(r, { isSequential: false, prefetchOffset: 500 * MiB + 4096, prefetchLength: 0 });
  assert.equal(p.currentWindowBytes, 0);
  const s = p.onRead(500 * MiB + 4096, MiB, 1024 * MiB);
  assert.equal(s.isSequential, true);
  assert.equal(p.currentWindowBytes, 4 * MiB);
});

test('a first read away from offset 0 is random', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  assert.equal(p.onRead(10 * MiB, MiB, 1024 * MiB).isSequential, false);
});
