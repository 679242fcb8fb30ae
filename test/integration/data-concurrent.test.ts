/**
 * Concurrency: several writers on one file at once, each owning a disjoint
 * region (regions straddle block and chunk boundaries), with reads checking
 * read-your-writes while other writers' flushes, commits, memory-pressure
 * cuts and timer flushes run underneath; a second handle fsyncs at random.
 * Disjoint regions keep the expected content exact despite the interleaving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/common/random.js';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { DataClient } from '../../client/data/data-client.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';
import { SMALL_GEOMETRY } from './data-model.js';

test('concurrent writers on disjoint regions of one file read their own writes and end exact', async () => {
  const dir = await makeTempDir('dataconc');
  const meta = new ReferenceChunkInfoStore();
  const options = {
    fsId: 1,
    geometry: SMALL_GEOMETRY,
    store: new LocalObjectStore(dir.path),
    chunkInfos: meta,
    chunkIds: new ReferenceChunkIdAllocator(),
    memoryLimitBytes: 256 << 10,
    blockCacheBytes: 256 << 10,
    flushIntervalMs: 5,
  };
  const client = await DataClient.start(options);
  try {
    const workers = 5;
    const regionBytes = 150_000; // not a multiple of the block size: regions straddle boundaries
    const expected = Buffer.alloc(workers * regionBytes);
    const handles = Array.from({ length: workers }, () => client.open(7, 0));
    const syncer = client.open(7, 0);
    let done = false;
    const syncLoop = (async () => {
      const rng = new SeededRandom(99);
      for (let i = 0; i < 400 && !done; i++) {
        if (rng.chance(0.3)) await syncer.fsync();
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    await Promise.all(
      handles.map(async (h, w) => {
        const rng = new SeededRandom(1000 + w);
        const base = w * regionBytes;
        for (let op = 0; op < 120; op++) {
          const off = rng.int(regionBytes);
          const len = 1 + rng.int(Math.min(40_000, regionBytes - off));
          if (rng.chance(0.6)) {
            const data = Buffer.alloc(len, (w * 37 + op) & 0xff);
            await h.write(base + off, data);
            data.copy(expected, base + off);
          } else {
            // Only bytes this worker wrote are known; the file may be shorter than the region.
            const got = await h.read(base + off, len);
            const want = expected.subarray(base + off, base + off + got.length);
            assert.ok(got.equals(want), `worker ${w} op ${op}: read [${base + off}, +${len}) differs`);
          }
        }
      }),
    );
    done = true;
    await syncLoop;
    for (const h of handles) await h.close();
    await syncer.close();
    assert.ok(client.budget.peakBytes <= options.memoryLimitBytes);
    // A second client sees exactly the union of all writes (holes as zeros).
    const other = await DataClient.start({ ...options, chunkIds: new ReferenceChunkIdAllocator(1 << 30) });
    const r = other.open(7, meta.lengthOf(7));
    const got = await r.read(0, expected.length);
    assert.ok(got.equals(expected.subarray(0, got.length)), 'final content');
    assert.equal(got.length, meta.lengthOf(7));
    await r.close();
    await other.close();
  } finally {
    await client.close();
    await dir.remove();
  }
});
