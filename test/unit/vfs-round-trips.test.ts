/**
 * Round trips the Vfs saves without changing what callers see:
 * - hot directories (KnownNames): after a burst of negative lookups, one
 *   ListDentry answers the following ones, for the negative entry TTL only;
 *   this client's own changes show at once, another client's once the TTL
 *   has run out (as with negative dentries); large directories are not listed;
 * - the attributes of this client's own UpdateInode are patched into the
 *   cache when the returned version shows no other change came between
 *   (the getattr libfuse sends after each setattr then needs no RPC), and
 *   fetched afresh otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import type { Result } from '../../src/common/errors.js';
import { Errno } from '../../src/common/errno.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { KnownNames, KNOWN_NAMES_DEFAULTS } from '../../client/vfs/known-names.js';
import { attrAfterUpdate, isOnlyChangeSince } from '../../client/vfs/attr-after-update.js';
import { OpenFlags } from '../../client/vfs/vfs-types.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs, TIME_NOW } from '../../client/vfs/posix-time.js';
import { FileType, type InodeAttr } from '../../client/vfs/meta-api.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

const TTL_MS = 1_000;

function world(): { meta: MemoryMeta; vfs: Vfs; other: Vfs; cacheClock: ManualClock } {
  const wall = new ManualClock(1_700_000_000_000);
  const cacheClock = new ManualClock(0);
  const meta = new MemoryMeta();
  const store = new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs()));
  const make = (): Vfs => new Vfs({ meta, data: store, wallClock: wall, cacheClock, attrTtlMs: TTL_MS, entryTtlMs: TTL_MS, negativeEntryTtlMs: TTL_MS });
  return { meta, vfs: make(), other: make(), cacheClock };
}

function value<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected success, got errno ${result.errno}`);
  return result.value;
}

/** What the kernel does for open(O_CREAT|O_EXCL) of a new name: LOOKUP (getattr), then CREATE, close. */
async function createAsKernel(vfs: Vfs, path: string): Promise<void> {
  const lookup = await vfs.getattr(ROOT_CALLER, path);
  assert.equal(lookup.ok ? 0 : lookup.errno, Errno.ENOENT);
  const fh = value(await vfs.create(ROOT_CALLER, path, 0o644, OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY));
  value(await vfs.flush(ROOT_CALLER, fh));
  value(await vfs.release(ROOT_CALLER, fh));
}

test('a create loop in one directory: after a burst of misses, one listing answers the lookups of new names', async () => {
  const { meta, vfs, cacheClock } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/d', 0o755));
  const before = meta.callCount('getDentry');
  const n = 100;
  for (let i = 0; i < n; i++) {
    await createAsKernel(vfs, `/d/f${i}`);
    cacheClock.advance(5); // 100 creates in 0.5 s: within one listing's lifetime
  }
  const lookups = meta.callCount('getDentry') - before;
  assert.ok(lookups <= KNOWN_NAMES_DEFAULTS.hotMisses + 1, `GetDentry calls: ${lookups} (a listing answers after the burst)`);
  assert.equal(meta.callCount('listDentry'), 1, 'one listing for the whole loop');

  // The listing expires with the negative entry TTL; a busy loop keeps the directory hot, so one more listing follows.
  cacheClock.advance(TTL_MS);
  for (let i = n; i < n + 20; i++) await createAsKernel(vfs, `/d/f${i}`);
  assert.equal(meta.callCount('listDentry'), 2, 'listed again after the TTL, not once per name');

  // Every created file is there, and names never created are still absent.
  for (let i = 0; i < n + 20; i++) assert.ok((await vfs.getattr(ROOT_CALLER, `/d/f${i}`)).ok);
  assert.equal((await vfs.getattr(ROOT_CALLER, '/d/never')).ok, false);
});

test("own unlink, rename and mkdir show at once in a listed directory; another client's create once the TTL ran out", async () => {
  const { meta, vfs, other, cacheClock } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/d', 0o755));
  for (let i = 0; i < 20; i++) await createAsKernel(vfs, `/d/f${i}`);
  assert.ok(meta.callCount('listDentry') >= 1, 'the directory was listed');

  value(await vfs.unlink(ROOT_CALLER, '/d/f0'));
  assert.equal((await vfs.getattr(ROOT_CALLER, '/d/f0')).ok, false, 'unlinked name gone');
  value(await vfs.rename(ROOT_CALLER, '/d/f1', '/d/renamed'));
  assert.equal((await vfs.getattr(ROOT_CALLER, '/d/f1')).ok, false, 'rename source gone');
  assert.ok((await vfs.getattr(ROOT_CALLER, '/d/renamed')).ok, 'rename target there');
  value(await vfs.mkdir(ROOT_CALLER, '/d/sub', 0o755));
  assert.ok((await vfs.getattr(ROOT_CALLER, '/d/sub')).ok);
  value(await vfs.link(ROOT_CALLER, '/d/f2', '/d/hard'));
  assert.ok((await vfs.getattr(ROOT_CALLER, '/d/hard')).ok);
  value(await vfs.symlink(ROOT_CALLER, 'f3', '/d/sym'));
  assert.ok((await vfs.getattr(ROOT_CALLER, '/d/sym')).ok);

  // Another client creates a name: a negative answer may last one TTL, never longer.
  await createAsKernel(other, '/d/theirs');
  cacheClock.advance(TTL_MS);
  assert.ok((await vfs.getattr(ROOT_CALLER, '/d/theirs')).ok, "the other client's file after the TTL");

  // O_EXCL stays exclusive: a create of their name fails even while our listing would say absent.
  for (let i = 20; i < 40; i++) await createAsKernel(vfs, `/d/f${i}`);
  await createAsKernel(other, '/d/race');
  const excl = await vfs.create(ROOT_CALLER, '/d/race', 0o644, OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY);
  assert.equal(excl.ok ? 0 : excl.errno, Errno.EEXIST);
  // ... and having met it, we look names up again rather than trust the listing.
  assert.ok((await vfs.getattr(ROOT_CALLER, '/d/race')).ok);
});

test('a directory larger than the bound is not listed again and again', async () => {
  const { meta, vfs, cacheClock } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/big', 0o755));
  const big = value(await vfs.getattr(ROOT_CALLER, '/big')).ino;
  const time = { sec: 1_700_000_000, nsec: 0 };
  for (let i = 0; i <= KNOWN_NAMES_DEFAULTS.dirNamesMax; i++) {
    const attr = await meta.createInode({ type: FileType.File, mode: 0o100644, uid: 0, gid: 0, rdev: 0, symlink: '', parent: big, time });
    await meta.createDentry({ parentInodeId: big, name: `x${i}`, inodeId: attr.inodeId, type: FileType.File }, time);
  }
  cacheClock.advance(TTL_MS);
  for (let i = 0; i < 50; i++) assert.equal((await vfs.getattr(ROOT_CALLER, `/big/missing${i}`)).ok, false);
  assert.equal(meta.callCount('listDentry'), 1, 'tried once, found too large');
  assert.ok((await vfs.getattr(ROOT_CALLER, '/big/x7')).ok);
});

test('KnownNames: a listing that overlaps an own change is discarded; expiry counts from its start', () => {
  const clock = new ManualClock(0);
  const names = new KnownNames({ clock, ttlMs: 1_000, hotMisses: 2, hotWindowMs: 2_000, withAttrs: true, dirNamesMax: 10, namesPerMiss: 64, namesMax: 100 });
  assert.equal(names.shouldList(7), null, 'cold');
  names.noteMiss(7, false);
  names.noteMiss(7, false);
  assert.equal(names.shouldList(7), 'names', 'hot, and lookups found nothing: names only');

  const raced = names.beginListing(7, 'names');
  assert.equal(names.shouldList(7), null, 'one listing at a time');
  names.added(7, 'new');
  assert.equal(names.finishListing(raced, ['a']), false, 'discarded: it may not show our change');
  assert.equal(names.isAbsent(7, 'x'), false);

  const ticket = names.beginListing(7, 'names');
  clock.advance(400);
  assert.equal(names.finishListing(ticket, ['a', 'b']), true);
  assert.equal(names.isAbsent(7, 'c'), true);
  assert.equal(names.isAbsent(7, 'a'), false);
  assert.equal(names.shouldList(7), null, 'a valid listing');
  names.added(7, 'c');
  names.removed(7, 'a');
  assert.equal(names.isAbsent(7, 'c'), false);
  assert.equal(names.isAbsent(7, 'a'), true);
  // Lookups that find names: worth a statahead even though a names-only listing is valid.
  for (let i = 0; i < 4; i++) names.noteMiss(7, true);
  assert.equal(names.shouldList(7), 'names-and-attrs');
  clock.advance(600);
  assert.equal(names.isAbsent(7, 'zzz'), false, 'expired 1 s after the listing began');

  const failed = names.beginListing(7, 'names');
  names.abandonListing(failed);
  const again = names.beginListing(7, 'names');
  names.finishListing(again, ['a']);
  names.forget(7);
  assert.equal(names.isAbsent(7, 'q'), false, 'forgotten after a change of unknown outcome');

  const large = names.beginListing(7, 'names');
  assert.equal(names.finishListing(large, null), false);
  assert.equal(names.shouldList(7), null, 'too large: left alone for a while');
  clock.advance(30_000);
  assert.equal(names.shouldList(7), null, 'and cold again');

  const off = new KnownNames({ clock, ttlMs: 0, hotMisses: 1, hotWindowMs: 1_000, withAttrs: true, dirNamesMax: 10, namesPerMiss: 64, namesMax: 100 });
  off.noteMiss(1, false);
  assert.equal(off.shouldList(1), null, 'a negative TTL of 0 turns it off');
  const noAttrs = new KnownNames({ clock, ttlMs: 1_000, hotMisses: 1, hotWindowMs: 1_000, withAttrs: false, dirNamesMax: 10, namesPerMiss: 64, namesMax: 100 });
  noAttrs.noteMiss(1, true);
  assert.equal(noAttrs.shouldList(1), 'names', 'no statahead without an attribute cache');
});

test('KnownNames: a directory listed before needs misses in proportion to its size to be listed again', () => {
  const clock = new ManualClock(0);
  const names = new KnownNames({ clock, ttlMs: 1_000, hotMisses: 4, hotWindowMs: 2_000, withAttrs: true, dirNamesMax: 1_000, namesPerMiss: 50, namesMax: 2_000 });
  for (let i = 0; i < 4; i++) names.noteMiss(9, true);
  assert.equal(names.shouldList(9), 'names-and-attrs', 'size unknown: hotMisses suffice');
  const ticket = names.beginListing(9, 'names-and-attrs');
  assert.equal(names.finishListing(ticket, Array.from({ length: 1_000 }, (_, i) => `n${i}`)), true);
  clock.advance(1_500);
  assert.equal(names.isAbsent(9, 'zzz'), false, 'expired');
  // 1,000 names / 50 per miss: 20 misses in the window, not 4.
  for (let i = 0; i < 15; i++) names.noteMiss(9, true);
  assert.equal(names.shouldList(9), null, '19 misses in the window');
  names.noteMiss(9, true);
  assert.equal(names.shouldList(9), 'names-and-attrs', '20 misses');
});

test('statahead: a cold stat loop over a directory costs a listing and a batch, not a lookup per name', async () => {
  const { meta, vfs, cacheClock } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/d', 0o755));
  const n = 200;
  for (let i = 0; i < n; i++) await createAsKernel(vfs, `/d/f${i}`);
  // Everything expired: a cold stat loop (after drop_caches), while the create loop's misses still count.
  cacheClock.advance(1.5 * TTL_MS);
  const dentriesBefore = meta.callCount('getDentry');
  const attrsBefore = meta.callCount('getInodeAttr');
  const listsBefore = meta.callCount('listDentry');
  const batchesBefore = meta.callCount('batchGetInodeAttr');
  for (let i = 0; i < n; i++) {
    const st = value(await vfs.getattr(ROOT_CALLER, `/d/f${i}`));
    assert.equal(st.size, 0);
    cacheClock.advance(2);
  }
  const lookups = meta.callCount('getDentry') - dentriesBefore;
  assert.ok(lookups <= KNOWN_NAMES_DEFAULTS.hotMisses + 2, `GetDentry calls: ${lookups}`);
  assert.ok(meta.callCount('getInodeAttr') - attrsBefore <= KNOWN_NAMES_DEFAULTS.hotMisses + 2, 'attributes came in the batch');
  // A names-only listing first (the create loop's misses found nothing), then the statahead.
  assert.ok(meta.callCount('listDentry') - listsBefore <= 2);
  assert.equal(meta.callCount('batchGetInodeAttr') - batchesBefore, 1);

  // The xattrs came along (the kernel asks for security.capability before a chown or an unprivileged write).
  const xattrsBefore = meta.callCount('getXattrs');
  for (let i = 0; i < n; i++) assert.equal((await vfs.getxattr(ROOT_CALLER, `/d/f${i}`, 'security.capability')).ok, false);
  assert.equal(meta.callCount('getXattrs'), xattrsBefore, 'no GetInode for xattrs');

  // An unlink loop right after: the names and attributes are cached, one call per name (the delete).
  const deletesBefore = meta.callCount('getDentry');
  for (let i = 0; i < n; i++) value(await vfs.unlink(ROOT_CALLER, `/d/f${i}`));
  assert.equal(meta.callCount('getDentry'), deletesBefore, 'no lookups');
  assert.deepEqual(value(await vfs.readdir(ROOT_CALLER, '/d')).names, []);
});

test('statahead does not overwrite an own change made while it was in flight', async () => {
  const { meta, vfs, cacheClock } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/d', 0o755));
  for (let i = 0; i < 20; i++) await createAsKernel(vfs, `/d/f${i}`);
  value(await vfs.getattr(ROOT_CALLER, '/d/f5'));
  cacheClock.advance(5 * TTL_MS);
  // A stat loop makes the directory hot; our chmod lands while the statahead's batch is being read.
  const batch = meta.batchGetInodeAttr.bind(meta);
  let chmodDone: Promise<unknown> | null = null;
  meta.batchGetInodeAttr = async (ids) => {
    const attrs = await batch(ids);
    chmodDone ??= vfs.chmod(ROOT_CALLER, '/d/f5', 0o600);
    await chmodDone;
    return attrs;
  };
  for (let i = 6; i < 20; i++) value(await vfs.getattr(ROOT_CALLER, `/d/f${i}`));
  assert.ok(chmodDone !== null, 'a statahead ran');
  assert.equal(value(await vfs.getattr(ROOT_CALLER, '/d/f5')).mode & 0o7777, 0o600, 'our chmod, not the older batch');
});

test('chmod, chown, utimens and link: the getattr after each is answered from the patched cache', async () => {
  const { meta, vfs } = world();
  await createAsKernel(vfs, '/f');
  value(await vfs.getattr(ROOT_CALLER, '/f'));
  const before = meta.callCount('getInodeAttr');
  value(await vfs.chmod(ROOT_CALLER, '/f', 0o600));
  assert.equal(value(await vfs.getattr(ROOT_CALLER, '/f')).mode & 0o7777, 0o600);
  value(await vfs.chown(ROOT_CALLER, '/f', 12, 34));
  const owned = value(await vfs.getattr(ROOT_CALLER, '/f'));
  assert.deepEqual([owned.uid, owned.gid], [12, 34]);
  value(await vfs.utimens(ROOT_CALLER, '/f', { kind: 'set', time: { sec: 5, nsec: 6 } }, TIME_NOW));
  assert.deepEqual(value(await vfs.getattr(ROOT_CALLER, '/f')).atime, { sec: 5, nsec: 6 });
  value(await vfs.link(ROOT_CALLER, '/f', '/g'));
  assert.equal(value(await vfs.getattr(ROOT_CALLER, '/g')).nlink, 2);
  assert.equal(meta.callCount('getInodeAttr'), before, 'no GetInode after our own updates');

  // What the cache shows is what the metadata store holds.
  const stored = await meta.getInodeAttr(owned.ino);
  const shown = value(await vfs.getattr(ROOT_CALLER, '/f'));
  assert.deepEqual([shown.mode & 0o7777, shown.uid, shown.gid, shown.nlink, shown.atime, shown.mtime, shown.ctime], [
    stored.mode & 0o7777, stored.uid, stored.gid, stored.nlink, stored.atime, stored.mtime, stored.ctime,
  ]);
});

test('an update that was not the only change since the cached copy: the copy is dropped and read again', async () => {
  const { meta, vfs, other } = world();
  await createAsKernel(vfs, '/f');
  value(await vfs.getattr(ROOT_CALLER, '/f'));
  value(await other.chown(ROOT_CALLER, '/f', 77, 77)); // another client: our cached copy is now one version behind
  value(await vfs.chmod(ROOT_CALLER, '/f', 0o640));
  const before = meta.callCount('getInodeAttr');
  const st = value(await vfs.getattr(ROOT_CALLER, '/f'));
  assert.equal(meta.callCount('getInodeAttr') - before, 1, 'fetched afresh');
  assert.deepEqual([st.uid, st.mode & 0o7777], [77, 0o640], "both changes show, not a patch over the other client's");
});

test('attrAfterUpdate mirrors the apply: fields present, nlink delta, parents, version', () => {
  const t = (sec: number) => ({ sec, nsec: 0 });
  const attr: InodeAttr = {
    inodeId: 9, type: FileType.File, mode: 0o100644, uid: 1, gid: 2, nlink: 2, length: 10, rdev: 0,
    atime: t(1), mtime: t(2), ctime: t(3), symlink: '', parents: [4, 5, 4], version: 7,
  };
  assert.equal(isOnlyChangeSince(attr, 8), true);
  assert.equal(isOnlyChangeSince(attr, 9), false);
  const next = attrAfterUpdate(attr, { nlinkDelta: -1, removeParents: [4], addParents: [6], ctime: t(9), mode: 0o100600 }, 8);
  assert.deepEqual(next, { ...attr, nlink: 1, parents: [5, 4, 6], ctime: t(9), mode: 0o100600, version: 8 });
  assert.deepEqual(attr.parents, [4, 5, 4], 'the cached copy is not mutated');
});
