/**
 * Read-ahead objects wait outside the LRU until their first read
 * (object-fetcher.ts): demand reads that churn the cache meanwhile do not
 * push them out, so several sequential readers sharing one cache fetch
 * each object once. The holding area is bounded: when full, its oldest
 * object moves to the LRU (still cached, no longer protected).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { ByteRange, ListPage, ObjectInfo, ObjectStore } from '../../src/object/object-store.js';
import { BlockPool } from '../../client/data/block-pool.js';
import { dataPathMetrics } from '../../client/data/data-metrics.js';
import { ObjectFetcher } from '../../client/data/object-fetcher.js';

const BLOCK = 4096;

/** Objects named by a number; each GET is counted per key. */
class CountingStore implements ObjectStore {
  readonly description = 'counting';
  readonly gets = new Map<string, number>();
  async get(key: string, range?: ByteRange, alloc?: (n: number) => Buffer): Promise<Buffer> {
    this.gets.set(key, (this.gets.get(key) ?? 0) + 1);
    const body = contentOf(key);
    if (range !== undefined) return Buffer.from(body.subarray(range.offset, range.offset + range.length));
    const out = alloc === undefined ? Buffer.allocUnsafe(body.length) : alloc(body.length);
    body.copy(out);
    return out;
  }
  async put(): Promise<void> {}
  async head(key: string): Promise<ObjectInfo> {
    return { key, sizeBytes: BLOCK };
  }
  async delete(): Promise<void> {}
  async deleteMany(): Promise<void> {}
  async list(): Promise<ListPage> {
    return { objects: [], cursor: null };
  }
  async close(): Promise<void> {}
}

function contentOf(key: string): Buffer {
  const n = Number(key.slice(1));
  return Buffer.from(Array.from({ length: BLOCK }, (_, i) => (n * 31 + i) & 0xff));
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('read-ahead objects survive demand reads that churn the cache until they are read', async () => {
  const store = new CountingStore();
  const pool = new BlockPool(BLOCK, 8);
  // Eight blocks of cache: four for read-ahead not read yet, four of LRU.
  const fetcher = new ObjectFetcher(store, 8 * BLOCK, 4, null, null, dataPathMetrics(new Registry()), undefined, pool);
  for (const k of ['a0', 'a1', 'b0', 'b1']) fetcher.prefetch(k);
  await settle();
  await settle();
  assert.equal(fetcher.aheadCount, 4);
  // Twenty other objects read on demand, several times each: the LRU turns over.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20; i++) assert.deepEqual(await fetcher.read(`c${i}`, 0, BLOCK, true), contentOf(`c${i}`));
  }
  for (const k of ['a0', 'b0', 'a1', 'b1']) assert.deepEqual(await fetcher.read(k, 100, 200, true), contentOf(k).subarray(100, 300));
  for (const k of ['a0', 'a1', 'b0', 'b1']) assert.equal(store.gets.get(k), 1, `${k} fetched once`);
  assert.equal(fetcher.aheadCount, 0, 'read objects left the holding area');
  // Once read they are ordinary LRU entries: still cached right after.
  assert.deepEqual(await fetcher.read('b1', 0, 10, true), contentOf('b1').subarray(0, 10));
  assert.equal(store.gets.get('b1'), 1);
});

test('a full holding area moves its oldest object to the LRU instead of dropping it', async () => {
  const store = new CountingStore();
  const pool = new BlockPool(BLOCK, 8);
  const fetcher = new ObjectFetcher(store, 8 * BLOCK, 8, null, null, dataPathMetrics(new Registry()), undefined, pool);
  for (let i = 0; i < 6; i++) fetcher.prefetch(`p${i}`);
  for (let i = 0; i < 4; i++) await settle();
  assert.equal(fetcher.aheadCount, 4, 'bounded to half the cache');
  assert.ok(fetcher.cachedBytes <= 8 * BLOCK, 'within the cache size');
  // p0 and p1 went to the LRU: still served from memory.
  for (let i = 0; i < 6; i++) assert.deepEqual(await fetcher.read(`p${i}`, 0, BLOCK, true), contentOf(`p${i}`));
  for (let i = 0; i < 6; i++) assert.equal(store.gets.get(`p${i}`), 1, `p${i} fetched once`);
  // Prefetching what is held or cached fetches nothing.
  fetcher.prefetch('p5');
  await settle();
  assert.equal(store.gets.get('p5'), 1);
});

test('held blocks go back to the pool once the LRU lets go of them', async () => {
  const store = new CountingStore();
  const pool = new BlockPool(BLOCK, 16);
  const fetcher = new ObjectFetcher(store, 4 * BLOCK, 4, null, null, dataPathMetrics(new Registry()), undefined, pool);
  for (let i = 0; i < 40; i++) {
    fetcher.prefetch(`s${i + 1}`);
    assert.deepEqual(await fetcher.read(`s${i}`, 0, BLOCK, true), contentOf(`s${i}`));
    // Released blocks rejoin the pool a macrotask later.
    await settle();
  }
  await settle();
  assert.ok(pool.stats.reused > 20, `blocks were reused (${pool.stats.reused} of ${pool.stats.taken})`);
  for (let i = 1; i < 40; i++) assert.equal(store.gets.get(`s${i}`), 1, `s${i} fetched once`);
});
