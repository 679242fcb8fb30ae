/**
 * Three metaservers on loopback hosting one copyset: writes go through Raft,
 * reads after ReadIndex; a follower redirects to the leader; the leader is
 * stopped and the others carry on with every acknowledged change; the
 * stopped one restarts from its WAL and catches up.
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

const POOL = 1;
const COPYSET = 7;
const FS = 3;
const header = { poolId: POOL, copysetId: COPYSET, partitionId: 1, fsId: FS };
/** Small snapshot thresholds: a replica that was down catches up through InstallSnapshot. */
const RAFT = { snapshotLogEntries: 16 };

/** A port whose successor is free too (the Raft transport listens on port + 1). */
async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (let i = 0; i < 1000; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('three metaservers: replicated changes, redirects, leader loss and restart', { timeout: 120_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: (Metaserver | undefined)[] = [];
  const addresses: string[] = [];
  const client = (addressList: string[]): RpcClient<MetaServerMethods> =>
    new RpcClient<MetaServerMethods>(metaServerService(), { addresses: addressList, timeoutMs: 3_000, totalTimeoutMs: 30_000, maxAttempts: 50 });
  let rpc: RpcClient<MetaServerMethods> | undefined;
  try {
    for (let i = 0; i < 3; i++) {
      dirs.push(await makeTempDir('ms-cluster'));
      addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
    }
    for (let i = 0; i < 3; i++) servers.push(await startMetaserver({ listen: addresses[i]!, dataDir: dirs[i]!.path, mds: [], tickMs: 50, raft: RAFT }));
    const first = client(addresses);
    rpc = first;
    const peers = addresses.map((address, i) => ({ id: i + 1, address }));
    for (const address of addresses) {
      const created = await first.call('CreateCopysetNode', { poolId: POOL, copysetId: COPYSET, peers }, { address });
      assert.equal(created.status, S.OK);
      const again = await first.call('CreateCopysetNode', { poolId: POOL, copysetId: COPYSET, peers }, { address });
      assert.equal(again.status, S.EXIST);
    }
    const partition = await first.call('CreatePartition', { ...header, partition: { fsId: FS, partitionId: 1, start: 0, end: 2 ** 20 - 1 } });
    assert.equal(partition.status, S.OK);
    assert.equal((await first.call('CreateRootInode', { ...header, mode: 0o40755, timeSec: 1, timeNs: 0 })).status, S.OK);
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const inode = await first.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 2, timeNs: i });
      assert.equal(inode.status, S.OK);
      const name = `file-${i}`;
      const dentry = await first.call('CreateDentry', { ...header, dentry: { parentInodeId: 1, name, inodeId: inode.inode!.inodeId, type: 2 }, timeSec: 2 });
      assert.equal(dentry.status, S.OK);
      names.push(name);
    }
    const again = await first.call('CreateDentry', { ...header, dentry: { parentInodeId: 1, name: 'file-0', inodeId: 999, type: 2 }, timeSec: 2 });
    assert.equal(again.status, S.EXIST);
    assert.equal(again.existing?.name, 'file-0');
    const listed = await first.call('ListDentry', { ...header, dirInodeId: 1, count: 100 });
    assert.deepEqual(listed.dentries.map((d) => d.name), [...names].sort());
    const renamed = await first.call('Rename', { ...header, srcParentInodeId: 1, srcName: 'file-0', dstParentInodeId: 1, dstName: 'file-1', timeSec: 3 });
    assert.equal(renamed.status, S.OK);
    assert.ok(renamed.replacedInodeId > 0);

    // A follower answers REDIRECTED with the leader's address.
    const leader = first.leaderAddress();
    const follower = addresses.find((a) => a !== leader)!;
    const redirected = await first.call('GetDentry', { ...header, parentInodeId: 1, name: 'file-1' }, { address: follower });
    assert.equal(redirected.status, S.REDIRECTED);
    assert.equal(redirected.leaderHint, leader);
    const status = await first.call('GetCopysetStatus', { poolId: POOL, copysetId: COPYSET }, { address: follower });
    assert.equal(status.role, 'follower');
    assert.equal(status.copyset?.partitions[0]?.inodeCount, 21);

    // The leader goes away; the two others elect a new one and keep everything acknowledged.
    const leaderIndex = addresses.indexOf(leader);
    await servers[leaderIndex]!.stop();
    servers[leaderIndex] = undefined;
    first.close();
    const second = client(addresses.filter((a) => a !== leader));
    rpc = second;
    const afterFailover = await second.call('ListDentry', { ...header, dirInodeId: 1, count: 100 });
    assert.equal(afterFailover.status, S.OK);
    assert.deepEqual(afterFailover.dentries.map((d) => d.name), names.slice(1).sort());
    for (let i = 0; i < 40; i++) {
      const late = await second.call('CreateInode', { ...header, type: 1, mode: 0o40755, parent: 1, timeSec: 4 });
      assert.equal(late.status, S.OK);
    }
    assert.notEqual(second.leaderAddress(), leader);

    // The old leader restarts from its WAL and catches up with the change it missed.
    servers[leaderIndex] = await startMetaserver({ listen: leader, dataDir: dirs[leaderIndex]!.path, mds: [], tickMs: 50, raft: RAFT });
    const caughtUp = await until('restarted replica to catch up', async () => {
      const s = await second.call('GetCopysetStatus', { poolId: POOL, copysetId: COPYSET }, { address: leader });
      return s.copyset?.partitions[0]?.inodeCount === 61 ? s : undefined;
    });
    assert.equal(caughtUp.status, S.OK);
    const newLeader = second.leaderAddress();
    const leaderStatus = await second.call('GetCopysetStatus', { poolId: POOL, copysetId: COPYSET }, { address: newLeader });
    assert.ok(leaderStatus.appliedIndex > 0);

    // Leadership moves back by TransferLeader; the restarted replica then serves reads.
    const transferred = await second.call('TransferLeader', { poolId: POOL, copysetId: COPYSET, peer: { address: leader } }, { address: newLeader });
    assert.equal(transferred.status, S.OK);
    const listedThere = await second.call('ListDentry', { ...header, dirInodeId: 1, count: 100 }, { address: leader });
    assert.equal(listedThere.status, S.OK);
    assert.deepEqual(listedThere.dentries.map((d) => d.name), names.slice(1).sort());

    // Chunk lists stream in batches.
    const file = listedThere.dentries[0]!.inodeId;
    const chunks: Record<string, { infos: { chunkId: number; offset: number; len: number }[] }> = {};
    for (let c = 0; c < 150; c++) chunks[String(c)] = { infos: [{ chunkId: 1000 + c, offset: c * 2 ** 26, len: 10 }] };
    const appended = await second.call('AppendChunkInfo', { ...header, inodeId: file, chunks, length: 149 * 2 ** 26 + 10 }, { address: leader });
    assert.equal(appended.status, S.OK);
    let streamed = 0;
    let messages = 0;
    for await (const part of second.serverStream('GetChunkInfo', { ...header, inodeId: file }, { address: leader })) {
      assert.equal(part.status, S.OK);
      streamed += Object.keys(part.chunks).length;
      messages += 1;
    }
    assert.equal(streamed, 150);
    assert.equal(messages, 3);

    // Metrics of the replica that now leads.
    const metrics = await servers[leaderIndex]!.registry.metrics();
    assert.match(metrics, /curvefs_metaserver_requests_total\{method="ListDentry",status="OK"\} 1/);
    assert.match(metrics, /curvefs_metaserver_inodes 61/);
    assert.match(metrics, /curvefs_metaserver_copyset_leaders 1/);
  } finally {
    rpc?.close();
    for (const s of servers) await s?.stop();
    for (const d of dirs) await d.remove();
  }
});
