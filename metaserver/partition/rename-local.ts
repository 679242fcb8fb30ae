/**
 * rename(2) in one Raft entry, when everything it touches lives in this
 * copyset: the source and destination parents (and so both dentries), the
 * moved inode when its parent changes, the replaced target, and for a
 * directory target the partition holding its entries. If a piece lives
 * elsewhere the entry changes nothing and answers PARTITION_NOT_FOUND: the
 * client then runs the cross-partition transaction (partition-tx.ts).
 *
 * POSIX rules: renaming a name onto itself or onto another name of the
 * same inode does nothing; a directory replaces only an empty directory
 * (NOT_DIR / NOT_EMPTY), a non-directory never replaces a directory
 * (IS_DIR); a directory cannot move into itself or below itself
 * (PARAM_ERROR = EINVAL). The descendant check walks the destination's
 * parent chain through the inodes of this copyset (ancestry.ts): a chain
 * that leaves the copyset is not followed further, and there the client's
 * path walk is the only check (a cycle through another copyset, built by a
 * concurrent rename between the walk and this apply, is not caught).
 *
 * With `srcInodeId` set, what the client saw is enforced (meta-api.ts
 * RenameRequest): NOT_FOUND if src no longer names it, EXIST if dst does
 * not name `expectedDstInodeId` (0 = must be absent).
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { CopysetStateMachine } from './copyset-state-machine.js';
import { checkName, isTimespec, isUint } from './limits.js';
import type { OpResult, RenameOp } from './ops.js';
import type { Partition } from './partition.js';
import { walkAncestry } from './ancestry.js';
import { Dentry, FileType } from './types.js';

const status = (s: MetaStatusCode): OpResult => ({ status: s });

export function renameLocal(sm: CopysetStateMachine, index: number, srcPart: Partition, op: RenameOp): OpResult {
  for (const name of [op.srcName, op.dstName]) {
    const s = checkName(name);
    if (s !== MetaStatusCode.OK) return status(s);
  }
  if (!isUint(op.srcParentId) || !isUint(op.dstParentId) || !isTimespec(op.time)) return status(MetaStatusCode.PARAM_ERROR);
  const srcInodeId = op.srcInodeId ?? 0;
  const expectedDstInodeId = op.expectedDstInodeId ?? 0;
  if (!isUint(srcInodeId) || !isUint(expectedDstInodeId)) return status(MetaStatusCode.PARAM_ERROR);
  const isChecked = srcInodeId > 0;
  const dstPart = sm.partitionOf(op.fsId, op.dstParentId);
  if (dstPart === undefined) return status(MetaStatusCode.PARTITION_NOT_FOUND);
  const srcParent = srcPart.parentDir(op.srcParentId);
  if (typeof srcParent === 'number') return status(srcParent);
  const dstParent = dstPart.parentDir(op.dstParentId);
  if (typeof dstParent === 'number') return status(dstParent);

  const srcLock = srcPart.tx.lockOn(op.srcParentId, op.srcName);
  const dstLock = dstPart.tx.lockOn(op.dstParentId, op.dstName) ?? dstPart.tx.dirLock(op.dstParentId);
  if (srcLock !== undefined || dstLock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock: (srcLock ?? dstLock)! };

  const src = srcPart.getDentry(op.srcParentId, op.srcName);
  if (src === undefined) return status(MetaStatusCode.NOT_FOUND);
  // The name was renamed or replaced since the client looked it up: its rename is not this one.
  if (isChecked && src.inodeId !== srcInodeId) return status(MetaStatusCode.NOT_FOUND);
  const dst = dstPart.getDentry(op.dstParentId, op.dstName);
  if (op.srcParentId === op.dstParentId && op.srcName === op.dstName) return { status: MetaStatusCode.OK, replacedInodeId: 0 };
  // dst appeared, vanished or changed since the lookup: replacing it would drop an inode the caller never saw.
  if (isChecked && (dst?.inodeId ?? 0) !== expectedDstInodeId) return status(MetaStatusCode.EXIST);
  if (dst !== undefined && dst.inodeId === src.inodeId) return { status: MetaStatusCode.OK, replacedInodeId: 0 };
  const isDir = src.type === FileType.Directory;
  if (isDir && op.srcParentId !== op.dstParentId) {
    const below = walkAncestry(src.inodeId, op.dstParentId, (id) => ({
      parent: hostedDirParent(sm, op.fsId, id),
      lock: sm.partitionOf(op.fsId, id)?.tx.inodeLock(id),
    }));
    if (typeof below === 'object') return { status: MetaStatusCode.TX_LOCKED, lock: below.lock };
    if (below) return status(MetaStatusCode.PARAM_ERROR);
  }

  const parentChanges = op.srcParentId !== op.dstParentId;
  const movedPartition = sm.partitionOf(op.fsId, src.inodeId);
  const moved = movedPartition?.inodes.get(src.inodeId);
  if (parentChanges && moved === undefined) return status(MetaStatusCode.PARTITION_NOT_FOUND);
  const movedLock = movedPartition?.tx.inodeLock(src.inodeId);
  if (movedLock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock: movedLock };

  let targetPart: Partition | undefined;
  if (dst !== undefined) {
    if (isDir && dst.type !== FileType.Directory) return status(MetaStatusCode.NOT_DIR);
    if (!isDir && dst.type === FileType.Directory) return status(MetaStatusCode.IS_DIR);
    targetPart = sm.partitionOf(op.fsId, dst.inodeId);
    if (targetPart === undefined) return status(MetaStatusCode.PARTITION_NOT_FOUND);
    const targetLock = targetPart.tx.inodeLock(dst.inodeId);
    if (targetLock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock: targetLock };
    if (dst.type === FileType.Directory) {
      const lock = targetPart.tx.emptinessLock(dst.inodeId);
      if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
      if (targetPart.dirSize(dst.inodeId) > 0) return status(MetaStatusCode.NOT_EMPTY);
    }
  }

  // Checked: apply. Partitions other than srcPart record this entry as their applied index too.
  dstPart.appliedIndex = index;
  srcPart.removeDentry(op.srcParentId, op.srcName);
  dstPart.putDentry(new Dentry(op.dstParentId, op.dstName, src.inodeId, src.type, 0));
  const dstParentInode = dstPart.inodes.get(op.dstParentId)!;
  const replacedDir = dst !== undefined && dst.type === FileType.Directory ? 1 : 0;
  if (parentChanges) {
    srcPart.touchParent(srcParent, isDir ? -1 : 0, op.time);
    dstPart.touchParent(dstParentInode, (isDir ? 1 : 0) - replacedDir, op.time);
  } else {
    srcPart.touchParent(srcParent, -replacedDir, op.time);
  }
  if (moved !== undefined) {
    const movedPart = sm.partitionOf(op.fsId, src.inodeId)!;
    movedPart.appliedIndex = index;
    movedPart.beforeInodeChange(moved);
    if (parentChanges) {
      const i = moved.parents.indexOf(op.srcParentId);
      if (i >= 0) moved.parents.splice(i, 1);
      moved.parents.push(op.dstParentId);
    }
    moved.ctimeSec = op.time.sec;
    moved.ctimeNsec = op.time.nsec;
    moved.version += 1;
  }
  if (dst !== undefined && targetPart !== undefined) {
    targetPart.appliedIndex = index;
    const target = targetPart.inodes.get(dst.inodeId);
    if (target !== undefined) {
      targetPart.beforeInodeChange(target);
      const i = target.parents.indexOf(op.dstParentId);
      if (i >= 0) target.parents.splice(i, 1);
      // A replaced directory loses its name and its "." link; a file loses one link.
      const delta = dst.type === FileType.Directory ? -target.nlink : -Math.min(1, target.nlink);
      targetPart.changeNlink(target, delta, op.time);
      target.version += 1;
    }
  }
  return { status: MetaStatusCode.OK, replacedInodeId: dst?.inodeId ?? 0 };
}

/** The parent of a directory hosted in this copyset (undefined when not hosted here). */
function hostedDirParent(sm: CopysetStateMachine, fsId: number, id: number): number | undefined {
  const inode = sm.partitionOf(fsId, id)?.inodes.get(id);
  return inode !== undefined && inode.type === FileType.Directory ? inode.parents[0] : undefined;
}
