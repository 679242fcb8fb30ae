/**
 * Membership changes as the MDS scheduler drives them: a fourth metaserver
 * joins (CreateCopysetNode with no peers), the leader replaces a replica by
 * it (ChangePeer); the newcomer receives the state, and the copyset's epoch
 * goes up by one per change (the MDS keeps the newest report). The replaced
 * replica drops its copy (DeleteCopysetNode) only once it is provably out,
 * directly or through the MDS's admin hook after a ChangePeer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { metaServerService } from '../../src/proto/index.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { startMetaserver, type Metaserver } from '../../metaserver/index.js';
import { freePort, isPortFree, LOOPBACK_HOST } from '../helpers/ports.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { GrpcMetaserverAdmin } from '../../mds/core/grpc-metaserver-admin.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

const header = { poolId: 1, copysetId: 3, partitionId: 1, fsId: 2 };

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (let i = 0; i < 1000 && Date.now() - started < timeoutMs; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a joining replica replaces another through ChangePeer; the epoch counts changes', { timeout: 120_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: Metaserver[] = [];
  const addresses: string[] = [];
  let rpc: RpcClient<MetaServerMethods> | undefined;
  try {
    for (let i = 0; i < 4; i++) {
      dirs.push(await makeTempDir('ms-member'));
      addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
    }
    for (let i = 0; i < 4; i++) servers.push(await startMetaserver({ listen: addresses[i]!, dataDir: dirs[i]!.path, mds: [], tickMs: 50 }));
    rpc = new RpcClient<MetaServerMethods>(metaServerService(), { addresses: addresses.slice(0, 3), timeoutMs: 3_000, totalTimeoutMs: 30_000, maxAttempts: 50 });
    const api = rpc;
    const peers = addresses.slice(0, 3).map((address, i) => ({ id: i + 1, address }));
    for (const address of addresses.slice(0, 3)) {
      assert.equal((await api.call('CreateCopysetNode', { poolId: 1, copysetId: 3, peers }, { address })).status, S.OK);
    }
    assert.equal((await api.call('CreatePartition', { ...header, partition: { fsId: 2, partitionId: 1, start: 0, end: 2 ** 20 - 1 } })).status, S.OK);
    assert.equal((await api.call('CreateRootInode', { ...header, mode: 0o40755, timeSec: 1 })).status, S.OK);
    for (let i = 0; i < 10; i++) assert.equal((await api.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 2 })).status, S.OK);
    const leader = api.leaderAddress();
    const first = await until('the first epoch', async () => {
      const s = await api.call('GetCopysetStatus', { poolId: 1, copysetId: 3 }, { address: leader });
      return s.copyset!.epoch >= 1 ? s : undefined;
    });
    assert.equal(first.copyset!.epoch, 1, 'the initial voters are epoch 1');

    // The newcomer joins with no configuration; the leader swaps a follower for it.
    const newcomer = addresses[3]!;
    assert.equal((await api.call('CreateCopysetNode', { poolId: 1, copysetId: 3, peers: [] }, { address: newcomer })).status, S.OK);
    const follower = addresses.slice(0, 3).find((a) => a !== leader)!;
    const stale = await api.call('ChangePeer', { poolId: 1, copysetId: 3, peer: { address: newcomer }, oldPeer: { address: follower }, epoch: 7 });
    assert.equal(stale.status, S.VERSION_MISMATCH, 'an order for another epoch is refused');
    const changed = await api.call('ChangePeer', { poolId: 1, copysetId: 3, peer: { address: newcomer }, oldPeer: { address: follower }, epoch: 1 });
    assert.equal(changed.status, S.OK);
    // Normally 2 at once; if leadership moved right after the change, the next leader records it.
    assert.ok(changed.epoch === 1 || changed.epoch === 2, `epoch ${changed.epoch}`);
    assert.deepEqual(changed.peers.map((p) => p.address).sort(), [...addresses.slice(0, 3).filter((a) => a !== follower), newcomer].sort());
    const caughtUp = await until('the newcomer to catch up', async () => {
      const s = await api.call('GetCopysetStatus', { poolId: 1, copysetId: 3 }, { address: newcomer });
      return s.copyset?.partitions[0]?.inodeCount === 11 && s.copyset.epoch === 2 ? s : undefined;
    });
    assert.equal(caughtUp.copyset!.epoch, 2);
    assert.equal(caughtUp.role, 'follower');

    // The replaced follower's copy: kept while anyone could count it as a member, then dropped.
    const cs = { poolId: 1, copysetId: 3 };
    const dirOf = (address: string) => join(dirs[addresses.indexOf(address)]!.path, 'copysets', '1-3');
    const members = changed.peers.map((p) => ({ id: 0, address: p.address }));
    const refuse = async (address: string, epoch: number, peers: { id: number; address: string }[], why: string) =>
      assert.equal((await api.call('DeleteCopysetNode', { ...cs, epoch, peers }, { address })).status, S.PARAM_ERROR, why);
    await refuse(follower, 99, [{ id: 0, address: follower }], 'a claim listing the replica');
    await refuse(newcomer, 2, members, 'a member');
    const stayer = members.find((p) => p.address !== newcomer)!.address;
    await refuse(stayer, 1, [{ id: 0, address: newcomer }], 'an older configuration than the replica applied');
    assert.equal((await api.call('DeleteCopysetNode', { ...cs, epoch: 2, peers: members }, { address: follower })).status, S.OK);
    await assert.rejects(stat(dirOf(follower)), { code: 'ENOENT' }, 'its directory is gone');
    assert.equal((await api.call('GetCopysetStatus', cs, { address: follower })).status, S.COPYSET_NOT_FOUND);
    assert.equal((await api.call('DeleteCopysetNode', { ...cs, epoch: 2, peers: members }, { address: follower })).status, S.OK, 'a resend');
    const group = new RpcClient<MetaServerMethods>(metaServerService(), { addresses: members.map((p) => p.address), timeoutMs: 3_000, totalTimeoutMs: 30_000, maxAttempts: 50 });
    try {
      assert.equal((await group.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 3 })).status, S.OK, 'the group goes on');
      // Through the MDS hook: the dropped server joins again (fresh) in place of a follower, which drops its copy.
      const leaderNow = (await group.call('GetLeader', cs)).leader!.address;
      const out = members.find((p) => p.address !== leaderNow)!;
      const admin = new GrpcMetaserverAdmin();
      try {
        await admin.changePeer({ ...cs, peers: members, leader: null }, out, { id: 0, address: follower });
      } finally {
        admin.close();
      }
      await assert.rejects(stat(dirOf(out.address)), { code: 'ENOENT' }, 'the replaced replica dropped its copy');
      await until('the rejoined replica to catch up', async () => {
        const st = await group.call('GetCopysetStatus', cs, { address: follower });
        return st.copyset?.partitions[0]?.inodeCount === 12 ? st : undefined;
      });
    } finally {
      group.close();
    }
  } finally {
    rpc?.close();
    for (const s of servers) await s.stop();
    for (const d of dirs) await d.remove();
  }
});
