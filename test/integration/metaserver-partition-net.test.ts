/**
 * Network partitions between metaservers (Raft traffic runs through TCP
 * proxies the test cuts): with a follower cut off the copyset keeps
 * serving, and the follower catches up once healed; with the leader cut
 * off the majority elects a new one that keeps every acknowledged change,
 * and the old leader rejoins as a follower.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { metaServerService } from '../../src/proto/index.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { raftAddressOf, startMetaserver, type Metaserver } from '../../metaserver/index.js';
import { freePort, isPortFree, LOOPBACK_HOST } from '../helpers/ports.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const header = { poolId: 1, copysetId: 4, partitionId: 1, fsId: 6 };

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

test('a cut-off follower catches up; a cut-off leader is replaced and rejoins', { timeout: 120_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: Metaserver[] = [];
  const addresses: string[] = [];
  /** proxies[i][j]: how server i reaches server j's Raft transport. */
  const proxies: TcpProxy[][] = [[], [], []];
  let rpc: RpcClient<MetaServerMethods> | undefined;
  const isolate = (k: number, isCut: boolean) => {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i === j || (i !== k && j !== k)) continue;
        if (isCut) proxies[i]![j]!.cut();
        else proxies[i]![j]!.heal();
      }
    }
  };
  try {
    for (let i = 0; i < 3; i++) {
      dirs.push(await makeTempDir('ms-net'));
      addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
    }
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) proxies[i]![j] = await TcpProxy.start(raftAddressOf(addresses[j]!));
    }
    for (let i = 0; i < 3; i++) {
      const raftResolve = (id: string) => proxies[i]![addresses.indexOf(id)]!.address;
      servers.push(await startMetaserver({ listen: addresses[i]!, dataDir: dirs[i]!.path, mds: [], tickMs: 50, raftResolve }));
    }
    rpc = new RpcClient<MetaServerMethods>(metaServerService(), { addresses, timeoutMs: 2_000, totalTimeoutMs: 30_000, maxAttempts: 60 });
    const api = rpc;
    const peers = addresses.map((address, i) => ({ id: i + 1, address }));
    for (const address of addresses) assert.equal((await api.call('CreateCopysetNode', { poolId: 1, copysetId: 4, peers }, { address })).status, S.OK);
    assert.equal((await api.call('CreatePartition', { ...header, partition: { fsId: 6, partitionId: 1, start: 0, end: 2 ** 20 - 1 } })).status, S.OK);
    assert.equal((await api.call('CreateRootInode', { ...header, mode: 0o40755, timeSec: 1 })).status, S.OK);
    const inodeCount = async (address: string) =>
      (await api.call('GetCopysetStatus', { poolId: 1, copysetId: 4 }, { address })).copyset?.partitions[0]?.inodeCount ?? -1;
    const create = async (n: number) => {
      for (let i = 0; i < n; i++) assert.equal((await api.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 2 })).status, S.OK);
    };

    // 1. A follower is cut off: the other two keep going; healed, it catches up.
    await create(5);
    const leader = api.leaderAddress();
    const followerIndex = addresses.findIndex((a) => a !== leader);
    isolate(followerIndex, true);
    await create(20);
    assert.ok((await inodeCount(addresses[followerIndex]!)) < 26, 'the isolated follower is behind');
    isolate(followerIndex, false);
    await until('the follower to catch up', async () => ((await inodeCount(addresses[followerIndex]!)) === 26 ? true : undefined));

    // 2. The leader is cut off: a new leader takes over with everything acknowledged.
    const oldLeader = api.leaderAddress();
    const oldIndex = addresses.indexOf(oldLeader);
    isolate(oldIndex, true);
    const others = addresses.filter((a) => a !== oldLeader);
    rpc.close();
    rpc = new RpcClient<MetaServerMethods>(metaServerService(), { addresses: others, timeoutMs: 2_000, totalTimeoutMs: 30_000, maxAttempts: 60 });
    const survivors = rpc;
    // The majority elects a new leader once the old one's heartbeats stop (check-quorum deposes it).
    await until('a new leader among the majority', async () => {
      const s = await survivors.call('GetLeader', { poolId: 1, copysetId: 4 }, { address: others[0]! });
      return s.leader?.address !== undefined && others.includes(s.leader.address) ? true : undefined;
    });
    const created = await survivors.call('CreateInode', { ...header, type: 2, mode: 0o100644, parent: 1, timeSec: 3 });
    assert.equal(created.status, S.OK);
    assert.notEqual(survivors.leaderAddress(), oldLeader);
    const count = (await survivors.call('GetCopysetStatus', { poolId: 1, copysetId: 4 }, { address: survivors.leaderAddress() })).copyset!.partitions[0]!.inodeCount;
    assert.equal(count, 27);
    isolate(oldIndex, false);
    const rejoined = await until('the old leader to rejoin as a follower', async () => {
      const s = await survivors.call('GetCopysetStatus', { poolId: 1, copysetId: 4 }, { address: oldLeader });
      return s.role === 'follower' && s.copyset?.partitions[0]?.inodeCount === 27 ? s : undefined;
    });
    assert.equal(rejoined.status, S.OK);
  } finally {
    rpc?.close();
    for (const s of servers) await s.stop();
    for (const row of proxies) for (const p of row) await p.close();
    for (const d of dirs) await d.remove();
  }
});
