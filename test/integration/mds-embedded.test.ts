/**
 * One embedded MDS (local file store) with three stand-in metaservers in
 * three zones, over real gRPC: file system life cycle, bad input, sessions,
 * counters, and a restart from the data directory.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import { StorageType, type StorageInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startMds, type MdsHandle } from '../../mds/index.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/ports.js';
import { startStubMetaservers, type StubMetaservers } from './mds-stub-metaservers.js';

let dataDir: TempDir;
let objectsDir: TempDir;
let mds: MdsHandle;
let client: RpcClient<MdsMethods>;
let stubs: StubMetaservers;
let listen: string;

const localStorage = (): StorageInfo => ({ type: StorageType.LOCAL, s3: null, local: { path: objectsDir.path }, keyPrefix: '' });

async function start(): Promise<void> {
  mds = await startMds({ listen, dataDir: dataDir.path, logger: silentLogger, sessionTtlMs: 1500, backgroundTickMs: 200 });
}

before(async () => {
  dataDir = await makeTempDir('mds-data');
  objectsDir = await makeTempDir('mds-objects');
  listen = `127.0.0.1:${await freePort()}`;
  await start();
  client = new RpcClient(mdsService(), { addresses: [mds.address], timeoutMs: 3000, totalTimeoutMs: 10000 });
  stubs = await startStubMetaservers({ count: 3, zones: ['z1', 'z2', 'z3'], mdsAddresses: [mds.address] });
});

after(async () => {
  client.close();
  await stubs.stop();
  await mds.stop();
  await dataDir.remove();
  await objectsDir.remove();
});

test('without metaservers an fs is refused before anything is recorded', async () => {
  const lonelyDir = await makeTempDir('mds-lonely');
  const lonely = await startMds({ listen: '127.0.0.1:0', dataDir: lonelyDir.path, logger: silentLogger });
  const lonelyClient = new RpcClient<MdsMethods>(mdsService(), { addresses: [lonely.address] });
  try {
    const res = await lonelyClient.call('CreateFs', { fsName: 'early', storage: localStorage() });
    assert.equal(res.status, MetaStatusCode.NO_SPACE);
    assert.match(res.errorMessage, /need 3 online metaservers/);
    assert.deepEqual((await lonelyClient.call('ListFs', {})).fsInfos, []);
  } finally {
    lonelyClient.close();
    await lonely.stop();
    await lonelyDir.remove();
  }
});

test('create fs: partition on a copyset spanning 3 zones, root inode created, credentials masked', async () => {
  const created = await client.call('CreateFs', { fsName: 'alpha', storage: localStorage(), rootMode: 0o40755 });
  assert.equal(created.status, MetaStatusCode.OK, created.errorMessage);
  const fs = created.fsInfo!;
  assert.equal(fs.blockSizeBytes, 4 * 1024 * 1024);
  assert.equal(fs.chunkSizeBytes, 64 * 1024 * 1024);
  assert.equal(stubs.cluster.rootInodes.has(fs.fsId), true);
  const partitions = await client.call('ListPartition', { fsId: fs.fsId });
  assert.equal(partitions.partitions.length, 1);
  assert.equal(partitions.partitions[0]!.start, 0);
  assert.equal(partitions.partitions[0]!.end, 2 ** 20 - 1);
  const topology = await client.call('ListTopology', {});
  const copyset = topology.copysets.find((c) => c.copysetId === partitions.partitions[0]!.copysetId)!;
  const zones = copyset.peers.map((p) => stubs.servers.find((s) => s.id === p.id)!.zone);
  assert.deepEqual([...zones].sort(), ['z1', 'z2', 'z3']);

  const s3: StorageInfo = {
    type: StorageType.S3,
    local: null,
    keyPrefix: '',
    s3: { endpoint: 'http://127.0.0.1:1', bucket: 'bucket', accessKey: 'AKIAEXAMPLEKEY123', secretKey: 'verysecretvalue', region: '', forcePathStyle: true },
  };
  // Clients route by these: partition → copyset → metaserver addresses.
  let route = await client.call('GetCopysetOfPartition', { partitionIds: [partitions.partitions[0]!.partitionId] });
  // The leader is known once a heartbeat reported the new copyset (every 300 ms).
  for (let i = 0; i < 50 && route.copysetMap[String(partitions.partitions[0]!.partitionId)]!.leader === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    route = await client.call('GetCopysetOfPartition', { partitionIds: [partitions.partitions[0]!.partitionId] });
  }
  assert.equal(route.status, MetaStatusCode.OK);
  const routed = route.copysetMap[String(partitions.partitions[0]!.partitionId)]!;
  assert.equal(routed.copysetId, copyset.copysetId);
  assert.ok(routed.leader !== null && routed.peers.some((p) => p.address === routed.leader!.address), 'the leader comes from heartbeats');
  const servers = await client.call('GetMetaServerListInCopysets', { poolId: copyset.poolId, copysetIds: [copyset.copysetId] });
  assert.deepEqual(
    servers.infos[0]!.locations.map((l) => `${l.internalIp}:${l.internalPort}`).sort(),
    copyset.peers.map((p) => p.address).sort(),
  );
  assert.equal((await client.call('GetCopysetOfPartition', { partitionIds: [999] })).status, MetaStatusCode.PARTITION_NOT_FOUND);
  assert.equal((await client.call('GetMetaServerListInCopysets', { poolId: 1, copysetIds: [999] })).status, MetaStatusCode.COPYSET_NOT_FOUND);
  // Timestamps only grow.
  const t1 = await client.call('Tso', {});
  const t2 = await client.call('Tso', {});
  assert.ok(t2.ts > t1.ts && t1.ts > 0);
  const status = await client.call('ClusterStatus', {});
  assert.deepEqual(status.mds, [{ address: mds.address, isLeader: true, isHealthy: true }]);
  assert.equal(status.metaserverOnline, 3);
  assert.equal(status.fsCount, 1);
  assert.equal(status.isHealthy, true);
  const metrics = await mds.registry.metrics();
  assert.match(metrics, /curvefs_mds_is_leader 1/);
  assert.match(metrics, /curvefs_mds_fs_count 1/);
  assert.match(metrics, /curvefs_mds_metaservers_online 3/);
  const unreachable = await client.call('CreateFs', { fsName: 'beta', storage: s3 });
  assert.equal(unreachable.status, MetaStatusCode.STORAGE_ERROR);
  assert.match(unreachable.errorMessage, /bucket bucket at http:\/\/127\.0\.0\.1:1 is unreachable/);
  assert.doesNotMatch(unreachable.errorMessage, /verysecret|AKIAEXAMPLE/);
});

test('bad input gets clear errors and leaves state unharmed', async () => {
  const before = await client.call('ListFs', {});
  const duplicate = await client.call('CreateFs', { fsName: 'alpha', storage: localStorage() });
  assert.equal(duplicate.status, MetaStatusCode.FS_EXIST);
  assert.match(duplicate.errorMessage, /already exists/);
  const badBlock = await client.call('CreateFs', { fsName: 'gamma', blockSizeBytes: 3000, storage: localStorage() });
  assert.equal(badBlock.status, MetaStatusCode.PARAM_ERROR);
  assert.match(badBlock.errorMessage, /block size 3000 is invalid/);
  const badChunk = await client.call('CreateFs', { fsName: 'gamma', blockSizeBytes: 1 << 20, chunkSizeBytes: 1 << 19, storage: localStorage() });
  assert.equal(badChunk.status, MetaStatusCode.PARAM_ERROR);
  const badName = await client.call('CreateFs', { fsName: '../x', storage: localStorage() });
  assert.equal(badName.status, MetaStatusCode.PARAM_ERROR);
  const unknown = await client.call('GetFsInfo', { fsName: 'nope' });
  assert.equal(unknown.status, MetaStatusCode.FS_NOT_FOUND);
  const unknownDelete = await client.call('DeleteFs', { fsName: 'nope' });
  assert.equal(unknownDelete.status, MetaStatusCode.FS_NOT_FOUND);
  const unknownMount = await client.call('MountFs', { fsName: 'nope', mountpoint: { hostname: 'h', path: '/mnt' } });
  assert.equal(unknownMount.status, MetaStatusCode.FS_NOT_FOUND);
  const after = await client.call('ListFs', {});
  assert.deepEqual(after.fsInfos, before.fsInfos);
});

test('mounted fs cannot be deleted; sessions refresh and expire', async () => {
  const mount = await client.call('MountFs', { fsName: 'alpha', mountpoint: { hostname: 'host-a', port: 0, path: '/mnt/a' } });
  assert.equal(mount.status, MetaStatusCode.OK, mount.errorMessage);
  assert.equal(mount.fsInfo!.storage!.local!.path, objectsDir.path);
  const busy = await client.call('DeleteFs', { fsName: 'alpha' });
  assert.equal(busy.status, MetaStatusCode.FS_BUSY);
  assert.match(busy.errorMessage, /host-a:\/mnt\/a/);
  // Refreshing keeps it alive past its ttl (1.5 s).
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const refreshed = await client.call('RefreshSession', { sessionId: mount.sessionId, openInodeIds: [5, 7] });
    assert.equal(refreshed.status, MetaStatusCode.OK);
  }
  const info = await client.call('GetFsInfo', { fsName: 'alpha' });
  assert.equal(info.fsInfo!.mountpoints.length, 1);
  // Silence: the session expires and the fs is no longer busy.
  const deadline = Date.now() + 5000;
  let expired = false;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await client.call('GetFsInfo', { fsName: 'alpha' });
    if (now.fsInfo!.mountpoints.length === 0) {
      expired = true;
      break;
    }
  }
  assert.equal(expired, true, 'the silent session expired');
  const gone = await client.call('RefreshSession', { sessionId: mount.sessionId, openInodeIds: [] });
  assert.equal(gone.status, MetaStatusCode.NOT_FOUND);
});

test('chunk ids and partitions survive a restart; delete after unmount', async () => {
  const first = await client.call('AllocateChunkIds', { count: 1000 });
  assert.equal(first.status, MetaStatusCode.OK);
  assert.match(await mds.registry.metrics(), /curvefs_mds_chunk_ids_allocated_total 1000/);
  const partitions = await client.call('CreatePartition', { fsId: 1, count: 2 });
  assert.equal(partitions.status, MetaStatusCode.OK, partitions.errorMessage);
  assert.deepEqual(partitions.partitions.map((p) => p.start), [2 ** 20, 2 * 2 ** 20]);
  const mount = await client.call('MountFs', { fsName: 'alpha', mountpoint: { hostname: 'host-b', port: 0, path: '/mnt/b' } });
  assert.equal(mount.status, MetaStatusCode.OK);

  await mds.stop();
  await start();
  assert.match(await mds.registry.metrics(), /curvefs_mds_chunk_ids_allocated_total 0/);
  const second = await client.call('AllocateChunkIds', { count: 10 });
  assert.equal(second.status, MetaStatusCode.OK);
  assert.ok(second.startChunkId >= first.startChunkId + 1000, 'no chunk id reused after a restart');
  const listed = await client.call('ListPartition', { fsId: 1 });
  assert.equal(listed.partitions.length, 3);
  // The session survived the restart (fresh lease) and still blocks deletion.
  assert.equal((await client.call('DeleteFs', { fsName: 'alpha' })).status, MetaStatusCode.FS_BUSY);
  assert.equal((await client.call('UmountFs', { fsName: 'alpha', sessionId: mount.sessionId })).status, MetaStatusCode.OK);
  const deleted = await client.call('DeleteFs', { fsName: 'alpha' });
  assert.equal(deleted.status, MetaStatusCode.OK, deleted.errorMessage);
  assert.equal(stubs.cluster.partitions.size, 0);
  assert.equal((await client.call('ListFs', {})).fsInfos.length, 0);
});
