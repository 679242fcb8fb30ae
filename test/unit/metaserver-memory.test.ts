/**
 * Memory per inode with its dentry stays under the 1 KiB budget of the
 * issue (measured on 100,000 files; the bench measures a million).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { measurePartitionMemory } from '../../bench/partition-memory-bench.js';

test('an inode with its dentry costs under 1 KiB of heap', () => {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc ??= runInNewContext('gc');
  const figures = measurePartitionMemory(100_000, 1000);
  assert.ok(figures.bytesPerInodeWithDentry > 50, `measured something: ${figures.bytesPerInodeWithDentry}`);
  assert.ok(figures.bytesPerInodeWithDentry < 1024, `bytes per inode+dentry: ${figures.bytesPerInodeWithDentry}`);
});
