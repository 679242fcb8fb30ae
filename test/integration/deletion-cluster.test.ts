/**
 * Data deletion on a real cluster (embedded MDS, three metaservers, local
 * object store):
 *  - many files created (one 4 KiB object each) and unlinked: after the
 *    deletion passes no object of theirs is left, their records are gone,
 *    and fsck finds no orphan and nothing missing;
 *  - an unlinked file still open in a live session keeps its data until it
 *    is closed;
 *  - a shrinking truncate frees the objects past the new end (after the
 *    grace), and what is left still reads correctly.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { fsckScan } from '../../cli/fsck-scan.js';
import {
  createFile,
  inodeObjects,
  listKeys,
  readWhole,
  runPasses,
  startDataCluster,
  unlinkFile,
  type DataCluster,
} from './compaction-shared.js';

/** Files created and deleted (10,000 takes ~4x longer; see the measured rate printed). */
const FILES = Number(process.env['CURVEFS_DELETION_FILES'] ?? 2_000);
const WORKERS = 16;
const GRACE_MS = 300;
const UNLINK_GRACE_MS = 400;

let dc: DataCluster;

before(async () => {
  dc = await startDataCluster('del', { graceMs: GRACE_MS, intervalMs: 1_000, deletion: { inodesPerPass: 5_000, unlinkGraceMs: UNLINK_GRACE_MS } });
});

after(async () => {
  await dc?.stop();
});

async function fsck(): Promise<{ orphans: number; missing: number; objects: number }> {
  const r = await fsckScan({
    meta: dc.meta,
    store: dc.store,
    fsId: dc.fsInfo.fsId,
    keyPrefix: 'data',
    geometry: { chunkSizeBytes: dc.fsInfo.chunkSizeBytes, blockSizeBytes: dc.fsInfo.blockSizeBytes },
  });
  return { orphans: r.orphans.length, missing: r.missing.length, objects: r.objects };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until the MDS lists the inode as open by a live session, or no longer does. */
async function untilOpenAtMds(inodeId: number, isOpen: boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const reply = await dc.cluster.mdsClient.callOk('GetFsDataInfo', { fsId: dc.fsInfo.fsId });
    if (reply.openInodeIds.includes(inodeId) === isOpen) return;
    await sleep(50);
  }
  assert.fail(`inode ${inodeId} never became ${isOpen ? 'open' : 'closed'} at the MDS`);
}

async function writeSmall(inodeId: number, fill: number): Promise<void> {
  const h = dc.data.open(inodeId, 0);
  await h.write(0, Buffer.alloc(4096, fill));
  await h.close();
}

test(`create and delete ${FILES} files: no object left, fsck clean`, { timeout: FILES > 2_000 ? 900_000 : 85_000 }, async () => {
  const ids: number[] = [];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < FILES) {
        const i = next++;
        const inode = await createFile(dc.meta, `f${i}`);
        await writeSmall(inode.inodeId, (i % 250) + 1);
        await unlinkFile(dc.meta, `f${i}`, inode.inodeId);
        ids.push(inode.inodeId);
      }
    }),
  );
  const createMs = performance.now() - t0;
  const before = (await listKeys(dc.store, 'data/')).length;
  assert.ok(before >= FILES, `every file left an object (${before})`);
  const t1 = performance.now();
  for (let pass = 0; pass < 100; pass++) {
    await runPasses(dc.services);
    if ((await listKeys(dc.store, 'data/')).length === 0) break;
    await sleep(UNLINK_GRACE_MS);
  }
  const deleteMs = performance.now() - t1;
  console.log(
    `deletion: ${FILES} files created+written+unlinked in ${Math.round(createMs)} ms ` +
      `(${Math.round((FILES * 1000) / createMs)}/s), objects deleted in ${Math.round(deleteMs)} ms ` +
      `(${Math.round((FILES * 1000) / deleteMs)} inodes/s)`,
  );
  assert.deepEqual(await listKeys(dc.store, 'data/'), [], 'no object left');
  assert.equal(dc.services.reduce((a, s) => a + s.stats.inodesDeleted, 0), FILES);
  for (const id of ids.slice(0, 50)) {
    await assert.rejects(dc.meta.getInodeAttr(id), (e: unknown) => e instanceof MetaError && e.status === MetaStatusCode.NOT_FOUND);
  }
  assert.deepEqual(await fsck(), { orphans: 0, missing: 0, objects: 0 });
});

test('an unlinked file open in a live session keeps its data until closed', { timeout: 30_000 }, async () => {
  const inode = await createFile(dc.meta, 'held');
  await dc.meta.registerOpen(inode.inodeId);
  await writeSmall(inode.inodeId, 7);
  await untilOpenAtMds(inode.inodeId, true);
  await unlinkFile(dc.meta, 'held', inode.inodeId);
  await runPasses(dc.services);
  await sleep(UNLINK_GRACE_MS + 50);
  await runPasses(dc.services);
  assert.equal((await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId)).length, 1, 'kept while open');
  assert.deepEqual([...(await readWhole(dc.data, inode.inodeId, 4096))].slice(0, 3), [7, 7, 7]);
  await dc.meta.unregisterOpen(inode.inodeId);
  await untilOpenAtMds(inode.inodeId, false);
  await runPasses(dc.services);
  assert.equal((await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId)).length, 0, 'deleted once closed');
  await assert.rejects(dc.meta.getInodeAttr(inode.inodeId), (e: unknown) => e instanceof MetaError && e.status === MetaStatusCode.NOT_FOUND);
});

test('a shrinking truncate frees the objects past the new end', { timeout: 30_000 }, async () => {
  const inode = await createFile(dc.meta, 'shrink');
  const block = dc.fsInfo.blockSizeBytes;
  const h = dc.data.open(inode.inodeId, 0);
  // Four blocks in four flushes: four records, four objects.
  for (let b = 0; b < 4; b++) {
    await h.write(b * block, Buffer.alloc(block, b + 1));
    await h.fsync();
  }
  await h.close();
  await runPasses(dc.services); // the sweeps learn its length
  assert.equal((await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId)).length, 4);
  const t = dc.data.open(inode.inodeId, 4 * block);
  await t.truncate(block + 100);
  await t.close();
  await runPasses(dc.services); // shrink seen: suspects noted
  await sleep(GRACE_MS + 50);
  await runPasses(dc.services); // past the grace: deleted
  const left = await inodeObjects(dc.store, dc.fsInfo.fsId, inode.inodeId);
  assert.equal(left.length, 2, `blocks 0 and 1 stay (${left.join(', ')})`);
  const bytes = await readWhole(dc.data, inode.inodeId, block + 100);
  assert.equal(bytes[0], 1);
  assert.equal(bytes[block + 99], 2);
  assert.deepEqual(await fsck(), { orphans: 0, missing: 0, objects: 2 });
});
