/**
 * The thin adapter: fuse-native callbacks → Vfs calls → negative errno.
 * No file-system logic lives here, only translation of shapes:
 * - results: `{ok, value}` → cb(0, value); `{ok: false, errno}` → cb(-errno);
 *   read/write answer the byte count in the first argument (fuse-native's
 *   convention);
 * - stats: Timespec as it is, nanoseconds included (our native patch 4);
 * - the caller: our binding (fuse-native-binding.ts, patched native part)
 *   hands every op the request's FUSE context {uid, gid, pid}; `callerOf`
 *   turns it into the Vfs caller (fuse-caller.ts adds supplementary groups
 *   from procfs when a check needs them). The Vfs judges permissions for
 *   that caller and gives new inodes its uid/gid (or the setgid parent's
 *   gid). The kernel checks too when `default_permissions` is on
 *   (fuse-options.ts explains why both).
 * - utimens: each time arrives as (sec, nsec) with utimensat's UTIME_NOW
 *   and UTIME_OMIT kept in nsec (native patch 4; libfuse sends OMIT for
 *   the time `touch -a`/`touch -m` leaves); they become the Vfs's
 *   now / omit / set, and the Vfs judges who may do which.
 * - every reply is counted and timed by op and errno (fuse-op-metrics.ts,
 *   the process's /metrics);
 * - create: fuse-native hands no open flags to create; the kernel calls it
 *   only after a negative lookup, so it is treated as O_CREAT|O_EXCL|O_RDWR
 *   (a name created by another client meanwhile gives EEXIST rather than a
 *   silent open: lock files keep working across mounts).
 */
import { Errno } from '../../src/common/errno.js';
import type { Result } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import type { Caller } from '../vfs/posix-permission.js';
import { TIME_NOW, TIME_OMIT, type TimeSetting } from '../vfs/posix-time.js';
import type { Vfs } from '../vfs/vfs.js';
import { OpenFlags, type VfsStat } from '../vfs/vfs-types.js';
import { statfsFigures } from './fuse-options.js';
import { fuseOpMetrics, type FuseOpMetrics } from './fuse-op-metrics.js';
import { UTIME_NOW, UTIME_OMIT, type FuseOperations, type FuseRequestContext, type FuseStat } from './fuse-native-binding.js';

type Done = (...args: unknown[]) => void;
/** The ops' arguments arrive untyped from the binding; `s`/`n` below name what each is. */

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
    atime: stat.atime,
    mtime: stat.mtime,
    ctime: stat.ctime,
  };
}

/** One utimens time (tv_sec, tv_nsec) as a time setting; undefined when tv_nsec is out of range (EINVAL). */
export function utimensSetting(sec: number, nsec: number): TimeSetting | undefined {
  if (nsec === UTIME_NOW) return TIME_NOW;
  if (nsec === UTIME_OMIT) return TIME_OMIT;
  if (!Number.isSafeInteger(sec) || sec < 0 || !Number.isInteger(nsec) || nsec < 0 || nsec >= 1e9) return undefined;
  return { kind: 'set', time: { sec, nsec } };
}

/** The process's own credentials (for `FuseMountOptions.caller`: every request as this process). */
export function processCaller(): Caller {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { uid, gid, groups: process.getgroups?.() ?? [] };
}

/**
 * The ops table for the binding: each op is `(context, ...args, cb)` and
 * runs its Vfs call as `callerOf(context)`.
 */
export function fuseOps(
  vfs: Vfs,
  callerOf: (context: FuseRequestContext) => Caller,
  logger?: Logger,
  metrics: FuseOpMetrics = fuseOpMetrics(),
): FuseOperations {
  /** Runs a Vfs call and answers fuse-native: cb(0, ...map(value)) or cb(-errno). */
  function reply<T>(op: string, cb: unknown, promise: Promise<Result<T>>, map: (value: T) => unknown[] = () => []): void {
    const done = cb as Done;
    const started = performance.now();
    promise.then(
      (result) => {
        metrics.observe(op, result.ok ? 0 : result.errno, (performance.now() - started) / 1000);
        if (result.ok) done(0, ...map(result.value));
        else done(-result.errno);
      },
      (error: unknown) => {
        // The Vfs returns errors as values; reaching here is a bug. EIO keeps the mount alive.
        logger?.error({ op, err: error }, 'fuse op threw');
        metrics.observe(op, Errno.EIO, (performance.now() - started) / 1000);
        done(-Errno.EIO);
      },
    );
  }
  /** read/write: fuse-native takes the count (or -errno) as the first argument. */
  function replyCount(op: string, cb: unknown, promise: Promise<Result<number>>): void {
    const done = cb as Done;
    const started = performance.now();
    promise.then(
      (result) => {
        metrics.observe(op, result.ok ? 0 : result.errno, (performance.now() - started) / 1000);
        done(result.ok ? result.value : -result.errno);
      },
      (error: unknown) => {
        logger?.error({ op, err: error }, 'fuse op threw');
        metrics.observe(op, Errno.EIO, (performance.now() - started) / 1000);
        done(-Errno.EIO);
      },
    );
  }
  const s = (p: unknown): string => p as string;
  const n = (v: unknown): number => v as number;

  return {
    init: (_ctx, cb) => (cb as Done)(0),
    getattr: (ctx, path, cb) => reply('getattr', cb, vfs.getattr(callerOf(ctx), s(path)), (st) => [toFuseStat(st)]),
    fgetattr: (ctx, _path, fh, cb) => reply('fgetattr', cb, vfs.fgetattr(callerOf(ctx), n(fh)), (st) => [toFuseStat(st)]),
    access: (ctx, path, mask, cb) => reply('access', cb, vfs.access(callerOf(ctx), s(path), n(mask))),
    statfs: (ctx, _path, cb) => reply('statfs', cb, vfs.statfs(callerOf(ctx)), (figures) => [statfsFigures(figures)]),
    opendir: (ctx, path, flags, cb) => reply('opendir', cb, vfs.opendir(callerOf(ctx), s(path), n(flags)), (fh) => [fh]),
    readdir: (ctx, path, cb) => {
      const caller = callerOf(ctx);
      // libfuse lists only what we return: "." and ".." come first, with the directory's own stat.
      const listing = Promise.all([vfs.getattr(caller, s(path)), vfs.readdir(caller, s(path))]).then(([self, entries]) =>
        !self.ok ? self : !entries.ok ? entries : { ok: true as const, value: { self: self.value, ...entries.value } },
      );
      reply('readdir', cb, listing, (value) => {
        const own = toFuseStat(value.self);
        return [['.', '..', ...value.names], [own, own, ...value.stats.map(toFuseStat)]];
      });
    },
    releasedir: (ctx, _path, fh, cb) => reply('releasedir', cb, vfs.releasedir(callerOf(ctx), n(fh))),
    fsyncdir: (ctx, _path, _isDataOnly, fh, cb) => reply('fsyncdir', cb, vfs.fsyncdir(callerOf(ctx), n(fh))),
    mknod: (ctx, path, mode, rdev, cb) => reply('mknod', cb, vfs.mknod(callerOf(ctx), s(path), n(mode), n(rdev))),
    mkdir: (ctx, path, mode, cb) => reply('mkdir', cb, vfs.mkdir(callerOf(ctx), s(path), n(mode))),
    unlink: (ctx, path, cb) => reply('unlink', cb, vfs.unlink(callerOf(ctx), s(path))),
    rmdir: (ctx, path, cb) => reply('rmdir', cb, vfs.rmdir(callerOf(ctx), s(path))),
    symlink: (ctx, target, path, cb) => reply('symlink', cb, vfs.symlink(callerOf(ctx), s(target), s(path))),
    readlink: (ctx, path, cb) => reply('readlink', cb, vfs.readlink(callerOf(ctx), s(path)), (target) => [target]),
    link: (ctx, existing, path, cb) => reply('link', cb, vfs.link(callerOf(ctx), s(existing), s(path))),
    rename: (ctx, source, target, cb) => reply('rename', cb, vfs.rename(callerOf(ctx), s(source), s(target))),
    chmod: (ctx, path, mode, cb) => reply('chmod', cb, vfs.chmod(callerOf(ctx), s(path), n(mode))),
    chown: (ctx, path, uid, gid, cb) => {
      // uint32 on the wire: (uid_t)-1 ("leave") arrives as 4294967295.
      const leave = (id: number): number => (id === 0xffff_ffff ? -1 : id);
      reply('chown', cb, vfs.chown(callerOf(ctx), s(path), leave(n(uid)), leave(n(gid))));
    },
    truncate: (ctx, path, size, cb) => reply('truncate', cb, vfs.truncate(callerOf(ctx), s(path), n(size))),
    ftruncate: (ctx, _path, fh, size, cb) => reply('ftruncate', cb, vfs.ftruncate(callerOf(ctx), n(fh), n(size))),
    utimens: (ctx, path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, cb) => {
      const atime = utimensSetting(n(atimeSec), n(atimeNsec));
      const mtime = utimensSetting(n(mtimeSec), n(mtimeNsec));
      if (atime === undefined || mtime === undefined) return (cb as Done)(-Errno.EINVAL);
      reply('utimens', cb, vfs.utimens(callerOf(ctx), s(path), atime, mtime));
    },
    open: (ctx, path, flags, cb) => reply('open', cb, vfs.open(callerOf(ctx), s(path), n(flags)), (fh) => [fh]),
    create: (ctx, path, mode, cb) =>
      reply('create', cb, vfs.create(callerOf(ctx), s(path), n(mode), OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_RDWR), (fh) => [fh]),
    read: (ctx, _path, fh, buffer, length, position, cb) =>
      replyCount('read', cb, vfs.read(callerOf(ctx), n(fh), n(position), n(length), buffer as Buffer)),
    write: (ctx, _path, fh, buffer, length, position, cb) =>
      // fuse-native's buffer is borrowed for this call only: the Vfs copies before it resolves.
      replyCount('write', cb, vfs.write(callerOf(ctx), n(fh), n(position), (buffer as Buffer).subarray(0, n(length)))),
    flush: (ctx, _path, fh, cb) => reply('flush', cb, vfs.flush(callerOf(ctx), n(fh))),
    fsync: (ctx, _path, isDataOnly, fh, cb) => reply('fsync', cb, vfs.fsync(callerOf(ctx), n(fh), Boolean(isDataOnly))),
    release: (ctx, _path, fh, cb) => reply('release', cb, vfs.release(callerOf(ctx), n(fh))),
    setxattr: (ctx, path, name, value, _position, flags, cb) =>
      reply('setxattr', cb, vfs.setxattr(callerOf(ctx), s(path), s(name), Buffer.from(value as Buffer), n(flags))),
    getxattr: (ctx, path, name, _position, cb) => reply('getxattr', cb, vfs.getxattr(callerOf(ctx), s(path), s(name)), (value) => [value]),
    listxattr: (ctx, path, cb) => reply('listxattr', cb, vfs.listxattr(callerOf(ctx), s(path)), (names) => [names]),
    removexattr: (ctx, path, name, cb) => reply('removexattr', cb, vfs.removexattr(callerOf(ctx), s(path), s(name))),
  };
}
