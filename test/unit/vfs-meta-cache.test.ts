/**
 * MetaCache: TTLs on an injected clock, negative entries with their own TTL,
 * entry budgets, TTL 0 disabling a kind, and the cost of invalidating a lone
 * entry (lru-cache with `max` wiped its preallocated arrays every time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { FileType, type InodeAttr } from '../../client/vfs/meta-api.js';
import { MetaCache } from '../../client/vfs/meta-cache.js';

const attr = (inodeId: number): InodeAttr => ({
  inodeId, type: FileType.File, mode: 0o100644, uid: 0, gid: 0, nlink: 1, length: 0, rdev: 0,
  atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 }, ctime: { sec: 0, nsec: 0 }, symlink: '', parents: [1], version: 1,
});

function cache(clock: ManualClock, overrides: Partial<ConstructorParameters<typeof MetaCache>[0]> = {}): MetaCache {
  return new MetaCache({ clock, attrTtlMs: 1000, entryTtlMs: 500, negativeEntryTtlMs: 200, attrEntriesMax: 100, dentryEntriesMax: 100, ...overrides });
}

test('entries live exactly their TTL on the injected clock', () => {
  const clock = new ManualClock(0);
  const c = cache(clock);
  c.setAttr(attr(5));
  c.setDentry(1, 'x', 5, FileType.File);
  c.setNegative(1, 'y');
  clock.advance(199);
  assert.equal(c.getDentry(1, 'y')?.inodeId, 0, 'negative entry alive');
  clock.advance(2);
  assert.equal(c.getDentry(1, 'y'), undefined, 'negative TTL is its own');
  assert.equal(c.getDentry(1, 'x')?.inodeId, 5);
  clock.advance(300);
  assert.equal(c.getDentry(1, 'x'), undefined);
  assert.equal(c.getAttr(5)?.inodeId, 5);
  clock.advance(500);
  assert.equal(c.getAttr(5), undefined);
});

test('budgets bound each cache; TTL 0 turns a kind off', () => {
  const clock = new ManualClock(10);
  const c = cache(clock, { attrEntriesMax: 10, dentryEntriesMax: 10 });
  for (let i = 1; i <= 50; i++) {
    c.setAttr(attr(i));
    c.setDentry(1, `n${i}`, i, FileType.File);
  }
  assert.equal(c.sizes.attrs, 10);
  assert.equal(c.sizes.dentries, 10);
  assert.equal(c.getAttr(50)?.inodeId, 50, 'the newest stay');
  assert.equal(c.getAttr(1), undefined, 'the oldest go');
  const off = cache(clock, { attrTtlMs: 0, entryTtlMs: 0, negativeEntryTtlMs: 0 });
  off.setAttr(attr(1));
  off.setDentry(1, 'a', 1, FileType.File);
  off.setNegative(1, 'b');
  assert.deepEqual(off.sizes, { attrs: 0, dentries: 0 });
});

test('invalidating a lone entry is cheap at the default budgets', () => {
  const c = new MetaCache({ clock: new ManualClock(0), attrTtlMs: 1000, entryTtlMs: 1000, negativeEntryTtlMs: 1000, attrEntriesMax: 100_000, dentryEntriesMax: 100_000 });
  const started = performance.now();
  for (let i = 0; i < 5_000; i++) {
    c.setXattrs(i, { xattrs: new Map(), version: 1 });
    c.dropXattrs(i);
  }
  // With lru-cache's `max` this took ~1.8 s; now a few ms. The bound leaves room for slow CI.
  assert.ok(performance.now() - started < 500, `took ${(performance.now() - started).toFixed(0)} ms`);
});
