/**
 * What an inode's attributes become after an UpdateInode, computed on the
 * client from a cached copy, as the metaserver applies it (partition
 * updateInode: only the fields present change; nlink moves by the delta and
 * takes the update's ctime; one parent removed per entry, then the added
 * ones appended; the version goes up by exactly one per change).
 *
 * Only valid when the cached copy was the inode's state right before the
 * update: the caller checks that with the version the update returned
 * (`isOnlyChangeSince`), so a change by anyone else in between is never
 * papered over.
 */
import type { InodeAttr, InodeUpdate } from './meta-api.js';

/** Whether an update that returned `newVersion` was the one change since `cached` was read. */
export function isOnlyChangeSince(cached: InodeAttr, newVersion: number): boolean {
  return Number.isSafeInteger(newVersion) && newVersion === cached.version + 1;
}

export function attrAfterUpdate(cached: InodeAttr, update: InodeUpdate, newVersion: number): InodeAttr {
  let parents = cached.parents;
  if (update.removeParents !== undefined || update.addParents !== undefined) {
    const next = [...cached.parents];
    for (const parent of update.removeParents ?? []) {
      const index = next.indexOf(parent);
      if (index >= 0) next.splice(index, 1);
    }
    next.push(...(update.addParents ?? []));
    parents = next;
  }
  return {
    ...cached,
    mode: update.mode ?? cached.mode,
    uid: update.uid ?? cached.uid,
    gid: update.gid ?? cached.gid,
    length: update.length ?? cached.length,
    atime: update.atime ?? cached.atime,
    mtime: update.mtime ?? cached.mtime,
    ctime: update.ctime ?? cached.ctime,
    nlink: cached.nlink + (update.nlinkDelta ?? 0),
    parents,
    version: newVersion,
  };
}
