/**
 * Mounting a Vfs with our FUSE binding (a patched fuse-native 2.2.6 that
 * tells each request's caller), and unmounting it cleanly: flush every
 * open file, detach the mount, release what is left. A mount that cannot
 * start throws a CurveError naming why (no /dev/fuse, mount point missing,
 * not a directory, already a mount point, libfuse refused).
 *
 * The process that serves a mount must never touch it with synchronous fs
 * calls (it would wait on itself): nothing here does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, CurveError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MonotonicClock } from '../../src/common/clock.js';
import type { Caller } from '../vfs/posix-permission.js';
import type { Vfs } from '../vfs/vfs.js';
import { CallerGroups } from './fuse-caller.js';
import { FUSE_DEFAULT_REQUEST_BYTES, Fuse, type FuseIoStats } from './fuse-native-binding.js';
import { FUSE_MOUNT_DEFAULTS, fuseNativeOptions, type FuseMountSettings } from './fuse-options.js';
import { fuseOps } from './fuse-ops.js';
import { unmountMountPoint } from './umount.js';

export interface FuseMountOptions extends Partial<FuseMountSettings> {
  readonly logger?: Logger;
  /**
   * Run every request as this caller instead of the request's own (the FUSE
   * context). For tools and tests only: a shared mount must not set it.
   */
  readonly caller?: Caller;
}

export interface FuseMount {
  readonly mountPoint: string;
  /** Flushes open files, unmounts, releases handles. Idempotent; rejects if data could not be flushed. */
  unmount(): Promise<void>;
  /**
   * Settles once the mount is gone: by unmount(), or by an unmount from
   * outside (`curvefs umount`, fusermount -u), noticed within a second, after
   * which every handle left is released (flushing its data).
   */
  readonly closed: Promise<void>;
  /** The request size negotiated with the kernel and the READ/WRITE requests served so far. */
  ioStats(): FuseIoStats;
}

/** How often the mount table is read to notice an unmount from outside. */
const EXTERNAL_UNMOUNT_POLL_MS = 1_000;

const DEV_FUSE = '/dev/fuse';

/** `dir`'s line in the kernel's mount table (never touches the mount), or undefined if nothing is mounted there. */
async function mountInfoLine(dir: string): Promise<string | undefined> {
  const text = await fs.promises.readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text.split('\n').find((line) => line.length > 0 && unescape(line.split(' ')[4] ?? '') === dir);
}

/** Whether `dir` is itself a mount point, from the kernel's table. */
async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountInfoLine(dir)) !== undefined;
}

/**
 * What a mount needs, checked before anything else starts so the error says
 * what is wrong: /dev/fuse usable, the mount point an existing directory with
 * nothing mounted on it. A dead FUSE mount left by a killed server is detached.
 */
export async function checkMountable(mountPoint: string): Promise<void> {
  try {
    await fs.promises.access(DEV_FUSE, fs.constants.R_OK | fs.constants.W_OK);
  } catch (error) {
    throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `cannot mount: ${DEV_FUSE} is missing or not accessible (load the fuse module, or run the container with --device /dev/fuse)`, { cause: error });
  }
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(mountPoint);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') {
      // A FUSE mount whose server died (kill -9): detach the corpse, then mount afresh.
      await unmountMountPoint(mountPoint, { lazy: true });
      return checkMountable(mountPoint);
    }
    throw new ConfigError('mountpoint', `${mountPoint} does not exist or cannot be reached (${code ?? 'error'})`);
  }
  if (!stat.isDirectory()) throw new ConfigError('mountpoint', `${mountPoint} is not a directory`);
  if (await isMountPoint(mountPoint)) throw new ConfigError('mountpoint', `${mountPoint} is busy: something is already mounted there`);
}

/** A mount's device ("0:53", mountinfo's third field), or null if it is not mounted. */
async function mountDevice(dir: string): Promise<string | null> {
  return (await mountInfoLine(dir))?.split(' ')[2] ?? null;
}

/**
 * The kernel's read-ahead window for the mount: its bdi's read_ahead_kb.
 * The kernel starts every FUSE bdi at 128 KiB and only lowers it from
 * libfuse's INIT reply (max_readahead), so without this sequential reads stay
 * 128 KiB requests however large max_pages is. Best effort: without write
 * access to /sys (not root, a read-only /sys) the mount keeps 128 KiB.
 */
export async function setKernelReadAhead(mountPoint: string, bytes: number, logger: Logger | undefined): Promise<void> {
  const device = await mountDevice(mountPoint);
  if (device === null || !/^\d+:\d+$/.test(device)) return;
  const file = `/sys/class/bdi/${device}/read_ahead_kb`;
  try {
    await fs.promises.writeFile(file, String(Math.floor(bytes / 1024)));
  } catch (error) {
    logger?.warn({ mountPoint, file, err: error }, 'cannot set the kernel read-ahead window; it stays at 128 KiB');
  }
}

function callback(fn: (cb: (error: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

export async function mountFuse(vfs: Vfs, mountPointPath: string, options: FuseMountOptions = {}): Promise<FuseMount> {
  const mountPoint = path.resolve(mountPointPath);
  await checkMountable(mountPoint);
  const settings: FuseMountSettings = { ...FUSE_MOUNT_DEFAULTS, ...options };
  const fixed = options.caller;
  const groups = new CallerGroups({ clock: new MonotonicClock() });
  const callerOf = fixed !== undefined ? () => fixed : groups.callerOf.bind(groups);
  const fuse = new Fuse(mountPoint, fuseOps(vfs, callerOf, options.logger), fuseNativeOptions(settings));
  try {
    await callback((cb) => fuse.mount(cb));
  } catch (error) {
    throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `cannot mount ${mountPoint}: ${(error as Error).message}`, { cause: error });
  }
  await setKernelReadAhead(mountPoint, settings.readAheadBytes, options.logger);
  const io = fuse.ioStats();
  options.logger?.info({ mountPoint, fsName: settings.fsName, kernelMinor: io.kernelMinor, maxPages: io.maxPages, maxWrite: io.maxWrite }, 'mounted');
  if (settings.ioRequestBytesMax > FUSE_DEFAULT_REQUEST_BYTES && io.maxPages === 0) {
    options.logger?.warn({ mountPoint, kernelMinor: io.kernelMinor }, 'the kernel does not offer FUSE_MAX_PAGES: FUSE requests stay at 128 KiB');
  }
  let unmounting: Promise<void> | null = null;
  let settle: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  const closed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Callers that only use unmount() must not see an unhandled rejection from `closed`.
  closed.catch(() => undefined);

  /** `isDetached`: the kernel already dropped the mount (unmounted from outside). */
  async function unmountOnce(isDetached: boolean): Promise<void> {
    clearInterval(watcher);
    const flushErrno = await vfs.flushAll();
    // After an outside unmount libfuse's loop has ended by itself; fusermount would only fail.
    if (!isDetached) {
      try {
        await callback((cb) => fuse.unmount(cb));
      } catch (error) {
        throw new CurveError('CURVEFS_ERR_UNAVAILABLE', `cannot unmount ${mountPoint}: ${(error as Error).message}`, { cause: error });
      }
    }
    // Handles the kernel still held (lazy unmount) are released now, flushing their data.
    const closeErrno = await vfs.closeAll();
    options.logger?.info({ mountPoint, flushErrno, closeErrno, isDetached }, 'unmounted');
    if (flushErrno !== 0 || closeErrno !== 0) {
      throw new CurveError('CURVEFS_ERR_STORAGE', `unmounted ${mountPoint}, but some data could not be flushed (errno ${flushErrno || closeErrno})`);
    }
  }

  /** The one way in, for unmount() and for the watcher alike. */
  function start(isDetached: boolean): Promise<void> {
    if (unmounting === null) {
      unmounting = unmountOnce(isDetached);
      unmounting.then(
        () => settle!.resolve(),
        (error: unknown) => settle!.reject(error),
      );
    }
    return unmounting;
  }

  const watcher: NodeJS.Timeout = setInterval(() => {
    isMountPoint(mountPoint).then(
      (isMounted) => {
        if (isMounted || unmounting !== null) return;
        options.logger?.info({ mountPoint }, 'unmounted from outside');
        start(true).catch(() => undefined);
      },
      () => undefined,
    );
  }, EXTERNAL_UNMOUNT_POLL_MS);
  watcher.unref();

  return { mountPoint, unmount: () => start(false), closed, ioStats: () => fuse.ioStats() };
}
