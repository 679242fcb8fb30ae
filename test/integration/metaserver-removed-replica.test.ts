/**
 * A replica removed while it was down drops its copy when it comes back: an
 * embedded MDS (short offline timeout) and four real metaservers in zones
 * z1, z2, z3, z3. The z3 replica of the file system's copyset is stopped;
 * the MDS scheduler replaces it by the other z3 metaserver (ChangePeer; the
 * DeleteCopysetNode it then sends to the stopped one cannot arrive). When
 * the stopped metaserver restarts from its data directory it still counts
 * itself a member at the old epoch; its heartbeat answer names the copyset
 * as removed, it checks the newer epoch and voters itself, and deletes its
 * copyset directory. The group keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
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

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  for (let i = 0; i < 1000 && Date.now() - started < timeoutMs; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ZONES = ['z1', 'z2', 'z3', 'z3'];

test('a replica removed while down deletes its copy after restart (heartbeat answer, checked locally)', { timeout: 120_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: (Metaserver | undefined)[] = [];
  const addresses: string[] = [];
  let mds: Awaited<ReturnType<typeof startMds>> | undefined;
  let mdsClient: RpcClient<MdsMethods> | undefined;
  let msClient: RpcClient<MetaServerMethods> | undefined;
  const start = (i: number) =>
    startMetaserver({ listen: addresses[i]!, dataDir: dirs[i + 1]!.path, mds: [mds!.address], zone: ZONES[i]!, tickMs: 50, heartbeatIntervalMs: 200 });
  try {
    for (let i = 0; i < 6; i++) dirs.push(await makeTempDir('ms-removed'));
    mds = await startMds({
      listen: `${LOOPBACK_HOST}:${await freePort()}`, dataDir: dirs[0]!.path, logger: silentLogger,
      backgroundTickMs: 200, metaserverOfflineMs: 1_500, scheduleCooldownMs: 600,
    });
    for (let i = 0; i < 4; i++) addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
    for (let i = 0; i < 4; i++) servers.push(await start(i));
    mdsClient = new RpcClient(mdsService(), { addresses: [mds.address], timeoutMs: 5_000, totalTimeoutMs: 20_000 });
    await until('four registered metaservers', async () => (servers.every((s) => (s?.heartbeat?.beats ?? 0) > 0) ? true : undefined));
    const created = await mdsClient.call('CreateFs', { fsName: 'rm', storage: { type: StorageType.LOCAL, local: { path: dirs[5]!.path } }, rootMode: 0o40755 });
    assert.equal(created.status, S.OK, created.errorMessage);
    const fsId = created.fsInfo!.fsId;
    const partition = (await mdsClient.call('ListPartition', { fsId })).partitions[0]!;
    const cs = { poolId: partition.poolId, copysetId: partition.copysetId };
    const header = { ...cs, partitionId: partition.partitionId, fsId };
    const hosting = servers.map((s, i) => (s!.copysets.get(cs.poolId, cs.copysetId) !== undefined ? i : -1)).filter((i) => i >= 0);
    assert.equal(hosting.length, 3);
    const victim = hosting.find((i) => ZONES[i] === 'z3')!;
    const spare = [2, 3].find((i) => i !== victim)!;
    assert.ok(!hosting.includes(spare), 'the other z3 metaserver hosts nothing yet');
    const copysetDir = join(dirs[victim + 1]!.path, 'copysets', `${cs.poolId}-${cs.copysetId}`);
    await stat(copysetDir);

    await servers[victim]!.stop();
    servers[victim] = undefined;
    const healed = await until('the scheduler to replace the stopped replica', async () => {
      const t = await mdsClient!.call('ListTopology', {});
      const c = t.copysets.find((x) => x.copysetId === cs.copysetId)!;
      const peers = c.peers.map((p) => p.address);
      return peers.length === 3 && !peers.includes(addresses[victim]!) && peers.includes(addresses[spare]!) && c.epoch >= 2 ? c : undefined;
    });
    msClient = new RpcClient(metaServerService(), { addresses: healed.peers.map((p) => p.address), timeoutMs: 3_000, totalTimeoutMs: 20_000, maxAttempts: 30 });
    assert.equal((await msClient.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 5 })).status, S.OK);
    await stat(copysetDir); // nobody could tell the stopped replica

    servers[victim] = await start(victim);
    await until('the restarted replica to drop its copy', async () =>
      servers[victim]!.copysets.get(cs.poolId, cs.copysetId) === undefined ? true : undefined,
    );
    await assert.rejects(stat(copysetDir), { code: 'ENOENT' });
    const replacedBy = await until('the replacement to hold the state', async () => {
      const s = await msClient!.call('GetCopysetStatus', cs, { address: addresses[spare]! });
      return s.copyset?.partitions[0]?.inodeCount === 2 ? s : undefined;
    });
    assert.equal(replacedBy.status, S.OK);
    assert.equal((await msClient.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 6 })).status, S.OK, 'the group keeps serving');
  } finally {
    msClient?.close();
    mdsClient?.close();
    for (const s of servers) await s?.stop();
    await mds?.stop();
    for (const d of dirs) await d.remove();
  }
});
