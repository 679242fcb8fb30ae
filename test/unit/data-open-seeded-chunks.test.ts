/**
 * The open of a small file hands the data path the chunk lists its GetInode
 * brought along: the first read needs no GetChunkInfo, and the lists still
 * behave like loaded ones (a missing object reloads them; an open with
 * writes in flight does not take them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalObjectStore } from '../../src/object/local-object-store.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import { DataClient } from '../../client/data/data-client.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ReferenceChunkIdAllocator, ReferenceChunkInfoStore } from '../helpers/reference-chunk-info-store.js';

const G = { chunkSizeBytes: 256 << 10, blockSizeBytes: 64 << 10 };

/** Counts GetChunkInfo calls of the data path. */
class CountingStore extends ReferenceChunkInfoStore {
  getCalls = 0;
  override async getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]> {
    this.getCalls++;
    return super.getChunkInfos(inodeId, chunkIndex);
  }
}

/** What a GetInode with chunks would answer: every chunk of the file that has records. */
async function listsOf(meta: ReferenceChunkInfoStore, inodeId: number, length: number): Promise<Map<number, ChunkInfo[]>> {
  const out = new Map<number, ChunkInfo[]>();
  for (let c = 0; c * G.chunkSizeBytes < length; c++) {
    const list = await meta.getChunkInfos(inodeId, c);
    if (list.length > 0) out.set(c, list);
  }
  return out;
}

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('an open with the chunk lists reads without GetChunkInfo; without them it loads lazily', async () => {
  const dir = await makeTempDir('dc-seed');
  try {
    const meta = new CountingStore();
    const options = { fsId: 1, geometry: G, store: new LocalObjectStore(dir.path), chunkInfos: meta, chunkIds: new ReferenceChunkIdAllocator(), flushIntervalMs: 60_000 };
    const writer = await DataClient.start(options);
    const length = G.chunkSizeBytes + 5000; // two chunks, the second partly written
    const data = pattern(length, 7);
    const w = writer.open(3, 0);
    await w.write(0, data);
    await w.close();
    await writer.close();

    const lists = await listsOf(meta, 3, length);
    const reader = await DataClient.start(options);
    meta.getCalls = 0;
    const seeded = reader.open(3, length, lists);
    assert.deepEqual(await seeded.read(0, length), data);
    assert.equal(meta.getCalls, 0, 'the seeded open needs no GetChunkInfo');
    await seeded.close();

    const lazy = reader.open(3, length);
    assert.deepEqual(await lazy.read(0, length), data);
    assert.equal(meta.getCalls, 2, 'an open without lists loads each chunk once');
    await lazy.close();

    // A chunk the reply had no records for is a hole: zeros, still no GetChunkInfo.
    meta.getCalls = 0;
    const holes = reader.open(3, length, new Map([[0, lists.get(0)!]]));
    const tail = await holes.read(G.chunkSizeBytes, 5000);
    assert.deepEqual(tail, Buffer.alloc(5000));
    assert.equal(meta.getCalls, 0);
    await holes.close();
    await reader.close();
  } finally {
    await dir.remove();
  }
});

test('a seeded list naming an object gone (compacted) is reloaded and the read retried', async () => {
  const dir = await makeTempDir('dc-seed-gone');
  try {
    const meta = new CountingStore();
    const store = new LocalObjectStore(dir.path);
    const options = { fsId: 1, geometry: G, store, chunkInfos: meta, chunkIds: new ReferenceChunkIdAllocator(), flushIntervalMs: 60_000 };
    const writer = await DataClient.start(options);
    const first = pattern(10_000, 1);
    const w = writer.open(4, 0);
    await w.write(0, first);
    await w.close();
    const stale = await listsOf(meta, 4, first.length);
    // A later version of the bytes; the objects of the first are deleted (as compaction would).
    const second = pattern(10_000, 2);
    const before = (await store.list('', null, 1000)).objects.map((o) => o.key);
    const w2 = writer.open(4, first.length);
    await w2.write(0, second);
    await w2.close();
    await writer.close();
    await store.deleteMany(before);

    const reader = await DataClient.start(options);
    meta.getCalls = 0;
    const h = reader.open(4, first.length, stale);
    assert.deepEqual(await h.read(0, first.length), second);
    assert.equal(meta.getCalls, 1, 'the missing object made the read reload the list once');
    await h.close();
    await reader.close();
  } finally {
    await dir.remove();
  }
});

test('an open while this client has writes in flight ignores the lists it is handed', async () => {
  const dir = await makeTempDir('dc-seed-busy');
  try {
    const meta = new CountingStore();
    const options = { fsId: 1, geometry: G, store: new LocalObjectStore(dir.path), chunkInfos: meta, chunkIds: new ReferenceChunkIdAllocator(), flushIntervalMs: 60_000 };
    const client = await DataClient.start(options);
    const w = client.open(5, 0);
    await w.write(0, Buffer.from('buffered'));
    meta.getCalls = 0;
    // Lists that say the file is empty: taken, they would hide nothing here,
    // but the open must not take them while the inode is busy.
    const r = client.open(5, 8, new Map());
    assert.deepEqual(await r.read(0, 8), Buffer.from('buffered'));
    assert.equal(meta.getCalls, 1, 'a busy inode loads its list as before');
    await r.close();
    await w.close();
    await client.close();
  } finally {
    await dir.remove();
  }
});
