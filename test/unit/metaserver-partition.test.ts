import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { CorruptionError } from '../../src/common/errors.js';
import { CopysetStateMachine } from '../../metaserver/partition/copyset-state-machine.js';
import { decodeSnapshot, encodeSnapshot, snapshotChunks } from '../../metaserver/partition/snapshot-codec.js';
import { TxStatus } from '../../metaserver/partition/partition-tx.js';
import { PartitionStatus, type ChunkInfo } from '../../metaserver/partition/types.js';
import { FS_ID, FileType, MetaHarness, OpType, ROOT_INODE_ID, XattrSetMode } from '../helpers/meta-ops.js';

const ROOT = ROOT_INODE_ID;

function fresh(partitions = 1): MetaHarness {
  const h = new MetaHarness();
  h.setup(partitions);
  return h;
}

test('mkdir and create update the parent: nlink for subdirectories, mtime and ctime', () => {
  const h = fresh();
  const before = h.inode(ROOT).inode!;
  assert.equal(before.nlink, 2);
  const dir = h.make(ROOT, 'd', FileType.Directory);
  assert.equal(dir.status, S.OK);
  const file = h.make(ROOT, 'f', FileType.File);
  assert.equal(file.status, S.OK);
  const root = h.inode(ROOT).inode!;
  assert.equal(root.nlink, 3, 'one subdirectory');
  assert.ok(root.mtime.sec > before.mtime.sec);
  assert.deepEqual(root.mtime, root.ctime);
  assert.equal(h.inode(dir.inodeId).inode!.nlink, 2);
  assert.equal(h.inode(file.inodeId).inode!.nlink, 1);
  assert.deepEqual(h.inode(file.inodeId).inode!.parents, [ROOT]);
  const again = h.createDentry(ROOT, 'f', 999, FileType.File);
  assert.equal(again.status, S.EXIST);
  assert.equal(again.dentry!.inodeId, file.inodeId, 'EXIST names what the name points to');
});

test('names: 1..255 bytes, no slash, no NUL, not . or ..', () => {
  const h = fresh();
  const id = h.createInode(1, FileType.File, ROOT).inode!.inodeId;
  assert.equal(h.createDentry(ROOT, 'a'.repeat(255), id, FileType.File).status, S.OK);
  assert.equal(h.createDentry(ROOT, 'b'.repeat(256), id, FileType.File).status, S.NAME_TOO_LONG);
  assert.equal(h.createDentry(ROOT, 'é'.repeat(128), id, FileType.File).status, S.NAME_TOO_LONG, '256 UTF-8 bytes');
  assert.equal(h.createDentry(ROOT, '', id, FileType.File).status, S.PARAM_ERROR);
  assert.equal(h.createDentry(ROOT, 'a/b', id, FileType.File).status, S.PARAM_ERROR);
  assert.equal(h.createDentry(ROOT, 'a\0b', id, FileType.File).status, S.PARAM_ERROR);
  assert.equal(h.createDentry(ROOT, '..', id, FileType.File).status, S.PARAM_ERROR);
  assert.equal(h.lookup(ROOT, 'a'.repeat(255)).status, S.OK);
});

test('ENOTDIR, EISDIR and ENOTEMPTY rules', () => {
  const h = fresh();
  const file = h.make(ROOT, 'f', FileType.File);
  const dir = h.make(ROOT, 'd', FileType.Directory);
  assert.equal(h.createDentry(file.inodeId, 'x', 5, FileType.File).status, S.NOT_DIR);
  assert.equal(h.lookup(file.inodeId, 'x').status, S.NOT_DIR);
  assert.equal(h.deleteDentry(ROOT, 'd', FileType.File).status, S.IS_DIR, 'unlink of a directory');
  assert.equal(h.deleteDentry(ROOT, 'f', FileType.Directory).status, S.NOT_DIR, 'rmdir of a file');
  h.make(dir.inodeId, 'inner', FileType.File);
  assert.equal(h.deleteDentry(ROOT, 'd', FileType.Directory).status, S.NOT_EMPTY);
  assert.equal(h.deleteDentry(ROOT, 'missing').status, S.NOT_FOUND);
  assert.equal(h.deleteDentry(ROOT, 'f', 0, file.inodeId + 1).status, S.VERSION_MISMATCH);
  assert.equal(h.deleteDentry(dir.inodeId, 'inner', FileType.File).status, S.OK);
  assert.equal(h.deleteDentry(ROOT, 'd', FileType.Directory).status, S.OK);
  assert.equal(h.inode(ROOT).inode!.nlink, 2);
});

test('nlink 0 moves an inode to the to-delete set; an open file stays until closed', () => {
  const h = fresh();
  const file = h.make(ROOT, 'f', FileType.File);
  assert.equal(h.update(file.inodeId, { openCountDelta: 1 }).status, S.OK);
  assert.equal(h.deleteDentry(ROOT, 'f', FileType.File).status, S.OK);
  const t = h.now();
  assert.equal(h.update(file.inodeId, { nlinkDelta: -1, removeParents: [ROOT], ctime: t }).status, S.OK);
  const unlinked = h.inode(file.inodeId).inode!;
  assert.equal(unlinked.nlink, 0);
  assert.equal(unlinked.dtimeSec, t.sec);
  assert.deepEqual(h.sm.listToDelete(FS_ID, 1, 10), [], 'held open');
  assert.equal(h.apply({ type: OpType.DeleteInode, inodeId: file.inodeId }).status, S.FS_BUSY);
  assert.equal(h.update(file.inodeId, { openCountDelta: -1 }).status, S.OK);
  assert.deepEqual(h.sm.listToDelete(FS_ID, 1, 10), [{ inodeId: file.inodeId, dtimeSec: t.sec }]);
  assert.equal(h.apply({ type: OpType.DeleteInode, inodeId: file.inodeId }).status, S.OK);
  assert.equal(h.inode(file.inodeId).status, S.NOT_FOUND);
  assert.deepEqual(h.sm.listToDelete(FS_ID, 1, 10), []);
  const linked = h.make(ROOT, 'g', FileType.File);
  assert.equal(h.apply({ type: OpType.DeleteInode, inodeId: linked.inodeId }).status, S.PARAM_ERROR, 'still linked');
  assert.equal(h.update(linked.inodeId, { nlinkDelta: -2 }).status, S.PARAM_ERROR, 'nlink never negative');
  assert.equal(h.update(linked.inodeId, { openCountDelta: -1 }).status, S.PARAM_ERROR);
});

test('UpdateInode: expected version, xattr create/replace/remove, all-or-nothing', () => {
  const h = fresh();
  const file = h.make(ROOT, 'f', FileType.File);
  const v = h.inode(file.inodeId).inode!.version;
  assert.equal(h.update(file.inodeId, { mode: 0o100600, expectedVersion: v + 1 }).status, S.VERSION_MISMATCH);
  const ok = h.update(file.inodeId, { mode: 0o100600, expectedVersion: v });
  assert.equal(ok.status, S.OK);
  assert.equal(ok.version, v + 1);
  const val = new Uint8Array([1, 2, 3]);
  assert.equal(h.update(file.inodeId, { setXattrs: new Map([['user.a', val]]), xattrSetMode: XattrSetMode.Replace }).status, S.NO_DATA);
  assert.equal(h.update(file.inodeId, { setXattrs: new Map([['user.a', val]]), xattrSetMode: XattrSetMode.Create }).status, S.OK);
  assert.equal(h.update(file.inodeId, { setXattrs: new Map([['user.a', val]]), xattrSetMode: XattrSetMode.Create }).status, S.EXIST);
  assert.equal(h.update(file.inodeId, { removeXattrs: ['user.nope'] }).status, S.NO_DATA);
  // A refused update changes nothing, not even the fields before the bad one.
  assert.equal(h.update(file.inodeId, { mode: 0o100000, removeXattrs: ['user.nope'] }).status, S.NO_DATA);
  assert.equal(h.inode(file.inodeId).inode!.mode, 0o100600);
  assert.equal(h.update(file.inodeId, { setXattrs: new Map([['user.big', new Uint8Array(65 * 1024)]]) }).status, S.RANGE_ERROR);
  const xattrs = h.sm.batchGetXAttr(FS_ID, 1, [file.inodeId, 424242]);
  assert.equal(xattrs.xattrs.length, 1);
  assert.deepEqual([...xattrs.xattrs[0]!.xattrs.keys()], ['user.a']);
  assert.equal(h.update(file.inodeId, { removeXattrs: ['user.a'] }).status, S.OK);
  assert.equal(h.inode(file.inodeId).inode!.xattrs.size, 0);
  assert.equal(h.update(424242, { mode: 1 }).status, S.NOT_FOUND);
  const attrs = h.sm.batchGetInodeAttr(FS_ID, 1, [ROOT, file.inodeId, 424242]);
  assert.deepEqual(attrs.attrs.map((a) => a.inodeId), [ROOT, file.inodeId]);
  assert.equal(h.sm.batchGetInodeAttr(FS_ID, 1, new Array(10_001).fill(1)).status, S.PARAM_ERROR);
});

test('AppendChunkInfo dedupes a retried append, grows length monotonically; ReplaceChunkInfo is conditional', () => {
  const h = fresh();
  const file = h.make(ROOT, 'f', FileType.File);
  const a: ChunkInfo = { chunkId: 10, compaction: 0, offset: 0, length: 4096, zero: false };
  const b: ChunkInfo = { chunkId: 11, compaction: 0, offset: 4096, length: 100, zero: false };
  const append = (info: ChunkInfo, length: number) =>
    h.apply({ type: OpType.AppendChunkInfo, inodeId: file.inodeId, appends: [{ chunkIndex: 0, info }], length, mtime: h.now() });
  assert.equal(append(a, 4096).status, S.OK);
  assert.equal(append(a, 4096).status, S.OK, 'retry');
  assert.equal(append(b, 4196).status, S.OK);
  assert.equal(append({ ...b, chunkId: 12, offset: 0, length: 10 }, 10).status, S.OK);
  const got = h.sm.getChunkInfo(FS_ID, 1, file.inodeId, []);
  assert.deepEqual(got.chunks.get(0)!.map((c) => c.chunkId), [10, 11, 12]);
  assert.equal(h.inode(file.inodeId).inode!.length, 4196, 'a later short write never shrinks the file');
  const merged: ChunkInfo = { chunkId: 12, compaction: 1, offset: 0, length: 4196, zero: false };
  const stale = h.apply({ type: OpType.ReplaceChunkInfo, inodeId: file.inodeId, chunkIndex: 0, expected: [a, b], replacement: [merged] });
  assert.equal(stale.status, S.VERSION_MISMATCH, 'an append happened since the compactor read the list');
  const current = got.chunks.get(0)!;
  const replaced = h.apply({ type: OpType.ReplaceChunkInfo, inodeId: file.inodeId, chunkIndex: 0, expected: current, replacement: [merged] });
  assert.equal(replaced.status, S.OK);
  assert.deepEqual(h.sm.getChunkInfo(FS_ID, 1, file.inodeId, [0]).chunks.get(0), [merged]);
  const dir = h.make(ROOT, 'd', FileType.Directory);
  assert.equal(h.apply({ type: OpType.AppendChunkInfo, inodeId: dir.inodeId, appends: [], length: 0 }).status, S.IS_DIR);
  assert.equal(append({ ...a, length: 0 }, 0).status, S.PARAM_ERROR);
});

test('a partition refuses allocation once its range is spent and turns read-only', () => {
  const h = new MetaHarness();
  assert.equal(h.apply({ type: OpType.CreatePartition, partitionId: 3, start: 100, end: 102 }).status, S.OK);
  assert.equal(h.apply({ type: OpType.CreatePartition, partitionId: 3, start: 100, end: 102 }).status, S.OK, 'retry');
  assert.equal(h.apply({ type: OpType.CreatePartition, partitionId: 3, start: 100, end: 200 }).status, S.EXIST);
  assert.equal(h.apply({ type: OpType.CreatePartition, partitionId: 4, start: 102, end: 300 }).status, S.EXIST, 'overlap');
  assert.equal(h.apply({ type: OpType.CreatePartition, partitionId: 5, start: 0, end: 2 ** 21 }).status, S.PARAM_ERROR);
  const ids = [0, 1, 2].map(() => h.createInode(3, FileType.File, 0).inode!.inodeId);
  assert.deepEqual(ids, [100, 101, 102]);
  assert.equal(h.createInode(3, FileType.File, 0).status, S.PARTITION_ALLOC_ID_FAIL);
  assert.equal(h.sm.partition(3)!.info().status, PartitionStatus.ReadOnly);
  assert.equal(h.createInode(9, FileType.File, 0).status, S.PARTITION_NOT_FOUND);
  assert.equal(h.apply({ type: OpType.DeletePartition, partitionId: 3 }).status, S.OK);
  assert.equal(h.createInode(3, FileType.File, 0).status, S.PARTITION_NOT_FOUND);
});

test('apply is idempotent by index and malformed requests change nothing', () => {
  const h = fresh();
  const appliedBefore = h.sm.appliedIndex;
  const before = encodeSnapshot(h.sm);
  const op = { type: OpType.CreateInode, fsId: FS_ID, partitionId: 1, fileType: FileType.File, mode: 1, uid: 0, gid: 0, rdev: 0, symlink: '', parent: 0, time: { sec: 1, nsec: 0 } } as const;
  assert.equal(h.sm.apply(h.index, op), undefined, 'already applied');
  const bad: unknown[] = [
    { ...op, fileType: 99 },
    { ...op, mode: -1 },
    { ...op, time: { sec: 1, nsec: 1e9 } },
    { ...op, symlink: 'x' },
    { ...op, fileType: FileType.Symlink, symlink: '' },
    { ...op, fsId: 'x' },
    { type: OpType.CreateDentry, fsId: FS_ID, partitionId: 1, parentId: ROOT, name: 5, inodeId: 9, fileType: 2, time: { sec: 1, nsec: 0 } },
    { type: OpType.UpdateInode, fsId: FS_ID, partitionId: 1, inodeId: ROOT, expectedVersion: 0, nlinkDelta: 0.5 },
    { type: OpType.PrewriteRename, fsId: FS_ID, partitionId: 1, primary: null, startTs: 1, ttlMs: 1, lockTimeMs: 1, time: { sec: 1, nsec: 0 }, writes: [], inodeChanges: [], emptyDirs: [] },
  ];
  for (const b of bad) {
    h.index += 1;
    const r = h.sm.apply(h.index, b as never);
    assert.ok(r !== undefined && r.status !== S.OK, `refused: ${JSON.stringify(b)}`);
  }
  h.sm.appliedIndex = appliedBefore; // compare everything else
  assert.deepEqual(encodeSnapshot(h.sm), before);
  const copy = new CopysetStateMachine();
  copy.resetFrom(h.sm);
  assert.equal(copy.partition(1)!.inodes.size, 1, 'still only the root');
});

test('local rename: replace, type rules, no-ops, parents and nlink', () => {
  const h = fresh(2);
  const a = h.make(ROOT, 'a', FileType.File);
  const b = h.make(ROOT, 'b', FileType.File);
  const d = h.make(ROOT, 'd', FileType.Directory);
  const e = h.make(ROOT, 'e', FileType.Directory, 2);
  h.make(e.inodeId, 'x', FileType.File);
  assert.equal(h.rename(ROOT, 'a', ROOT, 'a').status, S.OK);
  assert.equal(h.rename(ROOT, 'nope', ROOT, 'z').status, S.NOT_FOUND);
  assert.equal(h.rename(ROOT, 'a', ROOT, 'd').status, S.IS_DIR);
  assert.equal(h.rename(ROOT, 'd', ROOT, 'a').status, S.NOT_DIR);
  assert.equal(h.rename(ROOT, 'd', ROOT, 'e').status, S.NOT_EMPTY);
  assert.equal(h.rename(ROOT, 'd', d.inodeId, 'self').status, S.PARAM_ERROR);
  assert.equal(h.rename(ROOT, 'a', ROOT, 'a/b').status, S.PARAM_ERROR);
  const replaced = h.rename(ROOT, 'a', ROOT, 'b');
  assert.equal(replaced.status, S.OK);
  assert.equal(replaced.replacedInodeId, b.inodeId);
  assert.equal(h.lookup(ROOT, 'b').dentry!.inodeId, a.inodeId);
  assert.equal(h.lookup(ROOT, 'a').status, S.NOT_FOUND);
  assert.equal(h.inode(b.inodeId).inode!.nlink, 0);
  assert.deepEqual(h.sm.listToDelete(FS_ID, 1, 10).map((t) => t.inodeId), [b.inodeId]);
  // Move a directory into another (on another partition): nlinks of both parents, parents list.
  assert.equal(h.rename(ROOT, 'd', e.inodeId, 'moved').status, S.OK);
  assert.equal(h.inode(ROOT).inode!.nlink, 3);
  assert.equal(h.inode(e.inodeId).inode!.nlink, 3);
  assert.deepEqual(h.inode(d.inodeId).inode!.parents, [e.inodeId]);
  // A hard link onto its own other name does nothing.
  h.update(a.inodeId, { nlinkDelta: 1, addParents: [ROOT] });
  assert.equal(h.createDentry(ROOT, 'a2', a.inodeId, FileType.File).status, S.OK);
  assert.equal(h.rename(ROOT, 'a2', ROOT, 'b').status, S.OK);
  assert.equal(h.lookup(ROOT, 'a2').dentry!.inodeId, a.inodeId, 'both names stay');
  // A piece outside this copyset: refused, nothing changed.
  assert.equal(h.rename(ROOT, 'b', 5 * 2 ** 20, 'far').status, S.PARTITION_NOT_FOUND);
  assert.equal(h.lookup(ROOT, 'b').status, S.OK);
});

test('rename transaction: locks, commit, rollback after ttl, late prewrite refused', () => {
  const h = fresh(2);
  const src = h.make(ROOT, 'src', FileType.File);
  const dir2 = h.make(ROOT, 'dir2', FileType.Directory, 2);
  const base = { ttlMs: 1000, lockTimeMs: 5_000, time: h.now(), emptyDirs: [] };
  const primary = { fsId: FS_ID, parentId: ROOT, name: 'src' };
  const p1 = h.apply({
    type: OpType.PrewriteRename, partitionId: 1, primary, startTs: 10, ...base,
    writes: [{ parentId: ROOT, name: 'src', isDelete: true, inodeId: 0, fileType: FileType.File, expectedInodeId: src.inodeId }],
    inodeChanges: [{ inodeId: src.inodeId, nlinkDelta: 0, addParents: [dir2.inodeId], removeParents: [ROOT] }],
  });
  assert.equal(p1.status, S.OK);
  const p2 = h.apply({
    type: OpType.PrewriteRename, partitionId: 2, primary, startTs: 10, ...base,
    writes: [{ parentId: dir2.inodeId, name: 'dst', isDelete: false, inodeId: src.inodeId, fileType: FileType.File, expectedInodeId: 0 }],
    inodeChanges: [],
  });
  assert.equal(p2.status, S.OK);
  const seen = h.lookup(ROOT, 'src');
  assert.equal(seen.status, S.TX_LOCKED);
  assert.equal(seen.lock!.startTs, 10);
  assert.equal(h.createDentry(dir2.inodeId, 'dst', 5, FileType.File).status, S.TX_LOCKED);
  assert.equal(h.sm.listDentry(FS_ID, 2, dir2.inodeId, '', 10, false).status, S.TX_LOCKED);
  // Another transaction on the same name conflicts.
  const other = h.apply({
    type: OpType.PrewriteRename, partitionId: 1, primary, startTs: 11, ...base,
    writes: [{ parentId: ROOT, name: 'src', isDelete: true, inodeId: 0, fileType: FileType.File, expectedInodeId: src.inodeId }],
    inodeChanges: [],
  });
  assert.equal(other.status, S.TX_LOCKED);
  // The primary's lock cannot be rolled back before its ttl.
  assert.equal(h.apply({ type: OpType.ResolveTxLock, partitionId: 1, startTs: 10, commitTs: 0, nowMs: 5_500 }).status, S.TX_LOCKED);
  assert.equal(h.sm.checkTxStatus(FS_ID, 1, 10, 5_500).txStatus, TxStatus.Pending);
  assert.equal(h.sm.checkTxStatus(FS_ID, 1, 10, 7_000).isExpired, true);
  assert.equal(h.apply({ type: OpType.CommitRename, partitionId: 1, startTs: 10, commitTs: 20 }).status, S.OK);
  assert.equal(h.sm.checkTxStatus(FS_ID, 1, 10, 7_000).txStatus, TxStatus.Committed);
  assert.equal(h.apply({ type: OpType.ResolveTxLock, partitionId: 2, startTs: 10, commitTs: 20, nowMs: 7_000 }).status, S.OK);
  assert.equal(h.apply({ type: OpType.CommitRename, partitionId: 2, startTs: 10, commitTs: 20 }).status, S.OK, 'repeat');
  assert.equal(h.apply({ type: OpType.ResolveTxLock, partitionId: 1, startTs: 10, commitTs: 0, nowMs: 9_000 }).status, S.TX_CONFLICT, 'committed stays committed');
  assert.equal(h.lookup(ROOT, 'src').status, S.NOT_FOUND);
  assert.equal(h.lookup(dir2.inodeId, 'dst').dentry!.inodeId, src.inodeId);
  assert.equal(h.lookup(dir2.inodeId, 'dst').dentry!.commitTs, 20);
  assert.deepEqual(h.inode(src.inodeId).inode!.parents, [dir2.inodeId]);
  // A transaction whose client died: expired primary rolled back, late prewrite and commit refused.
  const t2 = {
    type: OpType.PrewriteRename, partitionId: 2, primary: { fsId: FS_ID, parentId: dir2.inodeId, name: 'dst' }, startTs: 30, ...base,
    writes: [{ parentId: dir2.inodeId, name: 'dst', isDelete: true, inodeId: 0, fileType: FileType.File, expectedInodeId: src.inodeId }],
    inodeChanges: [],
  } as const;
  assert.equal(h.apply(t2).status, S.OK);
  assert.equal(h.apply({ type: OpType.ResolveTxLock, partitionId: 2, startTs: 30, commitTs: 0, nowMs: 6_001 }).status, S.OK);
  assert.equal(h.sm.checkTxStatus(FS_ID, 2, 30, 6_001).txStatus, TxStatus.RolledBack);
  assert.equal(h.apply({ type: OpType.CommitRename, partitionId: 2, startTs: 30, commitTs: 40 }).status, S.TX_CONFLICT);
  assert.equal(h.apply(t2).status, S.TX_CONFLICT, 'late prewrite');
  assert.equal(h.lookup(dir2.inodeId, 'dst').status, S.OK);
  // Prewrite against a stale view conflicts.
  const stale = h.apply({ ...t2, startTs: 50, writes: [{ ...t2.writes[0], expectedInodeId: 12345 }] });
  assert.equal(stale.status, S.TX_CONFLICT);
});

test('a large directory lists every entry once in name order, through pages', () => {
  const h = fresh();
  const dir = h.make(ROOT, 'big', FileType.Directory);
  const names: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const name = `f${((i * 7919) % 20_000).toString().padStart(6, '0')}`;
    names.push(name);
    assert.equal(h.createDentry(dir.inodeId, name, 100 + i, FileType.File).status, S.OK);
  }
  names.sort();
  const listed = h.listAll(dir.inodeId, 333);
  assert.deepEqual(listed.names, names);
  for (let i = 0; i < 20_000; i += 2) assert.equal(h.deleteDentry(dir.inodeId, names[i]!).status, S.OK);
  assert.deepEqual(h.listAll(dir.inodeId, 1000).names, names.filter((_, i) => i % 2 === 1));
  h.sm.partition(1)!.dirs.get(dir.inodeId)!.checkInvariants();
  assert.equal(h.lookup(dir.inodeId, names[1]!).status, S.OK);
  assert.equal(h.lookup(dir.inodeId, names[0]!).status, S.NOT_FOUND);
  const onlyDirs = h.sm.listDentry(FS_ID, 1, dir.inodeId, '', 10, true);
  assert.equal(onlyDirs.status, S.OK);
  assert.equal(onlyDirs.dentries.length, 0);
});

test('snapshot → restore gives the same state; corrupt snapshots are refused', async () => {
  const h = fresh(2);
  const f = h.make(ROOT, 'f', FileType.File);
  h.make(ROOT, 'd', FileType.Directory, 2);
  h.update(f.inodeId, { setXattrs: new Map([['user.k', new Uint8Array([9])]]) });
  h.apply({ type: OpType.AppendChunkInfo, inodeId: f.inodeId, appends: [{ chunkIndex: 3, info: { chunkId: 1, compaction: 0, offset: 3 * 2 ** 26, length: 5, zero: false } }], length: 3 * 2 ** 26 + 5 });
  h.apply({
    type: OpType.PrewriteRename, partitionId: 1, primary: { fsId: FS_ID, parentId: ROOT, name: 'f' }, startTs: 77, ttlMs: 100, lockTimeMs: 1, time: h.now(), emptyDirs: [],
    writes: [{ parentId: ROOT, name: 'f', isDelete: true, inodeId: 0, fileType: FileType.File, expectedInodeId: f.inodeId }], inodeChanges: [],
  });
  const chunks = encodeSnapshot(h.sm);
  const restored = await decodeSnapshot(snapshotChunks(h.sm));
  assert.deepEqual(encodeSnapshot(restored), chunks);
  assert.equal(restored.appliedIndex, h.sm.appliedIndex);
  assert.equal(restored.getDentry(FS_ID, 1, ROOT, 'f').status, S.TX_LOCKED);
  assert.deepEqual(restored.getInode(FS_ID, 1, f.inodeId), h.sm.getInode(FS_ID, 1, f.inodeId));
  // Byte-at-a-time chunking restores too.
  const all = Buffer.concat(chunks);
  const bytes = Array.from({ length: all.length }, (_, i) => all.subarray(i, i + 1));
  assert.deepEqual(encodeSnapshot(await decodeSnapshot(bytes)), chunks);
  await assert.rejects(decodeSnapshot([all.subarray(0, all.length - 3)]), CorruptionError);
  const flipped = Buffer.from(all);
  flipped[10] = flipped[10]! ^ 0xff;
  await assert.rejects(decodeSnapshot([flipped]), CorruptionError);
});

test('a snapshot is the state at the call, not at iteration', async () => {
  const h = fresh();
  const image = snapshotChunks(h.sm);
  const appliedAtCall = h.sm.appliedIndex;
  h.make(ROOT, 'later', FileType.File);
  const restored = await decodeSnapshot(image);
  assert.equal(restored.appliedIndex, appliedAtCall);
  assert.equal(restored.getDentry(FS_ID, 1, ROOT, 'later').status, S.NOT_FOUND);
});

test('a resent change (same request id) is answered with its first outcome, not applied again', async () => {
  const h = fresh();
  const create = { type: OpType.CreateInode, fileType: FileType.File, mode: 0o100644, uid: 1, gid: 1, rdev: 0, symlink: '', parent: ROOT, time: h.now(), requestId: 'session-1:1' } as const;
  const first = h.apply(create);
  const again = h.apply(create);
  assert.equal(first.status, S.OK);
  assert.equal(again.inode!.inodeId, first.inode!.inodeId, 'the same inode');
  assert.equal(h.sm.partition(1)!.nextId, first.inode!.inodeId + 1, 'one id spent');
  const other = h.apply({ ...create, requestId: 'session-1:2' });
  assert.notEqual(other.inode!.inodeId, first.inode!.inodeId);
  const id = first.inode!.inodeId;
  h.update(id, { nlinkDelta: 1, addParents: [ROOT] });
  const drop = { type: OpType.UpdateInode, partitionId: 1, inodeId: id, expectedVersion: 0, nlinkDelta: -1, requestId: 'session-1:3' } as const;
  const dropped = h.apply(drop);
  assert.equal(h.apply(drop).version, dropped.version, 'the same answer');
  assert.equal(h.inode(id).inode!.nlink, 1, 'decremented once');
  // A refused change is not remembered: once possible, its resend applies.
  const name = { type: OpType.CreateDentry, parentId: ROOT, name: 'n', inodeId: id, fileType: FileType.File, time: h.now(), requestId: 'session-1:4' } as const;
  h.createDentry(ROOT, 'n', 999, FileType.File);
  assert.equal(h.apply(name).status, S.EXIST);
  h.deleteDentry(ROOT, 'n');
  assert.equal(h.apply(name).status, S.OK);
  assert.equal(h.apply(name).status, S.OK, 'resend after success');
  assert.equal(h.lookup(ROOT, 'n').dentry!.inodeId, id);
  // Remembered across a snapshot (a resend may reach the next leader).
  const restored = await decodeSnapshot(encodeSnapshot(h.sm));
  assert.deepEqual([...restored.recentRequests], [...h.sm.recentRequests]);
  const replayed = restored.apply(h.index + 1, { ...create, fsId: FS_ID, partitionId: 1 });
  assert.equal(replayed!.inode!.inodeId, id);
});
