/**
 * The records a partition keeps (DESIGN §3): inodes, dentries and chunk
 * infos, in compact in-memory shapes. A million inodes with their dentries
 * must fit in well under 1 KiB each, so optional parts (xattrs, chunk lists,
 * extra parents) are `null` until used and every record is a class with a
 * fixed field set (one hidden class, fields stored in-object).
 *
 * Numbers on the wire are uint64; here they are JS numbers asserted safe at
 * decode (ids would need 2^53 inodes to overflow).
 */
import { FileType, isFileType, type Timespec } from '../../src/common/file-type.js';

export type FsId = number;
export type InodeId = number;
export type PartitionId = number;

/** The root directory of every file system. */
export const ROOT_INODE_ID: InodeId = 1;

export { FileType, isFileType, type Timespec };

/** Values equal the proto enum PartitionStatus. */
export enum PartitionStatus {
  ReadWrite = 1,
  /** Its inode ids are spent; existing inodes still change. */
  ReadOnly = 2,
  Deleting = 3,
}


/**
 * One flushed write range (DESIGN §5); structurally the same as
 * src/layout's ChunkInfo. `offset` is an absolute file offset.
 */
export interface ChunkInfo {
  readonly chunkId: number;
  readonly compaction: number;
  readonly offset: number;
  readonly length: number;
  readonly zero: boolean;
}

export class Inode {
  /** Bumped on every change; UpdateInode may be conditional on it. */
  version = 1;
  nlink: number;
  length = 0;
  rdev = 0;
  atimeSec: number;
  atimeNsec: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
  /** Seconds; 0 while nlink > 0. */
  dtimeSec = 0;
  /** Open handles registered by clients; an unlinked inode is not deleted while > 0. */
  openCount = 0;
  symlink = '';
  xattrs: Map<string, Uint8Array> | null = null;
  /** One entry per hard link (a parent may repeat for two names in one directory). */
  parents: InodeId[];
  /** chunk index → ranges in append order (newest last); null until the first write. */
  chunks: Map<number, ChunkInfo[]> | null = null;
  /**
   * The snapshot session that already holds this inode (or that it is too
   * new for): a copy-on-write mark, never replicated (snapshot-codec.ts).
   */
  snapshotEpoch = 0;

  constructor(
    readonly fsId: FsId,
    readonly inodeId: InodeId,
    readonly type: FileType,
    public mode: number,
    public uid: number,
    public gid: number,
    time: Timespec,
    parents: InodeId[],
  ) {
    this.nlink = type === FileType.Directory ? 2 : 1;
    this.atimeSec = this.mtimeSec = this.ctimeSec = time.sec;
    this.atimeNsec = this.mtimeNsec = this.ctimeNsec = time.nsec;
    this.parents = parents;
  }
}

export class Dentry {
  constructor(
    readonly parentId: InodeId,
    readonly name: string,
    readonly inodeId: InodeId,
    readonly type: FileType,
    /** Commit timestamp of the rename transaction that wrote it (0 = not transactional). */
    readonly commitTs: number,
  ) {}
}

/** The attributes of an inode without chunk lists and xattrs. */
export interface InodeAttr {
  readonly fsId: FsId;
  readonly inodeId: InodeId;
  readonly type: FileType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly length: number;
  readonly rdev: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
  readonly dtimeSec: number;
  readonly openCount: number;
  readonly symlink: string;
  readonly parents: readonly InodeId[];
  readonly version: number;
}

/** A full copy of an inode handed out by reads (never the live record). */
export interface InodeView extends InodeAttr {
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
  readonly chunks: ReadonlyMap<number, readonly ChunkInfo[]>;
}

export interface DentryView {
  readonly fsId: FsId;
  readonly parentId: InodeId;
  readonly name: string;
  readonly inodeId: InodeId;
  readonly type: FileType;
  readonly commitTs: number;
}

export function attrOf(inode: Inode): InodeAttr {
  return {
    fsId: inode.fsId,
    inodeId: inode.inodeId,
    type: inode.type,
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    nlink: inode.nlink,
    length: inode.length,
    rdev: inode.rdev,
    atime: { sec: inode.atimeSec, nsec: inode.atimeNsec },
    mtime: { sec: inode.mtimeSec, nsec: inode.mtimeNsec },
    ctime: { sec: inode.ctimeSec, nsec: inode.ctimeNsec },
    dtimeSec: inode.dtimeSec,
    openCount: inode.openCount,
    symlink: inode.symlink,
    parents: inode.parents.slice(),
    version: inode.version,
  };
}

export function viewOf(inode: Inode, withChunks: boolean): InodeView {
  const chunks = new Map<number, readonly ChunkInfo[]>();
  if (withChunks && inode.chunks !== null) {
    for (const [index, list] of inode.chunks) chunks.set(index, list.slice());
  }
  return {
    ...attrOf(inode),
    xattrs: new Map(inode.xattrs ?? []),
    chunks,
  };
}

export function dentryViewOf(fsId: FsId, dentry: Dentry): DentryView {
  return {
    fsId,
    parentId: dentry.parentId,
    name: dentry.name,
    inodeId: dentry.inodeId,
    type: dentry.type,
    commitTs: dentry.commitTs,
  };
}
