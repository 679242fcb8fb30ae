/**
 * MetaClient's routing, caching, pooling and session logic against small
 * real gRPC servers on loopback that implement only the RPCs under test: a
 * scripted MDS and scripted metaservers. What is checked: a follower's
 * REDIRECTED hint is followed and remembered; a copyset that moved is
 * re-resolved through the MDS (single-flight); copysets on one metaserver
 * share one channel; a full partition is skipped and more are created;
 * chunk ids come in batches; a lost session is re-established; the
 * partition table's lookups.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SeededRandom } from '../../src/common/random.js';
import { mdsService, metaServerService } from '../../src/proto/index.js';
import { PartitionStatus, type CopysetInfo, type PartitionInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { FsFileType, type MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { RpcServer, type ServiceHandlers } from '../../src/rpc/index.js';
import { MetaClient, PartitionTable } from '../../client/meta/index.js';

const FS_ID = 4;
const SPAN = 2 ** 20;

interface FakeMetaserver {
  readonly server: RpcServer;
  readonly address: string;
  readonly calls: string[];
}

/** A metaserver answering GetInode / CreateInode / GetDentry through `answer`. */
async function startMetaserver(answer: (method: string, request: { copysetId: number; partitionId: number; inodeId?: number }, self: string) => Record<string, unknown>): Promise<FakeMetaserver> {
  const server = new RpcServer({ port: 0, shutdownGraceMs: 100 });
  const calls: string[] = [];
  let self = '';
  const handle = (method: string) =>
    (async (request: { copysetId: number; partitionId: number; inodeId?: number }) => {
      calls.push(method);
      return answer(method, request, self);
    }) as never;
  const handlers: ServiceHandlers<MetaServerMethods> = {
    GetInode: handle('GetInode'),
    CreateInode: handle('CreateInode'),
    GetDentry: handle('GetDentry'),
  };
  server.addService(metaServerService(), handlers);
  await server.start();
  self = server.address;
  return { server, address: self, calls };
}

interface FakeMds {
  readonly server: RpcServer;
  readonly address: string;
  readonly calls: string[];
  partitions: PartitionInfo[];
  copysets: Map<number, CopysetInfo>;
  sessionValid: boolean;
  refreshedOpen: number[][];
  nextChunkId: number;
}

async function startFakeMds(): Promise<FakeMds> {
  const server = new RpcServer({ port: 0, shutdownGraceMs: 100 });
  const state: Omit<FakeMds, 'server' | 'address'> = {
    calls: [],
    partitions: [],
    copysets: new Map(),
    sessionValid: true,
    refreshedOpen: [],
    nextChunkId: 1,
  };
  let sessions = 0;
  const fsInfo = { fsId: FS_ID, fsName: 'fake', status: 2, rootInodeId: 1, capacityBytes: 0, blockSizeBytes: 4 << 20, chunkSizeBytes: 64 << 20 };
  const handlers: ServiceHandlers<MdsMethods> = {
    MountFs: async () => {
      state.calls.push('MountFs');
      state.sessionValid = true;
      return { status: MetaStatusCode.OK, fsInfo, sessionId: `s${++sessions}`, sessionTtlMs: 3_000 };
    },
    RefreshSession: async (request) => {
      state.calls.push('RefreshSession');
      if (!state.sessionValid) return { status: MetaStatusCode.NOT_FOUND };
      state.refreshedOpen.push([...request.openInodeIds]);
      return { status: MetaStatusCode.OK, sessionTtlMs: 3_000, fsInfo };
    },
    UmountFs: async () => {
      state.calls.push('UmountFs');
      return { status: MetaStatusCode.OK };
    },
    ListPartition: async () => {
      state.calls.push('ListPartition');
      return { status: MetaStatusCode.OK, partitions: state.partitions };
    },
    GetCopysetOfPartition: async (request) => {
      state.calls.push('GetCopysetOfPartition');
      const copysetMap: Record<string, CopysetInfo> = {};
      for (const id of request.partitionIds) {
        const p = state.partitions.find((x) => x.partitionId === id)!;
        copysetMap[String(id)] = state.copysets.get(p.copysetId)!;
      }
      return { status: MetaStatusCode.OK, copysetMap };
    },
    CreatePartition: async (request) => {
      state.calls.push('CreatePartition');
      const created: PartitionInfo[] = [];
      for (let i = 0; i < request.count; i++) {
        const start = state.partitions.reduce((m, p) => Math.max(m, p.end + 1), 0);
        const p = partition(state.partitions.length + 1, [...state.copysets.keys()][0]!, start);
        state.partitions.push(p);
        created.push(p);
      }
      return { status: MetaStatusCode.OK, partitions: created };
    },
    AllocateChunkIds: async (request) => {
      state.calls.push('AllocateChunkIds');
      const start = state.nextChunkId;
      state.nextChunkId += request.count;
      return { status: MetaStatusCode.OK, startChunkId: start, count: request.count };
    },
  };
  server.addService(mdsService(), handlers);
  await server.start();
  return Object.assign(state, { server, address: server.address });
}

function partition(partitionId: number, copysetId: number, start: number, status = PartitionStatus.READWRITE): PartitionInfo {
  return { fsId: FS_ID, poolId: 1, copysetId, partitionId, start, end: start + SPAN - 1, nextId: start, status, inodeCount: 0, dentryCount: 0 };
}

function copyset(copysetId: number, addresses: string[], leader = ''): CopysetInfo {
  return {
    poolId: 1,
    copysetId,
    epoch: 1,
    peers: addresses.map((address, i) => ({ id: i + 1, address })),
    leader: leader === '' ? null : { id: 9, address: leader },
    partitions: [],
  };
}

const inodeReply = (inodeId: number) => ({
  status: MetaStatusCode.OK,
  inode: { fsId: FS_ID, inodeId, type: FsFileType.FILE, mode: 0o100644, nlink: 1, parents: [1], version: 1 },
});

async function open(mds: FakeMds): Promise<MetaClient> {
  return MetaClient.open({ mds: [mds.address], fsName: 'fake', random: new SeededRandom(3), timeoutMs: 1_000, totalTimeoutMs: 5_000 });
}

test('a follower answering REDIRECTED sends the client to the hinted leader, and later calls go there first', async () => {
  let leader = '';
  const answer = (_m: string, r: { inodeId?: number }, self: string) =>
    self === leader ? inodeReply(r.inodeId!) : { status: MetaStatusCode.REDIRECTED, leaderHint: leader };
  const follower = await startMetaserver(answer);
  const real = await startMetaserver(answer);
  leader = real.address;
  const mds = await startFakeMds();
  mds.partitions = [partition(1, 10, 0)];
  mds.copysets.set(10, copyset(10, [follower.address, real.address]));
  const client = await open(mds);
  try {
    assert.equal((await client.getInodeAttr(5)).inodeId, 5);
    assert.deepEqual(follower.calls, ['GetInode']);
    assert.deepEqual(real.calls, ['GetInode']);
    await client.getInodeAttr(6);
    await client.getInodeAttr(7);
    assert.equal(follower.calls.length, 1, 'the leader is remembered');
    assert.equal(real.calls.length, 3);
    assert.equal(mds.calls.filter((c) => c === 'ListPartition').length, 1, 'routes are cached');
  } finally {
    await client.close();
    await Promise.all([follower.server.shutdown(), real.server.shutdown(), mds.server.shutdown()]);
  }
});

test('a copyset that moved (COPYSET_NOT_FOUND) is re-resolved through the MDS once for many callers', async () => {
  const gone = await startMetaserver(() => ({ status: MetaStatusCode.COPYSET_NOT_FOUND }));
  const moved = await startMetaserver((_m, r) => inodeReply(r.inodeId!));
  const mds = await startFakeMds();
  mds.partitions = [partition(1, 10, 0)];
  mds.copysets.set(10, copyset(10, [gone.address]));
  const client = await open(mds);
  try {
    const lists = mds.calls.filter((c) => c === 'ListPartition').length;
    mds.copysets.set(10, copyset(10, [moved.address]));
    const attrs = await Promise.all([1, 2, 3, 4, 5].map((id) => client.getInodeAttr(id + 10)));
    assert.deepEqual(attrs.map((a) => a.inodeId), [11, 12, 13, 14, 15]);
    const refreshes = mds.calls.filter((c) => c === 'ListPartition').length - lists;
    assert.ok(refreshes >= 1 && refreshes <= 2, `single-flight refreshes: ${refreshes}`);
    assert.equal(moved.calls.length, 5);
  } finally {
    await client.close();
    await Promise.all([gone.server.shutdown(), moved.server.shutdown(), mds.server.shutdown()]);
  }
});

test('copysets on one metaserver share one channel; inode ids route by range', async () => {
  const server = await startMetaserver((_m, r) => ({ ...inodeReply(r.inodeId!), copyset: r.copysetId }));
  const byPartition: number[] = [];
  const spy = await startMetaserver((_m, r) => {
    byPartition.push(r.partitionId);
    return inodeReply(r.inodeId!);
  });
  const mds = await startFakeMds();
  mds.partitions = [partition(1, 10, 0), partition(2, 11, SPAN), partition(3, 12, 2 * SPAN)];
  mds.copysets.set(10, copyset(10, [server.address]));
  mds.copysets.set(11, copyset(11, [server.address]));
  mds.copysets.set(12, copyset(12, [spy.address]));
  const client = await open(mds);
  try {
    await client.getInodeAttr(1);
    await client.getInodeAttr(SPAN + 1);
    await client.getInodeAttr(2 * SPAN);
    await client.getInodeAttr(3 * SPAN - 1);
    assert.equal(client.router.channels.size(), 2, 'one channel per metaserver, not per copyset');
    assert.deepEqual(byPartition, [3, 3]);
    assert.equal(server.calls.length, 2);
    await assert.rejects(client.getInodeAttr(3 * SPAN), /no partition/);
  } finally {
    await client.close();
    await Promise.all([server.server.shutdown(), spy.server.shutdown(), mds.server.shutdown()]);
  }
});

test('a full partition is skipped; with none left the MDS creates more', async () => {
  const full = new Set([1]);
  let nextId = 100;
  let mds: FakeMds | undefined;
  const server = await startMetaserver((method, r) => {
    assert.equal(method, 'CreateInode');
    if (full.has(r.partitionId)) return { status: MetaStatusCode.PARTITION_ALLOC_ID_FAIL };
    return inodeReply(mds!.partitions.find((p) => p.partitionId === r.partitionId)!.start + nextId++);
  });
  mds = await startFakeMds();
  mds.partitions = [partition(1, 10, 0), partition(2, 10, SPAN)];
  mds.copysets.set(10, copyset(10, [server.address]));
  const client = await open(mds);
  const create = () => client.createInode({ type: 2, mode: 0o100644, uid: 0, gid: 0, rdev: 0, symlink: '', parent: 1, time: { sec: 1, nsec: 0 } });
  try {
    for (let i = 0; i < 6; i++) assert.ok((await create()).inodeId > SPAN);
    assert.equal(client.router.table.isFull(1), true);
    assert.equal(mds.calls.includes('CreatePartition'), false);
    full.add(2);
    const attr = await create();
    assert.ok(attr.inodeId >= 2 * SPAN, 'went to a partition the MDS created');
    assert.equal(mds.calls.filter((c) => c === 'CreatePartition').length, 1);
  } finally {
    await client.close();
    await Promise.all([server.server.shutdown(), mds.server.shutdown()]);
  }
});

test('chunk ids come from the MDS in batches; sessions carry opens and survive expiry', async () => {
  const server = await startMetaserver((_m, r) => inodeReply(r.inodeId!));
  const mds = await startFakeMds();
  mds.partitions = [partition(1, 10, 0)];
  mds.copysets.set(10, copyset(10, [server.address]));
  const client = await open(mds);
  try {
    const a = await client.allocate(10);
    const b = await client.allocate(10);
    assert.equal(b, a + 10);
    assert.equal(mds.calls.filter((c) => c === 'AllocateChunkIds').length, 1);
    const c = await client.allocate(5000);
    assert.ok(c >= b + 10);
    assert.equal(mds.calls.filter((x) => x === 'AllocateChunkIds').length, 2);

    // Opens reach the MDS in the next batched refresh (OPEN_REGISTRATION_BATCH_MS), not before open returns.
    const refreshedWith = async (expected: number[]): Promise<void> => {
      for (let i = 0; i < 100 && JSON.stringify(mds.refreshedOpen.at(-1)) !== JSON.stringify(expected); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await client.registerOpen(42);
    await refreshedWith([42]);
    assert.deepEqual(mds.refreshedOpen.at(-1), [42]);
    mds.sessionValid = false;
    await client.registerOpen(43);
    await refreshedWith([42, 43]);
    assert.deepEqual(mds.refreshedOpen.at(-1), [42, 43], 're-mounted and re-registered');
    assert.equal(mds.calls.filter((x) => x === 'MountFs').length, 2);
    assert.equal(client.session.id, 's2');
  } finally {
    await client.close();
    assert.equal(mds.calls.at(-1), 'UmountFs');
    await Promise.all([server.server.shutdown(), mds.server.shutdown()]);
  }
});

test('partition table: owner by range, random writable choice, full partitions skipped', () => {
  const table = new PartitionTable();
  table.replace([partition(3, 1, 2 * SPAN), partition(1, 1, 0), partition(2, 1, SPAN, PartitionStatus.READONLY), partition(4, 1, 3 * SPAN, PartitionStatus.DELETING)]);
  assert.equal(table.size(), 3, 'deleting partitions are left out');
  assert.equal(table.owner(0)?.partitionId, 1);
  assert.equal(table.owner(SPAN - 1)?.partitionId, 1);
  assert.equal(table.owner(SPAN)?.partitionId, 2);
  assert.equal(table.owner(3 * SPAN - 1)?.partitionId, 3);
  assert.equal(table.owner(3 * SPAN), undefined);
  const random = new SeededRandom(1);
  const picks = new Map<number, number>();
  for (let i = 0; i < 200; i++) {
    const p = table.pickForCreate(random)!.partitionId;
    picks.set(p, (picks.get(p) ?? 0) + 1);
  }
  assert.deepEqual([...picks.keys()].sort(), [1, 3], 'only READWRITE partitions');
  assert.ok(picks.get(1)! > 50 && picks.get(3)! > 50, 'spread evenly');
  table.markFull(1);
  table.markFull(3);
  assert.equal(table.pickForCreate(random), undefined);
  assert.throws(() => table.replace([partition(1, 1, 0), partition(2, 1, 10)]), /overlap/);
});

test('partition table owner() agrees with a linear scan over random disjoint ranges', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 40 })), { minLength: 0, maxLength: 20 }),
      fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 50 }),
      (shape, probes) => {
        const infos: PartitionInfo[] = [];
        let next = 0;
        for (const [gap, length] of shape) {
          const start = next + gap;
          infos.push({ ...partition(infos.length + 1, 1, start), end: start + length - 1 });
          next = start + length;
        }
        const table = new PartitionTable();
        table.replace([...infos].reverse());
        for (const id of probes) {
          const expected = infos.find((p) => p.start <= id && id <= p.end)?.partitionId;
          assert.equal(table.owner(id)?.partitionId, expected);
        }
      },
    ),
    { numRuns: 200, seed: 42 },
  );
});
