/**
 * Extended-attribute namespace rules (Linux xattr(7)), as a pure function:
 * - user.*: regular files and directories only; reading needs read
 *   permission, writing needs write permission, and in a sticky directory
 *   only its owner (or root) may write;
 * - trusted.*: root only (others see nothing: ENODATA on read);
 * - security.*: anyone may read, the owner or root may write;
 * - system.* (POSIX ACLs) and unknown namespaces: not supported.
 */
import { Errno } from '../../src/common/errno.js';
import { FileType } from './meta-api.js';
import { checkAccess, isOwnerOrRoot, isRoot, R_OK, S_ISVTX, W_OK, type Caller, type Ownership } from './posix-permission.js';
import { XATTR_NAME_BYTES_MAX } from './vfs-types.js';

/** 0 when `caller` may read (or write) attribute `name` of an inode of `type`, else the errno. */
export function checkXattrAccess(inode: Ownership & { readonly type: FileType }, caller: Caller, name: string, isWrite: boolean): number {
  if (name.length === 0) return Errno.EINVAL;
  if (Buffer.byteLength(name, 'utf8') > XATTR_NAME_BYTES_MAX) return Errno.ERANGE;
  if (name.startsWith('user.')) {
    if (inode.type !== FileType.File && inode.type !== FileType.Directory) return isWrite ? Errno.EPERM : Errno.ENODATA;
    const isStickyDirectory = inode.type === FileType.Directory && (inode.mode & S_ISVTX) !== 0;
    if (isWrite && isStickyDirectory && !isOwnerOrRoot(inode, caller)) return Errno.EPERM;
    return checkAccess(inode, caller, isWrite ? W_OK : R_OK);
  }
  if (name.startsWith('trusted.')) {
    if (isRoot(caller)) return 0;
    return isWrite ? Errno.EPERM : Errno.ENODATA;
  }
  if (name.startsWith('security.')) {
    return isWrite && !isOwnerOrRoot(inode, caller) ? Errno.EPERM : 0;
  }
  return Errno.EOPNOTSUPP;
}
