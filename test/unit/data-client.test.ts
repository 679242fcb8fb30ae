/** Focused behaviours of the data path, each in isolation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/common/random.js';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { backoffDelayMs, classifyS3Failure } from '../../src/object/retry-policy.js';
import { objectKey } from '../../src/layout/object-key.js';
import type { ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { Registry } from 'prom-client';
import { DataClient } from '../../client/data/data-client.js';
import { DiskReadCache } from '../../client/data/disk-read-cache.js';
import type { Timers } from '../../client/data/timers.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';

const G = { chunkSizeBytes: 256 << 10, blockSizeBytes: 64 << 10 };

/** Timers fired by hand. */
class ManualTimers implements Timers {
  private pending = new Map<number, () => void>();
  private next = 1;
  setTimeout(fn: () => void): unknown {
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get count(): number {
    return this.pending.size;
  }
  fireAll(): void {
    const fns = [...this.pending.values()];
    this.pending.clear();
    for (const fn of fns) fn();
  }
}

/** Records every PUT; checks that metadata never names an object not yet PUT. */
class RecordingStore {
  readonly puts: Array<{ key: string; length: number }> = [];
  constructor(readonly inner: ObjectStore) {}
  wrap(): ObjectStore {
    return {
      description: 'recording',
      put: async (k, d) => {
        await this.inner.put(k, d);
        this.puts.push({ key: k, length: d.length });
      },
      get: (k, r) => this.inner.get(k, r),
      head: (k) => this.inner.head(k),
      delete: (k) => this.inner.delete(k),
      deleteMany: (ks) => this.inner.deleteMany(ks),
      list: (p, c, l) => this.inner.list(p, c, l),
      close: () => this.inner.close(),
    };
  }
}

function orderCheckingMeta(meta: ReferenceChunkInfoStore, rec: RecordingStore, inodeKey: (a: ChunkInfoAppend, blockIndex: number) => string): ReferenceChunkInfoStore {
  const append = meta.appendChunkInfos.bind(meta);
  meta.appendChunkInfos = async (inodeId, records, newLength) => {
    const put = new Set(rec.puts.map((p) => p.key));
    for (const r of records) {
      if (r.info.zero) continue;
      const first = Math.floor((r.info.offset % G.chunkSizeBytes) / G.blockSizeBytes);
      const last = Math.floor(((r.info.offset + r.info.length - 1) % G.chunkSizeBytes) / G.blockSizeBytes);
      for (let b = first; b <= last; b++) assert.ok(put.has(inodeKey(r, b)), 'metadata appended before its data was PUT');
    }
    await append(inodeId, records, newLength);
  };
  return meta;
}

test('a sequential writer uploads whole blocks; data is PUT before its chunk info is appended', async () => {
  const dir = await makeTempDir('dc-seq');
  try {
    const rec = new RecordingStore(new LocalObjectStore(dir.path));
    const meta = orderCheckingMeta(new ReferenceChunkInfoStore(), rec, (a, b) =>
      objectKey('data', { fsId: 1, inodeId: 5, chunkId: a.info.chunkId, blockIndex: b, compaction: 0 }),
    );
    const registry = new Registry();
    const client = await DataClient.start({ fsId: 1, geometry: G, store: rec.wrap(), chunkInfos: meta, chunkIds: new ReferenceChunkIdAllocator(), flushIntervalMs: 60_000, metricsRegistry: registry });
    const h = client.open(5, 0);
    const total = 5 * G.blockSizeBytes + 1000;
    for (let off = 0; off < total; off += 4096) await h.write(off, Buffer.alloc(Math.min(4096, total - off), off >> 12));
    await h.close();
    assert.deepEqual(rec.puts.map((p) => p.length).sort((a, b) => a - b), [1000, ...Array(5).fill(G.blockSizeBytes)]);
    assert.equal(meta.lengthOf(5), total);
    const value = async (name: string): Promise<number> => (await registry.getSingleMetric(name)!.get()).values[0]!.value;
    assert.equal(await value('curvefs_client_data_objects_uploaded_total'), 6);
    assert.equal(await value('curvefs_client_data_uploaded_bytes_total'), total);
    assert.equal(await value('curvefs_client_data_written_bytes_total'), total);
    await client.close();
  } finally {
    await dir.remove();
  }
});

test('dirty data is flushed and committed by the flush interval, without fsync', async () => {
  const dir = await makeTempDir('dc-timer');
  try {
    const timers = new ManualTimers();
    const meta = new ReferenceChunkInfoStore();
    const client = await DataClient.start({ fsId: 1, geometry: G, store: new LocalObjectStore(dir.path), chunkInfos: meta, chunkIds: new ReferenceChunkIdAllocator(), timers });
    const h = client.open(6, 0);
    await h.write(100, Buffer.from('hello'));
    assert.equal(timers.count, 1, 'a flush timer is armed by the first dirty write');
    assert.equal(meta.recordCount(6), 0);
    timers.fireAll();
    for (let i = 0; i < 200 && meta.recordCount(6) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(meta.recordCount(6), 1);
    assert.equal(meta.lengthOf(6), 105);
    await h.close();
    await client.close();
  } finally {
    await dir.remove();
  }
});

test('the disk read cache stays within its limit, evicts the least recently used, and survives a restart', async () => {
  const dir = await makeTempDir('dc-disk');
  try {
    const cache = await DiskReadCache.open(dir.path, 10_000);
    for (let i = 0; i < 5; i++) {
      cache.offer(`d/aa/1/2/${i}_0_0`, Buffer.alloc(3000, i));
      await cache.settle();
    }
    assert.ok(cache.sizeBytes <= 10_000);
    assert.equal(await cache.read('d/aa/1/2/0_0_0'), null, 'oldest evicted');
    assert.deepEqual(await cache.read('d/aa/1/2/4_0_0', { offset: 10, length: 5 }), Buffer.alloc(5, 4));
    const reopened = await DiskReadCache.open(dir.path, 10_000);
    assert.equal(reopened.sizeBytes, cache.sizeBytes);
    assert.deepEqual(await reopened.read('d/aa/1/2/4_0_0'), Buffer.alloc(3000, 4));
  } finally {
    await dir.remove();
  }
});

test('S3 failures are classified for retry, backoff is bounded with jitter', () => {
  assert.equal(classifyS3Failure({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }), 'not-found');
  assert.equal(classifyS3Failure({ name: 'InternalError', $metadata: { httpStatusCode: 500 } }), 'retryable');
  assert.equal(classifyS3Failure({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }), 'retryable');
  assert.equal(classifyS3Failure({ name: 'Error', code: 'ECONNREFUSED' }), 'retryable');
  assert.equal(classifyS3Failure({ name: 'TimeoutError' }), 'retryable');
  assert.equal(classifyS3Failure({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), 'fatal');
  const rng = new SeededRandom(1);
  for (let attempt = 0; attempt < 40; attempt++) {
    const d = backoffDelayMs(attempt, { baseMs: 50, maxMs: 2000 }, rng);
    assert.ok(d >= 0 && d <= Math.min(2000, 50 * 2 ** attempt));
  }
});

test('with a read cache, a restarted client reads cached objects without the store', async () => {
  const dir = await makeTempDir('dc-readcache');
  try {
    const store = new LocalObjectStore(`${dir.path}/store`);
    const meta = new ReferenceChunkInfoStore();
    const options = {
      fsId: 1,
      geometry: G,
      store,
      chunkInfos: meta,
      chunkIds: new ReferenceChunkIdAllocator(),
      diskCache: { dir: `${dir.path}/cache`, limitBytes: 4 << 20, writeBack: false },
    };
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const writer = await DataClient.start(options);
    const w = writer.open(8, 0);
    await w.write(0, data);
    await w.close();
    await writer.close();
    const reader = await DataClient.start(options);
    const r = reader.open(8, meta.lengthOf(8));
    assert.ok((await r.read(0, data.length)).equals(data));
    await r.close();
    await reader.close();
    // Let the background cache writes land, then take the objects away.
    await new Promise((res) => setTimeout(res, 200));
    const keys = (await store.list('data/')).objects.map((o) => o.key);
    assert.ok(keys.length > 0);
    await store.deleteMany(keys);
    const again = await DataClient.start(options);
    const r2 = again.open(8, meta.lengthOf(8));
    assert.ok((await r2.read(0, data.length)).equals(data), 'served from the disk read cache');
    await r2.close();
    await again.close();
  } finally {
    await dir.remove();
  }
});
