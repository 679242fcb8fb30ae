/**
 * ReadAheadPolicy (pure): a sequential run's first window is the initial
 * window or FIRST_WINDOW_READS times the read that starts it, whichever is
 * larger; it doubles per read that moves the frontier up to the maximum;
 * a random read resets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIRST_WINDOW_READS, ReadAheadPolicy } from '../../client/data/read-ahead-policy.js';

const MiB = 1 << 20;

test('a run started by a large read opens a window of several reads at once', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  const d = p.onRead(0, MiB, 1024 * MiB);
  assert.equal(FIRST_WINDOW_READS, 8);
  assert.equal(p.currentWindowBytes, 8 * MiB);
  assert.deepEqual(d, { isSequential: true, prefetchOffset: MiB, prefetchLength: 8 * MiB });
  const e = p.onRead(MiB, MiB, 1024 * MiB);
  assert.equal(p.currentWindowBytes, 16 * MiB);
  assert.deepEqual(e, { isSequential: true, prefetchOffset: 9 * MiB, prefetchLength: 9 * MiB });
  p.onRead(2 * MiB, MiB, 1024 * MiB);
  p.onRead(3 * MiB, MiB, 1024 * MiB);
  assert.equal(p.currentWindowBytes, 32 * MiB, 'capped at the maximum');
});

test('a run started by a small read opens the initial window', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  const d = p.onRead(0, 4096, 100 * MiB);
  assert.equal(p.currentWindowBytes, 4 * MiB);
  assert.deepEqual(d, { isSequential: true, prefetchOffset: 4096, prefetchLength: 4 * MiB });
});

test('the first window never passes the maximum or the end of the file', () => {
  const p = new ReadAheadPolicy(MiB, 2 * MiB);
  const d = p.onRead(0, MiB, 3 * MiB);
  assert.equal(p.currentWindowBytes, 2 * MiB);
  assert.deepEqual(d, { isSequential: true, prefetchOffset: MiB, prefetchLength: 2 * MiB });
  const q = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  assert.deepEqual(q.onRead(0, MiB, 2 * MiB), { isSequential: true, prefetchOffset: MiB, prefetchLength: MiB });
});

test('a random read resets the window; the next run starts over from its first read', () => {
  const p = new ReadAheadPolicy(4 * MiB, 32 * MiB);
  p.onRead(0, MiB, 1024 * MiB);
  p.onRead(MiB, MiB, 1024 * MiB);
  const r = p.onRead(500 * MiB, 4096, 1024 * MiB);
  assert.equal(r.isSequential, false);
  assert.equal(p.currentWindowBytes, 0);
  const s = p.onRead(500 * MiB + 4096, MiB, 1024 * MiB);
  assert.equal(s.isSequential, true);
  assert.equal(p.currentWindowBytes, 8 * MiB);
});
