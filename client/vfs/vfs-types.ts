/**
 * Shapes the VFS hands to its callers (the FUSE adapter, tests).
 */
import type { Timespec } from './meta-api.js';

/** stat(2) as the VFS reports it. */
export interface VfsStat {
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly size: number;
  /** Preferred I/O size. */
  readonly blksize: number;
  /** 512-byte units. */
  readonly blocks: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
}

/** statfs(2) figures in bytes and inodes; the adapter picks units. */
export interface VfsStatFs {
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly totalInodes: number;
  readonly freeInodes: number;
  readonly nameBytesMax: number;
  readonly blockSizeBytes: number;
}

/** setxattr flags (linux/xattr.h). */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
/** XATTR_NAME_MAX and XATTR_SIZE_MAX of Linux. */
export const XATTR_NAME_BYTES_MAX = 255;
export const XATTR_VALUE_BYTES_MAX = 65_536;

/** open(2) flag bits on Linux (Node's fs.constants lacks O_ACCMODE). */
export const OpenFlags = {
  O_ACCMODE: 0o3,
  O_RDONLY: 0o0,
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_DIRECTORY: 0o200000,
} as const;
