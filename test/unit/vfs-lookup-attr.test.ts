/**
 * MetaApi.lookup: when the metadata layer hands over the child's attributes
 * with the dentry (the metaserver does when it holds the inode too), a path
 * walk costs no getInodeAttr, and the answers are those of the
 * getDentry + getInodeAttr walk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { OpenFlags } from '../../client/vfs/vfs-types.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import type { InodeId, LookupResult } from '../../client/vfs/meta-api.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

/** MemoryMeta whose lookup returns the child's attributes, as a metaserver holding both does. */
class LookupMeta extends MemoryMeta {
  withAttr = true;

  async lookup(parent: InodeId, name: string): Promise<LookupResult | null> {
    const dentry = await this.getDentry(parent, name);
    if (dentry === null) return null;
    const stored = this.inodes.get(dentry.inodeId);
    return this.withAttr && stored !== undefined ? { dentry, attr: { ...stored.attr, parents: [...stored.attr.parents] } } : { dentry };
  }
}

function world(meta: MemoryMeta): { vfs: Vfs; cacheClock: ManualClock } {
  const wall = new ManualClock(1_700_000_000_000);
  const cacheClock = new ManualClock(0);
  const store = new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs()));
  const vfs = new Vfs({ meta, data: store, wallClock: wall, cacheClock, attrTtlMs: 1000, entryTtlMs: 1000, negativeEntryTtlMs: 1000 });
  return { vfs, cacheClock };
}

async function populate(vfs: Vfs): Promise<void> {
  assert.ok((await vfs.mkdir(ROOT_CALLER, '/d', 0o755)).ok);
  const fh = await vfs.create(ROOT_CALLER, '/d/f', 0o644, OpenFlags.O_CREAT | OpenFlags.O_RDWR);
  assert.ok(fh.ok);
  assert.ok((await vfs.write(ROOT_CALLER, fh.value, 0, Buffer.from('hello'))).ok);
  assert.ok((await vfs.flush(ROOT_CALLER, fh.value)).ok);
  assert.ok((await vfs.release(ROOT_CALLER, fh.value)).ok);
}

test('a walk with attributes from lookup makes no getInodeAttr and sees what the plain walk sees', async () => {
  const meta = new LookupMeta();
  const { vfs, cacheClock } = world(meta);
  await populate(vfs);
  cacheClock.advance(5_000); // every cached entry has expired: the walk goes to the metadata layer

  const attrCallsBefore = meta.callCount('getInodeAttr');
  const lookupsBefore = meta.callCount('getDentry');
  const fast = await vfs.getattr(ROOT_CALLER, '/d/f');
  assert.ok(fast.ok);
  assert.equal(meta.callCount('getDentry') - lookupsBefore, 2, 'one lookup per name');
  // The root's attributes are not carried by any lookup: at most that one getInodeAttr.
  assert.ok(meta.callCount('getInodeAttr') - attrCallsBefore <= 1, 'children came with their lookups');

  meta.withAttr = false;
  cacheClock.advance(5_000);
  const plain = await vfs.getattr(ROOT_CALLER, '/d/f');
  assert.ok(plain.ok);
  assert.deepEqual(fast.value, plain.value);
  assert.equal(fast.value.size, 5);

  const missing = await vfs.getattr(ROOT_CALLER, '/d/nope');
  assert.ok(!missing.ok);
});

test('a file just created has no extended attributes to fetch (the kernel asks on the first write)', async () => {
  const meta = new MemoryMeta();
  const { vfs } = world(meta);
  const fh = await vfs.create(ROOT_CALLER, '/f', 0o644, OpenFlags.O_CREAT | OpenFlags.O_RDWR);
  assert.ok(fh.ok);
  const before = meta.callCount('getXattrs');
  const capability = await vfs.getxattr(ROOT_CALLER, '/f', 'security.capability');
  assert.ok(!capability.ok);
  assert.equal(meta.callCount('getXattrs'), before, 'answered from the cache');
  assert.ok((await vfs.setxattr(ROOT_CALLER, '/f', 'user.a', Buffer.from('1'), 0)).ok);
  const value = await vfs.getxattr(ROOT_CALLER, '/f', 'user.a');
  assert.ok(value.ok && value.value.toString() === '1', 'a change is seen');
  assert.ok((await vfs.release(ROOT_CALLER, fh.value)).ok);
});
