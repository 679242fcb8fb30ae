/**
 * MetaClient.lookup and createLinked against a real MDS and three
 * metaservers: GetDentry carries the child's attributes when the inode lives
 * in the same copyset (one copyset here, so always), equal to what GetInode
 * answers; a missing name is null; getDentry answers the bare dentry as
 * before. createLinked makes inode and name in one change; a taken name is
 * EXIST (that no inode is made is checked in metaserver-create-linked).
 * deleteDentryAndLink drops the name and the link in one change.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SeededRandom } from '../../src/common/random.js';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { MetaClient } from '../../client/meta/index.js';
import { FileType, ROOT_INODE_ID, type Timespec } from '../../client/vfs/meta-api.js';
import { startMetaCluster, type MetaCluster } from './meta-client-cluster.js';

let cluster: MetaCluster;
let client: MetaClient;
let clock = 1_700_000_000;
const now = (): Timespec => ({ sec: clock++, nsec: 7 });

before(async () => {
  cluster = await startMetaCluster();
  await cluster.createFs('lookup1');
  client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'lookup1', random: new SeededRandom(3), timeoutMs: 3_000, totalTimeoutMs: 30_000 });
});

after(async () => {
  await client?.close();
  await cluster?.stop();
});

test('lookup hands over the attributes read with the dentry', { timeout: 60_000 }, async () => {
  const dir = await client.createInode({ type: FileType.Directory, mode: 0o40755, uid: 1, gid: 2, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() });
  await client.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'd', inodeId: dir.inodeId, type: FileType.Directory }, now());
  const file = await client.createInode({ type: FileType.File, mode: 0o100600, uid: 3, gid: 4, rdev: 0, symlink: '', parent: dir.inodeId, time: now() });
  await client.createDentry({ parentInodeId: dir.inodeId, name: 'f', inodeId: file.inodeId, type: FileType.File }, now());
  await client.updateInode(file.inodeId, { mode: 0o100640, ctime: now() });

  const found = await client.lookup(dir.inodeId, 'f');
  assert.ok(found !== null);
  assert.deepEqual(found.dentry, { parentInodeId: dir.inodeId, name: 'f', inodeId: file.inodeId, type: FileType.File });
  assert.ok(found.attr !== undefined, 'one copyset holds both: the attributes come along');
  assert.deepEqual(found.attr, await client.getInodeAttr(file.inodeId));
  assert.equal(found.attr.mode & 0o7777, 0o640, 'the latest committed change is seen');

  assert.equal(await client.lookup(dir.inodeId, 'nope'), null);
  assert.deepEqual(await client.getDentry(dir.inodeId, 'f'), found.dentry);
});

test('createLinked: inode and name in one change; a taken name creates nothing', { timeout: 60_000 }, async () => {
  const dir = await client.createInode({ type: FileType.Directory, mode: 0o40755, uid: 1, gid: 2, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() });
  await client.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'l', inodeId: dir.inodeId, type: FileType.Directory }, now());
  const request = { type: FileType.File, mode: 0o100644, uid: 5, gid: 6, rdev: 0, symlink: '', parent: dir.inodeId, time: now() };
  const made = await client.createLinked(request, 'x');
  assert.ok(made !== null, 'one copyset: always possible');
  const found = await client.lookup(dir.inodeId, 'x');
  assert.equal(found?.dentry.inodeId, made.inodeId);
  assert.deepEqual(found?.attr, made, 'the name names the inode as created');
  assert.equal((await client.getInodeAttr(made.inodeId)).nlink, 1);

  await assert.rejects(client.createLinked(request, 'x'), (e: unknown) => e instanceof MetaError && e.status === MetaStatusCode.EXIST);
  const listed = await client.listDentry(dir.inodeId, '', 10);
  assert.deepEqual(listed.map((d) => d.name), ['x']);
});

test('deleteDentryAndLink: the name and the link in one change', { timeout: 60_000 }, async () => {
  const request = { type: FileType.File, mode: 0o100644, uid: 5, gid: 6, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() };
  const made = await client.createLinked(request, 'gone');
  assert.ok(made !== null);
  assert.equal(await client.deleteDentryAndLink(ROOT_INODE_ID, 'gone', FileType.File, now()), true, 'one copyset: done in the same change');
  assert.equal(await client.lookup(ROOT_INODE_ID, 'gone'), null);
  const after = await client.getInodeAttr(made.inodeId);
  assert.equal(after.nlink, 0);
  assert.deepEqual(after.parents, []);
  await assert.rejects(client.deleteDentryAndLink(ROOT_INODE_ID, 'gone', FileType.File, now()), (e: unknown) => e instanceof MetaError && e.status === MetaStatusCode.NOT_FOUND);
});
