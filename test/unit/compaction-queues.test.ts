/** The small bounded parts of the data services: delayed deletions and the byte budget. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { DelayedDeletes } from '../../metaserver/deletion/delayed-deletes.js';
import { ByteRate } from '../../metaserver/compaction/byte-rate.js';

test('delayed deletions come due in order and stay bounded', () => {
  const q = new DelayedDeletes(5);
  q.add({ dueMs: 10, fsId: 1, keys: ['a', 'b'] });
  q.add({ dueMs: 20, fsId: 1, keys: ['c'] });
  q.add({ dueMs: 30, fsId: 1, keys: [] });
  assert.equal(q.size, 3);
  assert.deepEqual(q.takeDue(9), []);
  assert.deepEqual(q.takeDue(10).map((b) => b.keys), [['a', 'b']]);
  q.add({ dueMs: 40, fsId: 2, keys: ['d', 'e', 'f', 'g', 'h'] });
  // Over the bound: the oldest batch is dropped (the sweep will find those objects).
  assert.equal(q.dropped, 1);
  assert.equal(q.size, 5);
  assert.deepEqual(q.takeDue(100).map((b) => b.fsId), [2]);
  assert.equal(q.size, 0);
});

test('the byte budget lets a second of bytes through at once, then paces', async () => {
  const clock = new ManualClock(0);
  const rate = new ByteRate(1000, clock);
  const t0 = performance.now();
  await rate.take(1000);
  assert.ok(performance.now() - t0 < 50, 'a full bucket does not wait');
  // Empty bucket: 100 bytes need 100 ms of (real) sleep; the manual clock then says time passed.
  const waiting = rate.take(100);
  clock.advance(100);
  await waiting;
  const unlimited = new ByteRate(0, clock);
  await unlimited.take(1 << 30);
});
