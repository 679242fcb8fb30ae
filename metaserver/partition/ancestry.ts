/**
 * Is a directory below another? rename(2) refuses to move a directory into
 * its own subtree (EINVAL): the tree would lose the subtree in a cycle. The
 * client checks with a path walk, but a concurrent rename can move things
 * between its walk and the apply, so the state machine checks again on the
 * parent lists it holds (a directory has exactly one parent: no hard links).
 *
 * The walk sees only inodes this copyset (or partition) hosts. It stops
 * when the chain leaves them: a cycle through inodes hosted elsewhere is
 * then not seen here (cross-copyset renames rely on the client's walk, see
 * rename-local.ts and partition-tx.ts). Meeting `ancestorId` itself needs
 * no lookup, so a chain that reaches it directly from a hosted inode is
 * caught even if `ancestorId`'s own inode lives elsewhere.
 */
import type { InodeId } from './types.js';
import { ROOT_INODE_ID } from './types.js';

/** Deeper than any path the kernel hands us (PATH_MAX 4096 → at most 2048 levels); also bounds a corrupt cycle. */
export const ANCESTRY_DEPTH_MAX = 4096;

/**
 * True when `ancestorId` is `dirId` or one of its ancestors as far as
 * `parentOf` knows; `parentOf` returns a hosted directory's parent, or
 * undefined when the inode is not hosted here (the walk ends: not known).
 */
export function isAncestorOrSelf(ancestorId: InodeId, dirId: InodeId, parentOf: (id: InodeId) => InodeId | undefined): boolean {
  let cur = dirId;
  for (let depth = 0; depth < ANCESTRY_DEPTH_MAX; depth++) {
    if (cur === ancestorId) return true;
    if (cur === ROOT_INODE_ID) return false;
    const parent = parentOf(cur);
    if (parent === undefined || parent === 0) return false;
    cur = parent;
  }
  return false;
}
