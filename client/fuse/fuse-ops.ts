/**
 * The thin adapter: fuse-native callbacks → Vfs calls → negative errno.
 * No file-system logic lives here, only translation of shapes:
 * - results: `{ok, value}` → cb(0, value); `{ok: false, errno}` → cb(-errno);
 *   read/write answer the byte count in the first argument (fuse-native's
 *   convention);
 * - stats: Timespec → milliseconds (fuse-native carries ms);
 * - the caller: fuse-native does not expose the FUSE request context (uid,
 *   gid, pid), so every call runs as the mounting process's credentials and
 *   the kernel enforces permissions against the modes we report
 *   (`default_permissions`, fuse-options.ts). New files belong to the
 *   mounting user: the faithful setup is one mount per user, as with s3fs.
 * - utimens: fuse-native 2.2.6 passes the access time twice (its C side
 *   copies atime into the mtime argument) at millisecond precision, and
 *   UTIME_NOW/UTIME_OMIT arrive as 1073 ms (tv_sec 0, tv_nsec ~2^30). So a
 *   1073 means "now" for both, anything else sets both times to it.
 * - create: fuse-native hands no open flags to create; the kernel calls it
 *   only after a negative lookup, so it is treated as O_CREAT|O_EXCL|O_RDWR
 *   (a name created by another client meanwhile gives EEXIST rather than a
 *   silent open: lock files keep working across mounts).
 */
import { Errno } from '../../src/common/errno.js';
import type { Result } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import type { Caller } from '../vfs/posix-permission.js';
import { TIME_NOW, type TimeSetting } from '../vfs/posix-time.js';
import type { Vfs } from '../vfs/vfs.js';
import { OpenFlags, type VfsStat } from '../vfs/vfs-types.js';
import type { Timespec } from '../vfs/meta-api.js';
import { statfsFigures } from './fuse-options.js';
import type { FuseCallback, FuseStat } from './fuse-native-binding.js';

/** What fuse-native delivers for UTIME_NOW and UTIME_OMIT alike (see the module comment). */
export const FUSE_NATIVE_UTIME_SPECIAL_MS = 1073;

type Done = (...args: unknown[]) => void;

function ms(t: Timespec): number {
  return t.sec * 1000 + Math.floor(t.nsec / 1e6);
}

export function toFuseStat(stat: VfsStat): FuseStat {
  return {
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.size,
    dev: 0,
    nlink: stat.nlink,
    ino: stat.ino,
    rdev: stat.rdev,
    blksize: stat.blksize,
    blocks: stat.blocks,
    atime: ms(stat.atime),
    mtime: ms(stat.mtime),
    ctime: ms(stat.ctime),
  };
}

/** The single utimens value fuse-native gives us, as a time setting. */
export function utimensSetting(valueMs: number): TimeSetting {
  if (Math.floor(valueMs) === FUSE_NATIVE_UTIME_SPECIAL_MS) return TIME_NOW;
  const sec = Math.floor(valueMs / 1000);
  return { kind: 'set', time: { sec, nsec: Math.round((valueMs - sec * 1000) * 1e6) } };
}

/** The process's own credentials: the caller of every FUSE request (see the module comment). */
export function processCaller(): Caller {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { uid, gid, groups: process.getgroups?.() ?? [] };
}

export function fuseOps(vfs: Vfs, caller: Caller, logger?: Logger): Record<string, FuseCallback> {
  /** Runs a Vfs call and answers fuse-native: cb(0, ...map(value)) or cb(-errno). */
  function reply<T>(op: string, cb: unknown, promise: Promise<Result<T>>, map: (value: T) => unknown[] = () => []): void {
    const done = cb as Done;
    promise.then(
      (result) => (result.ok ? done(0, ...map(result.value)) : done(-result.errno)),
      (error: unknown) => {
        // The Vfs returns errors as values; reaching here is a bug. EIO keeps the mount alive.
        logger?.error({ op, err: error }, 'fuse op threw');
        done(-Errno.EIO);
      },
    );
  }
  /** read/write: fuse-native takes the count (or -errno) as the first argument. */
  function replyCount(op: string, cb: unknown, promise: Promise<Result<number>>): void {
    const done = cb as Done;
    promise.then(
      (result) => done(result.ok ? result.value : -result.errno),
      (error: unknown) => {
        logger?.error({ op, err: error }, 'fuse op threw');
        done(-Errno.EIO);
      },
    );
  }
  const s = (p: unknown): string => p as string;
  const n = (v: unknown): number => v as number;

  return {
    init: (cb) => (cb as Done)(0),
    getattr: (path, cb) => reply('getattr', cb, vfs.getattr(caller, s(path)), (st) => [toFuseStat(st)]),
    fgetattr: (_path, fh, cb) => reply('fgetattr', cb, vfs.fgetattr(caller, n(fh)), (st) => [toFuseStat(st)]),
    access: (path, mask, cb) => reply('access', cb, vfs.access(caller, s(path), n(mask))),
    statfs: (_path, cb) => reply('statfs', cb, vfs.statfs(caller), (figures) => [statfsFigures(figures)]),
    opendir: (path, flags, cb) => reply('opendir', cb, vfs.opendir(caller, s(path), n(flags)), (fh) => [fh]),
    readdir: (path, cb) => {
      // libfuse lists only what we return: "." and ".." come first, with the directory's own stat.
      const listing = Promise.all([vfs.getattr(caller, s(path)), vfs.readdir(caller, s(path))]).then(([self, entries]) =>
        !self.ok ? self : !entries.ok ? entries : { ok: true as const, value: { self: self.value, ...entries.value } },
      );
      reply('readdir', cb, listing, (value) => {
        const own = toFuseStat(value.self);
        return [['.', '..', ...value.names], [own, own, ...value.stats.map(toFuseStat)]];
      });
    },
    releasedir: (_path, fh, cb) => reply('releasedir', cb, vfs.releasedir(caller, n(fh))),
    fsyncdir: (_path, _isDataOnly, fh, cb) => reply('fsyncdir', cb, vfs.fsyncdir(caller, n(fh))),
    mknod: (path, mode, rdev, cb) => reply('mknod', cb, vfs.mknod(caller, s(path), n(mode), n(rdev))),
    mkdir: (path, mode, cb) => reply('mkdir', cb, vfs.mkdir(caller, s(path), n(mode))),
    unlink: (path, cb) => reply('unlink', cb, vfs.unlink(caller, s(path))),
    rmdir: (path, cb) => reply('rmdir', cb, vfs.rmdir(caller, s(path))),
    symlink: (target, path, cb) => reply('symlink', cb, vfs.symlink(caller, s(target), s(path))),
    readlink: (path, cb) => reply('readlink', cb, vfs.readlink(caller, s(path)), (target) => [target]),
    link: (existing, path, cb) => reply('link', cb, vfs.link(caller, s(existing), s(path))),
    rename: (source, target, cb) => reply('rename', cb, vfs.rename(caller, s(source), s(target))),
    chmod: (path, mode, cb) => reply('chmod', cb, vfs.chmod(caller, s(path), n(mode))),
    chown: (path, uid, gid, cb) => {
      // uint32 on the wire: (uid_t)-1 ("leave") arrives as 4294967295.
      const leave = (id: number): number => (id === 0xffff_ffff ? -1 : id);
      reply('chown', cb, vfs.chown(caller, s(path), leave(n(uid)), leave(n(gid))));
    },
    truncate: (path, size, cb) => reply('truncate', cb, vfs.truncate(caller, s(path), n(size))),
    ftruncate: (_path, fh, size, cb) => reply('ftruncate', cb, vfs.ftruncate(caller, n(fh), n(size))),
    utimens: (path, atime, _mtimeIsAtimeAgain, cb) => {
      const setting = utimensSetting(n(atime));
      reply('utimens', cb, vfs.utimens(caller, s(path), setting, setting));
    },
    open: (path, flags, cb) => reply('open', cb, vfs.open(caller, s(path), n(flags)), (fh) => [fh]),
    create: (path, mode, cb) =>
      reply('create', cb, vfs.create(caller, s(path), n(mode), OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_RDWR), (fh) => [fh]),
    read: (_path, fh, buffer, length, position, cb) =>
      replyCount('read', cb, vfs.read(caller, n(fh), n(position), n(length), buffer as Buffer)),
    write: (_path, fh, buffer, length, position, cb) =>
      // fuse-native's buffer is borrowed for this call only: the Vfs copies before it resolves.
      replyCount('write', cb, vfs.write(caller, n(fh), n(position), (buffer as Buffer).subarray(0, n(length)))),
    flush: (_path, fh, cb) => reply('flush', cb, vfs.flush(caller, n(fh))),
    fsync: (_path, isDataOnly, fh, cb) => reply('fsync', cb, vfs.fsync(caller, n(fh), Boolean(isDataOnly))),
    release: (_path, fh, cb) => reply('release', cb, vfs.release(caller, n(fh))),
    setxattr: (path, name, value, _position, flags, cb) =>
      reply('setxattr', cb, vfs.setxattr(caller, s(path), s(name), Buffer.from(value as Buffer), n(flags))),
    getxattr: (path, name, _position, cb) => reply('getxattr', cb, vfs.getxattr(caller, s(path), s(name)), (value) => [value]),
    listxattr: (path, cb) => reply('listxattr', cb, vfs.listxattr(caller, s(path)), (names) => [names]),
    removexattr: (path, name, cb) => reply('removexattr', cb, vfs.removexattr(caller, s(path), s(name))),
  };
}
