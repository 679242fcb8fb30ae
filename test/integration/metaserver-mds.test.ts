/**
 * An embedded MDS with three real metaservers in three zones: the
 * metaservers register and heartbeat; CreateFs makes the MDS create a
 * copyset on them (CreateCopysetNode), a partition and the root inode; the
 * heartbeats then report the partition back; a client uses the partition
 * the MDS lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { mdsService, metaServerService } from '../../src/proto/index.js';
import { StorageType } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
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

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (let i = 0; i < 1000 && Date.now() - started < timeoutMs; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('the MDS places a file system on real metaservers', { timeout: 120_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: Metaserver[] = [];
  let mds: Awaited<ReturnType<typeof startMds>> | undefined;
  let mdsClient: RpcClient<MdsMethods> | undefined;
  let msClient: RpcClient<MetaServerMethods> | undefined;
  try {
    for (let i = 0; i < 5; i++) dirs.push(await makeTempDir('ms-mds'));
    mds = await startMds({ listen: `${LOOPBACK_HOST}:${await freePort()}`, dataDir: dirs[0]!.path, logger: silentLogger, backgroundTickMs: 200 });
    const addresses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const listen = `${LOOPBACK_HOST}:${await portPair()}`;
      addresses.push(listen);
      servers.push(
        await startMetaserver({ listen, dataDir: dirs[i + 1]!.path, mds: [mds.address], zone: `z${i + 1}`, tickMs: 50, heartbeatIntervalMs: 200 }),
      );
    }
    mdsClient = new RpcClient(mdsService(), { addresses: [mds.address], timeoutMs: 5_000, totalTimeoutMs: 20_000 });
    await until('three registered metaservers', async () => (servers.every((s) => (s.heartbeat?.beats ?? 0) > 0) ? true : undefined));
    const created = await mdsClient.call('CreateFs', {
      fsName: 'real',
      storage: { type: StorageType.LOCAL, local: { path: dirs[4]!.path } },
      rootMode: 0o40755,
    });
    assert.equal(created.status, S.OK, created.errorMessage);
    const fsId = created.fsInfo!.fsId;
    const listed = await mdsClient.call('ListPartition', { fsId });
    assert.equal(listed.partitions.length, 1);
    const partition = listed.partitions[0]!;
    const hosted = servers.filter((s) => s.copysets.get(partition.poolId, partition.copysetId) !== undefined);
    assert.equal(hosted.length, 3, 'every metaserver hosts a replica');

    msClient = new RpcClient(metaServerService(), { addresses, timeoutMs: 3_000, totalTimeoutMs: 20_000, maxAttempts: 30 });
    const header = { poolId: partition.poolId, copysetId: partition.copysetId, partitionId: partition.partitionId, fsId };
    const root = await msClient.call('GetInode', { ...header, inodeId: 1 });
    assert.equal(root.status, S.OK);
    assert.equal(root.inode!.nlink, 2);
    const inode = await msClient.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 5 });
    assert.equal(inode.status, S.OK);
    const dentry = await msClient.call('CreateDentry', { ...header, dentry: { parentInodeId: 1, name: 'hello', inodeId: inode.inode!.inodeId, type: 2 }, timeSec: 5 });
    assert.equal(dentry.status, S.OK);

    // Heartbeats carry the partition's counts back to the MDS.
    await until('partition counts reported', async () => {
      const again = await mdsClient!.call('ListPartition', { fsId });
      return again.partitions[0]!.inodeCount === 2 ? true : undefined;
    });
  } finally {
    msClient?.close();
    mdsClient?.close();
    for (const s of servers) await s.stop();
    await mds?.stop();
    for (const d of dirs) await d.remove();
  }
});
