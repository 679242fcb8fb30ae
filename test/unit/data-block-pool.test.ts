/** Pooled block buffers: reference counting, deferred reuse, and the data path reusing them without sharing bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import fc from 'fast-check';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import { BlockPool } from '../../client/data/block-pool.js';
import { ChunkDirty } from '../../client/data/dirty-ranges.js';
import { DataClient } from '../../client/data/data-client.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';

test('a released block is reused only from the next macrotask on, and only once every holder released it', async () => {
  const pool = new BlockPool(1024, 2);
  const a = pool.take();
  assert.equal(a.length, 1024);
  assert.ok(pool.owns(a));
  pool.retain(a.subarray(100, 200));
  pool.release(a);
  await nextMacrotask();
  assert.equal(pool.freeCount, 0, 'a view still holds it');
  pool.release(a.subarray(5));
  assert.equal(pool.freeCount, 0, 'not free within the same turn');
  const b = pool.take();
  assert.notEqual(b.buffer, a.buffer, 'a block released in this turn is not handed out in it');
  await nextMacrotask();
  assert.equal(pool.freeCount, 1);
  const c = pool.take();
  assert.equal(c.buffer, a.buffer, 'reused');
  assert.deepEqual(pool.stats, { taken: 3, reused: 1 });
  // Memory the pool does not own: retain and release do nothing.
  const other = Buffer.alloc(1024);
  pool.retain(other);
  pool.release(other);
  assert.ok(!pool.owns(other));
  assert.ok(!pool.owns(pool.alloc(1000)), 'a buffer of another size is not pooled');
  // The free list is bounded.
  const many = [b, c, pool.take(), pool.take()];
  for (const x of many) pool.release(x);
  await nextMacrotask();
  assert.equal(pool.freeCount, 2);
  const d = pool.take();
  pool.release(d);
  assert.throws(() => pool.release(d), /already given back/, 'a second release in the same turn');
});

test('dirty ranges with a pool hold exactly the written bytes and give every block back when cut or truncated', async () => {
  const block = 64;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(500), fc.integer({ min: 1, max: 130 }), fc.integer({ min: 1, max: 255 })), { maxLength: 30 }),
      fc.option(fc.nat(600)),
      fc.boolean(),
      async (writes, truncateTo, cutFilled) => {
        const pool = new BlockPool(block, 100);
        const cd = new ChunkDirty(block, pool);
        const model = new Int16Array(700).fill(-1);
        for (const [off, len, fill] of writes) {
          cd.write(off, Buffer.alloc(len, fill), 0, () => true);
          for (let i = off; i < off + len; i++) model[i] = fill;
        }
        if (truncateTo !== null) {
          cd.truncate(truncateTo);
          for (let i = truncateTo; i < model.length; i++) model[i] = -1;
        }
        // Cut everything as the flush does: views of single parts hold their own reference.
        const cuts: Array<{ start: number; data: Buffer }> = [];
        if (cutFilled && cd.ranges.length > 0) {
          const r = cd.ranges[0]!;
          const boundary = Math.floor(r.end / block) * block;
          if (boundary > r.start && boundary < r.end) {
            cuts.push({ start: r.start, data: r.bytes(r.start, boundary) });
            r.dropBefore(boundary);
          }
        }
        while (cd.ranges.length > 0) {
          const r = cd.take(0);
          cuts.push({ start: r.start, data: r.bytes() });
          r.discard();
        }
        // New writes into recycled blocks must not show through the cut data.
        await nextMacrotask();
        const scribble = new ChunkDirty(block, pool);
        for (let i = 0; i < 10; i++) scribble.write(i * block, Buffer.alloc(block, 0xee), 0, () => true);
        let bytes = 0;
        for (const c of cuts) {
          for (let i = 0; i < c.data.length; i++) assert.equal(c.data[i], model[c.start + i]);
          bytes += c.data.length;
          pool.release(c.data);
        }
        assert.equal(bytes, model.filter((v) => v >= 0).length);
        await nextMacrotask();
        for (const c of cuts) assert.ok(!pool.owns(c.data), 'every cut block went back');
      },
    ),
    { numRuns: 200 },
  );
});

test('the data path reuses pooled blocks and reads stay byte-exact while blocks circulate', async () => {
  const dir = await makeTempDir('dc-pool');
  try {
    const G = { chunkSizeBytes: 1 << 20, blockSizeBytes: 64 << 10 };
    const store = new LocalObjectStore(dir.path);
    const meta = new ReferenceChunkInfoStore();
    // A block cache of four blocks: sequential reads evict, and evicted blocks are reused.
    const options = { fsId: 1, geometry: G, store, chunkInfos: meta, chunkIds: new ReferenceChunkIdAllocator(), blockCacheBytes: 4 * G.blockSizeBytes, readAheadMaxBytes: 4 * G.blockSizeBytes };
    const total = 40 * G.blockSizeBytes + 777;
    const data = Buffer.allocUnsafe(total);
    for (let i = 0; i < total; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
    // Room for four blocks: the writer waits for uploads, whose blocks come back to it.
    const writer = await DataClient.start({ ...options, memoryLimitBytes: 4 * G.blockSizeBytes });
    const w = writer.open(3, 0);
    for (let off = 0; off < total; off += 48 << 10) await w.write(off, data.subarray(off, Math.min(total, off + (48 << 10))));
    await w.close();
    assert.ok(writer.pool.stats.reused > 0, 'uploaded blocks come back for later writes');
    await writer.close();

    const reader = await DataClient.start(options);
    const r = reader.open(3, meta.lengthOf(3));
    // Results of earlier reads are kept while later reads and read-ahead recycle blocks.
    const kept: Array<{ off: number; bytes: Buffer }> = [];
    for (let off = 0; off < total; off += 100_000) {
      const into = Buffer.alloc(100_000, 0xaa);
      const n = await r.readInto(off, 100_000, into);
      assert.equal(n, Math.min(100_000, total - off));
      kept.push({ off, bytes: into.subarray(0, n) });
      kept.push({ off, bytes: await r.read(off, 100_000) });
    }
    // Concurrent readers of the same objects, random offsets.
    await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const off = (i * 7919 * 64) % total;
        kept.push({ off, bytes: await r.read(off, 70_000) });
      }),
    );
    await nextMacrotask();
    for (const k of kept) assert.ok(k.bytes.equals(data.subarray(k.off, k.off + k.bytes.length)), `bytes at ${k.off}`);
    assert.ok(reader.pool.stats.reused > 0, 'fetched blocks evicted from the cache are reused');
    await r.close();
    await reader.close();
  } finally {
    await dir.remove();
  }
});
