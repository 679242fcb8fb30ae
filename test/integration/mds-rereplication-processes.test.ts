/**
 * Issue #5's re-replication scenario with the product's own processes:
 * `curvefs mds` and four `curvefs metaserver` processes (zones z1, z2, z3,
 * z3). A file system gets inodes and dentries; the z3 metaserver holding a
 * replica is killed with SIGKILL; once it has been silent past the MDS's
 * heartbeat timeout its replica is re-created on the spare z3 metaserver.
 * Then leadership is moved to the new replica and every inode and dentry
 * is read through it: it holds all the data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { mdsService, metaServerService, StorageType } from '../../src/proto/index.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { RpcClient } from '../../src/rpc/index.js';
import { freePort, isPortFree, LOOPBACK_HOST, makeTempDir, startProcess, type ProcessHandle } from '../helpers/index.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = path.join(root, 'bin', 'curvefs.js');
const FILES = 40;

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (let i = 0; i < 1000 && Date.now() - started < timeoutMs; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('CURVEFS_')) env[key] = value;
  return env;
}

test('a SIGKILLed metaserver process: its replica moves to the spare with all the data', { timeout: 120_000 }, async (t) => {
  const work = await makeTempDir('rerep-proc');
  const processes: ProcessHandle[] = [];
  const clients: { close(): void }[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    for (const child of processes.reverse()) await child.stop().catch(() => undefined);
    await work.remove();
  });
  const mdsAddress = `${LOOPBACK_HOST}:${await freePort()}`;
  processes.push(
    await startProcess({
      name: 'curvefs mds',
      command: process.execPath,
      args: [bin, 'mds', '--listen', mdsAddress, '--data', path.join(work.path, 'mds'), '--heartbeat-timeout', '3s', '--log-level', 'warn'],
      env: cleanEnv(),
      ready: { kind: 'line', pattern: /^mds: serving/m },
      readyTimeoutMs: 30_000,
    }),
  );
  const zones = ['z1', 'z2', 'z3', 'z3'];
  const metaservers: { address: string; zone: string; handle: ProcessHandle }[] = [];
  for (let i = 0; i < zones.length; i++) {
    const address = `${LOOPBACK_HOST}:${await portPair()}`;
    const handle = await startProcess({
      name: `curvefs metaserver ${i + 1}`,
      command: process.execPath,
      args: [bin, 'metaserver', '--listen', address, '--data', path.join(work.path, `ms${i + 1}`), '--mds', mdsAddress, '--zone', zones[i]!, '--log-level', 'warn'],
      env: cleanEnv(),
      ready: { kind: 'line', pattern: /^metaserver: serving/m },
      readyTimeoutMs: 30_000,
    });
    processes.push(handle);
    metaservers.push({ address, zone: zones[i]!, handle });
  }
  const mds = new RpcClient<MdsMethods>(mdsService(), { addresses: [mdsAddress], timeoutMs: 5_000, totalTimeoutMs: 30_000 });
  clients.push(mds);
  await until('four online metaservers', async () => ((await mds.call('ListTopology', {})).metaservers.length === 4 ? true : undefined), 30_000);
  const created = await until('the file system', async () => {
    const reply = await mds.call('CreateFs', { fsName: 'rerep', storage: { type: StorageType.LOCAL, local: { path: path.join(work.path, 'objects') } } });
    return reply.status === S.OK ? reply : undefined;
  }, 30_000);
  const fsId = created.fsInfo!.fsId;
  const partition = (await mds.call('ListPartition', { fsId })).partitions[0]!;
  const header = { poolId: partition.poolId, copysetId: partition.copysetId, partitionId: partition.partitionId, fsId };
  const copysetPeers = async (): Promise<string[]> =>
    (await mds.call('ListTopology', {})).copysets.find((c) => c.poolId === partition.poolId && c.copysetId === partition.copysetId)?.peers.map((p) => p.address) ?? [];
  const hosting = await until('the copyset reported with 3 peers', async () => {
    const peers = await copysetPeers();
    return peers.length === 3 ? peers : undefined;
  }, 30_000);
  const victim = metaservers.find((m) => hosting.includes(m.address) && m.zone === 'z3')!;
  const spare = metaservers.find((m) => !hosting.includes(m.address))!;
  assert.ok(victim && spare, 'one z3 metaserver hosts the copyset, the other is spare');
  assert.equal(spare.zone, 'z3');

  const ms = new RpcClient<MetaServerMethods>(metaServerService(), { addresses: hosting, timeoutMs: 3_000, totalTimeoutMs: 30_000, maxAttempts: 60 });
  clients.push(ms);
  const inodeIds: number[] = [];
  for (let i = 0; i < FILES; i++) {
    const inode = await ms.callOk('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 5 });
    await ms.callOk('CreateDentry', { ...header, dentry: { parentInodeId: 1, name: `f${i}`, inodeId: inode.inode!.inodeId, type: 2 }, timeSec: 5 });
    inodeIds.push(inode.inode!.inodeId);
  }

  await victim.handle.kill();
  await until('the replica to move to the spare', async () => {
    const peers = await copysetPeers();
    return peers.length === 3 && peers.includes(spare.address) && !peers.includes(victim.address) ? true : undefined;
  }, 60_000);

  // Move leadership to the new replica, then read everything through it alone.
  const healthy = hosting.filter((a) => a !== victim.address).concat(spare.address);
  ms.setAddresses(healthy);
  await until('the spare to lead the copyset', async () => {
    const leader = await ms.call('GetLeader', header, { address: spare.address });
    if (leader.status === S.OK && leader.leaderHint === spare.address) return true;
    await ms.call('TransferLeader', { ...header, peer: { address: spare.address } });
    return undefined;
  }, 30_000);
  for (const inodeId of inodeIds) {
    const reply = await ms.call('GetInode', { ...header, inodeId }, { address: spare.address });
    assert.equal(reply.status, S.OK, `inode ${inodeId} on the new replica`);
  }
  const listed = await ms.call('ListDentry', { ...header, dirInodeId: 1, last: '', count: FILES + 10 }, { address: spare.address });
  assert.equal(listed.status, S.OK);
  assert.equal(listed.dentries.length, FILES);
});
