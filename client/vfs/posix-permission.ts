/**
 * POSIX permission rules as pure functions (no I/O): who may read, write or
 * search an inode, delete from a sticky directory, chmod, chown and set
 * times. Each returns 0 when allowed, else the errno POSIX names for the
 * refusal (EACCES for missing permission bits, EPERM for ownership rules).
 * The VFS calls them with attributes it already holds; they never fetch.
 */
import { assert } from '../../src/common/assert.js';
import { Errno } from '../../src/common/errno.js';

/** Who asks: the calling process's credentials. */
export interface Caller {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (may be empty when the FUSE layer cannot tell). */
  readonly groups: readonly number[];
}

export const ROOT_CALLER: Caller = { uid: 0, gid: 0, groups: [] };

/** The parts of an inode a permission decision reads. */
export interface Ownership {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export const R_OK = 4;
export const W_OK = 2;
export const X_OK = 1;
export const F_OK = 0;

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
export const S_IXGRP = 0o010;
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
const S_IXUGO = 0o111;
const PERMISSION_BITS = 0o7777;

export function isRoot(caller: Caller): boolean {
  return caller.uid === 0;
}

export function isGroupMember(caller: Caller, gid: number): boolean {
  return caller.gid === gid || caller.groups.includes(gid);
}

/**
 * access(2)-style check of `mask` (R_OK|W_OK|X_OK, or F_OK) against an inode.
 * Root passes every read/write check and an execute check only when some
 * execute bit is set or the inode is a directory (as Linux does).
 */
export function checkAccess(inode: Ownership, caller: Caller, mask: number): number {
  assert(Number.isInteger(mask) && mask >= 0 && mask <= 7, `access mask ${mask}`);
  if (mask === F_OK) return 0;
  if (isRoot(caller)) {
    if ((mask & X_OK) === 0) return 0;
    const isDirectory = (inode.mode & S_IFMT) === S_IFDIR;
    return isDirectory || (inode.mode & S_IXUGO) !== 0 ? 0 : Errno.EACCES;
  }
  // Exactly one class applies: owner, else group, else other (no fall-through).
  let granted: number;
  if (caller.uid === inode.uid) granted = (inode.mode >> 6) & 7;
  else if (isGroupMember(caller, inode.gid)) granted = (inode.mode >> 3) & 7;
  else granted = inode.mode & 7;
  return (granted & mask) === mask ? 0 : Errno.EACCES;
}

/**
 * May `caller` remove or rename away the entry for `victim` in `directory`?
 * Needs write and search on the directory; in a sticky directory only the
 * owner of the entry, the owner of the directory, or root may (EPERM).
 */
export function checkDeleteFromDirectory(directory: Ownership, victim: Ownership, caller: Caller): number {
  const access = checkAccess(directory, caller, W_OK | X_OK);
  if (access !== 0) return access;
  if ((directory.mode & S_ISVTX) === 0 || isRoot(caller)) return 0;
  if (caller.uid === directory.uid || caller.uid === victim.uid) return 0;
  return Errno.EPERM;
}

/** Whether the caller may change owner-only attributes (mode, times to a set value). */
export function isOwnerOrRoot(inode: Ownership, caller: Caller): boolean {
  return isRoot(caller) || caller.uid === inode.uid;
}

/**
 * chmod: only the owner or root (EPERM). Returns the mode to store, or an
 * errno. A non-root caller outside the file's group loses S_ISGID silently
 * (Linux setattr_prepare). The file-type bits are kept from the inode.
 */
export function chmodResult(inode: Ownership, caller: Caller, requestedMode: number): { errno: number; mode: number } {
  if (!isOwnerOrRoot(inode, caller)) return { errno: Errno.EPERM, mode: inode.mode };
  let permissions = requestedMode & PERMISSION_BITS;
  if (!isRoot(caller) && !isGroupMember(caller, inode.gid)) permissions &= ~S_ISGID;
  return { errno: 0, mode: (inode.mode & S_IFMT) | permissions };
}

/**
 * chown: `uid`/`gid` of -1 mean "leave". Root may do anything. Otherwise the
 * owner may only change the group, to one of its own groups; changing the
 * owner is EPERM. On a non-directory the set-user-id bit is cleared, and the
 * set-group-id bit when group-execute is set (it then means setgid, not
 * mandatory locking), as Linux does for every caller.
 */
export function chownResult(
  inode: Ownership,
  caller: Caller,
  uid: number,
  gid: number,
): { errno: number; uid: number; gid: number; mode: number } {
  const newUid = uid === -1 ? inode.uid : uid;
  const newGid = gid === -1 ? inode.gid : gid;
  const refused = { errno: Errno.EPERM, uid: inode.uid, gid: inode.gid, mode: inode.mode };
  if (!isRoot(caller)) {
    if (newUid !== inode.uid) return refused;
    if (caller.uid !== inode.uid && (uid !== -1 || gid !== -1)) return refused;
    if (newGid !== inode.gid && !isGroupMember(caller, newGid)) return refused;
  }
  let mode = inode.mode;
  const isDirectory = (mode & S_IFMT) === S_IFDIR;
  if (!isDirectory && (uid !== -1 || gid !== -1)) {
    mode &= ~S_ISUID;
    if ((mode & S_IXGRP) !== 0) mode &= ~S_ISGID;
  }
  return { errno: 0, uid: newUid, gid: newGid, mode };
}

/**
 * utimensat: setting a time to an explicit value needs ownership (EPERM);
 * setting both to "now" is also allowed with write permission (EACCES).
 */
export function checkSetTimes(inode: Ownership, caller: Caller, isOnlyNow: boolean): number {
  if (isOwnerOrRoot(inode, caller)) return 0;
  if (!isOnlyNow) return Errno.EPERM;
  return checkAccess(inode, caller, W_OK);
}

/**
 * A write by an unprivileged caller strips set-user-id, and set-group-id when
 * group-execute is set (Linux file_remove_privs). Returns the new mode, or
 * the same mode when nothing changes.
 */
export function modeAfterWrite(mode: number, caller: Caller): number {
  if (isRoot(caller)) return mode;
  let result = mode & ~S_ISUID;
  if ((result & S_IXGRP) !== 0) result &= ~S_ISGID;
  return result;
}

/** The access mask an open(2) flag word needs (O_TRUNC needs write). */
export function accessMaskForOpen(flags: number, O_ACCMODE: number, O_WRONLY: number, O_RDWR: number, O_TRUNC: number): number {
  const accessMode = flags & O_ACCMODE;
  let mask = 0;
  if (accessMode === O_WRONLY) mask = W_OK;
  else if (accessMode === O_RDWR) mask = R_OK | W_OK;
  else mask = R_OK;
  if ((flags & O_TRUNC) !== 0) mask |= W_OK;
  return mask;
}
