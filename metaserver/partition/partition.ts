/**
 * One partition (DESIGN §3): the inodes of a 2^20-id range of one file
 * system and the dentries whose parent lies in that range. Pure and
 * synchronous: every mutation is a deterministic function of the state and
 * the request (times come inside requests), checks everything first and
 * then changes state, so a refused request changes nothing.
 *
 * Operations that span partitions of one copyset (rename, rmdir's emptiness
 * check) are composed by CopysetStateMachine from the primitives here. The
 * Percolator rename transaction's per-partition state lives in TxTable.
 */
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { DirIndex } from './dir-index.js';
import {
  APPEND_INFOS_MAX,
  CHUNK_INFOS_PER_CHUNK_MAX,
  LIST_COUNT_DEFAULT,
  LIST_COUNT_MAX,
  SYMLINK_BYTES_MAX,
  XATTR_COUNT_MAX,
  XATTR_NAME_BYTES_MAX,
  XATTR_VALUE_BYTES_MAX,
  checkName,
  isTimespec,
  isUint,
  isUint32,
} from './limits.js';
import {
  XattrSetMode,
  type AppendChunkInfoOp,
  type CreateDentryOp,
  type CreateInodeOp,
  type CreateRootInodeOp,
  type DeleteDentryOp,
  type DeleteInodeOp,
  type OpResult,
  type ReplaceChunkInfoOp,
  type TruncateOp,
  type UpdateInodeOp,
} from './ops.js';
import { trimChunkInfos } from '../../src/layout/truncate.js';
import { TxTable } from './tx-table.js';
import {
  Dentry,
  FileType,
  Inode,
  PartitionStatus,
  ROOT_INODE_ID,
  attrOf,
  dentryViewOf,
  isFileType,
  type ChunkInfo,
  type FsId,
  type InodeId,
  type PartitionId,
  type Timespec,
} from './types.js';
import { Buffer } from 'node:buffer';

const OK: OpResult = Object.freeze({ status: MetaStatusCode.OK });
const status = (s: MetaStatusCode): OpResult => ({ status: s });

export interface PartitionInfo {
  readonly fsId: FsId;
  readonly partitionId: PartitionId;
  readonly start: InodeId;
  readonly end: InodeId;
  readonly nextId: InodeId;
  readonly status: PartitionStatus;
  readonly inodeCount: number;
  readonly dentryCount: number;
  readonly appliedIndex: number;
}

/**
 * Copy-on-write hooks of a snapshot being streamed: called before an inode
 * or a directory's entries change (or the partition goes away) if the
 * session does not hold them yet, so it encodes them as they were.
 */
export interface SnapshotGuard {
  readonly epoch: number;
  preserveInode(p: Partition, inode: Inode): void;
  preserveDir(p: Partition, dirId: InodeId, dir: DirIndex): void;
  preservePartition(p: Partition): void;
}

export class Partition {
  /** Next inode id to hand out; > end once the range is spent. */
  nextId: InodeId;
  status = PartitionStatus.ReadWrite;
  /** Index of the last log entry that changed this partition. */
  appliedIndex = 0;
  readonly inodes = new Map<InodeId, Inode>();
  /** parent inode id → its entries in name order (only non-empty directories have one). */
  readonly dirs = new Map<InodeId, DirIndex>();
  dentryCount = 0;
  /** Inodes with nlink 0 → dtime (seconds), in the order they were unlinked. */
  readonly toDelete = new Map<InodeId, number>();
  readonly tx = new TxTable();
  /** Set while a snapshot of this partition is being streamed. */
  guard: SnapshotGuard | null = null;

  constructor(
    readonly fsId: FsId,
    readonly partitionId: PartitionId,
    readonly start: InodeId,
    readonly end: InodeId,
  ) {
    assert(isUint(start) && isUint(end) && start <= end, 'partition range is ordered');
    // Ids 0 (unset) and 1 (the root, made by CreateRootInode) are never allocated.
    this.nextId = Math.max(start, ROOT_INODE_ID + 1);
    if (this.nextId > end) this.status = PartitionStatus.ReadOnly;
  }

  /** Call before changing any field of `inode` (copy-on-write for a streaming snapshot). */
  beforeInodeChange(inode: Inode): void {
    const guard = this.guard;
    if (guard !== null && inode.snapshotEpoch !== guard.epoch) guard.preserveInode(this, inode);
  }

  /** Call before adding or removing an entry of `dirId`. */
  private beforeDirChange(dirId: InodeId): void {
    const guard = this.guard;
    if (guard === null) return;
    const dir = this.dirs.get(dirId);
    if (dir !== undefined && dir.snapshotEpoch !== guard.epoch) guard.preserveDir(this, dirId, dir);
  }

  /** Registers a new inode; one created after a snapshot began is not part of it. */
  private addInode(inode: Inode): void {
    if (this.guard !== null) inode.snapshotEpoch = this.guard.epoch;
    this.inodes.set(inode.inodeId, inode);
  }

  owns(inodeId: InodeId): boolean {
    return inodeId >= this.start && inodeId <= this.end;
  }

  info(): PartitionInfo {
    return {
      fsId: this.fsId,
      partitionId: this.partitionId,
      start: this.start,
      end: this.end,
      nextId: this.nextId,
      status: this.status,
      inodeCount: this.inodes.size,
      dentryCount: this.dentryCount,
      appliedIndex: this.appliedIndex,
    };
  }

  // ---- inodes ----

  createRootInode(op: CreateRootInodeOp): OpResult {
    if (!this.owns(ROOT_INODE_ID)) return status(MetaStatusCode.PARAM_ERROR);
    if (!isUint32(op.mode) || !isUint32(op.uid) || !isUint32(op.gid) || !isTimespec(op.time)) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    if (this.inodes.has(ROOT_INODE_ID)) return status(MetaStatusCode.EXIST);
    const root = new Inode(this.fsId, ROOT_INODE_ID, FileType.Directory, op.mode, op.uid, op.gid, op.time, []);
    this.addInode(root);
    return { status: MetaStatusCode.OK, inode: attrOf(root) };
  }

  createInode(op: CreateInodeOp): OpResult {
    if (!isFileType(op.fileType)) return status(MetaStatusCode.PARAM_ERROR);
    if (!isUint32(op.mode) || !isUint32(op.uid) || !isUint32(op.gid) || !isUint(op.rdev)) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    if (!isUint(op.parent) || !isTimespec(op.time) || typeof op.symlink !== 'string') {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    const symlinkBytes = Buffer.byteLength(op.symlink, 'utf8');
    if ((op.fileType === FileType.Symlink) !== symlinkBytes > 0) return status(MetaStatusCode.PARAM_ERROR);
    if (symlinkBytes > SYMLINK_BYTES_MAX) return status(MetaStatusCode.NAME_TOO_LONG);
    if (op.xattrs !== undefined) {
      const s = checkXattrs(op.xattrs, 0);
      if (s !== MetaStatusCode.OK) return status(s);
    }
    if (this.status !== PartitionStatus.ReadWrite || this.nextId > this.end) {
      return status(MetaStatusCode.PARTITION_ALLOC_ID_FAIL);
    }
    const id = this.nextId;
    this.nextId += 1;
    if (this.nextId > this.end) this.status = PartitionStatus.ReadOnly;
    const parents = op.parent === 0 ? [] : [op.parent];
    const inode = new Inode(this.fsId, id, op.fileType, op.mode, op.uid, op.gid, op.time, parents);
    inode.rdev = op.rdev;
    if (op.fileType === FileType.Symlink) {
      inode.symlink = op.symlink;
      inode.length = symlinkBytes;
    }
    if (op.xattrs !== undefined && op.xattrs.size > 0) inode.xattrs = copyXattrs(op.xattrs);
    assert(!this.inodes.has(id), 'allocated id is fresh');
    this.addInode(inode);
    return { status: MetaStatusCode.OK, inode: attrOf(inode) };
  }

  updateInode(op: UpdateInodeOp): OpResult {
    const inode = this.inodes.get(op.inodeId);
    if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
    // A pending rename changes this inode's nlink or parents at commit: resolve it first.
    const lock = this.tx.inodeLock(op.inodeId);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    const check = checkUpdate(op, inode);
    if (check !== MetaStatusCode.OK) return status(check);
    // Everything is valid: apply.
    this.beforeInodeChange(inode);
    if (op.mode !== undefined) inode.mode = op.mode;
    if (op.uid !== undefined) inode.uid = op.uid;
    if (op.gid !== undefined) inode.gid = op.gid;
    if (op.length !== undefined) inode.length = op.length;
    if (op.rdev !== undefined) inode.rdev = op.rdev;
    if (op.atime !== undefined) [inode.atimeSec, inode.atimeNsec] = [op.atime.sec, op.atime.nsec];
    if (op.mtime !== undefined) [inode.mtimeSec, inode.mtimeNsec] = [op.mtime.sec, op.mtime.nsec];
    if (op.ctime !== undefined) [inode.ctimeSec, inode.ctimeNsec] = [op.ctime.sec, op.ctime.nsec];
    if (op.setXattrs !== undefined && op.setXattrs.size > 0) {
      inode.xattrs ??= new Map();
      for (const [k, v] of op.setXattrs) inode.xattrs.set(k, Uint8Array.from(v));
    }
    if (op.removeXattrs !== undefined && inode.xattrs !== null) {
      for (const k of op.removeXattrs) inode.xattrs.delete(k);
      if (inode.xattrs.size === 0) inode.xattrs = null;
    }
    for (const p of op.removeParents ?? []) removeOne(inode.parents, p);
    for (const p of op.addParents ?? []) inode.parents.push(p);
    if (op.openCountDelta !== undefined) inode.openCount += op.openCountDelta;
    if (op.nlinkDelta !== undefined && op.nlinkDelta !== 0) {
      this.changeNlink(inode, op.nlinkDelta, op.ctime ?? { sec: inode.ctimeSec, nsec: inode.ctimeNsec });
    }
    inode.version += 1;
    return { status: MetaStatusCode.OK, version: inode.version };
  }

  /** Removes an unlinked inode for good (the deletion service, after its data is gone). */
  deleteInode(op: DeleteInodeOp): OpResult {
    const inode = this.inodes.get(op.inodeId);
    if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
    const lock = this.tx.inodeLock(op.inodeId);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    if (inode.nlink > 0) return status(MetaStatusCode.PARAM_ERROR);
    if (inode.openCount > 0) return status(MetaStatusCode.FS_BUSY);
    if ((this.dirs.get(op.inodeId)?.size ?? 0) > 0) return status(MetaStatusCode.NOT_EMPTY);
    this.beforeInodeChange(inode);
    this.inodes.delete(op.inodeId);
    this.toDelete.delete(op.inodeId);
    return OK;
  }

  /** Applies an nlink delta already validated (result ≥ 0); maintains dtime and the to-delete set. */
  changeNlink(inode: Inode, delta: number, time: Timespec): void {
    const next = inode.nlink + delta;
    assert(next >= 0, 'nlink stays non-negative');
    this.beforeInodeChange(inode);
    inode.nlink = next;
    inode.ctimeSec = time.sec;
    inode.ctimeNsec = time.nsec;
    if (next === 0) {
      inode.dtimeSec = time.sec;
      if (!this.toDelete.has(inode.inodeId)) this.toDelete.set(inode.inodeId, time.sec);
    } else if (this.toDelete.has(inode.inodeId)) {
      inode.dtimeSec = 0;
      this.toDelete.delete(inode.inodeId);
    }
  }

  appendChunkInfo(op: AppendChunkInfoOp): OpResult {
    const inode = this.inodes.get(op.inodeId);
    if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
    if (inode.type !== FileType.File) return status(inode.type === FileType.Directory ? MetaStatusCode.IS_DIR : MetaStatusCode.PARAM_ERROR);
    if (!isUint(op.length) || (op.mtime !== undefined && !isTimespec(op.mtime))) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    if (!Array.isArray(op.appends) || op.appends.length > APPEND_INFOS_MAX) return status(MetaStatusCode.PARAM_ERROR);
    for (const a of op.appends) {
      if (!isUint(a.chunkIndex) || !isChunkInfo(a.info)) return status(MetaStatusCode.PARAM_ERROR);
      const existing = inode.chunks?.get(a.chunkIndex)?.length ?? 0;
      if (existing + op.appends.length > CHUNK_INFOS_PER_CHUNK_MAX) return status(MetaStatusCode.NO_SPACE);
    }
    this.beforeInodeChange(inode);
    for (const a of op.appends) {
      inode.chunks ??= new Map();
      let list = inode.chunks.get(a.chunkIndex);
      if (list === undefined) {
        list = [];
        inode.chunks.set(a.chunkIndex, list);
      }
      // A retried append (reply lost) finds its record already there: a no-op.
      if (!list.some((c) => sameChunkInfo(c, a.info))) list.push(freezeChunkInfo(a.info));
    }
    if (op.length > inode.length) inode.length = op.length;
    if (op.mtime !== undefined) {
      inode.mtimeSec = inode.ctimeSec = op.mtime.sec;
      inode.mtimeNsec = inode.ctimeNsec = op.mtime.nsec;
    }
    inode.version += 1;
    return { status: MetaStatusCode.OK, version: inode.version };
  }

  replaceChunkInfo(op: ReplaceChunkInfoOp): OpResult {
    const inode = this.inodes.get(op.inodeId);
    if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
    if (!isUint(op.chunkIndex) || !Array.isArray(op.expected) || !Array.isArray(op.replacement)) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    if (!op.expected.every(isChunkInfo) || !op.replacement.every(isChunkInfo)) return status(MetaStatusCode.PARAM_ERROR);
    if (op.replacement.length > CHUNK_INFOS_PER_CHUNK_MAX) return status(MetaStatusCode.PARAM_ERROR);
    const current = inode.chunks?.get(op.chunkIndex) ?? [];
    const unchanged =
      current.length === op.expected.length && current.every((c, i) => sameChunkInfo(c, op.expected[i]!));
    if (!unchanged) return status(MetaStatusCode.VERSION_MISMATCH);
    this.beforeInodeChange(inode);
    if (op.replacement.length === 0) {
      inode.chunks?.delete(op.chunkIndex);
      if (inode.chunks?.size === 0) inode.chunks = null;
    } else {
      inode.chunks ??= new Map();
      inode.chunks.set(op.chunkIndex, op.replacement.map(freezeChunkInfo));
    }
    inode.version += 1;
    return { status: MetaStatusCode.OK, version: inode.version };
  }

  /**
   * truncate(2) in one entry (TruncateOp): length set exactly, every chunk
   * list trimmed to it, the grown range's zero records appended. Lists are
   * trimmed even when the file grows: a record past the old end (left by a
   * length-only shrink) must not resurface under the new length.
   */
  truncate(op: TruncateOp): OpResult {
    const inode = this.inodes.get(op.inodeId);
    if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
    if (inode.type !== FileType.File) return status(inode.type === FileType.Directory ? MetaStatusCode.IS_DIR : MetaStatusCode.PARAM_ERROR);
    if (!isUint(op.length) || !isTimespec(op.time)) return status(MetaStatusCode.PARAM_ERROR);
    if (!Array.isArray(op.zeroAppends) || op.zeroAppends.length > APPEND_INFOS_MAX) return status(MetaStatusCode.PARAM_ERROR);
    const trimmed = new Map<number, ChunkInfo[]>();
    for (const [chunkIndex, list] of inode.chunks ?? []) {
      const kept = trimChunkInfos(list, op.length);
      if (kept.length > 0) trimmed.set(chunkIndex, kept);
    }
    for (const a of op.zeroAppends) {
      if (typeof a !== 'object' || a === null || !isUint(a.chunkIndex) || !isChunkInfo(a.info)) return status(MetaStatusCode.PARAM_ERROR);
      // Zero records only, and only inside the new length: they never carry data or extend the file.
      if (!a.info.zero || a.info.offset + a.info.length > op.length) return status(MetaStatusCode.PARAM_ERROR);
      const existing = trimmed.get(a.chunkIndex)?.length ?? 0;
      if (existing + op.zeroAppends.length > CHUNK_INFOS_PER_CHUNK_MAX) return status(MetaStatusCode.NO_SPACE);
    }
    // Checked: apply.
    this.beforeInodeChange(inode);
    for (const a of op.zeroAppends) {
      let list = trimmed.get(a.chunkIndex);
      if (list === undefined) {
        list = [];
        trimmed.set(a.chunkIndex, list);
      }
      if (!list.some((c) => sameChunkInfo(c, a.info))) list.push(a.info);
    }
    if (trimmed.size === 0) {
      inode.chunks = null;
    } else {
      inode.chunks = new Map();
      for (const [chunkIndex, list] of trimmed) inode.chunks.set(chunkIndex, list.map(freezeChunkInfo));
    }
    inode.length = op.length;
    inode.mtimeSec = inode.ctimeSec = op.time.sec;
    inode.mtimeNsec = inode.ctimeNsec = op.time.nsec;
    inode.version += 1;
    return { status: MetaStatusCode.OK, version: inode.version };
  }

  // ---- dentries ----

  /** The parent inode of a dentry op, or the status that refuses it. */
  parentDir(parentId: InodeId): Inode | MetaStatusCode {
    if (!this.owns(parentId)) return MetaStatusCode.PARTITION_NOT_FOUND;
    const parent = this.inodes.get(parentId);
    // An unlinked directory accepts no new names (it is gone from the tree).
    if (parent === undefined || parent.nlink === 0) return MetaStatusCode.NOT_FOUND;
    if (parent.type !== FileType.Directory) return MetaStatusCode.NOT_DIR;
    return parent;
  }

  getDentry(parentId: InodeId, name: string): Dentry | undefined {
    return this.dirs.get(parentId)?.get(name);
  }

  dirSize(dirId: InodeId): number {
    return this.dirs.get(dirId)?.size ?? 0;
  }

  createDentry(op: CreateDentryOp): OpResult {
    if (!isUint(op.inodeId) || op.inodeId === 0) return status(MetaStatusCode.PARAM_ERROR);
    const checked = this.checkCreateDentry(op.parentId, op.name, op.fileType, op.time);
    if (!(checked instanceof Inode)) return checked;
    this.putDentry(new Dentry(op.parentId, op.name, op.inodeId, op.fileType, 0));
    this.touchParent(checked, op.fileType === FileType.Directory ? 1 : 0, op.time);
    return OK;
  }

  /** The checks of createDentry, changing nothing: the parent directory, or the refusal. */
  checkCreateDentry(parentId: InodeId, name: string, fileType: FileType, time: Timespec): Inode | OpResult {
    const nameStatus = checkName(name);
    if (nameStatus !== MetaStatusCode.OK) return status(nameStatus);
    if (!isFileType(fileType) || !isTimespec(time)) return status(MetaStatusCode.PARAM_ERROR);
    const parent = this.parentDir(parentId);
    if (typeof parent === 'number') return status(parent);
    const lock = this.tx.lockOn(parentId, name) ?? this.tx.dirLock(parentId);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    const existing = this.getDentry(parentId, name);
    if (existing !== undefined) return { status: MetaStatusCode.EXIST, dentry: dentryViewOf(this.fsId, existing) };
    return parent;
  }

  /**
   * Checks a DeleteDentry; `childIsEmpty` answers for a directory child
   * (undefined when its entries live outside this copyset: the client
   * checked them). Returns the dentry to remove or a refusal.
   */
  checkDeleteDentry(op: DeleteDentryOp): Dentry | OpResult {
    const nameStatus = checkName(op.name);
    if (nameStatus !== MetaStatusCode.OK) return status(nameStatus);
    if (!isUint(op.expectedInodeId) || !isTimespec(op.time)) return status(MetaStatusCode.PARAM_ERROR);
    if (op.fileType !== 0 && !isFileType(op.fileType)) return status(MetaStatusCode.PARAM_ERROR);
    const parent = this.parentDir(op.parentId);
    if (typeof parent === 'number') return status(parent);
    const lock = this.tx.lockOn(op.parentId, op.name);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    const dentry = this.getDentry(op.parentId, op.name);
    if (dentry === undefined) return status(MetaStatusCode.NOT_FOUND);
    if (op.expectedInodeId !== 0 && dentry.inodeId !== op.expectedInodeId) return status(MetaStatusCode.VERSION_MISMATCH);
    if (op.fileType === FileType.Directory && dentry.type !== FileType.Directory) return status(MetaStatusCode.NOT_DIR);
    if (op.fileType !== 0 && op.fileType !== FileType.Directory && dentry.type === FileType.Directory) {
      return status(MetaStatusCode.IS_DIR);
    }
    return dentry;
  }

  /** Removes a dentry checked by checkDeleteDentry and updates its parent. */
  deleteDentry(dentry: Dentry, time: Timespec): void {
    const parent = this.inodes.get(dentry.parentId);
    assert(parent !== undefined, 'a dentry has its parent');
    this.removeDentry(dentry.parentId, dentry.name);
    this.touchParent(parent, dentry.type === FileType.Directory ? -1 : 0, time);
  }

  /** Inserts or replaces a dentry (no parent update). */
  putDentry(dentry: Dentry): Dentry | undefined {
    this.beforeDirChange(dentry.parentId);
    let dir = this.dirs.get(dentry.parentId);
    if (dir === undefined) {
      dir = new DirIndex();
      // A directory index made after a snapshot began is not part of it.
      if (this.guard !== null) dir.snapshotEpoch = this.guard.epoch;
      this.dirs.set(dentry.parentId, dir);
    }
    const old = dir.set(dentry);
    if (old === undefined) this.dentryCount += 1;
    return old;
  }

  /** Removes a dentry (no parent update). */
  removeDentry(parentId: InodeId, name: string): Dentry | undefined {
    const dir = this.dirs.get(parentId);
    if (dir === undefined) return undefined;
    this.beforeDirChange(parentId);
    const old = dir.delete(name);
    if (old !== undefined) this.dentryCount -= 1;
    if (dir.size === 0) this.dirs.delete(parentId);
    return old;
  }

  /** A directory gained or lost a name: its mtime/ctime, and nlink for a subdirectory. */
  touchParent(parent: Inode, nlinkDelta: number, time: Timespec): void {
    assert(parent.type === FileType.Directory, 'parent is a directory');
    this.beforeInodeChange(parent);
    // A live directory keeps nlink >= 2 even if a client's nlink deltas disagreed with its entries.
    if (nlinkDelta !== 0) parent.nlink = Math.max(2, parent.nlink + nlinkDelta);
    parent.mtimeSec = parent.ctimeSec = time.sec;
    parent.mtimeNsec = parent.ctimeNsec = time.nsec;
    parent.version += 1;
  }

  listDentry(
    dirId: InodeId,
    last: string,
    count: number,
    onlyDir: boolean,
  ): { status: MetaStatusCode; dentries: Dentry[]; lock?: ReturnType<TxTable['lockOn']> } {
    if (typeof last !== 'string' || !isUint(count)) return { status: MetaStatusCode.PARAM_ERROR, dentries: [] };
    if (!this.owns(dirId)) return { status: MetaStatusCode.PARTITION_NOT_FOUND, dentries: [] };
    const dirInode = this.inodes.get(dirId);
    if (dirInode === undefined) return { status: MetaStatusCode.NOT_FOUND, dentries: [] };
    if (dirInode.type !== FileType.Directory) return { status: MetaStatusCode.NOT_DIR, dentries: [] };
    const limit = Math.min(count === 0 ? LIST_COUNT_DEFAULT : count, LIST_COUNT_MAX);
    const dir = this.dirs.get(dirId);
    const filter = onlyDir ? (d: Dentry) => d.type === FileType.Directory : undefined;
    // Bound the scan of a filtered listing: a short page is fine, the caller resumes.
    const dentries = dir === undefined ? [] : dir.list(last, limit, filter, onlyDir ? limit * 64 : Infinity);
    if (this.tx.hasLocks()) {
      // A pending rename may add a name inside this page's range: the reader resolves it first.
      const dirLock = this.tx.dirLock(dirId);
      if (dirLock !== undefined) return { status: MetaStatusCode.TX_LOCKED, dentries: [], lock: dirLock };
      const upTo = dentries.length === limit ? dentries[dentries.length - 1]!.name : undefined;
      const lock = this.tx.firstLockInRange(dirId, last, upTo);
      if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, dentries: [], lock };
    }
    return { status: MetaStatusCode.OK, dentries };
  }
}

function checkUpdate(op: UpdateInodeOp, inode: Inode): MetaStatusCode {
  if (!isUint(op.expectedVersion)) return MetaStatusCode.PARAM_ERROR;
  if (op.expectedVersion !== 0 && op.expectedVersion !== inode.version) return MetaStatusCode.VERSION_MISMATCH;
  for (const v of [op.mode, op.uid, op.gid]) if (v !== undefined && !isUint32(v)) return MetaStatusCode.PARAM_ERROR;
  if (op.length !== undefined && !isUint(op.length)) return MetaStatusCode.PARAM_ERROR;
  if (op.length !== undefined && inode.type === FileType.Directory) return MetaStatusCode.IS_DIR;
  if (op.rdev !== undefined && !isUint(op.rdev)) return MetaStatusCode.PARAM_ERROR;
  for (const t of [op.atime, op.mtime, op.ctime]) if (t !== undefined && !isTimespec(t)) return MetaStatusCode.PARAM_ERROR;
  if (op.nlinkDelta !== undefined) {
    if (!Number.isSafeInteger(op.nlinkDelta) || inode.nlink + op.nlinkDelta < 0) return MetaStatusCode.PARAM_ERROR;
    if (inode.nlink + op.nlinkDelta > 0xffff_ffff) return MetaStatusCode.PARAM_ERROR;
  }
  if (op.openCountDelta !== undefined) {
    if (!Number.isSafeInteger(op.openCountDelta) || inode.openCount + op.openCountDelta < 0) return MetaStatusCode.PARAM_ERROR;
  }
  for (const list of [op.addParents, op.removeParents]) {
    if (list !== undefined && (!Array.isArray(list) || list.length > 1024 || !list.every(isUint))) {
      return MetaStatusCode.PARAM_ERROR;
    }
  }
  for (const p of op.removeParents ?? []) if (!inode.parents.includes(p)) return MetaStatusCode.PARAM_ERROR;
  const removing = op.removeXattrs ?? [];
  if (!Array.isArray(removing) || removing.length > XATTR_COUNT_MAX) return MetaStatusCode.PARAM_ERROR;
  for (const k of removing) {
    if (typeof k !== 'string') return MetaStatusCode.PARAM_ERROR;
    if (op.setXattrs?.has(k) === true) return MetaStatusCode.PARAM_ERROR;
    if (inode.xattrs?.has(k) !== true) return MetaStatusCode.NO_DATA;
  }
  if (op.setXattrs !== undefined) {
    const s = checkXattrs(op.setXattrs, inode.xattrs?.size ?? 0);
    if (s !== MetaStatusCode.OK) return s;
    const mode = op.xattrSetMode ?? XattrSetMode.Any;
    for (const k of op.setXattrs.keys()) {
      const present = inode.xattrs?.has(k) === true;
      if (mode === XattrSetMode.Create && present) return MetaStatusCode.EXIST;
      if (mode === XattrSetMode.Replace && !present) return MetaStatusCode.NO_DATA;
    }
  }
  return MetaStatusCode.OK;
}

function checkXattrs(xattrs: ReadonlyMap<string, Uint8Array>, existing: number): MetaStatusCode {
  if (!(xattrs instanceof Map)) return MetaStatusCode.PARAM_ERROR;
  if (existing + xattrs.size > XATTR_COUNT_MAX) return MetaStatusCode.NO_SPACE;
  for (const [k, v] of xattrs) {
    if (typeof k !== 'string' || k.length === 0) return MetaStatusCode.PARAM_ERROR;
    if (Buffer.byteLength(k, 'utf8') > XATTR_NAME_BYTES_MAX) return MetaStatusCode.RANGE_ERROR;
    if (!(v instanceof Uint8Array)) return MetaStatusCode.PARAM_ERROR;
    if (v.byteLength > XATTR_VALUE_BYTES_MAX) return MetaStatusCode.RANGE_ERROR;
  }
  return MetaStatusCode.OK;
}

function copyXattrs(xattrs: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of xattrs) out.set(k, Uint8Array.from(v));
  return out;
}

export function isChunkInfo(c: unknown): c is ChunkInfo {
  if (typeof c !== 'object' || c === null) return false;
  const info = c as ChunkInfo;
  return (
    isUint(info.chunkId) &&
    isUint(info.compaction) &&
    isUint(info.offset) &&
    isUint(info.length) &&
    info.length > 0 &&
    typeof info.zero === 'boolean'
  );
}

export function sameChunkInfo(a: ChunkInfo, b: ChunkInfo): boolean {
  return (
    a.chunkId === b.chunkId &&
    a.compaction === b.compaction &&
    a.offset === b.offset &&
    a.length === b.length &&
    a.zero === b.zero
  );
}

/** A stored copy with exactly the five fields (requests may carry extra properties). */
function freezeChunkInfo(c: ChunkInfo): ChunkInfo {
  return { chunkId: c.chunkId, compaction: c.compaction, offset: c.offset, length: c.length, zero: c.zero };
}

function removeOne(list: InodeId[], value: InodeId): void {
  const i = list.indexOf(value);
  if (i >= 0) list.splice(i, 1);
}
