/**
 * One body for every MetaApi implementation (STYLE "conformance suites"):
 * the contract of client/vfs/meta-api.ts checked against the in-memory
 * reference the VFS tests use (test/helpers/vfs-memory-meta.ts) and against
 * MetaClient on a real MDS + three metaservers. If the two disagree, the VFS
 * tests are testing against the wrong model.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SeededRandom } from '../../src/common/random.js';
import { MetaClient } from '../../client/meta/index.js';
import { FileType, ROOT_INODE_ID, type MetaApi, type Timespec } from '../../client/vfs/meta-api.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { startMetaCluster, type MetaCluster } from './meta-client-cluster.js';

let cluster: MetaCluster;
let client: MetaClient;

before(async () => {
  cluster = await startMetaCluster();
  await cluster.createFs('conformance');
  client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'conformance', random: new SeededRandom(5) });
});

after(async () => {
  await client?.close();
  await cluster?.stop();
});

async function rejectsWith(promise: Promise<unknown>, status: MetaStatusCode): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof MetaError && e.status === status, `expected ${MetaStatusCode[status]}`);
}

/** The contract, step by step. `top` is a fresh directory name under the root. */
async function testMetaApi(meta: MetaApi, top: string): Promise<void> {
  let sec = 1_800_000_000;
  const t = (): Timespec => ({ sec: sec++, nsec: 123 });
  const mk = async (parent: number, name: string, type: FileType) => {
    const mode = (type === FileType.Directory ? 0o40000 : 0o100000) | 0o644;
    const attr = await meta.createInode({ type, mode, uid: 7, gid: 8, rdev: 0, symlink: '', parent, time: t() });
    await meta.createDentry({ parentInodeId: parent, name, inodeId: attr.inodeId, type }, t());
    return attr;
  };

  const rootBefore = await meta.getInodeAttr(ROOT_INODE_ID);
  const dir = await mk(ROOT_INODE_ID, top, FileType.Directory);
  assert.equal(dir.nlink, 2, 'a directory starts with nlink 2');
  assert.deepEqual(dir.parents, [ROOT_INODE_ID]);
  assert.equal((await meta.getInodeAttr(ROOT_INODE_ID)).nlink, rootBefore.nlink + 1, 'a subdirectory links its parent');

  // Files, names, lists.
  const a = await mk(dir.inodeId, 'a', FileType.File);
  assert.equal(a.nlink, 1);
  assert.equal(a.type, FileType.File);
  assert.equal(a.mode & 0o7777, 0o644);
  assert.equal(a.uid, 7);
  assert.equal(a.gid, 8);
  const when = t();
  const b = await meta.createInode({ type: FileType.File, mode: 0o100600, uid: 7, gid: 8, rdev: 0, symlink: '', parent: dir.inodeId, time: when });
  await meta.createDentry({ parentInodeId: dir.inodeId, name: 'b', inodeId: b.inodeId, type: FileType.File }, when);
  assert.deepEqual((await meta.getInodeAttr(dir.inodeId)).mtime, when, 'a new name sets the parent mtime to the given time');
  const sub = await mk(dir.inodeId, 'sub', FileType.Directory);
  await rejectsWith(meta.createDentry({ parentInodeId: dir.inodeId, name: 'a', inodeId: b.inodeId, type: FileType.File }, t()), MetaStatusCode.EXIST);
  assert.equal(await meta.getDentry(dir.inodeId, 'zzz'), null);
  assert.deepEqual(await meta.getDentry(dir.inodeId, 'a'), { parentInodeId: dir.inodeId, name: 'a', inodeId: a.inodeId, type: FileType.File });
  assert.deepEqual((await meta.listDentry(dir.inodeId, '', 100)).map((d) => d.name), ['a', 'b', 'sub']);
  assert.deepEqual((await meta.listDentry(dir.inodeId, 'a', 1)).map((d) => d.name), ['b']);
  assert.deepEqual((await meta.listDentry(dir.inodeId, '', 100, true)).map((d) => d.name), ['sub']);
  assert.equal((await meta.getInodeAttr(dir.inodeId)).nlink, 3);

  // Attributes, versions, xattrs.
  const v1 = await meta.updateInode(a.inodeId, { mode: 0o100640, setXattrs: new Map([['user.k', Uint8Array.of(9)]]) });
  const attrA = await meta.getInodeAttr(a.inodeId);
  assert.equal(attrA.version, v1);
  assert.equal(attrA.mode & 0o7777, 0o640);
  await rejectsWith(meta.updateInode(a.inodeId, { uid: 1, expectedVersion: v1 + 5 }), MetaStatusCode.VERSION_MISMATCH);
  const x = await meta.getXattrs(a.inodeId);
  assert.deepEqual([...x.xattrs], [['user.k', Uint8Array.of(9)]]);
  await meta.updateInode(a.inodeId, { removeXattrs: ['user.k'], expectedVersion: x.version });
  assert.equal((await meta.getXattrs(a.inodeId)).xattrs.size, 0);
  await meta.updateInode(a.inodeId, { nlinkDelta: 1, addParents: [sub.inodeId] });
  await meta.createDentry({ parentInodeId: sub.inodeId, name: 'a-link', inodeId: a.inodeId, type: FileType.File }, t());
  assert.equal((await meta.getInodeAttr(a.inodeId)).nlink, 2);
  const batch = await meta.batchGetInodeAttr([a.inodeId, b.inodeId, 2 ** 40]);
  assert.deepEqual(batch.map((i) => i.inodeId).sort((p, q) => p - q), [a.inodeId, b.inodeId].sort((p, q) => p - q));
  await rejectsWith(meta.getInodeAttr(2 ** 40), MetaStatusCode.NOT_FOUND);

  // Rename over an existing file: the target loses its link.
  await meta.rename({ srcParent: dir.inodeId, srcName: 'a', srcInodeId: a.inodeId, srcType: FileType.File, dstParent: dir.inodeId, dstName: 'b', expectedDstInodeId: b.inodeId, time: t() });
  assert.equal(await meta.getDentry(dir.inodeId, 'a'), null);
  assert.equal((await meta.getDentry(dir.inodeId, 'b'))?.inodeId, a.inodeId);
  // Its inode is gone or waits for the deletion service with nlink 0 (both are the contract).
  const victim = await meta.getInodeAttr(b.inodeId).catch((e: unknown) => {
    if (e instanceof MetaError && e.status === MetaStatusCode.NOT_FOUND) return null;
    throw e;
  });
  assert.equal(victim?.nlink ?? 0, 0);
  // Rename of a directory to another parent: nlinks move, the parent list follows.
  await meta.rename({ srcParent: dir.inodeId, srcName: 'sub', srcInodeId: sub.inodeId, srcType: FileType.Directory, dstParent: ROOT_INODE_ID, dstName: `${top}-sub`, expectedDstInodeId: 0, time: t() });
  assert.equal((await meta.getInodeAttr(dir.inodeId)).nlink, 2);
  assert.deepEqual((await meta.getInodeAttr(sub.inodeId)).parents, [ROOT_INODE_ID]);
  assert.equal((await meta.getDentry(ROOT_INODE_ID, `${top}-sub`))?.inodeId, sub.inodeId);

  // Removing names.
  await rejectsWith(meta.deleteDentry(dir.inodeId, 'nope', FileType.File, t()), MetaStatusCode.NOT_FOUND);
  await meta.deleteDentry(sub.inodeId, 'a-link', FileType.File, t());
  await meta.updateInode(a.inodeId, { nlinkDelta: -1, removeParents: [sub.inodeId] });
  assert.equal((await meta.getInodeAttr(a.inodeId)).nlink, 1);
  await meta.deleteDentry(ROOT_INODE_ID, `${top}-sub`, FileType.Directory, t());
  assert.equal((await meta.getInodeAttr(ROOT_INODE_ID)).nlink, rootBefore.nlink + 1, 'rmdir unlinks the parent');
  await meta.deleteDentry(dir.inodeId, 'b', FileType.File, t());
  assert.deepEqual(await meta.listDentry(dir.inodeId, '', 10), []);

  const stats = await meta.statFs();
  assert.ok(stats.inodeCount >= 1);
}

test('conformance: in-memory reference (test/helpers/vfs-memory-meta.ts)', async () => {
  await testMetaApi(new MemoryMeta(), 'mem');
});

test('conformance: MetaClient on a real MDS and three metaservers', { timeout: 60_000 }, async () => {
  await testMetaApi(client, 'real');
});
