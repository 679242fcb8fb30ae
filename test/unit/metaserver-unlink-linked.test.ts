/**
 * DeleteDentry with unlinkChild (unlink in one Raft entry): the child's
 * link goes with its name when the copyset holds the child (the result's
 * version is the child's new version), exactly as DeleteDentry + UpdateInode
 * would leave it; without the flag, or when the link cannot be dropped
 * here, only the name goes and no version is answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { decodeEntry, encodeEntry } from '../../metaserver/copyset/op-codec.js';
import type { DeleteDentryOp } from '../../metaserver/partition/ops.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID } from '../helpers/meta-ops.js';

const ROOT = ROOT_INODE_ID;

function unlinkOne(h: MetaHarness, parentId: number, name: string, fileType: FileType | 0, unlinkChild = true) {
  return h.apply({
    type: OpType.DeleteDentry,
    partitionId: MetaHarness.partitionOf(parentId),
    parentId,
    name,
    fileType,
    expectedInodeId: 0,
    time: h.now(),
    ...(unlinkChild ? { unlinkChild: true } : {}),
  });
}

test('unlink with the child in the copyset: the link goes with the name', () => {
  const h = new MetaHarness();
  h.setup(2);
  const file = h.make(ROOT, 'f', FileType.File, 2);
  const before = h.inode(file.inodeId).inode!;
  const gone = unlinkOne(h, ROOT, 'f', FileType.File);
  assert.equal(gone.status, S.OK);
  const after = h.inode(file.inodeId).inode!;
  assert.equal(after.nlink, 0);
  assert.deepEqual(after.parents, []);
  assert.equal(gone.version, after.version, 'the answer is the child version');
  assert.ok(after.version > before.version);
  assert.equal(h.lookup(ROOT, 'f').status, S.NOT_FOUND);
  assert.ok(h.sm.listToDelete(FS_ID, 2, 10).some((e) => e.inodeId === file.inodeId), 'queued for deletion as after UpdateInode');
});

test('rmdir drops both links of the directory; a non-empty one is refused untouched', () => {
  const h = new MetaHarness();
  h.setup();
  const dir = h.make(ROOT, 'd', FileType.Directory);
  const full = h.make(ROOT, 'e', FileType.Directory);
  h.make(full.inodeId, 'x', FileType.File);
  const rootNlink = h.inode(ROOT).inode!.nlink;
  assert.equal(unlinkOne(h, ROOT, 'e', FileType.Directory).status, S.NOT_EMPTY);
  assert.equal(h.inode(full.inodeId).inode!.nlink, 2, 'a refusal changes nothing');
  const gone = unlinkOne(h, ROOT, 'd', FileType.Directory);
  assert.equal(gone.status, S.OK);
  assert.equal(h.inode(dir.inodeId).inode!.nlink, 0);
  assert.equal(h.inode(ROOT).inode!.nlink, rootNlink - 1);
});

test('without the flag, or with the child elsewhere, only the name goes', () => {
  const h = new MetaHarness();
  h.setup();
  const file = h.make(ROOT, 'f', FileType.File);
  const plain = unlinkOne(h, ROOT, 'f', FileType.File, false);
  assert.equal(plain.status, S.OK);
  assert.equal(plain.version, undefined);
  assert.equal(h.inode(file.inodeId).inode!.nlink, 1, 'the client drops the link itself');

  // A name of an inode no partition here holds (another copyset's).
  const elsewhere = MetaHarness.rangeOf(9).start + 3;
  assert.equal(h.createDentry(ROOT, 'far', elsewhere, FileType.File).status, S.OK);
  const far = unlinkOne(h, ROOT, 'far', FileType.File);
  assert.equal(far.status, S.OK);
  assert.equal(far.version, undefined, 'not done here');
});

test('the flag travels through the Raft entry codec', () => {
  const request = { fsId: 1, poolId: 1, copysetId: 1, partitionId: 1, parentInodeId: 1, name: 'n', type: 2, timeSec: 5, timeNs: 6, expectedInodeId: 0, unlinkChild: true, requestId: '' };
  assert.equal((decodeEntry(encodeEntry(OpType.DeleteDentry, request)) as DeleteDentryOp).unlinkChild, true);
  assert.equal((decodeEntry(encodeEntry(OpType.DeleteDentry, { ...request, unlinkChild: false })) as DeleteDentryOp).unlinkChild, undefined);
});
