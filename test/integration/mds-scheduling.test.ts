/**
 * Scheduling end to end over gRPC with an embedded MDS and four stand-in
 * metaservers: leaders get spread, and when a metaserver goes silent past
 * the offline timeout each of its copysets gets a replacement replica
 * (ChangePeer on the copyset leader), which heartbeats then confirm.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import { StorageType } from '../../src/proto/types-common.js';
import type { ListTopologyResponse, MdsMethods } from '../../src/proto/types-mds.js';
import { OnlineState } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startMds, type MdsHandle } from '../../mds/index.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { startStubMetaservers, type StubMetaservers } from './mds-stub-metaservers.js';

let dir: TempDir;
let mds: MdsHandle;
let client: RpcClient<MdsMethods>;
let stubs: StubMetaservers;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = await makeTempDir('mds-sched');
  mds = await startMds({
    listen: '127.0.0.1:0',
    dataDir: dir.path,
    logger: silentLogger,
    metaserverOfflineMs: 1500,
    backgroundTickMs: 200,
    scheduleCooldownMs: 600,
  });
  client = new RpcClient(mdsService(), { addresses: [mds.address] });
  stubs = await startStubMetaservers({ count: 4, zones: ['z1', 'z2', 'z3', 'z3'], mdsAddresses: [mds.address], heartbeatMs: 200 });
  const created = await client.call('CreateFs', { fsName: 'data', storage: { type: StorageType.LOCAL, local: { path: `${dir.path}/objects` } } });
  assert.equal(created.status, MetaStatusCode.OK, created.errorMessage);
  const more = await client.call('CreatePartition', { fsId: created.fsInfo!.fsId, count: 5 });
  assert.equal(more.status, MetaStatusCode.OK, more.errorMessage);
});

after(async () => {
  client.close();
  await stubs.stop();
  await mds.stop();
  await dir.remove();
});

function leaderGapOk(topology: ListTopologyResponse): boolean {
  const count = new Map(topology.metaservers.map((m) => [m.metaserverId, m.leaderCount]));
  return topology.copysets.every((c) => {
    if (c.leader === null) return false;
    const from = count.get(c.leader.id) ?? 0;
    return c.peers.every((p) => from - (count.get(p.id) ?? 0) < 2);
  });
}

test('copysets span 3 zones and leaders get balanced', async () => {
  const topology = await client.call('ListTopology', {});
  assert.equal(topology.copysets.length, 4, 'target: 4 metaservers × 3 / 3 copysets');
  const zoneOf = new Map(stubs.servers.map((s) => [s.id, s.zone]));
  for (const c of topology.copysets) assert.equal(new Set(c.peers.map((p) => zoneOf.get(p.id))).size, 3);
  await waitFor('balanced leaders', async () => {
    const t = await client.call('ListTopology', {});
    return leaderGapOk(t) ? t : undefined;
  }, 10_000);
});

test('a silent metaserver is marked offline and its copysets re-replicated', async () => {
  const topology = await client.call('ListTopology', {});
  // Kill one of the two z3 metaservers that hosts a copyset: the other z3 one can take its place.
  const victim = stubs.servers.find((s) => s.zone === 'z3' && topology.copysets.some((c) => c.peers.some((p) => p.id === s.id)))!;
  const affected = topology.copysets.filter((c) => c.peers.some((p) => p.id === victim.id)).map((c) => c.copysetId);
  assert.ok(affected.length > 0);
  const callsBefore = stubs.cluster.calls.length;
  await victim.kill();
  const healed = await waitFor('re-replication', async () => {
    const t = await client.call('ListTopology', {});
    const offline = t.metaservers.find((m) => m.metaserverId === victim.id)!.state === OnlineState.OFFLINE;
    const clean = t.copysets.every((c) => c.peers.length === 3 && !c.peers.some((p) => p.id === victim.id));
    return offline && clean ? t : undefined;
  }, 15_000);
  const zoneOf = new Map(stubs.servers.map((s) => [s.id, s.zone]));
  for (const c of healed.copysets) {
    assert.equal(new Set(c.peers.map((p) => p.id)).size, 3);
    assert.equal(new Set(c.peers.map((p) => zoneOf.get(p.id))).size, 3, `copyset ${c.copysetId} spans 3 zones after the change`);
    const stub = stubs.cluster.copysets.get(`1/${c.copysetId}`)!;
    assert.deepEqual(stub.peers.map((p) => p.id).sort(), c.peers.map((p) => p.id).sort(), 'MDS and metaservers agree');
  }
  // Heartbeats confirm the change: the MDS record reaches the metaservers' epoch.
  await waitFor('epochs confirmed', async () => {
    const t = await client.call('ListTopology', {});
    return t.copysets.every((c) => c.epoch === stubs.cluster.copysets.get(`1/${c.copysetId}`)!.epoch) ? true : undefined;
  }, 5000);
  const changes = stubs.cluster.calls.slice(callsBefore).filter((c) => c.startsWith('ChangePeer'));
  assert.equal(changes.length, affected.length, changes.join('\n'));
  const status = await client.call('ClusterStatus', {});
  assert.equal(status.metaserverOffline, 1);
  assert.equal(status.metaserverOnline, 3);
});
