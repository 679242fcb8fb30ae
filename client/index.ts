/**
 * The client's stable entry: mount a file system given its metadata client
 * and data path. The composition root (cli/, `curvefs mount` and
 * `curvefs local up`) builds those from the MDS's FsInfo and calls:
 *
 *   const meta: MetaApi = ...;                          // client/meta
 *   const data = fileDataFromDataClient(await DataClient.start({...}));
 *   const mounted = await mountFileSystem({ mountPoint, meta, data, logger });
 *   await mounted.closed;   // resolves after SIGINT/SIGTERM (or unmount()) unmounted cleanly
 *   // then stop the data client, the session and RPC channels, and exit
 *
 * Unmounting flushes every open file first (close-to-open: all data written
 * before the unmount is committed), then detaches the mount. `curvefs umount
 * MOUNTPOINT [--lazy]` runs in another process: `unmountMountPoint(path,
 * {lazy})`; the serving process notices within a second and settles `closed`.
 *
 * Each request runs as its caller (uid, gid from the FUSE context, groups
 * from procfs; our patched fuse-native, client/fuse/native/), so new files
 * belong to their creator. Limits that remain from fuse-native (details in
 * client/fuse/fuse-ops.ts): utimens gets one ms-precision time for both
 * atime and mtime; the kernel caches attributes per name (kernelAttrTtlMs).
 */
import { MonotonicClock, SystemClock, type Clock } from '../src/common/clock.js';
import type { Logger } from '../src/common/log.js';
import { mountFuse } from './fuse/fuse-mount.js';
import { FUSE_MOUNT_DEFAULTS } from './fuse/fuse-options.js';
import type { FileDataApi } from './vfs/data-api.js';
import type { MetaApi } from './vfs/meta-api.js';
import { Vfs } from './vfs/vfs.js';
import type { AtimeMode } from './vfs/posix-time.js';

export type { MetaApi, DentryOps, InodeOps, SessionOps, FsStatsOps, InodeAttr, Dentry, RenameRequest } from './vfs/meta-api.js';
export type { FileData, FileDataApi } from './vfs/data-api.js';
export { FileType, ROOT_INODE_ID } from './vfs/meta-api.js';
export { fileDataFromDataClient } from './vfs/file-data-from-data-client.js';
export { Vfs } from './vfs/vfs.js';
export type { AtimeMode } from './vfs/posix-time.js';
export { checkMountable, mountFuse, type FuseMount } from './fuse/fuse-mount.js';
export { unmountMountPoint } from './fuse/umount.js';

export interface MountFileSystemOptions {
  readonly mountPoint: string;
  readonly meta: MetaApi;
  readonly data: FileDataApi;
  /** Shown as the mount's source in /proc/mounts and df (default "curvefs"). */
  readonly fsName?: string;
  /** Client and kernel attribute cache TTL (default 1000 ms). */
  readonly attrTtlMs?: number;
  /** Client and kernel dentry cache TTL, also for negative entries (default 1000 ms). */
  readonly entryTtlMs?: number;
  /**
   * Kernel attribute cache TTL if it should differ from attrTtlMs. fuse-native
   * serves paths, so the kernel keeps one attribute copy per NAME: after a
   * change through one hard link, the other names show the old size and
   * times until this runs out (0 = the kernel asks every time; our own cache
   * still answers, so it costs a FUSE round trip, not an RPC).
   */
  readonly kernelAttrTtlMs?: number;
  /** When reads write atime (default relatime: client/vfs/posix-time.ts). */
  readonly atimeMode?: AtimeMode;
  /** Let users other than the mounting one in (default false; each request runs as its caller, client/fuse/fuse-ops.ts). */
  readonly allowOther?: boolean;
  /**
   * Let the kernel check permissions as well as the Vfs (default true; see
   * client/fuse/fuse-options.ts). False leaves every check to the Vfs.
   */
  readonly defaultPermissions?: boolean;
  /** Unmount on SIGINT/SIGTERM (default true). */
  readonly handleSignals?: boolean;
  readonly logger?: Logger;
  readonly wallClock?: Clock;
  readonly cacheClock?: Clock;
}

export interface MountedFileSystem {
  readonly mountPoint: string;
  readonly vfs: Vfs;
  /** Flush, unmount, release. Idempotent. Rejects if some data could not be flushed (the mount is gone anyway). */
  unmount(): Promise<void>;
  /** Settles once unmounted: by unmount(), a signal, or `curvefs umount` from outside; rejects like unmount(). */
  readonly closed: Promise<void>;
}

export async function mountFileSystem(options: MountFileSystemOptions): Promise<MountedFileSystem> {
  const attrTtlMs = options.attrTtlMs ?? FUSE_MOUNT_DEFAULTS.attrTtlMs;
  const entryTtlMs = options.entryTtlMs ?? FUSE_MOUNT_DEFAULTS.entryTtlMs;
  const vfs = new Vfs({
    meta: options.meta,
    data: options.data,
    wallClock: options.wallClock ?? new SystemClock(),
    cacheClock: options.cacheClock ?? new MonotonicClock(),
    attrTtlMs,
    entryTtlMs,
    negativeEntryTtlMs: entryTtlMs,
    ...(options.atimeMode !== undefined ? { atimeMode: options.atimeMode } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const mount = await mountFuse(vfs, options.mountPoint, {
    attrTtlMs: options.kernelAttrTtlMs ?? attrTtlMs,
    entryTtlMs,
    ...(options.fsName !== undefined ? { fsName: options.fsName } : {}),
    ...(options.allowOther !== undefined ? { allowOther: options.allowOther } : {}),
    ...(options.defaultPermissions !== undefined ? { defaultPermissions: options.defaultPermissions } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    options.logger?.info({ signal, mountPoint: mount.mountPoint }, 'signal: unmounting');
    mount.unmount().catch(() => undefined);
  };
  if (options.handleSignals ?? true) for (const signal of signals) process.on(signal, onSignal);
  // However the mount ends (unmount(), a signal, `curvefs umount`), stop listening.
  mount.closed
    .finally(() => {
      for (const signal of signals) process.removeListener(signal, onSignal);
    })
    .catch(() => undefined);
  const unmount = (): Promise<void> => mount.unmount();
  const closed = mount.closed;
  return { mountPoint: mount.mountPoint, vfs, unmount, closed };
}
