/**
 * Log entries of a copyset: an RPC request framed as [type][length][protobuf]
 * decodes to the op the state machine applies; garbage decodes to nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CopysetRaftStateMachine } from '../../metaserver/copyset/copyset-node.js';
import { decodeEntry, encodeEntry, isEntryFromNewerVersion } from '../../metaserver/copyset/op-codec.js';
import { CopysetStateMachine } from '../../metaserver/partition/copyset-state-machine.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { OpType } from '../../metaserver/partition/ops.js';
import { FileType } from '../../metaserver/partition/types.js';

test('requests round-trip through log entries into ops', () => {
  const header = { poolId: 1, copysetId: 2, partitionId: 3, fsId: 4 };
  const update = decodeEntry(
    encodeEntry(OpType.UpdateInode, {
      ...header, inodeId: 99, setFields: ['mode', 'mtime'], mode: 0o100600, mtime: 1_700_000_000, mtimeNs: 5,
      setXattrs: { 'user.a': Buffer.from('x') }, nlinkDelta: -1, removeParents: [7], xattrSetMode: 1, uid: 55,
    }),
  );
  assert.deepEqual(update, {
    type: OpType.UpdateInode, fsId: 4, partitionId: 3, inodeId: 99, expectedVersion: 0, mode: 0o100600,
    mtime: { sec: 1_700_000_000, nsec: 5 }, setXattrs: new Map([['user.a', new Uint8Array([0x78])]]), xattrSetMode: 1,
    nlinkDelta: -1, removeParents: [7],
  });
  const bad = decodeEntry(encodeEntry(OpType.UpdateInode, { ...header, inodeId: 9, setFields: ['nlink'] }));
  assert.equal(bad?.type === OpType.UpdateInode && bad.expectedVersion, -1, 'an unknown set_fields name is refused at apply');
  const append = decodeEntry(
    encodeEntry(OpType.AppendChunkInfo, {
      ...header, inodeId: 5, length: 100,
      chunks: { '2': { infos: [{ chunkId: 8, compaction: 0, offset: 2 * 2 ** 26, len: 10, zero: false }] }, '0': { infos: [{ chunkId: 7, offset: 0, len: 100 }] } },
    }),
  );
  assert.deepEqual(append, {
    type: OpType.AppendChunkInfo, fsId: 4, partitionId: 3, inodeId: 5, length: 100,
    appends: [
      { chunkIndex: 0, info: { chunkId: 7, compaction: 0, offset: 0, length: 100, zero: false } },
      { chunkIndex: 2, info: { chunkId: 8, compaction: 0, offset: 2 * 2 ** 26, length: 10, zero: false } },
    ],
  });
  const prewrite = decodeEntry(
    encodeEntry(OpType.PrewriteRename, {
      ...header, primary: { fsId: 4, parentInodeId: 1, name: 'a' }, startTs: 10, ttlMs: 100, lockTimeMs: 5, timeSec: 3, timeNs: 4,
      writes: [{ parentInodeId: 1, name: 'a', isDelete: true, expectedInodeId: 9, type: 2 }],
      inodeChanges: [{ inodeId: 9, nlinkDelta: -1, removeParents: [1] }], emptyDirs: [12],
    }),
  );
  assert.deepEqual(prewrite, {
    type: OpType.PrewriteRename, fsId: 4, partitionId: 3, primary: { fsId: 4, parentId: 1, name: 'a' }, startTs: 10, ttlMs: 100,
    lockTimeMs: 5, time: { sec: 3, nsec: 4 },
    writes: [{ parentId: 1, name: 'a', isDelete: true, inodeId: 0, fileType: FileType.File, expectedInodeId: 9 }],
    inodeChanges: [{ inodeId: 9, nlinkDelta: -1, addParents: [], removeParents: [1] }], emptyDirs: [12], secondaries: [],
  });
  const rollback = decodeEntry(encodeEntry(OpType.CommitRename, { ...header, startTs: 10, rollback: true }));
  assert.deepEqual(rollback, { type: OpType.ResolveTxLock, fsId: 4, partitionId: 3, startTs: 10, commitTs: 0, nowMs: 0, byOwner: true });
  const partition = decodeEntry(encodeEntry(OpType.CreatePartition, { poolId: 1, copysetId: 2, partition: { fsId: 4, partitionId: 6, start: 0, end: 1023 } }));
  assert.deepEqual(partition, { type: OpType.CreatePartition, fsId: 4, partitionId: 6, start: 0, end: 1023 });
  const dentry = decodeEntry(encodeEntry(OpType.CreateDentry, { ...header, dentry: { parentInodeId: 1, name: 'é', inodeId: 5, type: 1 }, timeSec: 9 }));
  assert.deepEqual(dentry, { type: OpType.CreateDentry, fsId: 4, partitionId: 3, parentId: 1, name: 'é', inodeId: 5, fileType: 1, time: { sec: 9, nsec: 0 } });
});

test('entries this version does not understand decode to nothing', () => {
  const good = encodeEntry(OpType.DeleteInode, { fsId: 1, partitionId: 1, inodeId: 5 });
  assert.equal(decodeEntry(good.subarray(0, 4)), undefined, 'short');
  assert.equal(decodeEntry(good.subarray(0, good.length - 1)), undefined, 'length mismatch');
  const unknown = Uint8Array.from(good);
  unknown[3] = 200;
  assert.equal(decodeEntry(unknown), undefined, 'unknown op type');
  const garbage = new Uint8Array(12);
  new DataView(garbage.buffer).setUint32(0, OpType.CreateInode);
  new DataView(garbage.buffer).setUint32(4, 4);
  garbage.set([0xff, 0xff, 0xff, 0xff], 8);
  assert.equal(decodeEntry(garbage), undefined, 'bad protobuf');
});

test('a request id travels with the change', () => {
  const create = decodeEntry(encodeEntry(OpType.CreateInode, { fsId: 1, partitionId: 1, type: 2, parent: 1, requestId: 's:7' }));
  assert.equal(create?.requestId, 's:7');
  const unlink = decodeEntry(encodeEntry(OpType.DeleteDentry, { fsId: 1, partitionId: 1, parentInodeId: 1, name: 'x', requestId: 's:8' }));
  assert.equal(unlink?.requestId, 's:8');
  const none = decodeEntry(encodeEntry(OpType.UpdateInode, { fsId: 1, partitionId: 1, inodeId: 3 }));
  assert.equal(none?.requestId, undefined);
});

test('Truncate and the Rename expectations round-trip; an old Rename entry stays unchecked', () => {
  const header = { poolId: 1, copysetId: 2, partitionId: 3, fsId: 4 };
  const truncate = decodeEntry(
    encodeEntry(OpType.Truncate, {
      ...header, inodeId: 5, length: 2 ** 26 + 7, timeSec: 1_700_000_000, timeNs: 9, requestId: 's:1',
      chunks: { '1': { infos: [{ chunkId: 3, offset: 2 ** 26, len: 7, zero: true }] }, '0': { infos: [{ chunkId: 3, offset: 100, len: 2 ** 26 - 100, zero: true }] } },
    }),
  );
  assert.deepEqual(truncate, {
    type: OpType.Truncate, fsId: 4, partitionId: 3, inodeId: 5, length: 2 ** 26 + 7, time: { sec: 1_700_000_000, nsec: 9 }, requestId: 's:1',
    zeroAppends: [
      { chunkIndex: 0, info: { chunkId: 3, compaction: 0, offset: 100, length: 2 ** 26 - 100, zero: true } },
      { chunkIndex: 1, info: { chunkId: 3, compaction: 0, offset: 2 ** 26, length: 7, zero: true } },
    ],
  });
  const base = { ...header, srcParentInodeId: 1, srcName: 'a', dstParentInodeId: 1, dstName: 'b', timeSec: 2, timeNs: 0 };
  const checked = decodeEntry(encodeEntry(OpType.Rename, { ...base, srcInodeId: 10, expectedDstInodeId: 0 }));
  assert.equal(checked?.type === OpType.Rename && checked.srcInodeId, 10);
  assert.equal(checked?.type === OpType.Rename && checked.expectedDstInodeId, 0, '0 = dst must be absent');
  const old = decodeEntry(encodeEntry(OpType.Rename, base));
  assert.equal(old?.type === OpType.Rename && 'srcInodeId' in old, false, 'no expectations: applied as before');
});

test('an op type from a newer version halts the replica instead of diverging; garbage is refused alike', () => {
  const good = encodeEntry(OpType.DeleteInode, { fsId: 1, partitionId: 1, inodeId: 5 });
  const newer = Uint8Array.from(good);
  new DataView(newer.buffer).setUint32(0, OpType.BatchCreateInode + 1);
  assert.equal(isEntryFromNewerVersion(newer), true);
  assert.equal(isEntryFromNewerVersion(good), false);
  const sm = new CopysetRaftStateMachine(new CopysetStateMachine());
  const entry = (index: number, data: Uint8Array) => ({ term: 1, index, type: 0, data }) as Parameters<typeof sm.apply>[0][number];
  assert.throws(() => sm.apply([entry(1, newer)]), /does not know: upgrade/);
  const garbage = new Uint8Array(12);
  new DataView(garbage.buffer).setUint32(0, OpType.CreateInode);
  new DataView(garbage.buffer).setUint32(4, 4);
  assert.deepEqual(sm.apply([entry(1, garbage)]), [{ status: MetaStatusCode.PARAM_ERROR }]);
});
