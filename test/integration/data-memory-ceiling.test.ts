/**
 * Memory ceiling: a fast writer against a slow store stays under the
 * configured buffer memory (writers wait, they are not buffered without
 * bound), and everything it wrote arrives intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { DataClient } from '../../client/data/data-client.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';
import { SMALL_GEOMETRY } from './data-model.js';

/** A store whose PUTs take `delayMs` each: a slow link. */
function slowStore(inner: ObjectStore, delayMs: number): ObjectStore {
  return {
    description: `slow(${inner.description})`,
    put: async (k, d) => {
      await new Promise((r) => setTimeout(r, delayMs));
      await inner.put(k, d);
    },
    get: (k, r) => inner.get(k, r),
    head: (k) => inner.head(k),
    delete: (k) => inner.delete(k),
    deleteMany: (ks) => inner.deleteMany(ks),
    list: (p, c, l) => inner.list(p, c, l),
    close: () => inner.close(),
  };
}

test('a fast writer against a slow store stays under the memory ceiling', async () => {
  const dir = await makeTempDir('memceiling');
  const limit = 512 << 10;
  const meta = new ReferenceChunkInfoStore();
  const client = await DataClient.start({
    fsId: 1,
    geometry: SMALL_GEOMETRY,
    store: slowStore(new LocalObjectStore(dir.path), 25),
    chunkInfos: meta,
    chunkIds: new ReferenceChunkIdAllocator(),
    memoryLimitBytes: limit,
    uploadConcurrency: 2,
    flushIntervalMs: 1_000,
    writeWaitTimeoutMs: 20_000,
  });
  try {
    const total = 3 << 20;
    const chunk = 24 << 10;
    const h = client.open(1, 0);
    let maxWaiting = 0;
    const sampler = setInterval(() => {
      maxWaiting = Math.max(maxWaiting, client.budget.waitingCount);
      assert.ok(client.bufferedBytes <= limit);
    }, 2);
    // Several writers at once (different files too) all share the one ceiling.
    const h2 = client.open(2, 0);
    const writeFile = async (handle: typeof h, seed: number): Promise<void> => {
      for (let off = 0; off < total; off += chunk) await handle.write(off, Buffer.alloc(chunk, (off / chunk + seed) & 0xff));
    };
    const started = performance.now();
    await Promise.all([writeFile(h, 0), writeFile(h2, 7)]);
    await h.close();
    await h2.close();
    clearInterval(sampler);
    const elapsedMs = performance.now() - started;
    assert.ok(client.budget.peakBytes <= limit, `peak ${client.budget.peakBytes} > ${limit}`);
    assert.ok(maxWaiting > 0, 'writers had to wait: the store was the bottleneck');
    // 6 MiB through a 2-way, 25 ms per 64 KiB store takes over a second: the writers were throttled, not buffered.
    assert.ok(elapsedMs > 1_000, `writers were not throttled (${elapsedMs} ms)`);
    const r = client.open(1, meta.lengthOf(1));
    for (let off = 0; off < total; off += 1 << 20) {
      const got = await r.read(off, 1 << 20);
      for (let i = 0; i < got.length; i += chunk) assert.equal(got[i], ((off + i) / chunk) & 0xff);
    }
    await r.close();
  } finally {
    await client.close();
    await dir.remove();
  }
});
