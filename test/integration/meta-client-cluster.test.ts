/**
 * MetaClient against a real cluster: an embedded MDS and three real
 * metaservers (Raft, WAL) on loopback. Mount, routing, every MetaApi and
 * ChunkInfoStore operation, partitions running out, the rename transaction
 * across partitions, locks left by a dead client (rolled back after their
 * ttl, or forward when the primary committed), and the copyset leader
 * stopped under the client.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SeededRandom } from '../../src/common/random.js';
import { FsFileType } from '../../src/proto/types-metaserver.js';
import { MetaClient, RenameTx } from '../../client/meta/index.js';
import { MetaCaller } from '../../client/meta/meta-caller.js';
import { silentLogger } from '../../src/common/log.js';
import { FileType, ROOT_INODE_ID, type InodeAttr, type Timespec } from '../../client/vfs/meta-api.js';
import { startMetaCluster, type MetaCluster } from './meta-client-cluster.js';

let cluster: MetaCluster;
let client: MetaClient;
let clock = 1_700_000_000;
const now = (): Timespec => ({ sec: clock++, nsec: 5 });

async function mkfile(parent: number, name: string, type = FileType.File): Promise<InodeAttr> {
  const mode = type === FileType.Directory ? 0o40755 : 0o100644;
  const inode = await client.createInode({ type, mode, uid: 1, gid: 2, rdev: 0, symlink: '', parent, time: now() });
  await client.createDentry({ parentInodeId: parent, name, inodeId: inode.inodeId, type }, now());
  return inode;
}

async function expectMeta(promise: Promise<unknown>, status: MetaStatusCode): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof MetaError && e.status === status);
}

before(async () => {
  cluster = await startMetaCluster();
  await cluster.createFs('meta1');
  client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'meta1', random: new SeededRandom(7), timeoutMs: 3_000, totalTimeoutMs: 30_000 });
});

after(async () => {
  await client?.close();
  await cluster?.stop();
});

test('mount, root, create/lookup/list with pagination, batch attrs', { timeout: 60_000 }, async () => {
  assert.equal(client.fsInfo.fsName, 'meta1');
  const root = await client.getInodeAttr(ROOT_INODE_ID);
  assert.equal(root.type, FileType.Directory);
  const dir = await mkfile(ROOT_INODE_ID, 'dir', FileType.Directory);
  assert.equal((await client.getInodeAttr(ROOT_INODE_ID)).nlink, 3, 'a subdirectory adds a link to its parent');
  const names: string[] = [];
  const ids: number[] = [];
  for (let i = 0; i < 25; i++) {
    const name = `f${String(i).padStart(2, '0')}`;
    ids.push((await mkfile(dir.inodeId, name)).inodeId);
    names.push(name);
  }
  assert.equal(await client.getDentry(dir.inodeId, 'missing'), null);
  const found = await client.getDentry(dir.inodeId, 'f07');
  assert.deepEqual(found, { parentInodeId: dir.inodeId, name: 'f07', inodeId: ids[7], type: FileType.File });
  const page1 = await client.listDentry(dir.inodeId, '', 10);
  assert.deepEqual(page1.map((d) => d.name), names.slice(0, 10));
  const rest = await client.listDentry(dir.inodeId, page1[9]!.name, 100);
  assert.deepEqual(rest.map((d) => d.name), names.slice(10));
  await expectMeta(client.createDentry({ parentInodeId: dir.inodeId, name: 'f01', inodeId: ids[2]!, type: FileType.File }, now()), MetaStatusCode.EXIST);
  // A resent create of the same dentry recognises itself.
  await client.createDentry({ parentInodeId: dir.inodeId, name: 'f01', inodeId: ids[1]!, type: FileType.File }, now());
  const attrs = await client.batchGetInodeAttr([...ids, 999_999]);
  assert.deepEqual(attrs.map((a) => a.inodeId).sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
  await client.deleteDentry(dir.inodeId, 'f00', FileType.File, now());
  assert.equal(await client.getDentry(dir.inodeId, 'f00'), null);
  await expectMeta(client.deleteDentry(dir.inodeId, 'f00', FileType.File, now()), MetaStatusCode.NOT_FOUND);
  await expectMeta(client.getInodeAttr(2 ** 40), MetaStatusCode.NOT_FOUND);
});

test('update inode, xattrs, conditional update', { timeout: 30_000 }, async () => {
  const f = await mkfile(ROOT_INODE_ID, 'attrs');
  const version = await client.updateInode(f.inodeId, { mode: 0o100600, mtime: { sec: 5, nsec: 6 }, setXattrs: new Map([['user.a', Uint8Array.of(1, 2)]]) });
  const attr = await client.getInodeAttr(f.inodeId);
  assert.equal(attr.mode, 0o100600);
  assert.deepEqual(attr.mtime, { sec: 5, nsec: 6 });
  assert.equal(attr.version, version);
  const x = await client.getXattrs(f.inodeId);
  assert.deepEqual([...x.xattrs], [['user.a', Uint8Array.of(1, 2)]]);
  assert.equal(x.version, version);
  const batch = await client.batchGetXattrs([f.inodeId, ROOT_INODE_ID, 2 ** 40]);
  assert.deepEqual(batch.find((b) => b.inodeId === f.inodeId)?.snapshot.xattrs, new Map([['user.a', Uint8Array.of(1, 2)]]));
  assert.equal(batch.find((b) => b.inodeId === ROOT_INODE_ID)?.snapshot.xattrs.size ?? 0, 0);
  await expectMeta(client.updateInode(f.inodeId, { uid: 9, expectedVersion: version - 1 }), MetaStatusCode.VERSION_MISMATCH);
  await client.updateInode(f.inodeId, { removeXattrs: ['user.a'], nlinkDelta: 1, expectedVersion: version });
  assert.equal((await client.getInodeAttr(f.inodeId)).nlink, 2);
  assert.equal((await client.getXattrs(f.inodeId)).xattrs.size, 0);
});

test('chunk infos: idempotent append, per-chunk read, truncate down and up; chunk ids increase', { timeout: 30_000 }, async () => {
  const f = await mkfile(ROOT_INODE_ID, 'data');
  const first = await client.allocate(3);
  const second = await client.allocate(2000);
  assert.ok(second >= first + 3, 'ids never repeat');
  const chunk = client.fsInfo.chunkSizeBytes;
  const records = [
    { chunkIndex: 0, info: { chunkId: first, compaction: 0, offset: 0, length: 4096, zero: false } },
    { chunkIndex: 1, info: { chunkId: first + 1, compaction: 0, offset: chunk, length: 100, zero: false } },
  ];
  await client.appendChunkInfos(f.inodeId, records, chunk + 100);
  await client.appendChunkInfos(f.inodeId, records, chunk + 100);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 0), [records[0]!.info]);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 1), [records[1]!.info]);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 7), []);
  assert.equal((await client.getInodeAttr(f.inodeId)).length, chunk + 100);
  await client.truncate(f.inodeId, 1000, []);
  assert.equal((await client.getInodeAttr(f.inodeId)).length, 1000);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 0), [{ ...records[0]!.info, length: 1000 }]);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 1), []);
  const zero = { chunkIndex: 0, info: { chunkId: first + 2, compaction: 0, offset: 1000, length: 9000, zero: true } };
  await client.truncate(f.inodeId, 10_000, [zero]);
  assert.equal((await client.getInodeAttr(f.inodeId)).length, 10_000);
  assert.equal((await client.getChunkInfos(f.inodeId, 0)).length, 2);
});

test('truncate is one Truncate entry: length, trim and zero records change together (one version step)', { timeout: 30_000 }, async () => {
  const f = await mkfile(ROOT_INODE_ID, 'trunc-one');
  const id = await client.allocate(2);
  const chunk = client.fsInfo.chunkSizeBytes;
  const data = [
    { chunkIndex: 0, info: { chunkId: id, compaction: 0, offset: 0, length: 8192, zero: false } },
    { chunkIndex: 2, info: { chunkId: id, compaction: 0, offset: 2 * chunk, length: 10, zero: false } },
  ];
  await client.appendChunkInfos(f.inodeId, data, 2 * chunk + 10);
  const before = await client.getInodeAttr(f.inodeId);
  await client.truncate(f.inodeId, 100, []);
  const shrunk = await client.getInodeAttr(f.inodeId);
  assert.equal(shrunk.length, 100);
  assert.equal(shrunk.version, before.version + 1, 'one change, not a trim per chunk plus a length update');
  assert.ok(shrunk.mtime.sec >= before.mtime.sec && shrunk.ctime.sec >= before.ctime.sec);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 0), [{ ...data[0]!.info, length: 100 }]);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 2), [], 'records past the end are gone in the same entry');
  const zeros = [
    { chunkIndex: 0, info: { chunkId: id + 1, compaction: 0, offset: 100, length: chunk - 100, zero: true } },
    { chunkIndex: 1, info: { chunkId: id + 1, compaction: 0, offset: chunk, length: 5, zero: true } },
  ];
  await client.truncate(f.inodeId, chunk + 5, zeros);
  const grown = await client.getInodeAttr(f.inodeId);
  assert.equal(grown.length, chunk + 5);
  assert.equal(grown.version, shrunk.version + 1);
  assert.deepEqual(await client.getChunkInfos(f.inodeId, 1), [zeros[1]!.info]);
  // A zero record past the new length, or one carrying data, is refused and changes nothing.
  await expectMeta(client.truncate(f.inodeId, 10, [{ chunkIndex: 0, info: { ...zeros[0]!.info } }]), MetaStatusCode.PARAM_ERROR);
  assert.equal((await client.getInodeAttr(f.inodeId)).version, grown.version);
  // A directory has no length to set.
  const d = await mkfile(ROOT_INODE_ID, 'trunc-dir', FileType.Directory);
  await expectMeta(client.truncate(d.inodeId, 0, []), MetaStatusCode.IS_DIR);
});

test('rename checks what the lookups saw, and refuses a directory into its own subtree', { timeout: 30_000 }, async () => {
  const a = await mkfile(ROOT_INODE_ID, 'chk-a');
  const b = await mkfile(ROOT_INODE_ID, 'chk-b');
  const base = { srcParent: ROOT_INODE_ID, srcType: FileType.File, dstParent: ROOT_INODE_ID, time: now() };
  // src no longer names the inode the caller looked up: NOT_FOUND, nothing changes.
  await expectMeta(client.rename({ ...base, srcName: 'chk-a', srcInodeId: b.inodeId, dstName: 'chk-c', expectedDstInodeId: 0 }), MetaStatusCode.NOT_FOUND);
  // dst exists but the caller believed it absent (or believed another inode): EXIST.
  await expectMeta(client.rename({ ...base, srcName: 'chk-a', srcInodeId: a.inodeId, dstName: 'chk-b', expectedDstInodeId: 0 }), MetaStatusCode.EXIST);
  await expectMeta(client.rename({ ...base, srcName: 'chk-a', srcInodeId: a.inodeId, dstName: 'chk-c', expectedDstInodeId: b.inodeId }), MetaStatusCode.EXIST);
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'chk-a'))?.inodeId, a.inodeId);
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'chk-b'))?.inodeId, b.inodeId);
  assert.equal((await client.getInodeAttr(b.inodeId)).nlink, 1);
  // A raced path walk: the client moves d1 under d1/d2 (the server walks the parents).
  const d1 = await mkfile(ROOT_INODE_ID, 'chk-d1', FileType.Directory);
  const d2 = await mkfile(d1.inodeId, 'd2', FileType.Directory);
  const d3 = await mkfile(d2.inodeId, 'd3', FileType.Directory);
  for (const into of [d1, d2, d3]) {
    await expectMeta(
      client.rename({ srcParent: ROOT_INODE_ID, srcName: 'chk-d1', srcInodeId: d1.inodeId, srcType: FileType.Directory, dstParent: into.inodeId, dstName: 'loop', expectedDstInodeId: 0, time: now() }),
      MetaStatusCode.PARAM_ERROR,
    );
  }
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'chk-d1'))?.inodeId, d1.inodeId);
  assert.deepEqual((await client.getInodeAttr(d1.inodeId)).parents, [ROOT_INODE_ID]);
  // The other way round is fine.
  await client.rename({ srcParent: d2.inodeId, srcName: 'd3', srcInodeId: d3.inodeId, srcType: FileType.Directory, dstParent: ROOT_INODE_ID, dstName: 'chk-d3', expectedDstInodeId: 0, time: now() });
  assert.deepEqual((await client.getInodeAttr(d3.inodeId)).parents, [ROOT_INODE_ID]);
});

test('rename in one copyset, replacing a target; sessions carry open inodes; statfs counts inodes', { timeout: 30_000 }, async () => {
  const a = await mkfile(ROOT_INODE_ID, 'ra');
  const b = await mkfile(ROOT_INODE_ID, 'rb');
  await client.rename({ srcParent: ROOT_INODE_ID, srcName: 'ra', srcInodeId: a.inodeId, srcType: FileType.File, dstParent: ROOT_INODE_ID, dstName: 'rb', expectedDstInodeId: b.inodeId, time: now() });
  assert.equal(await client.getDentry(ROOT_INODE_ID, 'ra'), null);
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'rb'))?.inodeId, a.inodeId);
  assert.equal((await client.getInodeAttr(b.inodeId)).nlink, 0, 'the replaced target lost its link');

  const refreshes = client.session.refreshCount;
  await client.registerOpen(a.inodeId);
  await client.registerOpen(a.inodeId);
  // Registration is batched: it reaches the MDS within OPEN_REGISTRATION_BATCH_MS, not before open returns.
  for (let i = 0; i < 100 && client.session.refreshCount === refreshes; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(client.session.refreshCount > refreshes, 'registration reached the MDS');
  assert.deepEqual(client.session.openInodeIds(), [a.inodeId]);
  await client.unregisterOpen(a.inodeId);
  assert.deepEqual(client.session.openInodeIds(), [a.inodeId]);
  await client.unregisterOpen(a.inodeId);
  assert.deepEqual(client.session.openInodeIds(), []);

  const stats = await client.statFs();
  assert.equal(stats.blockSizeBytes, client.fsInfo.blockSizeBytes);
  assert.ok(stats.inodeCount >= 30, `inode count ${stats.inodeCount}`);
});

test('partitions run out: new ones from the MDS; cross-partition rename transaction', { timeout: 60_000 }, async () => {
  const before = client.router.table.all().map((p) => p.partitionId);
  for (const id of before) client.router.markFull(id);
  const dir2 = await mkfile(ROOT_INODE_ID, 'far', FileType.Directory);
  const owner = client.router.table.owner(dir2.inodeId)!;
  assert.ok(!before.includes(owner.partitionId), 'the new directory went to a new partition');
  const moved = await mkfile(ROOT_INODE_ID, 'moving', FileType.Directory);
  const victim = await mkfile(dir2.inodeId, 'victim', FileType.Directory);
  const commits = client.renameTx.committedCount;
  // The transaction directly (the copyset may hold both partitions, where rename() would use one entry).
  await client.renameTx.run({
    srcParent: ROOT_INODE_ID, srcName: 'moving', srcInodeId: moved.inodeId, srcType: FileType.Directory,
    dstParent: dir2.inodeId, dstName: 'victim', expectedDstInodeId: victim.inodeId, expectedDstType: FileType.Directory, time: now(),
  });
  assert.equal(client.renameTx.committedCount, commits + 1);
  assert.equal(await client.getDentry(ROOT_INODE_ID, 'moving'), null);
  assert.equal((await client.getDentry(dir2.inodeId, 'victim'))?.inodeId, moved.inodeId);
  assert.deepEqual((await client.getInodeAttr(moved.inodeId)).parents, [dir2.inodeId]);
  assert.equal((await client.getInodeAttr(victim.inodeId)).nlink, 0);
  assert.equal((await client.getInodeAttr(dir2.inodeId)).nlink, 3, 'one subdirectory, replaced by another');
  // A stale expectation conflicts and changes nothing.
  await expectMeta(
    client.renameTx.run({
      srcParent: dir2.inodeId, srcName: 'victim', srcInodeId: victim.inodeId, srcType: FileType.Directory,
      dstParent: ROOT_INODE_ID, dstName: 'back', expectedDstInodeId: 0, time: now(),
    }),
    MetaStatusCode.TX_CONFLICT,
  );
  assert.equal((await client.getDentry(dir2.inodeId, 'victim'))?.inodeId, moved.inodeId);
  // And through rename(), whichever path it takes.
  await client.rename({ srcParent: dir2.inodeId, srcName: 'victim', srcInodeId: moved.inodeId, srcType: FileType.Directory, dstParent: ROOT_INODE_ID, dstName: 'home', expectedDstInodeId: 0, time: now() });
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'home'))?.inodeId, moved.inodeId);
});

test('locks of a dead client: rolled back after the ttl, rolled forward once the primary committed', { timeout: 60_000 }, async () => {
  const f = await mkfile(ROOT_INODE_ID, 'locked');
  const src = await client.router.forInode(ROOT_INODE_ID);
  const header = { poolId: src.partition.poolId, copysetId: src.partition.copysetId, partitionId: src.partition.partitionId, fsId: client.fsId };
  const primary = { fsId: client.fsId, parentInodeId: ROOT_INODE_ID, name: 'locked' };
  // A "dead client" prewrote a rename of 'locked' to 'locked2' and vanished (ttl 300 ms).
  const startTs = await client.tso();
  const prewrite = await src.client.call('PrewriteRename', {
    ...header, primary, startTs, ttlMs: 300, lockTimeMs: Date.now(), timeSec: 1, timeNs: 0,
    writes: [
      { parentInodeId: ROOT_INODE_ID, name: 'locked', isDelete: true, expectedInodeId: f.inodeId },
      { parentInodeId: ROOT_INODE_ID, name: 'locked2', isDelete: false, inodeId: f.inodeId, type: FsFileType.FILE, expectedInodeId: 0 },
    ],
  });
  assert.equal(prewrite.status, MetaStatusCode.OK);
  const resolved = client.resolver.resolvedCount;
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'locked'))?.inodeId, f.inodeId, 'rolled back: the old name stands');
  assert.equal(await client.getDentry(ROOT_INODE_ID, 'locked2'), null);
  assert.ok(client.resolver.resolvedCount > resolved);

  // Another: the primary committed, the secondary (another partition) did not.
  const far = await client.getDentry(ROOT_INODE_ID, 'far');
  const dst = await client.router.forInode(far!.inodeId);
  assert.notEqual(dst.partition.partitionId, src.partition.partitionId);
  const ts2 = await client.tso();
  const common = { primary, startTs: ts2, ttlMs: 60_000, lockTimeMs: Date.now(), timeSec: 1, timeNs: 0 };
  const p1 = await src.client.call('PrewriteRename', { ...header, ...common, writes: [{ parentInodeId: ROOT_INODE_ID, name: 'locked', isDelete: true, expectedInodeId: f.inodeId }] });
  assert.equal(p1.status, MetaStatusCode.OK);
  const dstHeader = { ...header, poolId: dst.partition.poolId, copysetId: dst.partition.copysetId, partitionId: dst.partition.partitionId };
  const p2 = await dst.client.call('PrewriteRename', { ...dstHeader, ...common, writes: [{ parentInodeId: far!.inodeId, name: 'arrived', isDelete: false, inodeId: f.inodeId, type: FsFileType.FILE, expectedInodeId: 0 }] });
  assert.equal(p2.status, MetaStatusCode.OK);
  const commitTs = await client.tso();
  assert.equal((await src.client.call('CommitRename', { ...header, startTs: ts2, commitTs })).status, MetaStatusCode.OK);
  assert.equal((await client.getDentry(far!.inodeId, 'arrived'))?.inodeId, f.inodeId, 'rolled forward');
  assert.equal(await client.getDentry(ROOT_INODE_ID, 'locked'), null);
});

/** A caller whose client "dies" after the n-th call of a method: that call and everything later fails. */
class CrashingCaller extends MetaCaller {
  private seen = 0;
  isDead = false;
  constructor(inner: MetaCaller, private readonly method: string, private readonly count: number) {
    super(inner.router, silentLogger);
    this.resolveLock = inner.resolveLock;
  }
  override async call(...args: Parameters<MetaCaller['call']>): ReturnType<MetaCaller['call']> {
    if (this.isDead) throw new Error('client crashed');
    const result = await super.call(...args);
    if (args[1] === this.method && ++this.seen === this.count) this.isDead = true;
    return result;
  }
}

test('a client crashing at each step of a cross-partition rename: afterwards exactly one name resolves', { timeout: 60_000 }, async () => {
  for (const id of client.router.table.all().map((p) => p.partitionId)) client.router.markFull(id);
  const far = await mkfile(ROOT_INODE_ID, 'crash-far', FileType.Directory);
  const steps = [
    { method: 'PrewriteRename', count: 1, isRenamed: false },
    { method: 'PrewriteRename', count: 2, isRenamed: false },
    { method: 'CommitRename', count: 1, isRenamed: true },
  ];
  for (const [i, step] of steps.entries()) {
    const f = await mkfile(ROOT_INODE_ID, `crash-src-${i}`);
    assert.notEqual(client.router.table.owner(far.inodeId)!.partitionId, client.router.table.owner(ROOT_INODE_ID)!.partitionId);
    const crashing = new CrashingCaller(client.caller, step.method, step.count);
    const tx = new RenameTx({ caller: crashing, resolver: client.resolver, tso: () => client.tso(), wallClock: { nowMs: () => Date.now() }, logger: silentLogger, ttlMs: 300 });
    const run = tx.run({ srcParent: ROOT_INODE_ID, srcName: `crash-src-${i}`, srcInodeId: f.inodeId, srcType: FileType.File, dstParent: far.inodeId, dstName: `crash-dst-${i}`, expectedDstInodeId: 0, time: now() });
    // Once the primary committed the rename has happened: the failed secondary commits are left to readers.
    if (step.isRenamed) await run;
    else await assert.rejects(run, /client crashed/);
    assert.equal(crashing.isDead, true);
    // Another client's reads meet the locks and resolve them (after the ttl where nothing was committed).
    const src = await client.getDentry(ROOT_INODE_ID, `crash-src-${i}`);
    const dst = await client.getDentry(far.inodeId, `crash-dst-${i}`);
    assert.equal(src === null, step.isRenamed, `step ${step.method}#${step.count}: source`);
    assert.equal(dst === null, !step.isRenamed, `step ${step.method}#${step.count}: destination`);
    assert.equal((src ?? dst)!.inodeId, f.inodeId);
    const attr = await client.getInodeAttr(f.inodeId);
    assert.deepEqual(attr.parents, step.isRenamed ? [far.inodeId] : [ROOT_INODE_ID]);
  }
});

test('the copyset leader stops: the client follows the new leader', { timeout: 90_000 }, async () => {
  const target = await client.router.forInode(ROOT_INODE_ID);
  await client.getInodeAttr(ROOT_INODE_ID);
  const leader = target.client.leaderAddress();
  const index = cluster.addresses.indexOf(leader);
  assert.ok(index >= 0, `leader ${leader} is one of ours`);
  await cluster.stopServer(index);
  const f = await mkfile(ROOT_INODE_ID, 'after-failover');
  assert.equal((await client.getDentry(ROOT_INODE_ID, 'after-failover'))?.inodeId, f.inodeId);
  assert.notEqual(target.client.leaderAddress(), leader);
  await cluster.startServer(index);
  const g = await mkfile(ROOT_INODE_ID, 'after-restart');
  assert.equal((await client.getInodeAttr(g.inodeId)).inodeId, g.inodeId);
});

test('after all three metaservers restart, waitUntilServing returns once every copyset has a leader', { timeout: 90_000 }, async () => {
  for (let i = 0; i < cluster.addresses.length; i++) await cluster.stopServer(i);
  for (let i = 0; i < cluster.addresses.length; i++) await cluster.startServer(i);
  const started = performance.now();
  assert.deepEqual(await client.waitUntilServing(30_000), [], 'every copyset elected a leader within the bound');
  const waitedMs = performance.now() - started;
  for (const { poolId, copysetId, client: copyset } of client.router.copysetTargets()) {
    const status = await copyset.callOk('GetCopysetStatus', { poolId, copysetId }, { isIdempotent: true });
    assert.ok(status.copyset?.leader?.address, `copyset ${poolId}/${copysetId} has a leader`);
  }
  const root = await client.getInodeAttr(ROOT_INODE_ID);
  assert.equal(root.type, FileType.Directory);
  console.log(`waitUntilServing after a full restart: ${waitedMs.toFixed(0)} ms`);
});
