/**
 * File types, st_mode bits and the ownership of new inodes, as pure functions.
 */
import { assert, unreachable } from '../../src/common/assert.js';
import { Errno } from '../../src/common/errno.js';
import { FileType } from './meta-api.js';
import { isGroupMember, isRoot, S_IFDIR, S_IFMT, S_IFREG, S_ISGID, S_IXGRP, type Caller, type Ownership } from './posix-permission.js';

export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFBLK = 0o060000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export function typeBits(type: FileType): number {
  switch (type) {
    case FileType.Directory:
      return S_IFDIR;
    case FileType.File:
      return S_IFREG;
    case FileType.Symlink:
      return S_IFLNK;
    case FileType.Fifo:
      return S_IFIFO;
    case FileType.Socket:
      return S_IFSOCK;
    case FileType.Char:
      return S_IFCHR;
    case FileType.Block:
      return S_IFBLK;
    default:
      return unreachable(type, 'file type');
  }
}

/** The file type a mode's type bits name; null for none or an unknown one. */
export function fileTypeOfMode(mode: number): FileType | null {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return FileType.Directory;
    case S_IFREG:
      return FileType.File;
    case S_IFLNK:
      return FileType.Symlink;
    case S_IFIFO:
      return FileType.Fifo;
    case S_IFSOCK:
      return FileType.Socket;
    case S_IFCHR:
      return FileType.Char;
    case S_IFBLK:
      return FileType.Block;
    default:
      return null;
  }
}

/** mode with the type bits of `type` and the permission bits of `mode` (0o7777). */
export function modeWithType(type: FileType, mode: number): number {
  return typeBits(type) | (mode & 0o7777);
}

export function applyUmask(mode: number, umask: number): number {
  assert(umask >= 0 && umask <= 0o777, `umask ${umask}`);
  return mode & ~umask;
}

/**
 * Owner, group and mode of an inode created in `parent` (Linux
 * inode_init_owner): the group is the parent's when the parent is set-group-id
 * (and a new directory inherits the bit), else the caller's primary group. A
 * new non-directory keeps S_ISGID only if the caller is in its group (or root).
 */
export function newInodeOwnership(
  parent: Ownership,
  caller: Caller,
  type: FileType,
  requestedMode: number,
): { uid: number; gid: number; mode: number } {
  let mode = modeWithType(type, requestedMode);
  let gid = caller.gid;
  if ((parent.mode & S_ISGID) !== 0) {
    gid = parent.gid;
    if (type === FileType.Directory) mode |= S_ISGID;
  }
  const isSetgidExecutable = (mode & S_ISGID) !== 0 && (mode & S_IXGRP) !== 0;
  if (type !== FileType.Directory && isSetgidExecutable && !isRoot(caller) && !isGroupMember(caller, gid)) {
    mode &= ~S_ISGID;
  }
  return { uid: caller.uid, gid, mode };
}

/**
 * Which types mknod may create, and who may: device nodes only for root
 * (EPERM); regular files, FIFOs and sockets for anyone; directories and
 * symlinks have their own calls (EINVAL here).
 */
export function checkMknodType(type: FileType | null, caller: Caller): number {
  if (type === null) return Errno.EINVAL;
  if (type === FileType.Char || type === FileType.Block) return isRoot(caller) ? 0 : Errno.EPERM;
  if (type === FileType.Directory || type === FileType.Symlink) return Errno.EINVAL;
  return 0;
}
