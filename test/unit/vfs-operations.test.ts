/**
 * The Vfs over the in-memory reference MetaApi and FileDataApi test doubles
 * (test/helpers/vfs-memory-*.ts): each operation's success cases and the
 * errnos it returns, permissions as non-root callers, timestamps, link
 * counts, rename edge cases, unlinked-but-open files, close-to-open between
 * two Vfs instances sharing one metadata store, and the caches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno } from '../../src/common/errno.js';
import { ManualClock } from '../../src/common/clock.js';
import type { Result } from '../../src/common/errors.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { OpenFlags, XATTR_CREATE, XATTR_REPLACE, type VfsStat } from '../../client/vfs/vfs-types.js';
import { ROOT_CALLER, type Caller } from '../../client/vfs/posix-permission.js';
import { timespecFromMs, type AtimeMode } from '../../client/vfs/posix-time.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

const alice: Caller = { uid: 1000, gid: 1000, groups: [] };
const bob: Caller = { uid: 1001, gid: 1001, groups: [] };
const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND } = OpenFlags;

interface World {
  meta: MemoryMeta;
  store: MemoryFileStore;
  wall: ManualClock;
  cacheClock: ManualClock;
  vfs: Vfs;
  another(): Vfs;
}

function world(ttlMs = 1000, atimeMode?: AtimeMode): World {
  const wall = new ManualClock(1_700_000_000_000);
  const cacheClock = new ManualClock(0);
  const meta = new MemoryMeta();
  const store = new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs()));
  const make = () =>
    new Vfs({ meta, data: store, wallClock: wall, cacheClock, attrTtlMs: ttlMs, entryTtlMs: ttlMs, negativeEntryTtlMs: ttlMs, ...(atimeMode ? { atimeMode } : {}) });
  return { meta, store, wall, cacheClock, vfs: make(), another: make };
}

function value<T>(result: Result<T>): T {
  if (!result.ok) assert.fail(`expected success, got errno ${result.errno}`);
  return result.value;
}

function errnoOf(result: Result<unknown>): number {
  assert.equal(result.ok, false, 'expected a failure');
  return (result as { errno: number }).errno;
}

async function writeFile(vfs: Vfs, path: string, text: string, caller = ROOT_CALLER, mode = 0o644): Promise<void> {
  const fh = value(await vfs.create(caller, path, mode, O_CREAT | O_WRONLY | O_TRUNC));
  value(await vfs.write(caller, fh, 0, Buffer.from(text)));
  value(await vfs.flush(caller, fh));
  value(await vfs.release(caller, fh));
}

async function readFile(vfs: Vfs, path: string, caller = ROOT_CALLER): Promise<string> {
  const fh = value(await vfs.open(caller, path, O_RDONLY));
  const buffer = Buffer.alloc(1 << 16);
  const count = value(await vfs.read(caller, fh, 0, buffer.length, buffer));
  value(await vfs.release(caller, fh));
  return buffer.subarray(0, count).toString();
}

const stat = async (vfs: Vfs, path: string): Promise<VfsStat> => value(await vfs.getattr(ROOT_CALLER, path));

test('create, write, read back; stat shows type, size and link count', async () => {
  const { vfs } = world();
  await writeFile(vfs, '/a.txt', 'hello world');
  assert.equal(await readFile(vfs, '/a.txt'), 'hello world');
  const st = await stat(vfs, '/a.txt');
  assert.equal(st.mode, 0o100644);
  assert.equal(st.size, 11);
  assert.equal(st.nlink, 1);
  assert.equal(st.blocks, 1);
  assert.equal(errnoOf(await vfs.getattr(ROOT_CALLER, '/missing')), Errno.ENOENT);
  assert.equal(errnoOf(await vfs.getattr(ROOT_CALLER, '/a.txt/x')), Errno.ENOTDIR);
});

test('O_EXCL, O_TRUNC, O_APPEND', async () => {
  const { vfs } = world();
  await writeFile(vfs, '/f', 'abcdef');
  assert.equal(errnoOf(await vfs.create(ROOT_CALLER, '/f', 0o644, O_CREAT | O_EXCL | O_WRONLY)), Errno.EEXIST);
  const appender = value(await vfs.open(ROOT_CALLER, '/f', O_WRONLY | O_APPEND));
  value(await vfs.write(ROOT_CALLER, appender, 0, Buffer.from('XY')));
  value(await vfs.release(ROOT_CALLER, appender));
  assert.equal(await readFile(vfs, '/f'), 'abcdefXY');
  const truncating = value(await vfs.open(ROOT_CALLER, '/f', O_WRONLY | O_TRUNC));
  assert.equal((await stat(vfs, '/f')).size, 0);
  value(await vfs.release(ROOT_CALLER, truncating));
  const reopened = value(await vfs.create(ROOT_CALLER, '/f', 0o600, O_CREAT | O_RDWR));
  value(await vfs.release(ROOT_CALLER, reopened));
  assert.equal((await stat(vfs, '/f')).mode, 0o100644, 'create of an existing file keeps its mode');
});

test('handles: EBADF for unknown handles and wrong directions', async () => {
  const { vfs } = world();
  await writeFile(vfs, '/f', 'x');
  const reader = value(await vfs.open(ROOT_CALLER, '/f', O_RDONLY));
  assert.equal(errnoOf(await vfs.write(ROOT_CALLER, reader, 0, Buffer.from('y'))), Errno.EBADF);
  assert.equal(errnoOf(await vfs.ftruncate(ROOT_CALLER, reader, 0)), Errno.EINVAL);
  value(await vfs.release(ROOT_CALLER, reader));
  assert.equal(errnoOf(await vfs.read(ROOT_CALLER, reader, 0, 1, Buffer.alloc(1))), Errno.EBADF);
  assert.equal(errnoOf(await vfs.release(ROOT_CALLER, 999)), Errno.EBADF);
  const writer = value(await vfs.open(ROOT_CALLER, '/f', O_WRONLY));
  assert.equal(errnoOf(await vfs.read(ROOT_CALLER, writer, 0, 1, Buffer.alloc(1))), Errno.EBADF);
  value(await vfs.release(ROOT_CALLER, writer));
});

test('mkdir, rmdir, readdir with nlink bookkeeping', async () => {
  const { vfs } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/d', 0o755));
  assert.equal((await stat(vfs, '/')).nlink, 3);
  assert.equal((await stat(vfs, '/d')).mode, 0o040755);
  assert.equal((await stat(vfs, '/d')).nlink, 2);
  assert.equal(errnoOf(await vfs.mkdir(ROOT_CALLER, '/d', 0o755)), Errno.EEXIST);
  assert.equal(errnoOf(await vfs.mkdir(ROOT_CALLER, '/nope/d', 0o755)), Errno.ENOENT);
  value(await vfs.mkdir(ROOT_CALLER, '/d/sub', 0o700));
  await writeFile(vfs, '/d/file', 'z');
  const listing = value(await vfs.readdir(ROOT_CALLER, '/d'));
  assert.deepEqual(listing.names, ['file', 'sub']);
  assert.equal(listing.stats[1]!.mode, 0o040700);
  assert.equal(errnoOf(await vfs.rmdir(ROOT_CALLER, '/d')), Errno.ENOTEMPTY);
  assert.equal(errnoOf(await vfs.rmdir(ROOT_CALLER, '/d/file')), Errno.ENOTDIR);
  assert.equal(errnoOf(await vfs.unlink(ROOT_CALLER, '/d/sub')), Errno.EISDIR);
  value(await vfs.rmdir(ROOT_CALLER, '/d/sub'));
  value(await vfs.unlink(ROOT_CALLER, '/d/file'));
  value(await vfs.rmdir(ROOT_CALLER, '/d'));
  assert.equal((await stat(vfs, '/')).nlink, 2);
  assert.equal(errnoOf(await vfs.rmdir(ROOT_CALLER, '/d')), Errno.ENOENT);
  assert.equal(errnoOf(await vfs.readdir(ROOT_CALLER, '/d')), Errno.ENOENT);
});

test('readdir pages through more entries than one ListDentry page', async () => {
  const { vfs } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/big', 0o755));
  const count = 2_345;
  for (let i = 0; i < count; i++) value(await vfs.mknod(ROOT_CALLER, `/big/f${String(i).padStart(5, '0')}`, 0o100644, 0));
  const listing = value(await vfs.readdir(ROOT_CALLER, '/big'));
  assert.equal(listing.names.length, count);
  assert.equal(listing.names[count - 1], `f${String(count - 1).padStart(5, '0')}`);
});

test('names: ENAMETOOLONG past 255 bytes', async () => {
  const { vfs } = world();
  assert.equal(errnoOf(await vfs.mkdir(ROOT_CALLER, '/' + 'n'.repeat(256), 0o755)), Errno.ENAMETOOLONG);
  value(await vfs.mkdir(ROOT_CALLER, '/' + 'n'.repeat(255), 0o755));
  assert.equal(errnoOf(await vfs.create(ROOT_CALLER, '/' + 'ü'.repeat(128), 0o644, O_CREAT)), Errno.ENAMETOOLONG);
});

test('symlink and readlink; mknod FIFO, socket, devices only for root', async () => {
  const { vfs } = world();
  value(await vfs.symlink(ROOT_CALLER, '../target/x', '/link'));
  assert.equal(value(await vfs.readlink(ROOT_CALLER, '/link')), '../target/x');
  const st = await stat(vfs, '/link');
  assert.equal(st.mode, 0o120777);
  assert.equal(st.size, 11);
  assert.equal(errnoOf(await vfs.readlink(ROOT_CALLER, '/')), Errno.EINVAL);
  assert.equal(errnoOf(await vfs.symlink(ROOT_CALLER, 'x', '/link')), Errno.EEXIST);
  value(await vfs.mknod(ROOT_CALLER, '/fifo', 0o010644, 0));
  value(await vfs.mknod(ROOT_CALLER, '/sock', 0o140644, 0));
  value(await vfs.mknod(ROOT_CALLER, '/null', 0o020666, 0x0103));
  assert.equal((await stat(vfs, '/fifo')).mode, 0o010644);
  assert.equal((await stat(vfs, '/sock')).mode, 0o140644);
  assert.equal((await stat(vfs, '/null')).rdev, 0x0103);
  value(await vfs.chmod(ROOT_CALLER, '/', 0o777));
  assert.equal(errnoOf(await vfs.mknod(alice, '/dev2', 0o060600, 1)), Errno.EPERM);
  value(await vfs.mknod(alice, '/alice-fifo', 0o010600, 0));
});

test('hard links across directories count links; unlink drops them', async () => {
  const { vfs } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/a', 0o755));
  value(await vfs.mkdir(ROOT_CALLER, '/b', 0o755));
  await writeFile(vfs, '/a/f', 'shared');
  value(await vfs.link(ROOT_CALLER, '/a/f', '/b/g'));
  assert.equal((await stat(vfs, '/a/f')).nlink, 2);
  assert.equal((await stat(vfs, '/b/g')).ino, (await stat(vfs, '/a/f')).ino);
  assert.equal(errnoOf(await vfs.link(ROOT_CALLER, '/a', '/b/dirlink')), Errno.EPERM);
  assert.equal(errnoOf(await vfs.link(ROOT_CALLER, '/a/f', '/b/g')), Errno.EEXIST);
  assert.equal(errnoOf(await vfs.link(ROOT_CALLER, '/a/none', '/b/h')), Errno.ENOENT);
  value(await vfs.unlink(ROOT_CALLER, '/a/f'));
  assert.equal((await stat(vfs, '/b/g')).nlink, 1);
  assert.equal(await readFile(vfs, '/b/g'), 'shared');
});

test('rename: move, replace a file, replace an empty dir, refuse the rest', async () => {
  const { vfs, meta } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/d1', 0o755));
  value(await vfs.mkdir(ROOT_CALLER, '/d2', 0o755));
  await writeFile(vfs, '/d1/a', 'A');
  await writeFile(vfs, '/d2/b', 'B');
  value(await vfs.rename(ROOT_CALLER, '/d1/a', '/d2/b'));
  assert.equal(await readFile(vfs, '/d2/b'), 'A');
  assert.equal(errnoOf(await vfs.getattr(ROOT_CALLER, '/d1/a')), Errno.ENOENT);
  assert.equal(meta.inodes.size, 4, 'the replaced file is gone: root, d1, d2, b');
  // directories
  value(await vfs.mkdir(ROOT_CALLER, '/d1/sub', 0o755));
  value(await vfs.mkdir(ROOT_CALLER, '/d2/empty', 0o755));
  value(await vfs.rename(ROOT_CALLER, '/d1/sub', '/d2/empty'));
  assert.equal((await stat(vfs, '/d1')).nlink, 2);
  assert.equal((await stat(vfs, '/d2')).nlink, 3);
  value(await vfs.mkdir(ROOT_CALLER, '/d2/full', 0o755));
  await writeFile(vfs, '/d2/full/x', 'x');
  assert.equal(errnoOf(await vfs.rename(ROOT_CALLER, '/d2/empty', '/d2/full')), Errno.ENOTEMPTY);
  assert.equal(errnoOf(await vfs.rename(ROOT_CALLER, '/d2/empty', '/d2/b')), Errno.ENOTDIR);
  assert.equal(errnoOf(await vfs.rename(ROOT_CALLER, '/d2/b', '/d2/empty')), Errno.EISDIR);
  assert.equal(errnoOf(await vfs.rename(ROOT_CALLER, '/d2', '/d2/full/inside')), Errno.EINVAL, 'into itself');
  assert.equal(errnoOf(await vfs.rename(ROOT_CALLER, '/d2', '/d2/empty/deeper')), Errno.EINVAL);
  assert.equal(errnoOf(await vfs.rename(ROOT_CALLER, '/nothing', '/x')), Errno.ENOENT);
  // two names of one inode: nothing happens
  value(await vfs.link(ROOT_CALLER, '/d2/b', '/d2/b2'));
  value(await vfs.rename(ROOT_CALLER, '/d2/b', '/d2/b2'));
  assert.equal((await stat(vfs, '/d2/b')).nlink, 2);
});

test('rename updates parent times and the moved inode ctime', async () => {
  const { vfs, wall } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/p', 0o755));
  await writeFile(vfs, '/p/f', 'x');
  const before = await stat(vfs, '/p/f');
  wall.advance(5_000);
  value(await vfs.rename(ROOT_CALLER, '/p/f', '/f'));
  const after = await stat(vfs, '/f');
  assert.equal(after.ctime.sec, before.ctime.sec + 5);
  assert.equal(after.mtime.sec, before.mtime.sec, 'mtime of the file is unchanged');
  assert.equal((await stat(vfs, '/p')).mtime.sec, before.ctime.sec + 5);
  assert.equal((await stat(vfs, '/')).mtime.sec, before.ctime.sec + 5);
});

test('permissions for non-root callers: create, read, write, search', async () => {
  const { vfs } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/home', 0o755));
  assert.equal(errnoOf(await vfs.create(alice, '/home/x', 0o644, O_CREAT | O_WRONLY)), Errno.EACCES);
  value(await vfs.chown(ROOT_CALLER, '/home', alice.uid, alice.gid));
  await writeFile(vfs, '/home/private', 'secret', alice, 0o600);
  const st = await stat(vfs, '/home/private');
  assert.equal(st.uid, alice.uid);
  assert.equal(st.gid, alice.gid);
  assert.equal(await readFile(vfs, '/home/private', alice), 'secret');
  assert.equal(errnoOf(await vfs.open(bob, '/home/private', O_RDONLY)), Errno.EACCES);
  assert.equal(errnoOf(await vfs.truncate(bob, '/home/private', 0)), Errno.EACCES);
  assert.equal(errnoOf(await vfs.access(bob, '/home/private', 4)), Errno.EACCES);
  value(await vfs.access(alice, '/home/private', 6));
  value(await vfs.chmod(alice, '/home', 0o700));
  assert.equal(errnoOf(await vfs.getattr(bob, '/home/private')), Errno.EACCES, 'no search permission on /home');
  assert.equal(errnoOf(await vfs.chmod(bob, '/home', 0o777)), Errno.EPERM);
  assert.equal(errnoOf(await vfs.chown(alice, '/home/private', bob.uid, -1)), Errno.EPERM);
  assert.equal(errnoOf(await vfs.unlink(bob, '/home/private')), Errno.EACCES);
});

test('sticky directory: others cannot remove or rename away my files', async () => {
  const { vfs } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/tmp', 0o1777));
  await writeFile(vfs, '/tmp/alices', 'a', alice);
  await writeFile(vfs, '/tmp/bobs', 'b', bob);
  assert.equal(errnoOf(await vfs.unlink(bob, '/tmp/alices')), Errno.EPERM);
  assert.equal(errnoOf(await vfs.rename(bob, '/tmp/alices', '/tmp/mine')), Errno.EPERM);
  assert.equal(errnoOf(await vfs.rename(bob, '/tmp/bobs', '/tmp/alices')), Errno.EPERM, 'cannot replace it either');
  value(await vfs.unlink(alice, '/tmp/alices'));
  value(await vfs.rename(bob, '/tmp/bobs', '/tmp/bobs2'));
});

test('setgid directory passes its group to new entries and its bit to new directories', async () => {
  const { vfs } = world();
  value(await vfs.mkdir(ROOT_CALLER, '/shared', 0o777));
  value(await vfs.chown(ROOT_CALLER, '/shared', 0, 4000));
  value(await vfs.chmod(ROOT_CALLER, '/shared', 0o2777));
  await writeFile(vfs, '/shared/f', 'x', alice);
  value(await vfs.mkdir(alice, '/shared/d', 0o755));
  assert.equal((await stat(vfs, '/shared/f')).gid, 4000);
  const d = await stat(vfs, '/shared/d');
  assert.equal(d.gid, 4000);
  assert.equal(d.mode, 0o042755);
});

test('timestamps: write moves mtime and ctime, chmod only ctime, utimens now/omit/set', async () => {
  const { vfs, wall } = world();
  await writeFile(vfs, '/t', 'one');
  const created = await stat(vfs, '/t');
  wall.advance(10_000);
  const fh = value(await vfs.open(ROOT_CALLER, '/t', O_WRONLY));
  value(await vfs.write(ROOT_CALLER, fh, 3, Buffer.from('two')));
  const whileOpen = value(await vfs.fgetattr(ROOT_CALLER, fh));
  assert.equal(whileOpen.size, 6);
  assert.equal(whileOpen.mtime.sec, created.mtime.sec + 10, 'local writes show at once');
  value(await vfs.release(ROOT_CALLER, fh));
  assert.equal((await stat(vfs, '/t')).mtime.sec, created.mtime.sec + 10, 'and after close from metadata');
  wall.advance(10_000);
  value(await vfs.chmod(ROOT_CALLER, '/t', 0o600));
  const chmodded = await stat(vfs, '/t');
  assert.equal(chmodded.ctime.sec, created.ctime.sec + 20);
  assert.equal(chmodded.mtime.sec, created.mtime.sec + 10);
  value(await vfs.utimens(ROOT_CALLER, '/t', { kind: 'set', time: { sec: 100, nsec: 5 } }, { kind: 'omit' }));
  const utimed = await stat(vfs, '/t');
  assert.deepEqual(utimed.atime, { sec: 100, nsec: 5 });
  assert.equal(utimed.mtime.sec, created.mtime.sec + 10);
  wall.advance(1_000);
  value(await vfs.utimens(ROOT_CALLER, '/t', { kind: 'omit' }, { kind: 'now' }));
  assert.equal((await stat(vfs, '/t')).mtime.sec, created.mtime.sec + 21);
  assert.equal((await stat(vfs, '/t')).atime.sec, 100);
  // now-only needs write permission, explicit times ownership
  value(await vfs.chmod(ROOT_CALLER, '/t', 0o666));
  value(await vfs.utimens(alice, '/t', { kind: 'now' }, { kind: 'now' }));
  assert.equal(errnoOf(await vfs.utimens(alice, '/t', { kind: 'set', time: { sec: 1, nsec: 0 } }, { kind: 'now' })), Errno.EPERM);
  // now with omit (touch -a / -m) is not "both now": ownership, as Linux and POSIX
  assert.equal(errnoOf(await vfs.utimens(alice, '/t', { kind: 'now' }, { kind: 'omit' })), Errno.EPERM);
  // both omitted: success and nothing changes, not even ctime
  const before = await stat(vfs, '/t');
  wall.advance(1_000);
  value(await vfs.utimens(alice, '/t', { kind: 'omit' }, { kind: 'omit' }));
  assert.deepEqual(await stat(vfs, '/t'), before);
});

test('read updates atime once per open under relatime', async () => {
  const { vfs, wall } = world();
  await writeFile(vfs, '/r', 'data');
  value(await vfs.utimens(ROOT_CALLER, '/r', { kind: 'set', time: { sec: 1, nsec: 0 } }, { kind: 'omit' }));
  wall.advance(1_000);
  assert.equal(await readFile(vfs, '/r'), 'data');
  // The atime write runs beside the read; let it land.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal((await stat(vfs, '/r')).atime.sec, Math.floor(wall.nowMs() / 1000));
});

test('under noatime reads leave atime alone; under strictatime every open records one read', async () => {
  for (const mode of ['noatime', 'strictatime'] as const) {
    const { vfs, wall } = world(1000, mode);
    await writeFile(vfs, '/r', 'data');
    // An atime newer than mtime and ctime: relatime would keep it; strictatime does not.
    const setAt = Math.floor(wall.nowMs() / 1000) + 10;
    value(await vfs.utimens(ROOT_CALLER, '/r', { kind: 'set', time: { sec: setAt, nsec: 0 } }, { kind: 'omit' }));
    wall.advance(20_000);
    assert.equal(await readFile(vfs, '/r'), 'data');
    await new Promise((resolve) => setImmediate(resolve));
    const atime = (await stat(vfs, '/r')).atime.sec;
    assert.equal(atime, mode === 'noatime' ? setAt : Math.floor(wall.nowMs() / 1000), mode);
  }
});

test('truncate grows with zeros and shrinks; directories refuse', async () => {
  const { vfs } = world();
  await writeFile(vfs, '/g', 'abc');
  value(await vfs.truncate(ROOT_CALLER, '/g', 5));
  assert.equal(await readFile(vfs, '/g'), 'abc\0\0');
  value(await vfs.truncate(ROOT_CALLER, '/g', 1));
  assert.equal(await readFile(vfs, '/g'), 'a');
  assert.equal(errnoOf(await vfs.truncate(ROOT_CALLER, '/', 0)), Errno.EISDIR);
  assert.equal(errnoOf(await vfs.truncate(ROOT_CALLER, '/g', -1)), Errno.EINVAL);
  const fh = value(await vfs.open(ROOT_CALLER, '/g', O_RDWR));
  value(await vfs.ftruncate(ROOT_CALLER, fh, 0));
  assert.equal(value(await vfs.fgetattr(ROOT_CALLER, fh)).size, 0);
  value(await vfs.release(ROOT_CALLER, fh));
});

test('an unlinked file stays readable through open handles until the last close', async () => {
  const { vfs, meta } = world();
  await writeFile(vfs, '/ghost', 'still here');
  const fh = value(await vfs.open(ROOT_CALLER, '/ghost', O_RDONLY));
  const ino = value(await vfs.fgetattr(ROOT_CALLER, fh)).ino;
  value(await vfs.unlink(ROOT_CALLER, '/ghost'));
  assert.equal(errnoOf(await vfs.getattr(ROOT_CALLER, '/ghost')), Errno.ENOENT);
  assert.ok(meta.inodes.has(ino), 'the inode lives while open');
  const buffer = Buffer.alloc(64);
  const count = value(await vfs.read(ROOT_CALLER, fh, 0, 64, buffer));
  assert.equal(buffer.subarray(0, count).toString(), 'still here');
  assert.equal(value(await vfs.fgetattr(ROOT_CALLER, fh)).nlink, 0);
  value(await vfs.release(ROOT_CALLER, fh));
  assert.ok(!meta.inodes.has(ino), 'deleted after the last close');
  assert.equal(meta.openCounts.size, 0);
});

test('xattrs: set with CREATE/REPLACE, get, list, remove, namespaces', async () => {
  const { vfs } = world();
  await writeFile(vfs, '/x', '');
  value(await vfs.setxattr(ROOT_CALLER, '/x', 'user.color', Buffer.from('blue'), 0));
  assert.equal(value(await vfs.getxattr(ROOT_CALLER, '/x', 'user.color')).toString(), 'blue');
  assert.equal(errnoOf(await vfs.setxattr(ROOT_CALLER, '/x', 'user.color', Buffer.from('red'), XATTR_CREATE)), Errno.EEXIST);
  assert.equal(errnoOf(await vfs.setxattr(ROOT_CALLER, '/x', 'user.size', Buffer.from('1'), XATTR_REPLACE)), Errno.ENODATA);
  value(await vfs.setxattr(ROOT_CALLER, '/x', 'user.color', Buffer.from('red'), XATTR_REPLACE));
  value(await vfs.setxattr(ROOT_CALLER, '/x', 'trusted.t', Buffer.from('t'), 0));
  assert.deepEqual(value(await vfs.listxattr(ROOT_CALLER, '/x')), ['trusted.t', 'user.color']);
  value(await vfs.chmod(ROOT_CALLER, '/x', 0o644));
  assert.deepEqual(value(await vfs.listxattr(alice, '/x')), ['user.color']);
  assert.equal(errnoOf(await vfs.setxattr(alice, '/x', 'user.mine', Buffer.from('1'), 0)), Errno.EACCES);
  assert.equal(errnoOf(await vfs.getxattr(ROOT_CALLER, '/x', 'user.none')), Errno.ENODATA);
  assert.equal(errnoOf(await vfs.setxattr(ROOT_CALLER, '/x', 'bogus.ns', Buffer.from('1'), 0)), Errno.EOPNOTSUPP);
  assert.equal(errnoOf(await vfs.setxattr(ROOT_CALLER, '/x', 'user.big', Buffer.alloc(65_537), 0)), Errno.E2BIG);
  value(await vfs.removexattr(ROOT_CALLER, '/x', 'user.color'));
  assert.equal(errnoOf(await vfs.removexattr(ROOT_CALLER, '/x', 'user.color')), Errno.ENODATA);
  const st = await stat(vfs, '/x');
  assert.ok(st.ctime.sec > 0);
});

test('close-to-open between two clients; caches expire after their TTL', async () => {
  const { vfs, another, cacheClock } = world(1_000);
  const other = another();
  await writeFile(vfs, '/shared', 'v1');
  assert.equal(await readFile(other, '/shared'), 'v1');
  const fh = value(await vfs.open(ROOT_CALLER, '/shared', O_WRONLY));
  value(await vfs.write(ROOT_CALLER, fh, 0, Buffer.from('v2!')));
  assert.equal(await readFile(other, '/shared'), 'v1', 'not closed yet: the other client sees the old bytes');
  value(await vfs.flush(ROOT_CALLER, fh));
  value(await vfs.release(ROOT_CALLER, fh));
  assert.equal(await readFile(other, '/shared'), 'v2!', 'open after close sees the data');
  // chmod on one client is seen on the other once its attr cache ages out.
  assert.equal((await stat(other, '/shared')).mode, 0o100644);
  value(await vfs.chmod(ROOT_CALLER, '/shared', 0o600));
  assert.equal((await stat(other, '/shared')).mode, 0o100644, 'stale within the TTL');
  cacheClock.advance(1_001);
  assert.equal((await stat(other, '/shared')).mode, 0o100600);
  // unlink and rename likewise, through dentry and negative caches.
  assert.equal(errnoOf(await other.getattr(ROOT_CALLER, '/renamed')), Errno.ENOENT);
  value(await vfs.rename(ROOT_CALLER, '/shared', '/renamed'));
  cacheClock.advance(1_001);
  assert.equal(errnoOf(await other.getattr(ROOT_CALLER, '/shared')), Errno.ENOENT);
  assert.equal((await stat(other, '/renamed')).mode, 0o100600);
});

test('open after another client renamed a new file over the name sees the new file at once', async () => {
  const { vfs, another } = world(60_000);
  const other = another();
  await writeFile(vfs, '/doc', 'old');
  assert.equal(await readFile(other, '/doc'), 'old', 'the other client caches the name');
  await writeFile(vfs, '/doc.tmp', 'new and longer');
  value(await vfs.rename(ROOT_CALLER, '/doc.tmp', '/doc'));
  assert.equal(await readFile(other, '/doc'), 'new and longer', 'the replaced inode has no links: looked up again');
  value(await vfs.unlink(ROOT_CALLER, '/doc'));
  assert.equal(errnoOf(await other.open(ROOT_CALLER, '/doc', O_RDONLY)), Errno.ENOENT);
});

test('caches answer repeated lookups without metadata calls; own changes invalidate', async () => {
  const { vfs, meta } = world(60_000);
  value(await vfs.mkdir(ROOT_CALLER, '/c', 0o755));
  await writeFile(vfs, '/c/f', 'x');
  await stat(vfs, '/c/f');
  const before = meta.callCount('getDentry') + meta.callCount('getInodeAttr');
  for (let i = 0; i < 10; i++) await stat(vfs, '/c/f');
  assert.equal(meta.callCount('getDentry') + meta.callCount('getInodeAttr'), before, 'all from cache');
  assert.equal(errnoOf(await vfs.getattr(ROOT_CALLER, '/c/none')), Errno.ENOENT);
  const negativeLookups = meta.callCount('getDentry');
  assert.equal(errnoOf(await vfs.getattr(ROOT_CALLER, '/c/none')), Errno.ENOENT);
  assert.equal(meta.callCount('getDentry'), negativeLookups, 'the negative entry answers');
  await writeFile(vfs, '/c/none', 'now it exists');
  assert.equal((await stat(vfs, '/c/none')).size, 13, 'own create replaced the negative entry');
  value(await vfs.chmod(ROOT_CALLER, '/c/f', 0o640));
  assert.equal((await stat(vfs, '/c/f')).mode, 0o100640, 'own chmod seen at once');
});

test('readdir prefetches xattrs: getxattr of every listed entry needs no metadata call', async () => {
  const { vfs, meta } = world(60_000);
  value(await vfs.mkdir(ROOT_CALLER, '/x', 0o755));
  for (let i = 0; i < 20; i++) await writeFile(vfs, `/x/f${i}`, '');
  value(await vfs.setxattr(ROOT_CALLER, '/x/f3', 'user.k', Buffer.from('v'), 0));
  value(await vfs.readdir(ROOT_CALLER, '/x'));
  const before = meta.callCount('getXattrs');
  for (let i = 0; i < 20; i++) {
    const result = await vfs.getxattr(ROOT_CALLER, `/x/f${i}`, 'security.selinux');
    assert.equal(errnoOf(result), Errno.ENODATA);
  }
  assert.equal(value(await vfs.getxattr(ROOT_CALLER, '/x/f3', 'user.k')).toString(), 'v');
  assert.equal(meta.callCount('getXattrs'), before);
});

test('statfs reports room and inode counts', async () => {
  const { vfs } = world();
  await writeFile(vfs, '/s', '12345');
  const s = value(await vfs.statfs(ROOT_CALLER));
  assert.equal(s.nameBytesMax, 255);
  assert.ok(s.totalBytes >= s.freeBytes + 5);
  assert.ok(s.totalInodes - s.freeInodes >= 2);
});

test('flushAll flushes every open file', async () => {
  const { vfs, store } = world();
  const fh = value(await vfs.create(ROOT_CALLER, '/pending', 0o644, O_CREAT | O_WRONLY));
  value(await vfs.write(ROOT_CALLER, fh, 0, Buffer.from('buffered')));
  const ino = value(await vfs.fgetattr(ROOT_CALLER, fh)).ino;
  assert.equal(store.published.get(ino), undefined);
  assert.equal(await vfs.flushAll(), 0);
  assert.equal(store.published.get(ino)?.toString(), 'buffered');
  value(await vfs.release(ROOT_CALLER, fh));
  assert.equal(store.openCount, 0);
});
