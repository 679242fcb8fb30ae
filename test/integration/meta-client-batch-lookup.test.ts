/**
 * Lookup coalescing against a real MDS and three metaservers: lookups issued
 * in the same event-loop turn at one partition go out as ONE BatchGetDentry
 * (counted at the MetaCaller), each answered with its own status (found with
 * attributes, or null for NOT_FOUND) exactly as the single GetDentry answers;
 * a lone lookup still uses GetDentry; lookups and bare getDentry (no attrs)
 * batch separately. Likewise concurrent getInodeAttr calls are one
 * BatchGetInodeAttr, and a missing id among them fails NOT_FOUND as before.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SeededRandom } from '../../src/common/random.js';
import { MetaClient } from '../../client/meta/index.js';
import { FileType, ROOT_INODE_ID, type Timespec } from '../../client/vfs/meta-api.js';
import { startMetaCluster, type MetaCluster } from './meta-client-cluster.js';

let cluster: MetaCluster;
let client: MetaClient;
let clock = 1_700_000_000;
const now = (): Timespec => ({ sec: clock++, nsec: 7 });
const calls = new Map<string, number>();

before(async () => {
  cluster = await startMetaCluster();
  await cluster.createFs('batchlookup1');
  client = await MetaClient.open({ mds: [cluster.mds.address], fsName: 'batchlookup1', random: new SeededRandom(5), timeoutMs: 3_000, totalTimeoutMs: 30_000 });
  // Count the metaserver RPCs by method (every request goes through MetaCaller.call).
  const caller = client.caller;
  const call = caller.call.bind(caller);
  caller.call = ((locate, method, body, options) => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    return call(locate, method, body, options);
  }) as typeof caller.call;
});

after(async () => {
  await client?.close();
  await cluster?.stop();
});

const count = (method: string): number => calls.get(method) ?? 0;

test('concurrent lookups are one BatchGetDentry with per-item statuses', { timeout: 60_000 }, async () => {
  const dir = await client.createInode({ type: FileType.Directory, mode: 0o40755, uid: 1, gid: 2, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() });
  await client.createDentry({ parentInodeId: ROOT_INODE_ID, name: 'b', inodeId: dir.inodeId, type: FileType.Directory }, now());
  const files = [];
  for (let i = 0; i < 20; i++) {
    const made = await client.createLinked({ type: FileType.File, mode: 0o100644, uid: 1, gid: 1, rdev: 0, symlink: '', parent: dir.inodeId, time: now() }, `f${i}`);
    assert.ok(made !== null);
    files.push(made);
  }
  const names = [...files.map((_, i) => `f${i}`), 'missing-a', 'missing-b', 'missing-c'];

  calls.clear();
  const found = await Promise.all(names.map((name) => client.lookup(dir.inodeId, name)));
  assert.equal(count('BatchGetDentry'), 1, 'one RPC for the whole turn');
  assert.equal(count('GetDentry'), 0);
  for (let i = 0; i < files.length; i++) {
    const r = found[i];
    assert.ok(r !== null && r !== undefined, `f${i} found`);
    assert.deepEqual(r.dentry, { parentInodeId: dir.inodeId, name: `f${i}`, inodeId: files[i]!.inodeId, type: FileType.File });
    assert.deepEqual(r.attr, files[i], 'the attributes come along as with the single lookup');
  }
  assert.deepEqual(found.slice(files.length), [null, null, null], 'NOT_FOUND items are null');

  // The same answers as the single RPC, one at a time.
  calls.clear();
  for (const [i, name] of names.entries()) assert.deepEqual(await client.lookup(dir.inodeId, name), found[i]);
  assert.equal(count('GetDentry'), names.length);
  assert.equal(count('BatchGetDentry'), 0, 'a batch of one is the single GetDentry');

  // Bare getDentry (no attributes) and lookup in one turn: one batch each.
  calls.clear();
  const [bare, withAttr] = await Promise.all([
    Promise.all(names.map((name) => client.getDentry(dir.inodeId, name))),
    Promise.all(names.map((name) => client.lookup(dir.inodeId, name))),
  ]);
  assert.equal(count('BatchGetDentry'), 2);
  assert.deepEqual(bare, found.map((r) => r?.dentry ?? null));
  assert.deepEqual(withAttr, found);
});

test('concurrent getInodeAttr calls are one BatchGetInodeAttr; a missing id fails as GetInode does', { timeout: 60_000 }, async () => {
  const made = [];
  for (let i = 0; i < 8; i++) {
    const a = await client.createLinked({ type: FileType.File, mode: 0o100600, uid: 2, gid: 2, rdev: 0, symlink: '', parent: ROOT_INODE_ID, time: now() }, `g${i}`);
    assert.ok(a !== null);
    made.push(a);
  }
  const ids = [...made.map((a) => a.inodeId), made[0]!.inodeId]; // a repeated id too
  calls.clear();
  const attrs = await Promise.all(ids.map((id) => client.getInodeAttr(id)));
  assert.equal(count('BatchGetInodeAttr'), 1, 'one RPC for the whole turn');
  assert.equal(count('GetInode'), 0);
  assert.deepEqual(attrs, [...made, made[0]]);

  // A missing id among found ones: it alone takes GetInode and fails NOT_FOUND as before.
  const missing = made[made.length - 1]!.inodeId + 1_000;
  calls.clear();
  const settled = await Promise.allSettled([client.getInodeAttr(made[1]!.inodeId), client.getInodeAttr(missing)]);
  assert.equal(settled[0].status, 'fulfilled');
  assert.deepEqual((settled[0] as PromiseFulfilledResult<unknown>).value, made[1]);
  assert.equal(settled[1].status, 'rejected');
  const error = (settled[1] as PromiseRejectedResult).reason as unknown;
  assert.ok(error instanceof MetaError && error.status === MetaStatusCode.NOT_FOUND, `NOT_FOUND, got ${String(error)}`);
  assert.equal(count('BatchGetInodeAttr'), 1);
  assert.equal(count('GetInode'), 1);
});
