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
  return walkAncestry(ancestorId, dirId, (id) => ({ parent: parentOf(id) })) === true;
}

/**
 * The same walk, but a link of the chain may be under a pending rename
 * transaction (its parent list is about to change, or was changed at the
 * primary but not yet here): then the answer is that lock, which the caller
 * returns as TX_LOCKED so the client resolves it and asks again, instead of
 * deciding on a parent list that is not settled.
 */
export function walkAncestry<L>(
  ancestorId: InodeId,
  dirId: InodeId,
  linkOf: (id: InodeId) => { parent: InodeId | undefined; lock?: L },
): boolean | { lock: L } {
  let cur = dirId;
  for (let depth = 0; depth < ANCESTRY_DEPTH_MAX; depth++) {
    if (cur === ancestorId) return true;
    if (cur === ROOT_INODE_ID) return false;
    const link = linkOf(cur);
    if (link.lock !== undefined) return { lock: link.lock };
    if (link.parent === undefined || link.parent === 0) return false;
    cur = link.parent;
  }
  return false;
}
