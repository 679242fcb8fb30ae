/**
 * Create coalescing against a real MDS and three metaservers: linked creates
 * issued in the same event-loop turn whose parents live in one partition go
 * out as ONE BatchCreateInode (one Raft entry), each answered as its single
 * CreateInode would be: a name that exists fails EXIST (through the single
 * path) without failing the others, two creates of one name in a turn make
 * one file and one EXIST, a lone create (or one carrying a long symlink
 * target) is the single CreateInode, a resent
 * batch or item (same request ids) is answered with the inodes made first,
 * and a metaserver without the batch RPC (UNIMPLEMENTED) gets single calls.
 * Then, with metaserver processes, batched creates while the leader is
 * killed with SIGKILL: every acknowledged create is there, and no create
 * ever meets its own earlier apply as EXIST (resends are exactly-once).
 */
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { test } from 'node:test';
import { MetaError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SeededRandom } from '../../src/common/random.js';
import { FsFileType } from '../../src/proto/types-metaserver.js';
import { RpcError } from '../../src/rpc/index.js';
import { MetaClient } from '../../client/meta/index.js';
import { FileType, ROOT_INODE_ID, type Timespec } from '../../client/vfs/meta-api.js';
import { startMetaCluster } from './meta-client-cluster.js';

let clock = 1_700_000_000;
const now = (): Timespec => ({ sec: clock++, nsec: 3 });
const file = (parent: number) => ({ type: FileType.File, mode: 0o100644, uid: 1, gid: 1, rdev: 0, symlink: '', parent, time: now() });

function countCalls(client: MetaClient): Map<string, number> {
  const calls = new Map<string, number>();
  const caller = client.caller;
  const call = caller.call.bind(caller);
  caller.call = ((locate, method, body, options) => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    return call(locate, method, body, options);
  }) as typeof caller.call;
  return calls;
}

const isExist = (e: unknown): boolean => e instanceof MetaError && e.status === MetaStatusCode.EXIST;

test('concurrent linked creates are one BatchCreateInode with per-item outcomes', { timeout: 60_000 }, async () => {
  const cluster = await startMetaCluster();
  let client: MetaClient | undefined;
  try {
    await cluster.createFs('batchcreate1');
    client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'batchcreate1', random: new SeededRandom(3), timeoutMs: 3_000, totalTimeoutMs: 30_000 });
    const meta = client;
    const calls = countCalls(meta);
    const count = (m: string): number => calls.get(m) ?? 0;
    const dir = await meta.createInode({ type: FileType.Directory, mode: 0o40755, uid: 0, gid: 0, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() });
    await meta.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'd', inodeId: dir.inodeId, type: FileType.Directory }, now());
    const lone = await meta.createLinked(file(dir.inodeId), 'taken');
    assert.ok(lone !== null);

    calls.clear();
    const names = [...Array.from({ length: 16 }, (_, i) => `f${i}`), 'taken', 'twice', 'twice'];
    const settled = await Promise.allSettled(names.map((name) => meta.createLinked(file(dir.inodeId), name)));
    assert.equal(count('BatchCreateInode'), 1, 'one RPC for the whole turn');
    assert.equal(count('CreateInode'), 2, 'only the refused items go again alone');
    for (let i = 0; i < 16; i++) {
      const r = settled[i]!;
      assert.equal(r.status, 'fulfilled', `f${i} created`);
      const attr = (r as PromiseFulfilledResult<Awaited<ReturnType<MetaClient['createLinked']>>>).value;
      assert.ok(attr !== null && attr.nlink === 1 && attr.parents.length === 1 && attr.parents[0] === dir.inodeId);
      assert.equal((await meta.getDentry(dir.inodeId, `f${i}`))?.inodeId, attr.inodeId);
      assert.deepEqual(await meta.getInodeAttr(attr.inodeId), attr, 'the batch answers what GetInode reads');
    }
    assert.equal(settled[16]!.status, 'rejected');
    assert.ok(isExist((settled[16] as PromiseRejectedResult).reason), 'an existing name fails EXIST as before');
    const twice = settled.slice(17);
    assert.equal(twice.filter((r) => r.status === 'fulfilled').length, 1, 'one of two creates of a name wins');
    assert.ok(isExist((twice.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason));
    assert.equal((await meta.listDentry(dir.inodeId, '', 1_000)).length, 16 + 2);

    // A lone create is the single CreateInode.
    calls.clear();
    assert.ok((await meta.createLinked(file(dir.inodeId), 'alone')) !== null);
    assert.deepEqual([count('CreateInode'), count('BatchCreateInode')], [1, 0]);

    // A create carrying a long symlink target goes alone; the others still batch.
    calls.clear();
    const long = { ...file(dir.inodeId), type: FileType.Symlink, mode: 0o120777, symlink: `/${'t'.repeat(2_000)}` };
    const mixed = await Promise.all([meta.createLinked(long, 'long'), meta.createLinked(file(dir.inodeId), 's1'), meta.createLinked(file(dir.inodeId), 's2')]);
    assert.ok(mixed.every((a) => a !== null));
    assert.equal(mixed[0]!.symlink, long.symlink);
    assert.deepEqual([count('CreateInode'), count('BatchCreateInode')], [1, 1]);

    // Resends under the same request ids: the inodes made first, nothing made twice.
    const target = await meta.router.forCreateNear(dir.inodeId);
    assert.ok(target !== undefined);
    const item = (name: string, requestId: string) => ({ type: FsFileType.FILE, mode: 0o100644, uid: 1, gid: 1, rdev: 0, symlink: '', parent: dir.inodeId, timeSec: clock++, timeNs: 0, requestId, dentryName: name });
    const items = [item('r1', 'resend:1'), item('r2', 'resend:2')];
    const first = await meta.caller.call(() => Promise.resolve(target), 'BatchCreateInode', { items });
    const again = await meta.caller.call(() => Promise.resolve(target), 'BatchCreateInode', { items });
    assert.equal(first.reply.status, MetaStatusCode.OK);
    assert.deepEqual(first.reply.results.map((r) => r.status), [MetaStatusCode.OK, MetaStatusCode.OK]);
    assert.deepEqual(again.reply.results, first.reply.results);
    const alone = await meta.caller.call(() => Promise.resolve(target), 'CreateInode', item('r2', 'resend:2'));
    assert.equal(alone.reply.inode?.inodeId, first.reply.results[1]!.inode!.inodeId, 'a single resend of a batched item');
    assert.equal((await meta.listDentry(dir.inodeId, '', 1_000)).length, 16 + 2 + 1 + 3 + 2);

    // A metaserver without the batch RPC: every item goes alone and succeeds.
    const call = meta.caller.call.bind(meta.caller);
    meta.caller.call = ((locate, method, body, options) => {
      if (method === 'BatchCreateInode') return Promise.reject(new RpcError('CURVEFS_ERR_RPC', 'unimplemented', GrpcStatus.UNIMPLEMENTED, 1));
      return call(locate, method, body, options);
    }) as typeof meta.caller.call;
    calls.clear();
    const old = await Promise.all(['u1', 'u2', 'u3'].map((name) => meta.createLinked(file(dir.inodeId), name)));
    assert.ok(old.every((a) => a !== null));
    assert.equal(count('CreateInode'), 3);
    for (const [i, name] of ['u1', 'u2', 'u3'].entries()) assert.equal((await meta.getDentry(dir.inodeId, name))?.inodeId, old[i]!.inodeId);
  } finally {
    await client?.close().catch(() => undefined);
    await cluster.stop();
  }
});

test('batched creates while the leader is killed: acknowledged creates stay, resends are exactly-once', { timeout: 120_000 }, async () => {
  const cluster = await startMetaCluster({ processes: true });
  let client: MetaClient | undefined;
  try {
    await cluster.createFs('batchcreatekill');
    client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'batchcreatekill', random: new SeededRandom(9), logger: silentLogger, timeoutMs: 2_000, totalTimeoutMs: 20_000 });
    const meta = client;
    const calls = countCalls(meta);
    const dirAttr = await meta.createInode({ type: FileType.Directory, mode: 0o40755, uid: 0, gid: 0, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() });
    await meta.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'work', inodeId: dirAttr.inodeId, type: FileType.Directory }, now());
    const dir = dirAttr.inodeId;
    const acked = new Map<string, number>();
    const unknown = new Set<string>();
    const exists: string[] = [];
    let isRunning = true;
    const caller = async (c: number): Promise<void> => {
      for (let n = 0; isRunning && n < 100_000; n++) {
        const name = `w${c}-${n}`;
        try {
          const attr = await meta.createLinked(file(dir), name);
          assert.ok(attr !== null, 'the parent copyset can allocate');
          acked.set(name, attr.inodeId);
        } catch (error) {
          // Names are unique: EXIST could only be our own create applied before (a resend not deduplicated).
          if (isExist(error)) exists.push(name);
          unknown.add(name);
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, c) => caller(c));
    for (let kill = 0; kill < 2; kill++) {
      await new Promise((r) => setTimeout(r, 2_000));
      const leader = (await meta.router.forInode(dir)).client.leaderAddress();
      const index = cluster.addresses.indexOf(leader);
      assert.ok(index >= 0, `leader ${leader}`);
      await cluster.stopServer(index, 'kill');
      await new Promise((r) => setTimeout(r, 800));
      await cluster.startServer(index);
    }
    await new Promise((r) => setTimeout(r, 2_000));
    isRunning = false;
    await Promise.all(workers);
    assert.deepEqual(exists, [], 'no create met its own earlier apply');
    assert.ok(acked.size > 100, `acknowledged ${acked.size}`);
    assert.ok((calls.get('BatchCreateInode') ?? 0) > 0, 'creates were batched');
    const present = new Map((await meta.listDentry(dir, '', 100_000)).map((d) => [d.name, d.inodeId]));
    for (const [name, inodeId] of acked) assert.equal(present.get(name), inodeId, `acknowledged ${name} → ${inodeId}`);
    for (const name of present.keys()) assert.ok(acked.has(name) || unknown.has(name), `${name} present but never asked for`);
    console.log(`# batch create kill test: ${acked.size} acknowledged, ${unknown.size} unknown, ${calls.get('BatchCreateInode')} batches`);
  } finally {
    await client?.close().catch(() => undefined);
    await cluster.stop();
  }
});
