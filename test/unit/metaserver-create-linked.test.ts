/**
 * CreateInode with a dentry name (one Raft entry makes the inode and its
 * name): the result equals CreateInode + CreateDentry; a refusal of the
 * name creates no inode; the parent's entries may live in another partition
 * of the copyset but not outside it; a resend under the same request id is
 * answered with the first inode; the op survives the Raft entry codec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { decodeEntry, encodeEntry } from '../../metaserver/copyset/op-codec.js';
import { FileType, MetaHarness, OpType, ROOT_INODE_ID } from '../helpers/meta-ops.js';
import type { CreateInodeOp } from '../../metaserver/partition/ops.js';

const ROOT = ROOT_INODE_ID;

function fresh(partitions = 1): MetaHarness {
  const h = new MetaHarness();
  h.setup(partitions);
  return h;
}

function linked(h: MetaHarness, partitionId: number, parent: number, name: string, fileType = FileType.File, requestId?: string) {
  return h.apply({
    type: OpType.CreateInode,
    partitionId,
    fileType,
    mode: fileType === FileType.Directory ? 0o40755 : 0o100644,
    uid: 7,
    gid: 8,
    rdev: 0,
    symlink: '',
    parent,
    time: h.now(),
    dentryName: name,
    ...(requestId === undefined ? {} : { requestId }),
  });
}

test('a linked create makes the inode and its name, as the two ops do', () => {
  const h = fresh();
  const rootBefore = h.inode(ROOT).inode!;
  const file = linked(h, 1, ROOT, 'f');
  assert.equal(file.status, S.OK);
  const id = file.inode!.inodeId;
  assert.equal(h.lookup(ROOT, 'f').dentry?.inodeId, id);
  const inode = h.inode(id).inode!;
  assert.equal(inode.nlink, 1);
  assert.deepEqual(inode.parents, [ROOT]);
  assert.equal(inode.uid, 7);
  const root = h.inode(ROOT).inode!;
  assert.ok(root.mtime.sec > rootBefore.mtime.sec, 'the parent is touched');
  assert.equal(root.nlink, rootBefore.nlink, 'a file does not add a parent link');

  const dir = linked(h, 1, ROOT, 'd', FileType.Directory);
  assert.equal(dir.status, S.OK);
  assert.equal(h.inode(ROOT).inode!.nlink, rootBefore.nlink + 1, 'a subdirectory does');
  assert.equal(h.inode(dir.inode!.inodeId).inode!.nlink, 2);
});

test('a refused name creates no inode', () => {
  const h = fresh();
  assert.equal(linked(h, 1, ROOT, 'f').status, S.OK);
  const next = h.createInode(1, FileType.File, ROOT).inode!.inodeId;
  const taken = linked(h, 1, ROOT, 'f');
  assert.equal(taken.status, S.EXIST);
  assert.equal(linked(h, 1, ROOT, 'a/b').status, S.PARAM_ERROR);
  assert.equal(linked(h, 1, next, 'x').status, S.NOT_DIR, 'the parent is a file');
  assert.equal(linked(h, 1, 9_999, 'x').status, S.NOT_FOUND, 'no such parent');
  // No id was spent on the refusals: the next inode follows the last one made.
  assert.equal(h.createInode(1, FileType.File, ROOT).inode!.inodeId, next + 1);
});

test('the parent may live in another partition of the copyset, not outside it', () => {
  const h = fresh(2);
  const inSecond = linked(h, 2, ROOT, 'far');
  assert.equal(inSecond.status, S.OK);
  assert.equal(MetaHarness.partitionOf(inSecond.inode!.inodeId), 2);
  assert.equal(h.lookup(ROOT, 'far').dentry?.inodeId, inSecond.inode!.inodeId);
  const outside = MetaHarness.rangeOf(5).start + 1;
  assert.equal(linked(h, 1, outside, 'x').status, S.PARTITION_NOT_FOUND);
});

test('a resend under the same request id is answered with the first inode', () => {
  const h = fresh();
  const first = linked(h, 1, ROOT, 'f', FileType.File, 's1:1');
  assert.equal(first.status, S.OK);
  const again = linked(h, 1, ROOT, 'f', FileType.File, 's1:1');
  assert.equal(again.status, S.OK);
  assert.equal(again.inode!.inodeId, first.inode!.inodeId);
});

test('the dentry name travels through the Raft entry codec', () => {
  const request = {
    fsId: 1, poolId: 1, copysetId: 1, partitionId: 3, type: FileType.File, mode: 0o100600, uid: 1, gid: 2, rdev: 0, symlink: '', parent: 5,
    timeSec: 1_700_000_000, timeNs: 5, xattrs: {}, requestId: 'r:1', dentryName: 'name',
  };
  const op = decodeEntry(encodeEntry(OpType.CreateInode, request)) as CreateInodeOp;
  assert.equal(op.type, OpType.CreateInode);
  assert.equal(op.dentryName, 'name');
  assert.equal(op.parent, 5);
  const plain = decodeEntry(encodeEntry(OpType.CreateInode, { ...request, dentryName: '' })) as CreateInodeOp;
  assert.equal(plain.dentryName, undefined, 'no name: the plain op');
});
