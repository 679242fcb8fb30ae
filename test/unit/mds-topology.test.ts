/**
 * MdsCore/MdsTopology without gRPC: a local store, the sole-leader election,
 * a manual clock and a recording MetaserverAdmin. Checks the heartbeat rules
 * (an update is accepted only if its epoch is not older; same epoch only from
 * the copyset's leader), offline detection and the scheduler round.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { CopysetInfo, PartitionInfo, Peer } from '../../src/proto/types-common.js';
import { StorageType } from '../../src/proto/types-common.js';
import { ConfigChangeType, OnlineState } from '../../src/proto/types-mds.js';
import { MdsCore } from '../../mds/core/mds-core.js';
import type { CopysetTarget, MetaserverAdmin, RootInodeSpec } from '../../mds/core/metaserver-admin.js';
import { SoleLeaderElection } from '../../mds/election/leader-election.js';
import { LocalFileStore } from '../../mds/store/local-file-store.js';
import { withTempDir } from '../helpers/tmp.js';

class RecordingAdmin implements MetaserverAdmin {
  readonly calls: string[] = [];
  async createCopyset(t: CopysetTarget): Promise<void> {
    this.calls.push(`createCopyset ${t.copysetId} ${t.peers.map((p) => p.id).join(',')}`);
  }
  async createPartition(t: CopysetTarget, p: PartitionInfo): Promise<void> {
    this.calls.push(`createPartition ${p.partitionId} on ${t.copysetId}`);
  }
  async createRootInode(_t: CopysetTarget, spec: RootInodeSpec): Promise<void> {
    this.calls.push(`createRootInode ${spec.fsId}`);
  }
  async deletePartition(_t: CopysetTarget, id: number): Promise<void> {
    this.calls.push(`deletePartition ${id}`);
  }
  async changePeer(t: CopysetTarget, remove: Peer, add: Peer): Promise<void> {
    this.calls.push(`changePeer ${t.copysetId} ${remove.id}->${add.id}`);
  }
  async transferLeader(t: CopysetTarget, to: Peer): Promise<void> {
    this.calls.push(`transferLeader ${t.copysetId} ->${to.id}`);
  }
}

async function setup(dir: string) {
  const clock = new ManualClock(10_000);
  const store = await LocalFileStore.open(dir);
  const election = new SoleLeaderElection('mds:1');
  const admin = new RecordingAdmin();
  const core = new MdsCore({
    store,
    election,
    admin,
    checkStorage: async () => undefined,
    clock,
    wallClock: clock,
    log: silentLogger,
    metaserverOfflineMs: 5000,
    scheduleCooldownMs: 1000,
  });
  election.start();
  for (let i = 0; i < 100 && !core.isServing(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(core.isServing());
  const ids: number[] = [];
  const tokens: string[] = [];
  for (const [i, zone] of ['a', 'b', 'c', 'c'].entries()) {
    const r = await core.topology.registerMetaServer({ hostname: `h${i}`, internalIp: '10.0.0.1', internalPort: 7000 + i, externalIp: '', externalPort: 0, zone, pool: '' });
    assert.equal(r.status, MetaStatusCode.OK);
    ids.push(r.metaserverId!);
    tokens.push(r.token!);
  }
  return { clock, store, core, admin, ids, tokens };
}

const address = (i: number): string => `10.0.0.1:${7000 + i}`;

test('heartbeats: older epochs ignored, newer accepted, same epoch only from the leader', async () => {
  await withTempDir(async (dir) => {
    const { core, admin, ids, tokens, store } = await setup(dir);
    const created = await core.createFs({
      fsName: 'f',
      blockSizeBytes: 0,
      chunkSizeBytes: 0,
      capacityBytes: 0,
      owner: '',
      storage: { type: StorageType.LOCAL, s3: null, local: { path: '/tmp/x' }, keyPrefix: '' },
      rootUid: 0,
      rootGid: 0,
      rootMode: 0,
    });
    assert.equal(created.status, MetaStatusCode.OK, created.errorMessage);
    assert.match(admin.calls[0]!, /^createCopyset 1 \d+,\d+,\d+$/);
    assert.deepEqual(admin.calls.slice(1, 3), ['createPartition 1 on 1', `createRootInode ${created.fsInfo!.fsId}`]);
    const topo = async () => (await core.topology.listTopology()).copysets!.find((c) => c.copysetId === 1)!;
    const peerIds = (await topo()).peers.map((p) => p.id);
    const spare = ids.find((id) => !peerIds.includes(id))!;
    const beat = (from: number, report: Partial<CopysetInfo>) =>
      core.topology.heartbeat({
        metaserverId: ids[from]!,
        token: tokens[from]!,
        internalIp: '10.0.0.1',
        internalPort: 7000 + from,
        startTimeMs: 0,
        space: null,
        leaderCount: 0,
        copysets: [{ poolId: 1, copysetId: 1, epoch: 0, peers: [], leader: null, partitions: [], ...report }],
      });
    const from = ids.indexOf(peerIds[0]!);
    const other = ids.indexOf(peerIds[1]!);
    const withSpare = [peerIds[0]!, peerIds[1]!, spare].map((id) => ({ id: 0, address: address(ids.indexOf(id)) }));
    // Same epoch from a follower: ignored.
    assert.equal((await beat(other, { epoch: 0, peers: withSpare, leader: { id: 0, address: address(from) } })).status, MetaStatusCode.OK);
    assert.deepEqual((await topo()).peers.map((p) => p.id), peerIds);
    assert.equal((await topo()).leader!.id, peerIds[0]);
    // Newer epoch from anyone: accepted and persisted (peers resolved by address).
    await beat(other, { epoch: 2, peers: withSpare, leader: { id: 0, address: address(from) } });
    assert.deepEqual((await topo()).peers.map((p) => p.id).sort(), [peerIds[0]!, peerIds[1]!, spare].sort());
    assert.equal((await topo()).epoch, 2);
    assert.match((await store.get('cs/1/1'))!.value, /"epoch":2/);
    // Older epoch: ignored.
    await beat(from, { epoch: 1, peers: peerIds.map((id) => ({ id, address: '' })), leader: { id: 0, address: address(from) } });
    assert.equal((await topo()).epoch, 2);
    assert.ok((await topo()).peers.some((p) => p.id === spare));
    // The leader reports the partition spent: it turns READONLY, persisted.
    const partition = (await core.topology.listPartition({ fsId: created.fsInfo!.fsId })).partitions![0]!;
    await beat(from, {
      epoch: 2,
      peers: withSpare,
      leader: { id: 0, address: address(from) },
      partitions: [{ ...partition, status: 2, nextId: partition.end + 1, inodeCount: 7 }],
    });
    const listed = (await core.topology.listPartition({ fsId: created.fsInfo!.fsId })).partitions![0]!;
    assert.equal(listed.status, 2);
    assert.equal(listed.inodeCount, 7);
    assert.match((await store.get(`pt/${partition.partitionId}`))!.value, /"status":2/);
    // Wrong token: refused.
    const bad = await core.topology.heartbeat({ metaserverId: ids[0]!, token: 'nope', internalIp: '', internalPort: 0, startTimeMs: 0, space: null, leaderCount: 0, copysets: [] });
    assert.equal(bad.status, MetaStatusCode.PERMISSION_DENIED);
    await store.close();
  }, 'mds-topology');
});

test('silence past the timeout: offline, and the scheduler replaces the replica', async () => {
  await withTempDir(async (dir) => {
    const { core, admin, ids, tokens, clock, store } = await setup(dir);
    const r = await core.createFs({
      fsName: 'g', blockSizeBytes: 0, chunkSizeBytes: 0, capacityBytes: 0, owner: '',
      storage: { type: StorageType.LOCAL, s3: null, local: { path: '/tmp/y' }, keyPrefix: '' }, rootUid: 0, rootGid: 0, rootMode: 0,
    });
    assert.equal(r.status, MetaStatusCode.OK);
    const copyset = (await core.topology.listTopology()).copysets![0]!;
    const peerIds = copyset.peers.map((p) => p.id);
    const victim = peerIds.find((id) => ids.indexOf(id) >= 2)!; // a zone-c metaserver
    const spare = ids.find((id) => !peerIds.includes(id))!;
    const leader = peerIds.find((id) => id !== victim)!;
    // Everyone but the victim keeps beating for 6 s (the timeout is 5 s).
    for (let t = 0; t < 6; t++) {
      clock.advance(1000);
      for (const [i, id] of ids.entries()) {
        if (id === victim) continue;
        await core.topology.heartbeat({
          metaserverId: id, token: tokens[i]!, internalIp: '10.0.0.1', internalPort: 7000 + i, startTimeMs: 0, space: null, leaderCount: 0,
          copysets: peerIds.includes(id) ? [{ ...copyset, leader: { id: 0, address: address(ids.indexOf(leader)) }, partitions: [] }] : [],
        });
      }
    }
    const states = (await core.topology.listTopology()).metaservers!.map((m) => [m.metaserverId, m.state]);
    assert.deepEqual(states.filter(([, s]) => s === OnlineState.OFFLINE).map(([id]) => id), [victim]);
    assert.equal(await core.topology.runSchedule(), 1);
    assert.ok(admin.calls.includes(`changePeer 1 ${victim}->${spare}`), admin.calls.join('\n'));
    const after = (await core.topology.listTopology()).copysets![0]!;
    assert.deepEqual(after.peers.map((p) => p.id).sort(), peerIds.map((id) => (id === victim ? spare : id)).sort());
    // Busy for the cooldown: nothing more to do.
    assert.equal(await core.topology.runSchedule(), 0);
    await store.close();
  }, 'mds-topology');
});

test('heartbeats: a replica still listing itself at an older epoch, no longer in the record, is told it was removed', async () => {
  await withTempDir(async (dir) => {
    const { core, ids, tokens, store } = await setup(dir);
    const created = await core.createFs({
      fsName: 'g', blockSizeBytes: 0, chunkSizeBytes: 0, capacityBytes: 0, owner: '',
      storage: { type: StorageType.LOCAL, s3: null, local: { path: '/tmp/x' }, keyPrefix: '' }, rootUid: 0, rootGid: 0, rootMode: 0,
    });
    assert.equal(created.status, MetaStatusCode.OK, created.errorMessage);
    const peerIds = (await core.topology.listTopology()).copysets!.find((c) => c.copysetId === 1)!.peers.map((p) => p.id);
    const spare = ids.find((id) => !peerIds.includes(id))!;
    const [keep0, keep1, gone] = peerIds as [number, number, number];
    const at = (id: number) => ({ id: 0, address: address(ids.indexOf(id)) });
    const beat = (id: number, epoch: number, peers: { id: number; address: string }[]) =>
      core.topology.heartbeat({
        metaserverId: id, token: tokens[ids.indexOf(id)]!, internalIp: '10.0.0.1', internalPort: 7000 + ids.indexOf(id), startTimeMs: 0, space: null, leaderCount: 0,
        copysets: [{ poolId: 1, copysetId: 1, epoch, peers, leader: null, partitions: [] }],
      });
    // The group replaced `gone` by `spare` at epoch 2 (a newer epoch is accepted from anyone).
    const now = [keep0, keep1, spare].map(at);
    assert.equal((await beat(keep0, 2, now)).status, MetaStatusCode.OK);
    // `gone` comes back believing the old configuration: it is told the current one.
    const reply = await beat(gone, 1, [keep0, keep1, gone].map(at));
    assert.equal(reply.copysetConfs!.length, 1);
    const conf = reply.copysetConfs![0]!;
    assert.equal(conf.type, ConfigChangeType.REMOVE_PEER);
    assert.equal(conf.epoch, 2);
    assert.deepEqual(conf.oldPeer, { id: gone, address: at(gone).address });
    assert.deepEqual(conf.peers.map((p) => p.address).sort(), now.map((p) => p.address).sort());
    // Never told: a member, a replica not listing itself (a join in progress), a report at the current epoch.
    assert.equal((await beat(keep1, 1, [keep0, keep1, gone].map(at))).copysetConfs!.length, 0);
    assert.equal((await beat(gone, 0, [])).copysetConfs!.length, 0);
    assert.equal((await beat(gone, 2, now)).copysetConfs!.length, 0);
    await store.close();
  }, 'mds-topology');
});
