/**
 * The FUSE adapter's pure parts (mount options, statfs units, utimens and
 * stat translation) and the refusals of mountFuse before anything is
 * mounted (missing or non-directory or busy mount point). No mount happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/common/clock.js';
import { CurveError } from '../../src/common/errors.js';
import { FUSE_MOUNT_DEFAULTS, fuseNativeOptions, statfsFigures } from '../../client/fuse/fuse-options.js';
import { fuseOps, toFuseStat, utimensSetting } from '../../client/fuse/fuse-ops.js';
import { STAT_UINT32S, statArray, UTIME_NOW, UTIME_OMIT, type FuseRequestContext } from '../../client/fuse/fuse-native-binding.js';
import { CallerGroups } from '../../client/fuse/fuse-caller.js';
import { mountFuse } from '../../client/fuse/fuse-mount.js';
import { Vfs } from '../../client/vfs/vfs.js';
import { ROOT_CALLER } from '../../client/vfs/posix-permission.js';
import { timespecFromMs } from '../../client/vfs/posix-time.js';
import { MemoryMeta } from '../helpers/vfs-memory-meta.js';
import { MemoryFileStore } from '../helpers/vfs-memory-data.js';

const ROOT_CONTEXT: FuseRequestContext = { uid: 0, gid: 0, pid: 1 };

function memoryVfs(): Vfs {
  const meta = new MemoryMeta();
  const wall = new ManualClock(1_700_000_000_000);
  return new Vfs({ meta, data: new MemoryFileStore(meta, () => timespecFromMs(wall.nowMs())), wallClock: wall, cacheClock: new ManualClock(0) });
}

test('mount options carry large requests, kernel TTLs equal to the cache TTLs, use_ino, and no hard_remove', () => {
  const options = fuseNativeOptions({ ...FUSE_MOUNT_DEFAULTS, attrTtlMs: 1500, entryTtlMs: 250 });
  const fsname = String(options.fsname);
  const parts = fsname.split(',');
  assert.equal(parts[0], 'curvefs');
  for (const expected of ['big_writes', 'max_write=1048576', 'max_read=1048576', 'use_ino', 'attr_timeout=1.5', 'entry_timeout=0.25', 'negative_timeout=0.25']) {
    assert.ok(parts.includes(expected), `${expected} in ${fsname}`);
  }
  assert.ok(!parts.includes('hard_remove'));
  // The addon negotiates the same request size with the kernel (FUSE_MAX_PAGES).
  assert.equal(options.ioRequestBytes, 1_048_576);
  assert.equal(fuseNativeOptions({ ...FUSE_MOUNT_DEFAULTS, ioRequestBytesMax: 131_072 }).ioRequestBytes, 131_072);
  assert.equal(options.defaultPermissions, true);
  assert.equal(fuseNativeOptions({ ...FUSE_MOUNT_DEFAULTS, defaultPermissions: false }).defaultPermissions, false);
  assert.throws(() => fuseNativeOptions({ ...FUSE_MOUNT_DEFAULTS, fsName: 'bad,name' }));
});

test('statfs figures fit uint32 by growing the fragment size', () => {
  const small = statfsFigures({ totalBytes: 1 << 30, freeBytes: 1 << 29, totalInodes: 100, freeInodes: 90, nameBytesMax: 255, blockSizeBytes: 4 << 20 });
  assert.equal(small['frsize'], 4096);
  assert.equal(small['blocks'], (1 << 30) / 4096);
  assert.equal(small['bfree'], (1 << 29) / 4096);
  const huge = statfsFigures({ totalBytes: 2 ** 50, freeBytes: 2 ** 49, totalInodes: 2 ** 40, freeInodes: 2 ** 40, nameBytesMax: 255, blockSizeBytes: 4 << 20 });
  assert.ok(huge['blocks']! <= 0xffffffff && huge['files']! <= 0xffffffff);
  assert.equal(huge['frsize']! * huge['blocks']!, 2 ** 50);
  assert.ok(huge['bavail']! <= huge['blocks']!);
});

test('utimens: UTIME_NOW / UTIME_OMIT in tv_nsec mean now / omit; other values set exact ns', () => {
  assert.equal(UTIME_NOW, 0x3fffffff);
  assert.equal(UTIME_OMIT, 0x3ffffffe);
  assert.deepEqual(utimensSetting(0, UTIME_NOW), { kind: 'now' });
  assert.deepEqual(utimensSetting(0, UTIME_OMIT), { kind: 'omit' });
  assert.deepEqual(utimensSetting(1_234_567_890, 123_456_789), { kind: 'set', time: { sec: 1_234_567_890, nsec: 123_456_789 } });
  assert.deepEqual(utimensSetting(2 ** 33, 999_999_999), { kind: 'set', time: { sec: 2 ** 33, nsec: 999_999_999 } }, 'past 2106');
  assert.deepEqual(utimensSetting(0, 0), { kind: 'set', time: { sec: 0, nsec: 0 } });
  assert.equal(utimensSetting(1, 1_000_000_000), undefined, 'nsec out of range');
});

test('stats keep nanoseconds in the 21-uint32 layout (seconds lo/hi, nanoseconds per time)', () => {
  const stat = toFuseStat({
    ino: 7, mode: 0o100644, nlink: 2, uid: 1, gid: 2, rdev: 0, size: 2 ** 33 + 5, blksize: 4096, blocks: 3,
    atime: { sec: 10, nsec: 999_999_999 }, mtime: { sec: 2 ** 32 + 20, nsec: 0 }, ctime: { sec: 30, nsec: 1 },
  });
  assert.deepEqual(stat.atime, { sec: 10, nsec: 999_999_999 });
  const ints = statArray(stat);
  assert.equal(ints.length, STAT_UINT32S);
  assert.equal(ints[0], 0o100644);
  assert.equal(ints[3]! + ints[4]! * 2 ** 32, 2 ** 33 + 5);
  assert.equal(ints[7], 7);
  assert.deepEqual([...ints.subarray(12)], [10, 0, 999_999_999, 20, 1, 0, 30, 0, 1]);
  assert.throws(() => statArray({ ...stat, ctime: { sec: 1, nsec: 1e9 } }));
});

test('utimens through the ops: each time on its own, now / omit / exact ns; a bad tv_nsec is EINVAL', async () => {
  const vfs = memoryVfs();
  const ops = fuseOps(vfs, () => ROOT_CALLER);
  const call = (name: string, ...args: unknown[]): Promise<unknown[]> =>
    new Promise((resolve) => ops[name]!(ROOT_CONTEXT, ...args, (...reply: unknown[]) => resolve(reply)));
  const [, fh] = await call('create', '/f', 0o644);
  assert.deepEqual(await call('release', '/f', fh), [0]);
  const stat = async () => (await call('getattr', '/f'))[1] as { atime: unknown; mtime: unknown; ctime: unknown };
  const created = await stat();
  assert.deepEqual(await call('utimens', '/f', 1_234_567_890, 123_456_789, 0, UTIME_OMIT), [0]);
  let now = await stat();
  assert.deepEqual(now.atime, { sec: 1_234_567_890, nsec: 123_456_789 });
  assert.deepEqual(now.mtime, created.mtime, 'mtime omitted');
  assert.deepEqual(await call('utimens', '/f', 0, UTIME_OMIT, 42, 7), [0]);
  now = await stat();
  assert.deepEqual(now.atime, { sec: 1_234_567_890, nsec: 123_456_789 }, 'atime omitted');
  assert.deepEqual(now.mtime, { sec: 42, nsec: 7 });
  assert.deepEqual(await call('utimens', '/f', 0, UTIME_NOW, 0, UTIME_OMIT), [0]);
  now = await stat();
  assert.deepEqual(now.atime, created.ctime, 'now is the wall clock (manual here, so the creation time)');
  assert.deepEqual(now.mtime, { sec: 42, nsec: 7 });
  assert.deepEqual(await call('utimens', '/f', 1, 1_000_000_000, 0, UTIME_OMIT), [-22]);
});

test('fuse ops answer negative errnos and values in fuse-native shapes', async () => {
  const ops = fuseOps(memoryVfs(), () => ROOT_CALLER);
  const call = (name: string, ...args: unknown[]): Promise<unknown[]> =>
    new Promise((resolve) => ops[name]!(ROOT_CONTEXT, ...args, (...reply: unknown[]) => resolve(reply)));
  assert.deepEqual(await call('getattr', '/missing'), [-2]);
  assert.deepEqual(await call('mkdir', '/d', 0o755), [0]);
  const [createErr, fh] = await call('create', '/d/f', 0o644);
  assert.equal(createErr, 0);
  assert.deepEqual(await call('create', '/d/f', 0o644), [-17], 'create is exclusive');
  const data = Buffer.from('abc');
  assert.deepEqual(await call('write', '/d/f', fh, data, 3, 0), [3]);
  const into = Buffer.alloc(10);
  assert.deepEqual(await call('read', '/d/f', fh, into, 10, 0), [3]);
  assert.deepEqual(await call('release', '/d/f', fh), [0]);
  const [readdirErr, names, stats] = await call('readdir', '/d');
  assert.equal(readdirErr, 0);
  assert.deepEqual(names, ['.', '..', 'f']);
  assert.equal((stats as unknown[]).length, 3);
  assert.deepEqual(await call('chown', '/d/f', 0xffffffff, 42), [0]);
  const [, st] = await call('getattr', '/d/f');
  assert.equal((st as { gid: number; uid: number }).gid, 42);
  assert.equal((st as { gid: number; uid: number }).uid, 0, 'uid -1 left unchanged');
  assert.deepEqual(await call('getxattr', '/d/f', 'user.none', 0), [-61]);
});

test('mountFuse refuses a missing, non-directory or busy mount point before mounting', async () => {
  const vfs = memoryVfs();
  const missing = path.join(os.tmpdir(), `curvefs-no-such-dir-${process.pid}`);
  await assert.rejects(mountFuse(vfs, missing), (e: unknown) => CurveError.is(e) && /does not exist/.test((e as Error).message));
  const file = path.join(os.tmpdir(), `curvefs-a-file-${process.pid}`);
  await fs.promises.writeFile(file, '');
  try {
    await assert.rejects(mountFuse(vfs, file), (e: unknown) => CurveError.is(e) && /not a directory/.test((e as Error).message));
  } finally {
    await fs.promises.rm(file, { force: true });
  }
  await assert.rejects(mountFuse(vfs, '/proc'), (e: unknown) => CurveError.is(e) && /busy/.test((e as Error).message));
});

test('each op runs as the request\'s caller: ownership of new inodes, refusals, setgid directories', async () => {
  const groups = new CallerGroups({ clock: new ManualClock(0), readStatus: () => null });
  const ops = fuseOps(memoryVfs(), (context) => groups.callerOf(context));
  const call = (context: FuseRequestContext, name: string, ...args: unknown[]): Promise<unknown[]> =>
    new Promise((resolve) => ops[name]!(context, ...args, (...reply: unknown[]) => resolve(reply)));
  const alice: FuseRequestContext = { uid: 1000, gid: 100, pid: 4242 };
  const bob: FuseRequestContext = { uid: 1001, gid: 101, pid: 4243 };
  assert.deepEqual(await call(ROOT_CONTEXT, 'chmod', '/', 0o755), [0]);
  assert.deepEqual(await call(alice, 'mkdir', '/a', 0o755), [-13], 'the root directory is 0755 root:root');
  assert.deepEqual(await call(ROOT_CONTEXT, 'mkdir', '/shared', 0o777), [0]);
  assert.deepEqual(await call(ROOT_CONTEXT, 'chmod', '/shared', 0o41777), [0]);
  const [, fh] = await call(alice, 'create', '/shared/f', 0o600);
  await call(alice, 'release', '/shared/f', fh);
  const [, st] = await call(alice, 'getattr', '/shared/f');
  assert.equal((st as { uid: number }).uid, 1000);
  assert.equal((st as { gid: number }).gid, 100);
  assert.deepEqual(await call(bob, 'open', '/shared/f', 0), [-13], 'bob may not read alice\'s 0600 file');
  assert.deepEqual(await call(bob, 'unlink', '/shared/f'), [-1], 'sticky directory: EPERM');
  assert.deepEqual(await call(ROOT_CONTEXT, 'mkdir', '/sg', 0o777), [0]);
  assert.deepEqual(await call(ROOT_CONTEXT, 'chown', '/sg', 0xffffffff, 4242), [0]);
  assert.deepEqual(await call(ROOT_CONTEXT, 'chmod', '/sg', 0o42777), [0]);
  assert.deepEqual(await call(bob, 'mkdir', '/sg/d', 0o755), [0]);
  const [, sub] = await call(bob, 'getattr', '/sg/d');
  assert.equal((sub as { uid: number }).uid, 1001);
  assert.equal((sub as { gid: number }).gid, 4242, 'gid from the setgid parent');
  assert.equal((sub as { mode: number }).mode & 0o2000, 0o2000, 'a directory inherits S_ISGID');
  assert.equal(groups.reads, 2, 'procfs read once per pid (alice, bob), then cached');
});
