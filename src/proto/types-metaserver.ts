/**
 * TypeScript shapes of metaserver.proto messages (decoding conventions:
 * types-common.ts). Names that clash with mds.proto types carry a MetaServer
 * prefix (MetaServerCreatePartitionRequest).
 */
import type { CopysetInfo, MetaStatusCode, Method, PartitionInfo, Peer, ReplyHeader, RequestHeader } from './types-common.js';

export enum FsFileType {
  UNSPECIFIED = 0,
  DIRECTORY = 1,
  FILE = 2,
  SYMLINK = 3,
  FIFO = 4,
  SOCKET = 5,
  CHAR = 6,
  BLOCK = 7,
}

export interface ChunkInfo {
  chunkId: number;
  compaction: number;
  /** File offset of the first byte. */
  offset: number;
  len: number;
  zero: boolean;
}

export interface ChunkInfoList {
  infos: ChunkInfo[];
}

/** chunk index (decimal string) → ranges in append order */
export type ChunkMap = Record<string, ChunkInfoList>;

export interface InodeAttr {
  fsId: number;
  inodeId: number;
  type: FsFileType;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  length: number;
  rdev: number;
  atime: number;
  atimeNs: number;
  mtime: number;
  mtimeNs: number;
  ctime: number;
  ctimeNs: number;
  symlink: string;
  parents: number[];
  version: number;
}

export interface Inode extends InodeAttr {
  xattrs: Record<string, Buffer>;
  chunks: ChunkMap;
  dtime: number;
  openCount: number;
}

export interface XAttr {
  fsId: number;
  inodeId: number;
  xattrs: Record<string, Buffer>;
}

export interface DentryKey {
  fsId: number;
  parentInodeId: number;
  name: string;
}

export interface TxLock {
  primary: DentryKey | null;
  startTs: number;
  ttlMs: number;
  lockTimeMs: number;
}

export interface Dentry {
  fsId: number;
  parentInodeId: number;
  name: string;
  inodeId: number;
  type: FsFileType;
  commitTs: number;
  lock: TxLock | null;
  isDelete: boolean;
}

export interface AppliedReply extends ReplyHeader {
  appliedIndex: number;
}

export interface GetDentryRequest extends RequestHeader {
  parentInodeId: number;
  name: string;
  /** Also answer the child's attributes when the copyset holds them. */
  withAttr: boolean;
}
export interface GetDentryResponse extends AppliedReply {
  dentry: Dentry | null;
  /** The child's attributes when its inode lives in the same copyset (null otherwise). */
  attr: InodeAttr | null;
}

export interface BatchGetDentryItem {
  parentInodeId: number;
  name: string;
}
/** Many GetDentry of one partition after one read barrier (at most 10,000 items). */
export interface BatchGetDentryRequest extends RequestHeader {
  items: BatchGetDentryItem[];
  withAttr: boolean;
}
export interface BatchGetDentryResult {
  status: MetaStatusCode;
  /** OK: the dentry; TX_LOCKED: the name with its lock (as GetDentryResponse.dentry). */
  dentry: Dentry | null;
  attr: InodeAttr | null;
}
export interface BatchGetDentryResponse extends AppliedReply {
  /** One per item, in order, when status is OK. */
  results: BatchGetDentryResult[];
}

export interface ListDentryRequest extends RequestHeader {
  dirInodeId: number;
  last: string;
  count: number;
  onlyDir: boolean;
}
export interface ListDentryResponse extends AppliedReply {
  dentries: Dentry[];
  lock: TxLock | null;
}

export interface CreateDentryRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  dentry: Dentry | null;
  timeSec: number;
  timeNs: number;
}
export interface CreateDentryResponse extends AppliedReply {
  existing: Dentry | null;
  lock: TxLock | null;
}

export interface DeleteDentryRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  parentInodeId: number;
  name: string;
  type: FsFileType;
  timeSec: number;
  timeNs: number;
  expectedInodeId: number;
  /** Also drop the child's link in the same apply when the copyset holds it. */
  unlinkChild: boolean;
}
export interface DeleteDentryResponse extends AppliedReply {
  lock: TxLock | null;
  /** unlinkChild: the child's version after its link was dropped (0 = not done here). */
  childVersion: number;
}

export interface GetInodeRequest extends RequestHeader {
  inodeId: number;
  supportStreaming: boolean;
}
export interface GetInodeResponse extends AppliedReply {
  inode: Inode | null;
}

export interface BatchGetInodeAttrRequest extends RequestHeader {
  inodeIds: number[];
}
export interface BatchGetInodeAttrResponse extends AppliedReply {
  attrs: InodeAttr[];
}

export interface BatchGetXAttrRequest extends RequestHeader {
  inodeIds: number[];
}
export interface BatchGetXAttrResponse extends AppliedReply {
  xattrs: XAttr[];
}

export interface CreateInodeRequest extends RequestHeader {
  /** Also link the new inode under `parent` with this name, in the same entry ('' = no). */
  dentryName: string;
  type: FsFileType;
  mode: number;
  uid: number;
  gid: number;
  length: number;
  rdev: number;
  symlink: string;
  parent: number;
  timeSec: number;
  timeNs: number;
  xattrs: Record<string, Buffer>;
  /** Same for every resend of one create ('' = none); see metaserver.proto. */
  requestId: string;
}
export interface CreateInodeResponse extends AppliedReply {
  inode: Inode | null;
}

/** Many CreateInode of one partition in one Raft entry (1 to 10,000 items); items' headers are ignored. */
export interface BatchCreateInodeRequest extends RequestHeader {
  items: CreateInodeRequest[];
}
export interface BatchCreateInodeResult {
  status: MetaStatusCode;
  /** OK: the new inode (a resend: the one made first). */
  inode: InodeAttr | null;
}
export interface BatchCreateInodeResponse extends AppliedReply {
  /** One per item, in order, when status is OK. */
  results: BatchCreateInodeResult[];
}

export interface CreateRootInodeRequest extends RequestHeader {
  uid: number;
  gid: number;
  mode: number;
  timeSec: number;
  timeNs: number;
}
export type CreateRootInodeResponse = AppliedReply;

export interface UpdateInodeRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  inodeId: number;
  /** proto field names of this message that are to be set, e.g. 'mode', 'mtime'. */
  setFields: string[];
  mode: number;
  uid: number;
  gid: number;
  length: number;
  atime: number;
  atimeNs: number;
  mtime: number;
  mtimeNs: number;
  ctime: number;
  ctimeNs: number;
  setXattrs: Record<string, Buffer>;
  removeXattrs: string[];
  nlinkDelta: number;
  addParents: number[];
  removeParents: number[];
  expectedVersion: number;
  /** 0 = create or replace, 1 = XATTR_CREATE, 2 = XATTR_REPLACE. */
  xattrSetMode: number;
  openCountDelta: number;
  rdev: number;
}
export interface UpdateInodeResponse extends AppliedReply {
  version: number;
  lock: TxLock | null;
}

export interface DeleteInodeRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  inodeId: number;
}
export interface DeleteInodeResponse extends AppliedReply {
  lock: TxLock | null;
}

export interface AppendChunkInfoRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  inodeId: number;
  chunks: ChunkMap;
  length: number;
  mtime: number;
  mtimeNs: number;
}
export interface AppendChunkInfoResponse extends AppliedReply {
  version: number;
}

export interface GetChunkInfoRequest extends RequestHeader {
  inodeId: number;
  chunkIndexes: number[];
}
export interface GetChunkInfoResponse extends ReplyHeader {
  chunks: ChunkMap;
  version: number;
}

export interface ReplaceChunkInfoRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  inodeId: number;
  chunkIndex: number;
  expected: ChunkInfo[];
  replacement: ChunkInfo[];
}
export type ReplaceChunkInfoResponse = AppliedReply;

export interface TruncateRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  inodeId: number;
  length: number;
  /** Zero records to append (chunk index → list). */
  chunks: ChunkMap;
  timeSec: number;
  timeNs: number;
}
export interface TruncateResponse extends AppliedReply {
  version: number;
}

export interface RenameRequest extends RequestHeader {
  /** Same for every resend of one change ('' = none): answered with the first outcome. */
  requestId: string;
  srcParentInodeId: number;
  srcName: string;
  dstParentInodeId: number;
  dstName: string;
  timeSec: number;
  timeNs: number;
  /** With srcInodeId ≠ 0 the server checks both (0 = dst must be absent). */
  srcInodeId: number;
  expectedDstInodeId: number;
}
export interface RenameResponse extends AppliedReply {
  replacedInodeId: number;
  lock: TxLock | null;
}

export interface TxWrite {
  parentInodeId: number;
  name: string;
  isDelete: boolean;
  inodeId: number;
  type: FsFileType;
  expectedInodeId: number;
}

export interface TxInodeChange {
  inodeId: number;
  nlinkDelta: number;
  addParents: number[];
  removeParents: number[];
}

export interface PrewriteRenameRequest extends RequestHeader {
  primary: DentryKey | null;
  startTs: number;
  ttlMs: number;
  lockTimeMs: number;
  writes: TxWrite[];
  inodeChanges: TxInodeChange[];
  emptyDirs: number[];
  timeSec: number;
  timeNs: number;
  secondaryPartitions: number[];
}
export interface PrewriteRenameResponse extends AppliedReply {
  conflictingLock: TxLock | null;
}

export interface CommitRenameRequest extends RequestHeader {
  startTs: number;
  commitTs: number;
  keys: DentryKey[];
  rollback: boolean;
}
export type CommitRenameResponse = AppliedReply;

export enum TxStatus {
  UNSPECIFIED = 0,
  PENDING = 1,
  COMMITTED = 2,
  ROLLED_BACK = 3,
}

export interface CheckTxStatusRequest extends RequestHeader {
  primary: DentryKey | null;
  startTs: number;
  nowMs: number;
}
export interface CheckTxStatusResponse extends ReplyHeader {
  txStatus: TxStatus;
  commitTs: number;
  isExpired: boolean;
  secondaryPartitions: number[];
}

export interface ResolveTxLockRequest extends RequestHeader {
  key: DentryKey | null;
  startTs: number;
  commitTs: number;
  nowMs: number;
}
export type ResolveTxLockResponse = AppliedReply;

export interface MetaServerCreatePartitionRequest extends RequestHeader {
  partition: PartitionInfo | null;
}
export type MetaServerCreatePartitionResponse = ReplyHeader;

export type DeletePartitionRequest = RequestHeader;
export type DeletePartitionResponse = ReplyHeader;

export interface CreateCopysetNodeRequest extends RequestHeader {
  peers: Peer[];
}
export type CreateCopysetNodeResponse = ReplyHeader;

export interface DeleteCopysetNodeRequest extends RequestHeader {
  epoch: number;
  peers: Peer[];
}
export type DeleteCopysetNodeResponse = ReplyHeader;

export type GetCopysetStatusRequest = RequestHeader;
export interface GetCopysetStatusResponse extends ReplyHeader {
  copyset: CopysetInfo | null;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastLogIndex: number;
  role: string;
}

export type GetLeaderRequest = RequestHeader;
export interface GetLeaderResponse extends ReplyHeader {
  leader: Peer | null;
}

export interface ChangePeerRequest extends RequestHeader {
  peer: Peer | null;
  oldPeer: Peer | null;
  epoch: number;
}
export interface ChangePeerResponse extends ReplyHeader {
  peers: Peer[];
  epoch: number;
}

/** Service `curvefs.metaserver.MetaServer`: method name → request/reply. GetChunkInfo streams replies. */
export interface MetaServerMethods {
  GetDentry: Method<GetDentryRequest, GetDentryResponse>;
  ListDentry: Method<ListDentryRequest, ListDentryResponse>;
  CreateDentry: Method<CreateDentryRequest, CreateDentryResponse>;
  DeleteDentry: Method<DeleteDentryRequest, DeleteDentryResponse>;
  GetInode: Method<GetInodeRequest, GetInodeResponse>;
  BatchGetInodeAttr: Method<BatchGetInodeAttrRequest, BatchGetInodeAttrResponse>;
  BatchGetXAttr: Method<BatchGetXAttrRequest, BatchGetXAttrResponse>;
  CreateInode: Method<CreateInodeRequest, CreateInodeResponse>;
  UpdateInode: Method<UpdateInodeRequest, UpdateInodeResponse>;
  DeleteInode: Method<DeleteInodeRequest, DeleteInodeResponse>;
  CreateRootInode: Method<CreateRootInodeRequest, CreateRootInodeResponse>;
  AppendChunkInfo: Method<AppendChunkInfoRequest, AppendChunkInfoResponse>;
  GetChunkInfo: Method<GetChunkInfoRequest, GetChunkInfoResponse>;
  ReplaceChunkInfo: Method<ReplaceChunkInfoRequest, ReplaceChunkInfoResponse>;
  Rename: Method<RenameRequest, RenameResponse>;
  PrewriteRename: Method<PrewriteRenameRequest, PrewriteRenameResponse>;
  CommitRename: Method<CommitRenameRequest, CommitRenameResponse>;
  CheckTxStatus: Method<CheckTxStatusRequest, CheckTxStatusResponse>;
  ResolveTxLock: Method<ResolveTxLockRequest, ResolveTxLockResponse>;
  CreatePartition: Method<MetaServerCreatePartitionRequest, MetaServerCreatePartitionResponse>;
  DeletePartition: Method<DeletePartitionRequest, DeletePartitionResponse>;
  CreateCopysetNode: Method<CreateCopysetNodeRequest, CreateCopysetNodeResponse>;
  GetCopysetStatus: Method<GetCopysetStatusRequest, GetCopysetStatusResponse>;
  GetLeader: Method<GetLeaderRequest, GetLeaderResponse>;
  AddPeer: Method<ChangePeerRequest, ChangePeerResponse>;
  RemovePeer: Method<ChangePeerRequest, ChangePeerResponse>;
  ChangePeer: Method<ChangePeerRequest, ChangePeerResponse>;
  TransferLeader: Method<ChangePeerRequest, ChangePeerResponse>;
  Truncate: Method<TruncateRequest, TruncateResponse>;
  DeleteCopysetNode: Method<DeleteCopysetNodeRequest, DeleteCopysetNodeResponse>;
  BatchGetDentry: Method<BatchGetDentryRequest, BatchGetDentryResponse>;
  BatchCreateInode: Method<BatchCreateInodeRequest, BatchCreateInodeResponse>;
}
