/**
 * Compaction on a real cluster (embedded MDS, three metaservers, local
 * object store):
 *  - random 4 KiB overwrites of a 64 MiB file make hundreds of chunk-info
 *    records; compaction cuts records and objects by at least 10x and the
 *    content is identical (sha256), superseded objects go after the grace;
 *  - a client write racing a compaction (injected between the compactor's
 *    PUTs and its commit) makes it abort cleanly: refused commit, its new
 *    objects deleted, content as the model says;
 *  - a writer and a reader running while compaction passes run back to
 *    back always read what the byte-array model says;
 *  - a reader that holds the old list past the grace finds the objects
 *    gone, reloads the list and reads the same bytes (DESIGN §5).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SeededRandom } from '../../src/common/random.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { parseObjectKey } from '../../src/layout/object-key.js';
import { fsckScan } from '../../cli/fsck-scan.js';
import { silentLogger } from '../../src/common/log.js';
import { DataClient } from '../../client/data/data-client.js';
import {
  chunkRecordCount,
  createFile,
  inodeObjects,
  readWhole,
  runPasses,
  sha256,
  startDataCluster,
  type DataCluster,
} from './compaction-shared.js';

const MiB = 1 << 20;
const GRACE_MS = 300;

/** Injection point: called before each compaction PUT (compaction > 0 keys). */
let beforeCompactionPut: ((key: string) => Promise<void>) | null = null;

function hooked(store: ObjectStore): ObjectStore {
  return {
    description: store.description,
    async put(key, data) {
      const parts = parseObjectKey(key);
      if (parts !== null && parts.compaction > 0 && beforeCompactionPut !== null) await beforeCompactionPut(key);
      return store.put(key, data);
    },
    get: (key, range) => store.get(key, range),
    head: (key) => store.head(key),
    delete: (key) => store.delete(key),
    deleteMany: (keys) => store.deleteMany(keys),
    list: (prefix, cursor, limit) => store.list(prefix, cursor, limit),
    close: () => Promise.resolve(),
  };
}

let dc: DataCluster;

before(async () => {
  dc = await startDataCluster('cmp', { graceMs: GRACE_MS, intervalMs: 1_000, compaction: { bytesPerSecond: 0, recordsMax: 20 } }, hooked);
});

after(async () => {
  await dc?.stop();
});

async function fsckClean(): Promise<void> {
  const report = await fsckScan({
    meta: dc.meta,
    store: dc.store,
    fsId: dc.fsInfo.fsId,
    keyPrefix: 'data',
    geometry: { chunkSizeBytes: dc.fsInfo.chunkSizeBytes, blockSizeBytes: dc.fsInfo.blockSizeBytes },
  });
  assert.deepEqual(report.missing, [], 'no reference to a missing object');
  assert.deepEqual(report.orphans, [], 'no orphan object');
}

/** Runs passes until the grace has passed and the superseded objects are gone. */
async function settle(): Promise<void> {
  await runPasses(dc.services);
  await new Promise((r) => setTimeout(r, GRACE_MS + 50));
  await runPasses(dc.services, 2);
}

test('random 4 KiB overwrites of a 64 MiB file: compaction cuts records and objects >= 10x, same bytes', { timeout: 85_000 }, async () => {
  const size = 64 * MiB;
  const inode = await createFile(dc.meta, 'big');
  await dc.meta.registerOpen(inode.inodeId);
  const rnd = new SeededRandom(64);
  const model = Buffer.alloc(size);
  for (let i = 0; i < size; i++) model[i] = (i * 7 + (i >> 12)) & 0xff;
  const h = dc.data.open(inode.inodeId, 0);
  for (let off = 0; off < size; off += 4 * MiB) await h.write(off, model.subarray(off, off + 4 * MiB));
  await h.fsync();
  const OVERWRITES = 400;
  for (let i = 0; i < OVERWRITES; i++) {
    const off = rnd.int(size / 4096) * 4096;
    const page = Buffer.alloc(4096, (i * 13 + 1) & 0xff);
    page.copy(model, off);
    await h.write(off, page);
    await h.fsync();
  }
  await h.close();
  await dc.meta.unregisterOpen(inode.inodeId);
  const recordsBefore = await chunkRecordCount(dc.meta, inode.inodeId, 1);
  const objectsBefore = (await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId)).length;
  assert.ok(recordsBefore >= 400, `hundreds of records (${recordsBefore})`);
  assert.equal(sha256(await readWhole(dc.data, inode.inodeId, size)), sha256(model));

  const started = performance.now();
  await settle();
  const compactMs = performance.now() - started;
  const recordsAfter = await chunkRecordCount(dc.meta, inode.inodeId, 1);
  const objectsAfter = (await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId)).length;
  const stats = dc.services.map((s) => s.stats);
  console.log(
    `compaction: records ${recordsBefore} -> ${recordsAfter}, objects ${objectsBefore} -> ${objectsAfter}, ` +
      `${Math.round(compactMs)} ms incl. ${GRACE_MS} ms grace; read ${stats.reduce((a, s) => a + s.bytesRead, 0)} B, ` +
      `wrote ${stats.reduce((a, s) => a + s.bytesWritten, 0)} B`,
  );
  assert.ok(recordsAfter * 10 <= recordsBefore, `records ${recordsBefore} -> ${recordsAfter}`);
  assert.ok(objectsAfter * 10 <= objectsBefore, `objects ${objectsBefore} -> ${objectsAfter}`);
  assert.equal(sha256(await readWhole(dc.data, inode.inodeId, size)), sha256(model), 'identical content');
  assert.equal(stats.reduce((a, s) => a + s.chunksCompacted, 0), 1);
  assert.equal(stats.reduce((a, s) => a + s.failures, 0), 0);
  await fsckClean();
});

test('a write racing a compaction aborts it cleanly: commit refused, new objects deleted', { timeout: 60_000 }, async () => {
  const inode = await createFile(dc.meta, 'raced');
  const size = 2 * MiB;
  const model = Buffer.alloc(size, 1);
  const h = dc.data.open(inode.inodeId, 0);
  await h.write(0, model);
  await h.fsync();
  for (let i = 0; i < 30; i++) {
    const page = Buffer.alloc(4096, i + 2);
    page.copy(model, i * 8192);
    await h.write(i * 8192, page);
    await h.fsync();
  }
  let injected = 0;
  beforeCompactionPut = async () => {
    if (injected++ > 0) return;
    // A client appends while the compactor is between reading the list and committing.
    const page = Buffer.alloc(4096, 0xee);
    page.copy(model, 4096);
    await h.write(4096, page);
    await h.fsync();
  };
  const racedBefore = dc.services.reduce((a, s) => a + s.stats.compactionsRaced, 0);
  await runPasses(dc.services);
  beforeCompactionPut = null;
  assert.equal(dc.services.reduce((a, s) => a + s.stats.compactionsRaced, 0), racedBefore + 1, 'the compaction aborted');
  const leftovers = (await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId)).filter((k) => parseObjectKey(k)!.compaction > 0);
  assert.deepEqual(leftovers, [], 'the aborted compaction deleted its objects');
  assert.equal(sha256(await readWhole(dc.data, inode.inodeId, size)), sha256(model), 'the racing write is kept');
  // A later pass compacts it for real.
  await settle();
  assert.ok((await chunkRecordCount(dc.meta, inode.inodeId, 1)) <= 2);
  assert.equal(sha256(await readWhole(dc.data, inode.inodeId, size)), sha256(model));
  await h.close();
  await fsckClean();
});

test('writer and reader during back-to-back compaction passes read what the model says', { timeout: 80_000 }, async () => {
  const inode = await createFile(dc.meta, 'model');
  await dc.meta.registerOpen(inode.inodeId);
  const size = 6 * MiB;
  const rnd = new SeededRandom(9);
  const model = Buffer.alloc(size);
  const w = dc.data.open(inode.inodeId, 0);
  await w.write(0, model);
  await w.fsync();
  const total = (f: (x: (typeof dc.services)[number]['stats']) => number): number => dc.services.reduce((a, s) => a + f(s.stats), 0);
  const compactedBefore = total((s) => s.chunksCompacted);
  const racedBefore = total((s) => s.compactionsRaced);
  let stop = false;
  let passes = 0;
  const compacting = (async () => {
    while (!stop) {
      await runPasses(dc.services);
      passes++;
      // A pass with nothing to do never leaves the microtask queue: let I/O run.
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const probe = async (label: string): Promise<void> => {
    const at = rnd.int(size - 65_536);
    const r = dc.data.open(inode.inodeId, size);
    const got = await r.read(at, 65_536);
    await r.close();
    assert.ok(got.equals(model.subarray(at, at + 65_536)), `read at ${at} ${label}`);
  };
  try {
    for (let i = 0; i < 150; i++) {
      const off = rnd.int(size - 20_000);
      const len = 1 + rnd.int(16_384);
      const bytes = Buffer.alloc(len, (i % 250) + 1);
      bytes.copy(model, off);
      await w.write(off, bytes);
      await w.fsync();
      if (i % 10 === 9) await probe(`after write ${i}`);
      if (i % 30 === 29) {
        // A quiet moment: let a compaction commit, then write and read on top of the new list.
        const target = total((s) => s.chunksCompacted) + 1;
        for (let t = 0; t < 100 && total((s) => s.chunksCompacted) < target; t++) await new Promise((r) => setTimeout(r, 20));
        await probe(`after the compaction following write ${i}`);
      }
    }
  } finally {
    stop = true;
    await compacting;
  }
  await w.close();
  await dc.meta.unregisterOpen(inode.inodeId);
  assert.equal(sha256(await readWhole(dc.data, inode.inodeId, size)), sha256(model));
  const compacted = total((s) => s.chunksCompacted) - compactedBefore;
  const raced = total((s) => s.compactionsRaced) - racedBefore;
  console.log(`model: ${passes} passes, ${compacted} compactions committed between writes, ${raced} aborted by racing writes`);
  assert.ok(compacted >= 3, 'compactions committed while the file was in use');
  assert.equal(total((s) => s.failures), 0);
  await settle();
  assert.equal(sha256(await readWhole(dc.data, inode.inodeId, size)), sha256(model));
  await fsckClean();
});

test('a reader holding the pre-compaction list past the grace re-reads the list and gets the same bytes', { timeout: 60_000 }, async () => {
  const inode = await createFile(dc.meta, 'held-list');
  const size = 1 * MiB;
  const model = Buffer.alloc(size, 4);
  const w = dc.data.open(inode.inodeId, 0);
  await w.write(0, model);
  await w.fsync();
  for (let i = 0; i < 25; i++) {
    const page = Buffer.alloc(4096, 50 + i);
    page.copy(model, i * 12_288);
    await w.write(i * 12_288, page);
    await w.fsync();
  }
  await w.close();
  // A second client (own caches) opens and reads: it now holds the fragmented list.
  const other = await DataClient.start({
    fsId: dc.fsInfo.fsId,
    geometry: { chunkSizeBytes: dc.fsInfo.chunkSizeBytes, blockSizeBytes: dc.fsInfo.blockSizeBytes },
    store: dc.store,
    chunkInfos: dc.meta,
    chunkIds: dc.meta,
    blockCacheBytes: 0,
    logger: silentLogger,
  });
  try {
    const r = other.open(inode.inodeId, size);
    assert.ok((await r.read(0, 4096)).equals(model.subarray(0, 4096)));
    await settle(); // compacted, and the superseded objects deleted after the grace
    assert.ok((await chunkRecordCount(dc.meta, inode.inodeId, 1)) <= 2, 'compacted');
    assert.equal(sha256(await r.read(0, size)), sha256(model), 'same bytes through the old handle');
    await r.close();
  } finally {
    await other.close();
  }
});
