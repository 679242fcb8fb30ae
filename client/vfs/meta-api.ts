/**
 * The narrow metadata seam the VFS stands on (DESIGN §3, §4; STYLE "MetaClient
 * is split"). `client/meta/` implements it over the metaserver and MDS RPCs;
 * the mapping is one call per RPC except `rename`, which hides the
 * single-partition / transactional choice of DESIGN §7.
 *
 * Contract for every method:
 * - An expected outcome that is not success throws `MetaError` carrying the
 *   reply's `MetaStatusCode` (EXIST, NOT_EMPTY, VERSION_MISMATCH, ...). The
 *   VFS turns it into an errno with `toErrno` (src/common/errno.ts), never by
 *   reading the message. Transport failures that exhausted retries throw
 *   whatever `toErrno` understands (CurveError, grpc ServiceError).
 * - The one hot negative outcome, a missing dentry on lookup, is a value
 *   (`getDentry` → null) because path walks meet it constantly (negative
 *   lookups of shells, compilers, git).
 * - Times in requests come from the caller (the client fills them) so every
 *   replica applies identically (DESIGN §3).
 * - Link counts change only by server-side deltas, never read-modify-write.
 * - Returned objects are owned by the caller (implementations must not keep
 *   and mutate them).
 */

import { FileType, type Timespec } from '../../src/common/file-type.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';

/** Inode ids are safe integers ≥ 1; the root is 1 (DESIGN §3). */
export type InodeId = number;
export const ROOT_INODE_ID: InodeId = 1;

export { FileType, type Timespec };

/** The attributes of an inode without chunks and xattrs (the `InodeAttr` message). */
export interface InodeAttr {
  readonly inodeId: InodeId;
  readonly type: FileType;
  /** Full st_mode: file type bits and permission bits (incl. setuid/setgid/sticky). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly length: number;
  readonly rdev: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
  /** Target of a symlink; empty for other types. */
  readonly symlink: string;
  /** One parent per hard link (a directory has exactly one). */
  readonly parents: readonly InodeId[];
  /** Bumped on every change; used for conditional updates. */
  readonly version: number;
}

/** Attributes and, when small enough, the chunk lists read at the same point. */
export interface InodeWithChunks {
  readonly attr: InodeAttr;
  readonly chunks: ReadonlyMap<number, readonly ChunkInfo[]> | null;
}

export interface Dentry {
  readonly parentInodeId: InodeId;
  readonly name: string;
  readonly inodeId: InodeId;
  readonly type: FileType;
}

/** A found name and, when the metaserver had them at hand, the child's attributes read at the same point. */
export interface LookupResult {
  readonly dentry: Dentry;
  readonly attr?: InodeAttr;
}

// ---- dentries ----

export interface DentryOps {
  /** GetDentry. null when the name does not exist (NOT_FOUND). */
  getDentry(parent: InodeId, name: string): Promise<Dentry | null>;
  /**
   * Optional: getDentry (same RPC, same outcomes) that also hands over the
   * child's attributes when the reply carries them (the metaserver adds
   * them when it holds the inode too), so a path lookup needs no
   * getInodeAttr.
   */
  lookup?(parent: InodeId, name: string): Promise<LookupResult | null>;
  /**
   * ListDentry: entries of `dir` sorted by name, strictly after `last`
   * ("" = from the start), at most `count`. Fewer than `count` means the end.
   */
  listDentry(dir: InodeId, last: string, count: number, onlyDir?: boolean): Promise<Dentry[]>;
  /**
   * CreateDentry: EXIST if the name is taken. In the same apply the server
   * sets the parent's mtime/ctime to `time` and, for a directory entry,
   * increments the parent's nlink.
   */
  createDentry(dentry: Dentry, time: Timespec): Promise<void>;
  /**
   * DeleteDentry: NOT_FOUND if missing. Same parent updates as createDentry
   * (nlink decrement for a directory entry). The child inode is not touched.
   */
  deleteDentry(parent: InodeId, name: string, type: FileType, time: Timespec): Promise<void>;
  /**
   * Optional: deleteDentry that also drops the child's link in the same
   * change where it can (the child's inode in the same copyset): nlink −1
   * (−2 for a directory), `parent` out of its parents, ctime = time. true =
   * done; false = only the dentry went, the caller drops the link
   * (updateInode) as after deleteDentry.
   */
  deleteDentryAndLink?(parent: InodeId, name: string, type: FileType, time: Timespec): Promise<boolean>;
  /**
   * Atomically moves `src` to `dst` (one Raft entry inside a partition, the
   * rename transaction across partitions, DESIGN §7). Fails with:
   * NOT_FOUND if src is gone or no longer names `srcInodeId`; EXIST (or
   * TX_CONFLICT) if `dst` does not name `expectedDstInodeId` (0 = must be
   * absent). When dst named an inode, its dentry is replaced and that inode's
   * nlink is decremented in the same commit (for a directory: set to 0, it is
   * empty by the VFS's check). Parents get mtime/ctime = time; when a
   * directory moves between parents, their nlinks move with it and the
   * directory's parent list is updated. The moved inode's ctime is set too.
   */
  rename(request: RenameRequest): Promise<void>;
}

export interface RenameRequest {
  readonly srcParent: InodeId;
  readonly srcName: string;
  readonly srcInodeId: InodeId;
  readonly srcType: FileType;
  readonly dstParent: InodeId;
  readonly dstName: string;
  /** The inode dst names now (0 when dst must not exist). */
  readonly expectedDstInodeId: InodeId;
  readonly expectedDstType?: FileType;
  readonly time: Timespec;
}

// ---- inodes ----

export interface CreateInodeRequest {
  readonly type: FileType;
  /** Full st_mode (type bits are derived from `type` by the server if absent). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly symlink: string;
  /** The first parent; nlink starts at 1 (2 for a directory). */
  readonly parent: InodeId;
  readonly time: Timespec;
  /** Initial extended attributes (e.g. inherited ones); may be empty. */
  readonly xattrs?: ReadonlyMap<string, Uint8Array>;
}

/**
 * UpdateInode. Only the fields present change. `nlinkDelta` is applied by the
 * server (when nlink reaches 0 the server sets dtime and queues deletion,
 * DESIGN §8). With `expectedVersion` the update is conditional:
 * VERSION_MISMATCH when the inode changed meanwhile.
 */
export interface InodeUpdate {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly length?: number;
  readonly atime?: Timespec;
  readonly mtime?: Timespec;
  readonly ctime?: Timespec;
  readonly setXattrs?: ReadonlyMap<string, Uint8Array>;
  readonly removeXattrs?: readonly string[];
  readonly nlinkDelta?: number;
  readonly addParents?: readonly InodeId[];
  readonly removeParents?: readonly InodeId[];
  readonly expectedVersion?: number;
}

export interface XattrSnapshot {
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
  /** The inode version the xattrs were read at (for a conditional update). */
  readonly version: number;
}

export interface InodeOps {
  /** CreateInode: the id is allocated by the partition. */
  createInode(request: CreateInodeRequest): Promise<InodeAttr>;
  /**
   * Optional: createInode + createDentry(parent, name) as ONE change (one
   * Raft commit), with the inode placed near its parent's entries. EXIST
   * (nothing created) when the name is taken; createDentry's other refusals
   * likewise. The dentry gets the parent's mtime/ctime update of
   * createDentry. null = not possible here (no partition near the parent
   * can allocate ids): nothing was created, use the two calls.
   */
  createLinked?(request: CreateInodeRequest, name: string): Promise<InodeAttr | null>;
  /** GetInode (attributes only). NOT_FOUND if missing. */
  getInodeAttr(inodeId: InodeId): Promise<InodeAttr>;
  /**
   * Optional: getInodeAttr (same RPC, same outcomes) that also hands over the
   * inode's chunk lists (chunk index → records, in append order; a missing
   * index has none) when they hold at most `maxRecords` records; `chunks` is
   * null otherwise. The open of a small file then needs no GetChunkInfo.
   */
  getInodeAttrWithChunks?(inodeId: InodeId, maxRecords: number): Promise<InodeWithChunks>;
  /** BatchGetInodeAttr (any count; the client splits by partition and by 10,000). Missing ids are left out. */
  batchGetInodeAttr(inodeIds: readonly InodeId[]): Promise<InodeAttr[]>;
  /** UpdateInode; returns the inode's new version. */
  updateInode(inodeId: InodeId, update: InodeUpdate): Promise<number>;
  /** The inode's xattrs and version (GetInode without chunks). NOT_FOUND if missing. */
  getXattrs(inodeId: InodeId): Promise<XattrSnapshot>;
  /**
   * BatchGetXAttr (optional): xattrs of many inodes; missing ids left out.
   * When present, readdir prefetches them so `ls -l` (which asks every entry
   * for security.selinux) costs no RPC per entry. The snapshots' `version`
   * may be 0: they only serve reads.
   */
  batchGetXattrs?(inodeIds: readonly InodeId[]): Promise<Array<{ inodeId: InodeId; snapshot: XattrSnapshot }>>;
}

// ---- sessions and file system figures ----

export interface SessionOps {
  /**
   * Registers an open of the inode with this mount's session (DESIGN §8) so
   * the deletion service keeps an unlinked inode while it is open anywhere.
   * Resolves once the registration is durable at the MDS. Calls nest: each
   * open registers once, each close unregisters once.
   */
  registerOpen(inodeId: InodeId): Promise<void>;
  unregisterOpen(inodeId: InodeId): Promise<void>;
}

export interface FsStats {
  /** 0 = unlimited (statfs then reports a large figure). */
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly inodeCount: number;
  /** 0 = unlimited. */
  readonly inodeLimit: number;
  readonly blockSizeBytes: number;
}

export interface FsStatsOps {
  statFs(): Promise<FsStats>;
}

/** Everything the VFS needs from metadata. */
export interface MetaApi extends DentryOps, InodeOps, SessionOps, FsStatsOps {}
