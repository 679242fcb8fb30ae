/**
 * Cross-copyset rename transactions abandoned by a dead client are finished
 * by the metaservers' sweeper: one committed at its primary rolls forward
 * everywhere, one never committed rolls back everywhere. Three metaservers
 * host two copysets; each holds one partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStatusCode as S } from '../../src/common/meta-status.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { metaServerService } from '../../src/proto/index.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { startMetaserver, type Metaserver } from '../../metaserver/index.js';
import type { TxLocator } from '../../metaserver/copyset/tx-sweeper.js';
import { freePort, isPortFree, LOOPBACK_HOST } from '../helpers/ports.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

const FS = 9;
const SPAN = 2 ** 20;

async function portPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no free port pair');
}

test('the sweeper rolls abandoned rename transactions forward or back across copysets', { timeout: 120_000 }, async () => {
  const dirs: TempDir[] = [];
  const servers: Metaserver[] = [];
  const addresses: string[] = [];
  let rpc: RpcClient<MetaServerMethods> | undefined;
  try {
    for (let i = 0; i < 3; i++) {
      dirs.push(await makeTempDir('ms-sweep'));
      addresses.push(`${LOOPBACK_HOST}:${await portPair()}`);
    }
    // Partition k lives in copyset k and owns ids [(k-1)·2^20, k·2^20).
    const locator: TxLocator = {
      partitionOfInode: async (_fs, inodeId) => Math.floor(inodeId / SPAN) + 1,
      locatePartition: async (_fs, partitionId) => ({ poolId: 1, copysetId: partitionId, addresses }),
    };
    for (let i = 0; i < 3; i++) {
      servers.push(
        await startMetaserver({ listen: addresses[i]!, dataDir: dirs[i]!.path, mds: [], tickMs: 50, txLocator: locator, txSweepIntervalMs: 3_600_000, txSweepGraceMs: 0 }),
      );
    }
    rpc = new RpcClient<MetaServerMethods>(metaServerService(), { addresses, timeoutMs: 3_000, totalTimeoutMs: 30_000, maxAttempts: 50 });
    const api = rpc;
    const peers = addresses.map((address, i) => ({ id: i + 1, address }));
    for (const copysetId of [1, 2]) {
      for (const address of addresses) assert.equal((await api.call('CreateCopysetNode', { poolId: 1, copysetId, peers }, { address })).status, S.OK);
    }
    const h = (k: number) => ({ poolId: 1, copysetId: k, partitionId: k, fsId: FS });
    for (const k of [1, 2]) {
      const created = await api.call('CreatePartition', { ...h(k), partition: { fsId: FS, partitionId: k, start: (k - 1) * SPAN, end: k * SPAN - 1 } });
      assert.equal(created.status, S.OK);
    }
    assert.equal((await api.call('CreateRootInode', { ...h(1), mode: 0o40755, timeSec: 1 })).status, S.OK);
    const dir = (await api.call('CreateInode', { ...h(2), type: 1, mode: 0o40755, parent: 1, timeSec: 1 })).inode!.inodeId;
    assert.equal((await api.call('CreateDentry', { ...h(1), dentry: { parentInodeId: 1, name: 'd', inodeId: dir, type: 1 }, timeSec: 1 })).status, S.OK);
    const file = (await api.call('CreateInode', { ...h(1), type: 2, mode: 0o100644, parent: 1, timeSec: 1 })).inode!.inodeId;
    assert.equal((await api.call('CreateDentry', { ...h(1), dentry: { parentInodeId: 1, name: 'f', inodeId: file, type: 2 }, timeSec: 1 })).status, S.OK);
    const lockTimeMs = Date.now() - 60_000; // a client that died a minute ago
    const sweep = async () => {
      let resolved = 0;
      for (const s of servers) resolved += await s.txSweeper.sweepOnce();
      return resolved;
    };

    // 1. /f → /d/g, committed at the primary (/f, copyset 1), then the client died.
    const tx1 = { primary: { fsId: FS, parentInodeId: 1, name: 'f' }, startTs: 100, ttlMs: 1_000, lockTimeMs, timeSec: 2 };
    const p1 = await api.call('PrewriteRename', {
      ...h(1), ...tx1, secondaryPartitions: [2],
      writes: [{ parentInodeId: 1, name: 'f', isDelete: true, type: 2, expectedInodeId: file }],
      inodeChanges: [{ inodeId: file, nlinkDelta: 0, addParents: [dir], removeParents: [1] }],
    });
    assert.equal(p1.status, S.OK);
    const p2 = await api.call('PrewriteRename', {
      ...h(2), ...tx1, writes: [{ parentInodeId: dir, name: 'g', isDelete: false, inodeId: file, type: 2, expectedInodeId: 0 }],
    });
    assert.equal(p2.status, S.OK);
    assert.equal((await api.call('CommitRename', { ...h(1), startTs: 100, commitTs: 101 })).status, S.OK);
    const locked = await api.call('GetDentry', { ...h(2), parentInodeId: dir, name: 'g' });
    assert.equal(locked.status, S.TX_LOCKED);
    assert.equal(locked.dentry?.lock?.startTs, 100);
    assert.equal(await sweep(), 1);
    const moved = await api.call('GetDentry', { ...h(2), parentInodeId: dir, name: 'g' });
    assert.equal(moved.status, S.OK);
    assert.equal(moved.dentry!.inodeId, file);
    assert.equal((await api.call('GetDentry', { ...h(1), parentInodeId: 1, name: 'f' })).status, S.NOT_FOUND);
    assert.deepEqual((await api.call('GetInode', { ...h(1), inodeId: file })).inode!.parents, [dir]);

    // 2. /d/g → /h, prewritten everywhere but never committed: rolled back, /d/g stays.
    const tx2 = { primary: { fsId: FS, parentInodeId: dir, name: 'g' }, startTs: 200, ttlMs: 1_000, lockTimeMs, timeSec: 3 };
    const q2 = await api.call('PrewriteRename', {
      ...h(2), ...tx2, secondaryPartitions: [1],
      writes: [{ parentInodeId: dir, name: 'g', isDelete: true, type: 2, expectedInodeId: file }],
    });
    assert.equal(q2.status, S.OK);
    const q1 = await api.call('PrewriteRename', {
      ...h(1), ...tx2,
      writes: [{ parentInodeId: 1, name: 'h', isDelete: false, inodeId: file, type: 2, expectedInodeId: 0 }],
      inodeChanges: [{ inodeId: file, nlinkDelta: 0, addParents: [1], removeParents: [dir] }],
    });
    assert.equal(q1.status, S.OK);
    const blocked = await api.call('UpdateInode', { ...h(1), inodeId: file, setFields: ['mode'], mode: 0o100600 });
    assert.equal(blocked.status, S.TX_LOCKED, 'the pending inode change blocks updates');
    assert.equal(blocked.lock?.startTs, 200);
    // Each copyset's leader may find its half; resolving twice is harmless.
    assert.ok((await sweep()) >= 1);
    assert.equal((await api.call('GetDentry', { ...h(1), parentInodeId: 1, name: 'h' })).status, S.NOT_FOUND);
    assert.equal((await api.call('GetDentry', { ...h(2), parentInodeId: dir, name: 'g' })).status, S.OK);
    const status = await api.call('CheckTxStatus', { ...h(2), startTs: 200, nowMs: Date.now() });
    assert.equal(status.txStatus, 3, 'rolled back at the primary');
    assert.equal((await api.call('CommitRename', { ...h(2), startTs: 200, commitTs: 201 })).status, S.TX_CONFLICT, 'a late commit is refused');
    assert.equal((await api.call('UpdateInode', { ...h(1), inodeId: file, setFields: ['mode'], mode: 0o100600 })).status, S.OK);
    assert.equal(await sweep(), 0, 'nothing left');
  } finally {
    rpc?.close();
    for (const s of servers) await s.stop();
    for (const d of dirs) await d.remove();
  }
});
