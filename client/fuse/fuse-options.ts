/**
 * The mount options handed to our FUSE binding (fuse-native-binding.ts,
 * which keeps fuse-native 2.2.6's option handling), as a pure function.
 *
 * fuse-native has no options for big_writes, max_write, max_readahead,
 * negative_timeout or use_ino. It joins its options into one "-o a,b,c"
 * string and passes `fsname` through unescaped, so extra options appended
 * to fsname after a comma reach libfuse as options of their own. Without
 * big_writes/max_write the kernel splits writes into 4 KiB requests.
 *
 * Request size: libfuse 2.9 alone gets 128 KiB per READ/WRITE at most (it
 * predates FUSE_MAX_PAGES); our addon negotiates `ioRequestBytesMax` (1 MiB
 * by default: the kernel's default fs.fuse.max_pages_limit is 256 pages)
 * when the kernel offers it, and falls back to 128 KiB when not. max_write
 * (libfuse's cap on its INIT reply) and max_read (the kernel's cap on READ)
 * must allow as much, hence the same figure in both. The kernel's read-ahead
 * window is its bdi's (128 KiB unless raised): fuse-mount.ts raises it to
 * `readAheadBytes` after mounting, since libfuse's max_readahead can only
 * lower it.
 *
 * Not `hard_remove`: with it libfuse hands a NULL path for operations on an
 * unlinked-but-open file, and fuse-native turns that into an uninitialised JS
 * argument. Without it libfuse keeps such a file under a hidden name
 * (".fuse_hidden…", via our rename) and unlinks it at the last release.
 */
import { assert } from '../../src/common/assert.js';
import { FUSE_REQUEST_BYTES_LIMIT, type FuseMountOptionsNative } from './fuse-native-binding.js';

export interface FuseMountSettings {
  /** Shown as the mount's source (df, /proc/mounts). Letters, digits, . _ - only. */
  readonly fsName: string;
  /** Kernel attribute cache lifetime: the same as the client's attr cache TTL. */
  readonly attrTtlMs: number;
  /** Kernel dentry cache lifetime (also for negative entries). */
  readonly entryTtlMs: number;
  /** Bytes per FUSE read/write request (1 MiB where the kernel has FUSE_MAX_PAGES, else 128 KiB). */
  readonly ioRequestBytesMax: number;
  /** Kernel read-ahead window (the mount's bdi read_ahead_kb). */
  readonly readAheadBytes: number;
  /** Let other users than the mounting one in (needs user_allow_other for non-root). */
  readonly allowOther: boolean;
  /**
   * Let the kernel check permissions too, against the modes we report, before
   * a request reaches us (default true). See `fuseNativeOptions` for why both.
   */
  readonly defaultPermissions: boolean;
  readonly debug: boolean;
}

export const FUSE_MOUNT_DEFAULTS = {
  fsName: 'curvefs',
  attrTtlMs: 1_000,
  entryTtlMs: 1_000,
  ioRequestBytesMax: 1_048_576,
  readAheadBytes: 1_048_576,
  allowOther: false,
  defaultPermissions: true,
  debug: false,
} as const;

/** The options object for `new Fuse(mountPoint, ops, options)`. */
export function fuseNativeOptions(settings: FuseMountSettings): FuseMountOptionsNative {
  assert(/^[A-Za-z0-9._-]{1,64}$/.test(settings.fsName), `fs name must be plain: ${settings.fsName}`);
  assert(settings.ioRequestBytesMax >= 4096 && settings.ioRequestBytesMax % 4096 === 0 && settings.ioRequestBytesMax <= FUSE_REQUEST_BYTES_LIMIT, 'request size');
  assert(settings.readAheadBytes >= 0 && settings.attrTtlMs >= 0 && settings.entryTtlMs >= 0, 'non-negative');
  const seconds = (ms: number): string => String(ms / 1000);
  const extra = [
    'big_writes',
    `max_write=${settings.ioRequestBytesMax}`,
    `max_read=${settings.ioRequestBytesMax}`,
    `max_readahead=${settings.readAheadBytes}`,
    `negative_timeout=${seconds(settings.entryTtlMs)}`,
    // Our inode ids as st_ino, so hard links show one inode number.
    'use_ino',
    // fuse-native accepts 0 only as "unset", so timeouts go here too.
    `attr_timeout=${seconds(settings.attrTtlMs)}`,
    `entry_timeout=${seconds(settings.entryTtlMs)}`,
  ];
  return {
    fsname: [settings.fsName, ...extra].join(','),
    subtype: 'curvefs',
    // Two lines of defence. The Vfs checks every request for its caller (the
    // FUSE context, fuse-ops.ts). With default_permissions the kernel checks
    // first, with the caller's exact supplementary groups (we read ours from
    // procfs, racily: fuse-caller.ts), and for exec, which without it the
    // kernel allows whenever any x bit is set. The kernel judges by attributes
    // it cached (attrTtlMs), the Vfs by fresher ones; an operation needs both
    // to agree, so a stale cache can refuse but never grant more. The Vfs's
    // own checks are tested through a mount without it (e2e vfs-fuse-caller).
    defaultPermissions: settings.defaultPermissions,
    allowOther: settings.allowOther,
    debug: settings.debug,
    ioRequestBytes: settings.ioRequestBytesMax,
  };
}

/**
 * statfs figures for fuse-native, which carries them as uint32: pick the
 * smallest fragment size (a power of two ≥ 4 KiB) that makes the block
 * counts fit, and clamp inode counts.
 */
export function statfsFigures(figures: {
  totalBytes: number;
  freeBytes: number;
  totalInodes: number;
  freeInodes: number;
  nameBytesMax: number;
  blockSizeBytes: number;
}): Record<string, number> {
  const UINT32_MAX = 0xffff_ffff;
  let unit = 4096;
  for (let i = 0; i < 40 && Math.ceil(figures.totalBytes / unit) > UINT32_MAX; i++) unit *= 2;
  const blocks = Math.min(UINT32_MAX, Math.ceil(figures.totalBytes / unit));
  const free = Math.min(blocks, Math.floor(figures.freeBytes / unit));
  const files = Math.min(UINT32_MAX, figures.totalInodes);
  const filesFree = Math.min(files, figures.freeInodes);
  return {
    bsize: Math.min(UINT32_MAX, Math.max(unit, figures.blockSizeBytes)),
    frsize: unit,
    blocks,
    bfree: free,
    bavail: free,
    files,
    ffree: filesFree,
    favail: filesFree,
    fsid: 0,
    flag: 0,
    namemax: figures.nameBytesMax,
  };
}
