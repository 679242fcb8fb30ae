/**
 * The re-replication scenario with real metaservers: an embedded
 * MDS, four metaservers (zones z1, z2, z3, z3), a file system with data in
 * its first partition. The z3 metaserver holding a replica stops; once it
 * has been silent past the offline timeout the MDS moves its replica to the
 * other z3 metaserver (CreateCopysetNode to join, then ChangePeer on the
 * leader), and the new replica holds every inode and dentry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { mdsService, metaServerService } from '../../src/proto/index.js';
import { StorageType } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { RpcClient } from '../../src/rpc/index.js';
import { startMds } from '../../mds/index.js';
import { startMetaserver, type Metaserver } from '../../metaserver/index.js';
import { freePort, isPortFree, LOOPBACK_HOST } from '../helpers/ports.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (let i = 0; i < 2000 && Date.now() - started < timeoutMs; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const FILES = 30;

test('a stopped metaserver’s replica is re-created on the spare one, with all the data', { timeout: 60_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: Metaserver[] = [];
  let mds: Awaited<ReturnType<typeof startMds>> | undefined;
  let mdsClient: RpcClient<MdsMethods> | undefined;
  let msClient: RpcClient<MetaServerMethods> | undefined;
  try {
    for (let i = 0; i < 6; i++) dirs.push(await makeTempDir('mds-rerep'));
    mds = await startMds({
      listen: `${LOOPBACK_HOST}:${await freePort()}`,
      dataDir: dirs[0]!.path,
      logger: silentLogger,
      backgroundTickMs: 200,
      metaserverOfflineMs: 2000,
      scheduleCooldownMs: 1000,
    });
    const zones = ['z1', 'z2', 'z3', 'z3'];
    for (let i = 0; i < 4; i++) {
      const listen = `${LOOPBACK_HOST}:${await portPair()}`;
      servers.push(await startMetaserver({ listen, dataDir: dirs[i + 1]!.path, mds: [mds.address], zone: zones[i]!, tickMs: 50, heartbeatIntervalMs: 200 }));
    }
    mdsClient = new RpcClient(mdsService(), { addresses: [mds.address], timeoutMs: 5_000, totalTimeoutMs: 20_000 });
    await until('four registered metaservers', async () => (servers.every((s) => (s.heartbeat?.beats ?? 0) > 0) ? true : undefined), 10_000);
    const created = await mdsClient.call('CreateFs', { fsName: 'rerep', storage: { type: StorageType.LOCAL, local: { path: dirs[5]!.path } } });
    assert.equal(created.status, S.OK, created.errorMessage);
    const fsId = created.fsInfo!.fsId;
    const partition = (await mdsClient.call('ListPartition', { fsId })).partitions[0]!;
    const header = { poolId: partition.poolId, copysetId: partition.copysetId, partitionId: partition.partitionId, fsId };
    const hosting = servers.filter((s) => s.copysets.get(partition.poolId, partition.copysetId) !== undefined);
    assert.equal(hosting.length, 3);
    const victim = hosting.find((s) => s.zone === 'z3')!;
    const spare = servers.find((s) => !hosting.includes(s))!;
    assert.equal(spare.zone, 'z3');

    const ms: RpcClient<MetaServerMethods> = new RpcClient(metaServerService(), {
      addresses: hosting.map((s) => s.address),
      timeoutMs: 3_000,
      totalTimeoutMs: 20_000,
      maxAttempts: 30,
    });
    msClient = ms;
    const inodeIds: number[] = [];
    for (let i = 0; i < FILES; i++) {
      const inode = await ms.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 5 });
      assert.equal(inode.status, S.OK);
      const dentry = await ms.call('CreateDentry', { ...header, dentry: { parentInodeId: 1, name: `f${i}`, inodeId: inode.inode!.inodeId, type: 2 }, timeSec: 5 });
      assert.equal(dentry.status, S.OK);
      inodeIds.push(inode.inode!.inodeId);
    }

    await victim.stop();
    const healed = await until(
      'the replica to move to the spare',
      async () => {
        const topology = await mdsClient!.call('ListTopology', {});
        const copyset = topology.copysets.find((c) => c.copysetId === partition.copysetId)!;
        const addresses = copyset.peers.map((p) => p.address);
        return addresses.includes(spare.address) && !addresses.includes(victim.address) ? copyset : undefined;
      },
      30_000,
    );
    assert.equal(healed.peers.length, 3);
    // The spare's own replica catches up with everything written before the failure.
    const node = await until('the spare to host the copyset', async () => spare.copysets.get(partition.poolId, partition.copysetId), 10_000);
    await until(
      'the spare replica to hold all inodes',
      async () => (inodeIds.every((id) => node.sm.getInode(fsId, partition.partitionId, id).status === S.OK) ? true : undefined),
      15_000,
    );
    const root = node.sm.getInode(fsId, partition.partitionId, 1);
    assert.equal(root.status, S.OK);
    assert.equal(node.sm.listDentry(fsId, partition.partitionId, 1, '', FILES + 10, false).dentries.length, FILES);
  } finally {
    msClient?.close();
    mdsClient?.close();
    for (const s of servers) await s.stop();
    await mds?.stop();
    for (const d of dirs) await d.remove();
  }
});
