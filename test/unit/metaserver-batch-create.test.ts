/**
 * BatchCreateInode (many linked creates of one partition in one Raft
 * entry): each item applies as its own CreateInode would, with its own
 * result; a refused item (EXIST, a name taken earlier in the same batch,
 * another partition) changes nothing and the others still apply; request
 * ids are deduplicated across items, batches and single creates; a batch
 * with no items or too many is refused whole; the entry codec routes every
 * item as the batch and keeps each request id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { decodeEntry, encodeEntry } from '../../metaserver/copyset/op-codec.js';
import { BATCH_IDS_MAX } from '../../metaserver/partition/limits.js';
import type { BatchCreateInodeOp, CreateInodeOp, OpResult } from '../../metaserver/partition/ops.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID } from '../helpers/meta-ops.js';

const ROOT = ROOT_INODE_ID;

function fresh(): MetaHarness {
  const h = new MetaHarness();
  h.setup(2);
  return h;
}

function item(h: MetaHarness, name: string, requestId = '', partitionId = 1): CreateInodeOp {
  return {
    type: OpType.CreateInode,
    fsId: FS_ID,
    partitionId,
    fileType: FileType.File,
    mode: 0o100644,
    uid: 3,
    gid: 4,
    rdev: 0,
    symlink: '',
    parent: ROOT,
    time: h.now(),
    dentryName: name,
    ...(requestId === '' ? {} : { requestId }),
  };
}

function batch(h: MetaHarness, items: CreateInodeOp[], partitionId = 1): OpResult {
  return h.apply({ type: OpType.BatchCreateInode, partitionId, items });
}

test('a batch applies each item as its own create; a refused item does not stop the others', () => {
  const h = fresh();
  assert.equal(h.apply(item(h, 'taken')).status, S.OK);
  const before = h.sm.appliedIndex;
  const r = batch(h, [item(h, 'a'), item(h, 'taken'), item(h, 'b'), item(h, 'a'), item(h, 'c')]);
  assert.equal(r.status, S.OK);
  assert.deepEqual(r.items!.map((x) => x.status), [S.OK, S.EXIST, S.OK, S.EXIST, S.OK], 'a name taken before or earlier in the batch is EXIST');
  assert.equal(h.sm.appliedIndex, before + 1, 'one entry');
  const ids = r.items!.filter((x) => x.status === S.OK).map((x) => x.inode!.inodeId);
  assert.deepEqual(ids, [ids[0], ids[0]! + 1, ids[0]! + 2], 'refusals spend no id');
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    assert.equal(h.lookup(ROOT, name).dentry?.inodeId, ids[i]);
    assert.deepEqual(h.inode(ids[i]!).inode!.parents, [ROOT]);
  }
});

test('request ids: within a batch, on a resent batch and between batch and single creates', () => {
  const h = fresh();
  const first = batch(h, [item(h, 'x', 's:1'), item(h, 'y', 's:2'), item(h, 'x-again', 's:1')]);
  assert.deepEqual(first.items!.map((x) => x.status), [S.OK, S.OK, S.OK]);
  assert.deepEqual(first.items![2]!.inode, first.items![0]!.inode, 'a repeated id is answered with the first inode');
  assert.equal(h.lookup(ROOT, 'x-again').status, S.NOT_FOUND, 'and not applied again');

  const inodesBefore = h.sm.partitionOf(FS_ID, ROOT)!.inodes.size;
  const resent = batch(h, [item(h, 'x', 's:1'), item(h, 'y', 's:2')]);
  assert.deepEqual(resent.items!.map((x) => x.inode?.inodeId), [first.items![0]!.inode!.inodeId, first.items![1]!.inode!.inodeId]);
  assert.equal(h.sm.partitionOf(FS_ID, ROOT)!.inodes.size, inodesBefore, 'a resent batch creates nothing');

  // A single resend of a batched item, and a batched resend of a single create.
  assert.equal(h.apply(item(h, 'y', 's:2')).inode!.inodeId, first.items![1]!.inode!.inodeId);
  const single = h.apply(item(h, 'z', 's:3'));
  assert.equal(single.status, S.OK);
  assert.equal(batch(h, [item(h, 'z', 's:3'), item(h, 'w', 's:4')]).items![0]!.inode!.inodeId, single.inode!.inodeId);

  // A refused item is not remembered: its resend may succeed.
  const refused = batch(h, [item(h, 'y', 's:5'), item(h, 'v', 's:6')]);
  assert.deepEqual(refused.items!.map((x) => x.status), [S.EXIST, S.OK]);
  assert.equal(h.deleteDentry(ROOT, 'y').status, S.OK);
  assert.equal(batch(h, [item(h, 'y', 's:5'), item(h, 'u', 's:7')]).items![0]!.status, S.OK);
});

test('a batch with no items or too many is refused whole; a stray item alone', () => {
  const h = fresh();
  assert.equal(batch(h, []).status, S.PARAM_ERROR);
  const many = Array.from({ length: BATCH_IDS_MAX + 1 }, (_, i) => item(h, `n${i}`));
  assert.equal(batch(h, many).status, S.PARAM_ERROR);
  assert.equal(h.lookup(ROOT, 'n0').status, S.NOT_FOUND, 'nothing applied');
  const mixed = batch(h, [item(h, 'p'), item(h, 'q', '', 2)]);
  assert.deepEqual(mixed.items!.map((x) => x.status), [S.OK, S.PARAM_ERROR], 'an item routed elsewhere than its batch');
  assert.equal(batch(h, [item(h, 'r', '', 9)], 9).status, S.PARTITION_NOT_FOUND, 'the whole batch, as the single create');
  // An entry already applied (replay after a snapshot) is skipped whole.
  assert.equal(h.sm.apply(h.index, { type: OpType.BatchCreateInode, fsId: FS_ID, partitionId: 1, items: [item(h, 's')] }), undefined);
});

test('the entry codec routes every item as the batch and keeps each request id', () => {
  const wireItem = (name: string, requestId: string) => ({
    poolId: 9, copysetId: 9, partitionId: 77, fsId: 88, // ignored: the batch routes
    type: FileType.Symlink, mode: 0o120777, uid: 5, gid: 6, rdev: 0, symlink: '/t', parent: ROOT,
    timeSec: 1_700_000_000, timeNs: 5, xattrs: { 'user.k': Buffer.from([1, 2]) }, requestId, dentryName: name,
  });
  const op = decodeEntry(
    encodeEntry(OpType.BatchCreateInode, { poolId: 1, copysetId: 2, partitionId: 3, fsId: 4, items: [wireItem('l1', 's:9'), wireItem('l2', '')] }),
  ) as BatchCreateInodeOp;
  assert.equal(op.type, OpType.BatchCreateInode);
  assert.equal(op.fsId, 4);
  assert.equal(op.partitionId, 3);
  assert.equal(op.items.length, 2);
  const [a, b] = op.items as [CreateInodeOp, CreateInodeOp];
  assert.deepEqual(
    { ...a, xattrs: [...a.xattrs!].map(([k, v]) => [k, [...v]]) },
    {
      type: OpType.CreateInode, fsId: 4, partitionId: 3, fileType: FileType.Symlink, mode: 0o120777, uid: 5, gid: 6, rdev: 0,
      symlink: '/t', parent: ROOT, time: { sec: 1_700_000_000, nsec: 5 }, xattrs: [['user.k', [1, 2]]], dentryName: 'l1', requestId: 's:9',
    },
  );
  assert.equal(b.requestId, undefined, 'no id, no deduplication');
  assert.equal(b.dentryName, 'l2');
});
