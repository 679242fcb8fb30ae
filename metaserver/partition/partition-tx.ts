/**
 * The cross-partition rename transaction (DESIGN §7, Percolator style) as
 * seen by one partition:
 *
 *   prewrite  checks each write against what the client saw (expected inode
 *             ids), checks nothing else holds a lock on those names, then
 *             locks them. Nothing visible changes yet.
 *   commit    applies the prewritten writes and inode changes, releases the
 *             locks and records the commit ts.
 *   resolve   a reader that met a lock rolls it forward (commitTs > 0) or
 *             back (0) after asking the primary (checkTxStatus). A primary's
 *             unexpired lock is never rolled back, and a committed
 *             transaction is never rolled back.
 *
 * The primary's record is the truth: once the primary has committed, every
 * secondary rolls forward. A rollback is recorded, so a late prewrite or
 * commit of the same start ts is refused (TX_CONFLICT).
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { TX_TTL_MS_MAX, TX_WRITES_MAX, checkName, isTimespec, isUint } from './limits.js';
import type { CommitRenameOp, OpResult, PrewriteRenameOp, ResolveTxLockOp, TxInodeChange, TxWrite } from './ops.js';
import type { Partition } from './partition.js';
import { isPrimaryHere, type PendingTx } from './tx-table.js';
import { walkAncestry } from './ancestry.js';
import { Dentry, FileType, isFileType } from './types.js';

export enum TxStatus {
  Unknown = 0,
  Pending = 1,
  Committed = 2,
  RolledBack = 3,
}

const status = (s: MetaStatusCode): OpResult => ({ status: s });

export function prewriteRename(p: Partition, op: PrewriteRenameOp): OpResult {
  const shape = checkShape(op);
  if (shape !== MetaStatusCode.OK) return status(shape);
  const existing = p.tx.pending.get(op.startTs);
  if (existing !== undefined) {
    // A retried prewrite finds its own locks: done. A different body under the same ts is a client bug.
    return status(sameTxBody(existing, op) ? MetaStatusCode.OK : MetaStatusCode.TX_CONFLICT);
  }
  const record = p.tx.records.get(op.startTs);
  if (record !== undefined) return status(record.commitTs > 0 ? MetaStatusCode.OK : MetaStatusCode.TX_CONFLICT);
  for (const w of op.writes) {
    const s = checkWrite(p, w);
    if (s !== undefined) return s;
    // A directory put below itself (the client's walk raced a rename): as far as this partition's inodes show.
    if (!w.isDelete && w.fileType === FileType.Directory) {
      const below = walkAncestry(w.inodeId, w.parentId, (id) => ({ parent: localDirParent(p, id), lock: p.tx.inodeLock(id) }));
      if (typeof below === 'object') return { status: MetaStatusCode.TX_LOCKED, lock: below.lock };
      if (below) return status(MetaStatusCode.PARAM_ERROR);
    }
  }
  for (const dir of op.emptyDirs) {
    if (!p.owns(dir)) return status(MetaStatusCode.PARTITION_NOT_FOUND);
    const lock = p.tx.emptinessLock(dir);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    if (p.dirSize(dir) > 0) return status(MetaStatusCode.NOT_EMPTY);
  }
  const changed = new Set<number>();
  for (const c of op.inodeChanges) {
    const inode = p.inodes.get(c.inodeId);
    if (!p.owns(c.inodeId)) return status(MetaStatusCode.PARTITION_NOT_FOUND);
    if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
    if (changed.has(c.inodeId)) return status(MetaStatusCode.PARAM_ERROR);
    changed.add(c.inodeId);
    const lock = p.tx.inodeLock(c.inodeId);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    if (inode.nlink + c.nlinkDelta < 0) return status(MetaStatusCode.PARAM_ERROR);
    for (const parent of c.removeParents) if (!inode.parents.includes(parent)) return status(MetaStatusCode.PARAM_ERROR);
  }
  const tx: PendingTx = {
    startTs: op.startTs,
    primary: { fsId: op.primary.fsId, parentId: op.primary.parentId, name: op.primary.name },
    ttlMs: op.ttlMs,
    lockTimeMs: op.lockTimeMs,
    time: { sec: op.time.sec, nsec: op.time.nsec },
    writes: op.writes.map(copyWrite),
    inodeChanges: op.inodeChanges.map(copyChange),
    emptyDirs: op.emptyDirs.slice(),
    secondaries: (op.secondaries ?? []).slice(),
  };
  p.tx.add(tx);
  return status(MetaStatusCode.OK);
}

export function commitRename(p: Partition, op: CommitRenameOp): OpResult {
  if (!isUint(op.startTs) || op.startTs === 0 || !isUint(op.commitTs) || op.commitTs <= op.startTs) {
    return status(MetaStatusCode.PARAM_ERROR);
  }
  return rollForward(p, op.startTs, op.commitTs);
}

export function resolveTxLock(p: Partition, op: ResolveTxLockOp): OpResult {
  if (!isUint(op.startTs) || op.startTs === 0 || !isUint(op.commitTs) || !isUint(op.nowMs)) {
    return status(MetaStatusCode.PARAM_ERROR);
  }
  if (op.commitTs > 0) {
    if (op.commitTs <= op.startTs) return status(MetaStatusCode.PARAM_ERROR);
    return rollForward(p, op.startTs, op.commitTs);
  }
  const tx = p.tx.pending.get(op.startTs);
  if (tx === undefined) {
    const record = p.tx.records.get(op.startTs);
    if (record !== undefined && record.commitTs > 0) return status(MetaStatusCode.TX_CONFLICT);
    // Never prewritten here (or already rolled back): remember, so a late prewrite is refused.
    p.tx.record(op.startTs, 0, op.nowMs);
    return status(MetaStatusCode.OK);
  }
  if (op.byOwner !== true && isPrimaryHere(tx) && op.nowMs < tx.lockTimeMs + tx.ttlMs) {
    return { status: MetaStatusCode.TX_LOCKED, lock: { primary: tx.primary, startTs: tx.startTs, ttlMs: tx.ttlMs, lockTimeMs: tx.lockTimeMs } };
  }
  p.tx.remove(op.startTs);
  p.tx.record(op.startTs, 0, Math.max(op.nowMs, tx.lockTimeMs), tx.secondaries);
  return status(MetaStatusCode.OK);
}

/** What the primary's partition knows about a transaction (a read). */
export function checkTxStatus(
  p: Partition,
  startTs: number,
  nowMs: number,
): TxStatusReport {
  const tx = p.tx.pending.get(startTs);
  if (tx !== undefined) {
    return {
      status: MetaStatusCode.OK,
      txStatus: TxStatus.Pending,
      commitTs: 0,
      isExpired: nowMs >= tx.lockTimeMs + tx.ttlMs,
      secondaries: tx.secondaries,
    };
  }
  const record = p.tx.records.get(startTs);
  if (record === undefined) {
    return { status: MetaStatusCode.NOT_FOUND, txStatus: TxStatus.Unknown, commitTs: 0, isExpired: true, secondaries: [] };
  }
  return {
    status: MetaStatusCode.OK,
    txStatus: record.commitTs > 0 ? TxStatus.Committed : TxStatus.RolledBack,
    commitTs: record.commitTs,
    isExpired: true,
    secondaries: record.secondaries,
  };
}

export interface TxStatusReport {
  readonly status: MetaStatusCode;
  readonly txStatus: TxStatus;
  readonly commitTs: number;
  readonly isExpired: boolean;
  /** The other partitions of the transaction, as its primary recorded them. */
  readonly secondaries: readonly number[];
}

function rollForward(p: Partition, startTs: number, commitTs: number): OpResult {
  const tx = p.tx.pending.get(startTs);
  if (tx === undefined) {
    const record = p.tx.records.get(startTs);
    if (record === undefined) return status(MetaStatusCode.NOT_FOUND);
    return status(record.commitTs > 0 ? MetaStatusCode.OK : MetaStatusCode.TX_CONFLICT);
  }
  p.tx.remove(startTs);
  for (const w of tx.writes) applyWrite(p, tx, w, commitTs);
  for (const c of tx.inodeChanges) applyInodeChange(p, tx, c);
  p.tx.record(startTs, commitTs, tx.lockTimeMs, tx.secondaries);
  return status(MetaStatusCode.OK);
}

function applyWrite(p: Partition, tx: PendingTx, w: TxWrite, commitTs: number): void {
  const parent = p.inodes.get(w.parentId);
  if (parent === undefined || parent.type !== FileType.Directory) return; // the directory went away meanwhile
  const old = w.isDelete ? p.removeDentry(w.parentId, w.name) : p.putDentry(new Dentry(w.parentId, w.name, w.inodeId, w.fileType, commitTs));
  const oldDirs = old !== undefined && old.type === FileType.Directory ? 1 : 0;
  const newDirs = !w.isDelete && w.fileType === FileType.Directory ? 1 : 0;
  p.touchParent(parent, newDirs - oldDirs, tx.time);
}

function applyInodeChange(p: Partition, tx: PendingTx, c: TxInodeChange): void {
  const inode = p.inodes.get(c.inodeId);
  if (inode === undefined) return; // deleted meanwhile (it had no names left)
  p.beforeInodeChange(inode);
  for (const parent of c.removeParents) {
    const i = inode.parents.indexOf(parent);
    if (i >= 0) inode.parents.splice(i, 1);
  }
  for (const parent of c.addParents) inode.parents.push(parent);
  const delta = Math.max(c.nlinkDelta, -inode.nlink);
  p.changeNlink(inode, delta, tx.time);
  inode.version += 1;
}

function checkWrite(p: Partition, w: TxWrite): OpResult | undefined {
  const parent = p.parentDir(w.parentId);
  if (typeof parent === 'number') return status(parent);
  const lock = p.tx.lockOn(w.parentId, w.name) ?? (w.isDelete ? undefined : p.tx.dirLock(w.parentId));
  if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
  const current = p.getDentry(w.parentId, w.name);
  const currentId = current?.inodeId ?? 0;
  if (currentId !== w.expectedInodeId) return status(MetaStatusCode.TX_CONFLICT);
  if (!w.isDelete && current !== undefined) {
    if (w.fileType === FileType.Directory && current.type !== FileType.Directory) return status(MetaStatusCode.NOT_DIR);
    if (w.fileType !== FileType.Directory && current.type === FileType.Directory) return status(MetaStatusCode.IS_DIR);
  }
  return undefined;
}

function checkShape(op: PrewriteRenameOp): MetaStatusCode {
  if (!isUint(op.startTs) || op.startTs === 0 || !isUint(op.lockTimeMs) || !isTimespec(op.time)) return MetaStatusCode.PARAM_ERROR;
  if (!isUint(op.ttlMs) || op.ttlMs === 0 || op.ttlMs > TX_TTL_MS_MAX) return MetaStatusCode.PARAM_ERROR;
  if (typeof op.primary !== 'object' || op.primary === null || !isUint(op.primary.parentId)) return MetaStatusCode.PARAM_ERROR;
  if (checkName(op.primary.name) !== MetaStatusCode.OK) return MetaStatusCode.PARAM_ERROR;
  const lists = [op.writes, op.inodeChanges, op.emptyDirs];
  if (!lists.every((l) => Array.isArray(l) && l.length <= TX_WRITES_MAX)) return MetaStatusCode.PARAM_ERROR;
  if (op.writes.length + op.inodeChanges.length + op.emptyDirs.length === 0) return MetaStatusCode.PARAM_ERROR;
  const keys = new Set<string>();
  for (const w of op.writes) {
    const nameStatus = checkName(w.name);
    if (nameStatus !== MetaStatusCode.OK) return nameStatus;
    if (!isUint(w.parentId) || !isUint(w.expectedInodeId) || typeof w.isDelete !== 'boolean') return MetaStatusCode.PARAM_ERROR;
    if (w.isDelete ? w.expectedInodeId === 0 : !isUint(w.inodeId) || w.inodeId === 0 || !isFileType(w.fileType)) {
      return MetaStatusCode.PARAM_ERROR;
    }
    const key = `${w.parentId}/${w.name}`;
    if (keys.has(key)) return MetaStatusCode.PARAM_ERROR;
    keys.add(key);
  }
  for (const c of op.inodeChanges) {
    if (!isUint(c.inodeId) || !Number.isSafeInteger(c.nlinkDelta) || Math.abs(c.nlinkDelta) > 2) return MetaStatusCode.PARAM_ERROR;
    for (const list of [c.addParents, c.removeParents]) {
      if (!Array.isArray(list) || list.length > TX_WRITES_MAX || !list.every(isUint)) return MetaStatusCode.PARAM_ERROR;
    }
  }
  if (!op.emptyDirs.every(isUint)) return MetaStatusCode.PARAM_ERROR;
  const secondaries = op.secondaries ?? [];
  if (!Array.isArray(secondaries) || secondaries.length > TX_WRITES_MAX || !secondaries.every(isUint)) return MetaStatusCode.PARAM_ERROR;
  return MetaStatusCode.OK;
}

function sameTxBody(tx: PendingTx, op: PrewriteRenameOp): boolean {
  return (
    tx.primary.parentId === op.primary.parentId &&
    tx.primary.name === op.primary.name &&
    JSON.stringify(tx.writes) === JSON.stringify(op.writes.map(copyWrite)) &&
    JSON.stringify(tx.inodeChanges) === JSON.stringify(op.inodeChanges.map(copyChange)) &&
    JSON.stringify(tx.emptyDirs) === JSON.stringify(op.emptyDirs) &&
    JSON.stringify(tx.secondaries) === JSON.stringify(op.secondaries ?? [])
  );
}

function copyWrite(w: TxWrite): TxWrite {
  return {
    parentId: w.parentId,
    name: w.name,
    isDelete: w.isDelete,
    inodeId: w.isDelete ? 0 : w.inodeId,
    // A delete's type is unused; store a fixed value so replicas and snapshots agree.
    fileType: w.isDelete ? FileType.File : w.fileType,
    expectedInodeId: w.expectedInodeId,
  };
}

function copyChange(c: TxInodeChange): TxInodeChange {
  return {
    inodeId: c.inodeId,
    nlinkDelta: c.nlinkDelta,
    addParents: c.addParents.slice(),
    removeParents: c.removeParents.slice(),
  };
}

/** The parent of a directory inode of this partition (undefined when it lives elsewhere). */
function localDirParent(p: Partition, id: number): number | undefined {
  const inode = p.inodes.get(id);
  return inode !== undefined && inode.type === FileType.Directory ? inode.parents[0] : undefined;
}
