import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import {
  findUnsafeInteger,
  mdsService,
  messageCodec,
  metaServerService,
  protoEnum,
  raftTransportService,
  type Inode,
} from '../../src/proto/index.js';

describe('proto', () => {
  test('the MetaStatusCode enum of common.proto equals src/common/meta-status.ts', () => {
    const fromProto = protoEnum('curvefs.common.MetaStatusCode');
    const fromTs = Object.fromEntries(
      Object.entries(MetaStatusCode).filter(([key]) => Number.isNaN(Number(key))),
    ) as Record<string, number>;
    assert.deepEqual({ ...fromProto }, fromTs);
  });

  test('every service of DESIGN §4 loads with the methods it names', () => {
    assert.deepEqual(Object.keys(mdsService().definition).sort(), [
      'AllocateChunkIds', 'ClusterStatus', 'CreateFs', 'CreatePartition', 'DeleteFs', 'GetCopysetOfPartition',
      'GetFsDataInfo', 'GetFsInfo', 'GetMetaServerListInCopysets', 'ListFs', 'ListPartition', 'ListTopology', 'MetaServerHeartbeat',
      'MountFs', 'RefreshSession', 'RegisterMetaServer', 'Tso', 'UmountFs',
    ]);
    const metaserver = metaServerService().definition;
    for (const name of ['GetDentry', 'ListDentry', 'CreateDentry', 'DeleteDentry', 'GetInode', 'BatchGetInodeAttr', 'BatchGetXAttr',
      'CreateInode', 'UpdateInode', 'DeleteInode', 'CreateRootInode', 'AppendChunkInfo', 'GetChunkInfo', 'ReplaceChunkInfo',
      'PrewriteRename', 'CommitRename', 'CheckTxStatus', 'ResolveTxLock', 'CreatePartition', 'DeletePartition',
      'CreateCopysetNode', 'GetCopysetStatus', 'GetLeader', 'AddPeer', 'RemovePeer', 'ChangePeer', 'TransferLeader']) {
      assert.ok(metaserver[name] !== undefined, name);
    }
    assert.equal(metaserver['GetChunkInfo']?.responseStream, true);
    assert.equal(raftTransportService().definition['InstallSnapshot']?.requestStream, true);
    assert.equal(raftTransportService().definition['Send']?.path, '/curvefs.raft.RaftTransport/Send');
  });

  test('an inode round-trips with nanosecond times, xattrs, parents and chunk map', () => {
    const codec = messageCodec<Inode>('curvefs.metaserver.Inode');
    const inode = {
      fsId: 1, inodeId: 2 ** 40, type: 2, mode: 0o100644, uid: 1000, gid: 1000, nlink: 2, length: 2 ** 50,
      atime: 1_700_000_000, atimeNs: 999_999_999, mtime: 1_700_000_001, mtimeNs: 1, ctime: 1_700_000_002, ctimeNs: 0,
      xattrs: { 'user.a': Buffer.from([0, 1, 255]) }, parents: [1, 7],
      chunks: { '3': { infos: [{ chunkId: 9, compaction: 1, offset: 3 * 64 * 2 ** 20, len: 4096, zero: false }] } },
    };
    const decoded = codec.decode(codec.encode(inode));
    assert.equal(decoded.inodeId, 2 ** 40);
    assert.equal(decoded.length, 2 ** 50);
    assert.equal(decoded.atimeNs, 999_999_999);
    assert.deepEqual([...(decoded.xattrs['user.a'] ?? [])], [0, 1, 255]);
    assert.deepEqual(decoded.parents, [1, 7]);
    assert.deepEqual(decoded.chunks['3']?.infos[0], { chunkId: 9, compaction: 1, offset: 3 * 64 * 2 ** 20, len: 4096, zero: false });
    assert.equal(decoded.symlink, '', 'absent scalars decode to defaults');
  });

  test('decoding refuses ids beyond 2^53 instead of rounding them', () => {
    const codec = messageCodec('curvefs.common.PartitionInfo');
    assert.throws(() => codec.decode(codec.encode({ partitionId: '9007199254740993' })), /not a safe integer/);
    assert.equal(findUnsafeInteger({ a: [{ b: 2 ** 53 }] }), 'a[0].b');
    assert.equal(findUnsafeInteger({ a: [{ b: 2 ** 53 - 1 }], c: 0.5 }), null);
  });
});
