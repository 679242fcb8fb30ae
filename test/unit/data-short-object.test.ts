/**
 * A store that serves an object shorter than its chunk info says (s3rver
 * rewrites a re-PUT in place; a truncated body) must not poison the caches:
 * the fetcher drops the short copy and fetches again, a bounded number of
 * times, and only then fails with CorruptionError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { CorruptionError } from '../../src/common/errors.js';
import type { ByteRange, ListPage, ObjectInfo, ObjectStore } from '../../src/object/object-store.js';
import { ObjectFetcher } from '../../client/data/object-fetcher.js';
import { dataPathMetrics } from '../../client/data/data-metrics.js';

class ShortThenWholeStore implements ObjectStore {
  readonly description = 'short-then-whole';
  gets = 0;
  constructor(
    private readonly data: Buffer,
    private readonly shortReplies: number,
  ) {}
  async get(_key: string, range?: ByteRange): Promise<Buffer> {
    this.gets++;
    const body = this.gets <= this.shortReplies ? this.data.subarray(0, this.data.length / 2) : this.data;
    return range === undefined ? Buffer.from(body) : Buffer.from(body.subarray(range.offset, range.offset + range.length));
  }
  async put(): Promise<void> {}
  async head(key: string): Promise<ObjectInfo> {
    return { key, sizeBytes: this.data.length };
  }
  async delete(): Promise<void> {}
  async deleteMany(): Promise<void> {}
  async list(): Promise<ListPage> {
    return { objects: [], cursor: null };
  }
  async close(): Promise<void> {}
}

const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));

test('a short whole-object body is refetched, not cached', async () => {
  const store = new ShortThenWholeStore(data, 2);
  const fetcher = new ObjectFetcher(store, 1 << 20, 4, null, null, dataPathMetrics(new Registry()));
  const bytes = await fetcher.read('k', 3000, 1000, true);
  assert.deepEqual(bytes, data.subarray(3000, 4000));
  assert.equal(store.gets, 3, 'two short bodies, then the whole one');
  assert.deepEqual(await fetcher.read('k', 0, 4096, true), data, 'the cached copy is the whole object');
  assert.equal(store.gets, 3);
});

test('a ranged read that stays short fails with CorruptionError after bounded attempts', async () => {
  const store = new ShortThenWholeStore(data, 1_000);
  const fetcher = new ObjectFetcher(store, 1 << 20, 4, null, null, dataPathMetrics(new Registry()));
  await assert.rejects(fetcher.read('k', 3000, 1000, false), CorruptionError);
  assert.ok(store.gets >= 2 && store.gets <= 8, `bounded attempts (${store.gets})`);
});
