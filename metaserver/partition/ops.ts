/**
 * The changes a copyset applies, one Raft entry each. Requests carry every
 * time they need (the client's clock), so every replica applies them
 * identically. Reads are not log entries; they are methods of the state
 * machine called after ReadIndex.
 *
 * The numeric op types are part of the log format: never renumber.
 */
import type { MetaStatusCode } from '../../src/common/meta-status.js';
import type { ChunkInfo, DentryView, FileType, FsId, InodeAttr, InodeId, PartitionId, Timespec } from './types.js';

export enum OpType {
  CreatePartition = 1,
  DeletePartition = 2,
  CreateRootInode = 3,
  CreateInode = 4,
  UpdateInode = 5,
  DeleteInode = 6,
  CreateDentry = 7,
  DeleteDentry = 8,
  Rename = 9,
  AppendChunkInfo = 10,
  ReplaceChunkInfo = 11,
  PrewriteRename = 12,
  CommitRename = 13,
  ResolveTxLock = 14,
  SetCopysetVoters = 15,
  Truncate = 16,
  BatchCreateInode = 17,
}

interface Routed {
  readonly fsId: FsId;
  readonly partitionId: PartitionId;
  /**
   * The client's id for this change, the same on every resend: a change
   * that already succeeded under it is answered again, not re-applied
   * (CopysetStateMachine.recentRequests). Absent = no deduplication.
   */
  readonly requestId?: string;
}

export interface CreatePartitionOp extends Routed {
  readonly type: OpType.CreatePartition;
  /** First and last inode id of the range (inclusive). */
  readonly start: InodeId;
  readonly end: InodeId;
}

export interface DeletePartitionOp extends Routed {
  readonly type: OpType.DeletePartition;
}

export interface CreateRootInodeOp extends Routed {
  readonly type: OpType.CreateRootInode;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly time: Timespec;
}

export interface CreateInodeOp extends Routed {
  readonly type: OpType.CreateInode;
  readonly fileType: FileType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  /** Target of a symlink ('' otherwise). */
  readonly symlink: string;
  /** The directory the first name will live in (0 = none, e.g. a tmpfile). */
  readonly parent: InodeId;
  readonly time: Timespec;
  readonly xattrs?: ReadonlyMap<string, Uint8Array>;
  /**
   * Also create the dentry (parent, dentryName) → the new inode in the same
   * apply (CopysetStateMachine.createInodeLinked). Absent = inode only.
   */
  readonly dentryName?: string;
}

/**
 * Many CreateInode of one partition in one entry (the client coalesces
 * concurrent creates): the items are applied in order, each exactly as its
 * own CreateInode entry would be (request-id deduplication included), each
 * with its own result; a refused item changes nothing and does not stop the
 * others. The result is OK with `items`, or a refusal of the whole batch
 * (PARAM_ERROR: no items or too many) that applies nothing.
 */
export interface BatchCreateInodeOp extends Routed {
  readonly type: OpType.BatchCreateInode;
  /** Routed to this op's fsId and partitionId. */
  readonly items: readonly CreateInodeOp[];
}

export enum XattrSetMode {
  /** Create or replace. */
  Any = 0,
  /** XATTR_CREATE: fail with EXIST if present. */
  Create = 1,
  /** XATTR_REPLACE: fail with NO_DATA if absent. */
  Replace = 2,
}

/** Fields left undefined are not changed. Validation is complete before anything changes. */
export interface UpdateInodeOp extends Routed {
  readonly type: OpType.UpdateInode;
  readonly inodeId: InodeId;
  /** 0 = unconditional; otherwise VERSION_MISMATCH unless equal to the inode's version. */
  readonly expectedVersion: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly length?: number;
  readonly rdev?: number;
  readonly atime?: Timespec;
  readonly mtime?: Timespec;
  readonly ctime?: Timespec;
  readonly setXattrs?: ReadonlyMap<string, Uint8Array>;
  readonly xattrSetMode?: XattrSetMode;
  /** Each must exist (NO_DATA otherwise), as removexattr(2) requires. */
  readonly removeXattrs?: readonly string[];
  readonly nlinkDelta?: number;
  readonly addParents?: readonly InodeId[];
  readonly removeParents?: readonly InodeId[];
  readonly openCountDelta?: number;
}

export interface DeleteInodeOp extends Routed {
  readonly type: OpType.DeleteInode;
  readonly inodeId: InodeId;
}

export interface CreateDentryOp extends Routed {
  readonly type: OpType.CreateDentry;
  readonly parentId: InodeId;
  readonly name: string;
  readonly inodeId: InodeId;
  readonly fileType: FileType;
  readonly time: Timespec;
}

export interface DeleteDentryOp extends Routed {
  readonly type: OpType.DeleteDentry;
  readonly parentId: InodeId;
  readonly name: string;
  /** 0 = whatever it points to; otherwise VERSION_MISMATCH if it points elsewhere. */
  readonly expectedInodeId: InodeId;
  /** Directory = rmdir (NOT_DIR if not a directory), another type = unlink (IS_DIR on a directory), 0 = either. */
  readonly fileType: FileType | 0;
  readonly time: Timespec;
  /**
   * Also drop the child's link when this copyset holds its inode (nlink −1,
   * −2 for a directory; the parent leaves its parents; ctime = time). The
   * result's `version` is then the child's new version; absent when not done.
   */
  readonly unlinkChild?: boolean;
}

/**
 * A rename whose every piece lives in this copyset: both parents, the moved
 * inode (when its parent changes) and a replaced target (and, for a
 * directory target, its entries). Otherwise the apply refuses with
 * PARTITION_NOT_FOUND, changing nothing, and the client runs the
 * cross-partition transaction instead. `partitionId` names the source
 * parent's partition.
 */
export interface RenameOp extends Routed {
  readonly type: OpType.Rename;
  readonly srcParentId: InodeId;
  readonly srcName: string;
  readonly dstParentId: InodeId;
  readonly dstName: string;
  readonly time: Timespec;
  /**
   * What the client's lookups saw (client/vfs/meta-api.ts RenameRequest).
   * When `srcInodeId` is set (> 0) both are enforced: NOT_FOUND unless src
   * names `srcInodeId`, EXIST unless dst names `expectedDstInodeId` (0 =
   * must be absent). Absent or 0 = unchecked (entries logged before the
   * fields existed replay as they applied then).
   */
  readonly srcInodeId?: InodeId;
  readonly expectedDstInodeId?: InodeId;
}

export interface AppendChunkInfoOp extends Routed {
  readonly type: OpType.AppendChunkInfo;
  readonly inodeId: InodeId;
  readonly appends: readonly { readonly chunkIndex: number; readonly info: ChunkInfo }[];
  /** The file length becomes max(current, length): concurrent writers never shrink a file. */
  readonly length: number;
  readonly mtime?: Timespec;
}

/** Compaction commit: the chunk's whole list must equal `expected` exactly, else VERSION_MISMATCH. */
export interface ReplaceChunkInfoOp extends Routed {
  readonly type: OpType.ReplaceChunkInfo;
  readonly inodeId: InodeId;
  readonly chunkIndex: number;
  readonly expected: readonly ChunkInfo[];
  readonly replacement: readonly ChunkInfo[];
}

/**
 * truncate(2) in one entry: the length becomes exactly `length`; every
 * chunk list is trimmed to it (src/layout trimChunkInfos), then `zeroAppends`
 * (zero records over the grown range, from the client) are appended, so no
 * crash can leave a length without its trim or its zeros. Objects cut off
 * are freed later by the inode sweep (it notices the shrink).
 */
export interface TruncateOp extends Routed {
  readonly type: OpType.Truncate;
  readonly inodeId: InodeId;
  readonly length: number;
  /** Zero records (zero = true) inside [0, length): only when growing. */
  readonly zeroAppends: readonly { readonly chunkIndex: number; readonly info: ChunkInfo }[];
  /** mtime and ctime of the file. */
  readonly time: Timespec;
}

/** Identifies the primary dentry of a transaction. */
export interface DentryKey {
  readonly fsId: FsId;
  readonly parentId: InodeId;
  readonly name: string;
}

/** A dentry write prewritten under a lock, applied at commit. */
export interface TxWrite {
  readonly parentId: InodeId;
  readonly name: string;
  readonly isDelete: boolean;
  /** For a put: the new target. Unused for a delete. */
  readonly inodeId: InodeId;
  readonly fileType: FileType;
  /** What the name must point to at prewrite (0 = must be absent), else TX_CONFLICT. */
  readonly expectedInodeId: InodeId;
}

/** An inode change applied at commit (moved inode's parents, replaced target's nlink). */
export interface TxInodeChange {
  readonly inodeId: InodeId;
  readonly nlinkDelta: number;
  readonly addParents: readonly InodeId[];
  readonly removeParents: readonly InodeId[];
}

export interface PrewriteRenameOp extends Routed {
  readonly type: OpType.PrewriteRename;
  readonly primary: DentryKey;
  readonly startTs: number;
  readonly ttlMs: number;
  /** Client wall time of the prewrite: judges ttl expiry and becomes the parents' mtime/ctime. */
  readonly lockTimeMs: number;
  readonly time: Timespec;
  readonly writes: readonly TxWrite[];
  readonly inodeChanges: readonly TxInodeChange[];
  /** Directories (owned here) that must be empty and stay empty until the end (a replaced directory). */
  readonly emptyDirs: readonly InodeId[];
  /**
   * On the primary's partition: every other partition of the transaction, so
   * a resolver that asks the primary (CheckTxStatus) can finish them all,
   * including partitions holding only inode changes (no lock to meet).
   */
  readonly secondaries?: readonly PartitionId[];
}

export interface CommitRenameOp extends Routed {
  readonly type: OpType.CommitRename;
  readonly startTs: number;
  readonly commitTs: number;
}

/** Rolls forward (commitTs > 0) or back (commitTs 0) whatever `startTs` left in this partition. */
export interface ResolveTxLockOp extends Routed {
  readonly type: OpType.ResolveTxLock;
  readonly startTs: number;
  readonly commitTs: number;
  /** Client wall time: a primary's unexpired lock is never rolled back by a resolver. */
  readonly nowMs: number;
  /** The transaction's own client aborting it: its locks go regardless of ttl. */
  readonly byOwner?: boolean;
}

/**
 * Records the copyset's voters after a membership change; the copyset's
 * epoch (reported to the MDS) goes up by one whenever they differ from the
 * last recorded set. A copyset-level op: fsId and partitionId are 0.
 */
export interface SetCopysetVotersOp extends Routed {
  readonly type: OpType.SetCopysetVoters;
  readonly voters: readonly string[];
}

export type MetaOp =
  | CreatePartitionOp
  | DeletePartitionOp
  | CreateRootInodeOp
  | CreateInodeOp
  | UpdateInodeOp
  | DeleteInodeOp
  | CreateDentryOp
  | DeleteDentryOp
  | RenameOp
  | AppendChunkInfoOp
  | ReplaceChunkInfoOp
  | PrewriteRenameOp
  | CommitRenameOp
  | ResolveTxLockOp
  | SetCopysetVotersOp
  | TruncateOp
  | BatchCreateInodeOp;

/** A Percolator lock as a reader meets it. */
export interface TxLockInfo {
  readonly primary: DentryKey;
  readonly startTs: number;
  readonly ttlMs: number;
  readonly lockTimeMs: number;
}

/** What an apply returns to the proposer (the same on every replica). */
export interface OpResult {
  readonly status: MetaStatusCode;
  /** CreateInode / CreateRootInode: the new inode. */
  readonly inode?: InodeAttr;
  /** UpdateInode / AppendChunkInfo / Truncate: the inode's version after the change. */
  readonly version?: number;
  /** EXIST from CreateDentry: what the name points to (a retried create can recognise itself). */
  readonly dentry?: DentryView;
  /** TX_LOCKED: the lock in the way. */
  readonly lock?: TxLockInfo;
  /** Rename: the inode a replaced target pointed to (0 = none). */
  readonly replacedInodeId?: InodeId;
  /** BatchCreateInode: one result per item, in order. */
  readonly items?: readonly OpResult[];
}
