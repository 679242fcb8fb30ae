/**
 * Raft log entries of a copyset: `[u32 op type][u32 length][protobuf
 * request]` (big-endian), the request being the RPC's own message from
 * metaserver.proto, so what the leader logs is what the client sent. The
 * decoder turns an entry back into the state machine's MetaOp; anything it
 * cannot decode comes back as undefined and is applied as a refused no-op
 * (the same on every replica).
 */
import { assert } from '../../src/common/assert.js';
import { messageCodec, type MessageCodec } from '../../src/proto/index.js';
import type {
  AppendChunkInfoRequest,
  BatchCreateInodeRequest,
  ChunkInfo as WireChunkInfo,
  CommitRenameRequest,
  CreateDentryRequest,
  CreateInodeRequest,
  CreateRootInodeRequest,
  DeleteDentryRequest,
  DeleteInodeRequest,
  MetaServerCreatePartitionRequest,
  PrewriteRenameRequest,
  RenameRequest,
  ReplaceChunkInfoRequest,
  ResolveTxLockRequest,
  TruncateRequest,
  UpdateInodeRequest,
} from '../../src/proto/types-metaserver.js';
import { OpType, type CreateInodeOp, type MetaOp, type UpdateInodeOp } from '../partition/ops.js';
import type { ChunkInfo, FileType, Timespec } from '../partition/types.js';

const HEADER_BYTES = 8;

/** The request message each op type carries. */
export const REQUEST_MESSAGE: Readonly<Record<OpType, string>> = {
  [OpType.CreatePartition]: 'curvefs.metaserver.CreatePartitionRequest',
  [OpType.DeletePartition]: 'curvefs.metaserver.DeletePartitionRequest',
  [OpType.CreateRootInode]: 'curvefs.metaserver.CreateRootInodeRequest',
  [OpType.CreateInode]: 'curvefs.metaserver.CreateInodeRequest',
  [OpType.UpdateInode]: 'curvefs.metaserver.UpdateInodeRequest',
  [OpType.DeleteInode]: 'curvefs.metaserver.DeleteInodeRequest',
  [OpType.CreateDentry]: 'curvefs.metaserver.CreateDentryRequest',
  [OpType.DeleteDentry]: 'curvefs.metaserver.DeleteDentryRequest',
  [OpType.Rename]: 'curvefs.metaserver.RenameRequest',
  [OpType.AppendChunkInfo]: 'curvefs.metaserver.AppendChunkInfoRequest',
  [OpType.ReplaceChunkInfo]: 'curvefs.metaserver.ReplaceChunkInfoRequest',
  [OpType.PrewriteRename]: 'curvefs.metaserver.PrewriteRenameRequest',
  [OpType.CommitRename]: 'curvefs.metaserver.CommitRenameRequest',
  [OpType.ResolveTxLock]: 'curvefs.metaserver.ResolveTxLockRequest',
  [OpType.SetCopysetVoters]: 'curvefs.metaserver.SetCopysetVotersRequest',
  [OpType.Truncate]: 'curvefs.metaserver.TruncateRequest',
  [OpType.BatchCreateInode]: 'curvefs.metaserver.BatchCreateInodeRequest',
};

function codecOf(type: OpType): MessageCodec<unknown> {
  return messageCodec<unknown>(REQUEST_MESSAGE[type]);
}

function isOpType(n: number): n is OpType {
  return Number.isInteger(n) && n >= OpType.CreatePartition && n <= OpType.BatchCreateInode;
}

/** Frames an RPC request (a decoded or plain request object) as a log entry. */
export function encodeEntry(type: OpType, request: object): Uint8Array {
  assert(isOpType(type), `op type ${type}`);
  const body = codecOf(type).encode(request);
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, false);
  view.setUint32(4, body.byteLength, false);
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * True if the entry's header names an op type newer than this version knows.
 * Such an entry comes from a newer leader (a rolling upgrade in the wrong
 * order); refusing it as a no-op here while newer replicas apply it would make
 * the replicas diverge, so the caller must stop instead.
 */
export function isEntryFromNewerVersion(data: Uint8Array): boolean {
  if (data.byteLength < HEADER_BYTES) return false;
  const type = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, false);
  return type > OpType.BatchCreateInode;
}

/** The op of a log entry, or undefined if the entry is not one this version understands. */
export function decodeEntry(data: Uint8Array): MetaOp | undefined {
  if (data.byteLength < HEADER_BYTES) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = view.getUint32(0, false);
  const length = view.getUint32(4, false);
  if (!isOpType(type) || length !== data.byteLength - HEADER_BYTES) return undefined;
  let request: unknown;
  try {
    request = codecOf(type).decode(data.subarray(HEADER_BYTES));
  } catch {
    return undefined;
  }
  return opFromRequest(type, request);
}

const timeOf = (sec: number, nsec: number): Timespec => ({ sec, nsec });

function chunkInfoOf(c: WireChunkInfo): ChunkInfo {
  return { chunkId: c.chunkId, compaction: c.compaction, offset: c.offset, length: c.len, zero: c.zero };
}

function xattrMap(record: Record<string, Buffer> | undefined): Map<string, Uint8Array> {
  return new Map(Object.entries(record ?? {}));
}

/** A chunk map as appends in chunk order (the same order on every replica). */
function appendsOf(chunks: AppendChunkInfoRequest['chunks']): { chunkIndex: number; info: ChunkInfo }[] {
  return Object.entries(chunks)
    .map(([index, list]) => ({ chunkIndex: Number(index), infos: list.infos }))
    .sort((a, b) => a.chunkIndex - b.chunkIndex)
    .flatMap((c) => c.infos.map((info) => ({ chunkIndex: c.chunkIndex, info: chunkInfoOf(info) })));
}

/** Maps a decoded request (loader conventions: defaults filled in) to the state machine's op. */
export function opFromRequest(type: OpType, request: unknown): MetaOp {
  return withRequestId(opOf(type, request), request);
}

/** Changes that carry one: the client's id of this change, the same on every resend. */
function withRequestId<T extends MetaOp>(op: T, request: unknown): T {
  const requestId = (request as { requestId?: unknown }).requestId;
  return typeof requestId === 'string' && requestId !== '' ? { ...op, requestId } : op;
}

function createInodeOpOf(r: CreateInodeRequest, base: { fsId: number; partitionId: number }): CreateInodeOp {
  return {
    type: OpType.CreateInode, ...base, fileType: r.type as number as FileType, mode: r.mode, uid: r.uid, gid: r.gid, rdev: r.rdev,
    symlink: r.symlink, parent: r.parent, time: timeOf(r.timeSec, r.timeNs), xattrs: xattrMap(r.xattrs),
    ...(typeof r.dentryName === 'string' && r.dentryName !== '' ? { dentryName: r.dentryName } : {}),
  };
}

function opOf(type: OpType, request: unknown): MetaOp {
  const routed = request as { fsId: number; partitionId: number };
  const base = { fsId: routed.fsId, partitionId: routed.partitionId };
  switch (type) {
    case OpType.CreatePartition: {
      const r = request as MetaServerCreatePartitionRequest;
      const p = r.partition;
      return {
        type,
        fsId: r.fsId !== 0 ? r.fsId : (p?.fsId ?? 0),
        partitionId: r.partitionId !== 0 ? r.partitionId : (p?.partitionId ?? 0),
        start: p?.start ?? 0,
        end: p?.end ?? -1,
      };
    }
    case OpType.DeletePartition:
      return { type, ...base };
    case OpType.CreateRootInode: {
      const r = request as CreateRootInodeRequest;
      return { type, ...base, mode: r.mode, uid: r.uid, gid: r.gid, time: timeOf(r.timeSec, r.timeNs) };
    }
    case OpType.CreateInode:
      return createInodeOpOf(request as CreateInodeRequest, base);
    case OpType.BatchCreateInode: {
      const r = request as BatchCreateInodeRequest;
      // Every item is routed as the batch is: its own header fields are ignored.
      return { type, ...base, items: r.items.map((item) => withRequestId(createInodeOpOf(item, base), item)) };
    }
    case OpType.UpdateInode:
      return updateOpOf(request as UpdateInodeRequest);
    case OpType.DeleteInode:
      return { type, ...base, inodeId: (request as DeleteInodeRequest).inodeId };
    case OpType.CreateDentry: {
      const r = request as CreateDentryRequest;
      const d = r.dentry;
      return {
        type, ...base, parentId: d?.parentInodeId ?? 0, name: d?.name ?? '', inodeId: d?.inodeId ?? 0,
        fileType: (d?.type ?? 0) as number as FileType, time: timeOf(r.timeSec, r.timeNs),
      };
    }
    case OpType.DeleteDentry: {
      const r = request as DeleteDentryRequest;
      return {
        type, ...base, parentId: r.parentInodeId, name: r.name, expectedInodeId: r.expectedInodeId,
        fileType: r.type as number as FileType | 0, time: timeOf(r.timeSec, r.timeNs),
        ...(r.unlinkChild === true ? { unlinkChild: true } : {}),
      };
    }
    case OpType.Rename: {
      const r = request as RenameRequest;
      return {
        type, ...base, srcParentId: r.srcParentInodeId, srcName: r.srcName, dstParentId: r.dstParentInodeId,
        dstName: r.dstName, time: timeOf(r.timeSec, r.timeNs),
        // Only when set: an entry logged before these fields existed replays unchecked, as it applied.
        ...(r.srcInodeId !== 0 ? { srcInodeId: r.srcInodeId, expectedDstInodeId: r.expectedDstInodeId } : {}),
      };
    }
    case OpType.AppendChunkInfo: {
      const r = request as AppendChunkInfoRequest;
      const appends = appendsOf(r.chunks);
      const mtime = r.mtime !== 0 || r.mtimeNs !== 0 ? { mtime: timeOf(r.mtime, r.mtimeNs) } : {};
      return { type, ...base, inodeId: r.inodeId, appends, length: r.length, ...mtime };
    }
    case OpType.ReplaceChunkInfo: {
      const r = request as ReplaceChunkInfoRequest;
      return {
        type, ...base, inodeId: r.inodeId, chunkIndex: r.chunkIndex,
        expected: r.expected.map(chunkInfoOf), replacement: r.replacement.map(chunkInfoOf),
      };
    }
    case OpType.PrewriteRename: {
      const r = request as PrewriteRenameRequest;
      return {
        type, ...base,
        primary: { fsId: r.primary?.fsId ?? r.fsId, parentId: r.primary?.parentInodeId ?? 0, name: r.primary?.name ?? '' },
        startTs: r.startTs, ttlMs: r.ttlMs, lockTimeMs: r.lockTimeMs, time: timeOf(r.timeSec, r.timeNs),
        writes: r.writes.map((w) => ({
          parentId: w.parentInodeId, name: w.name, isDelete: w.isDelete, inodeId: w.inodeId,
          fileType: w.type as number as FileType, expectedInodeId: w.expectedInodeId,
        })),
        inodeChanges: r.inodeChanges.map((c) => ({
          inodeId: c.inodeId, nlinkDelta: c.nlinkDelta, addParents: c.addParents, removeParents: c.removeParents,
        })),
        emptyDirs: r.emptyDirs,
        secondaries: r.secondaryPartitions,
      };
    }
    case OpType.CommitRename: {
      const r = request as CommitRenameRequest;
      if (r.rollback) return { type: OpType.ResolveTxLock, ...base, startTs: r.startTs, commitTs: 0, nowMs: 0, byOwner: true };
      return { type, ...base, startTs: r.startTs, commitTs: r.commitTs };
    }
    case OpType.ResolveTxLock: {
      const r = request as ResolveTxLockRequest;
      return { type, ...base, startTs: r.startTs, commitTs: r.commitTs, nowMs: r.nowMs };
    }
    case OpType.SetCopysetVoters:
      return { type, ...base, voters: (request as { voters: string[] }).voters };
    case OpType.Truncate: {
      const r = request as TruncateRequest;
      return { type, ...base, inodeId: r.inodeId, length: r.length, zeroAppends: appendsOf(r.chunks), time: timeOf(r.timeSec, r.timeNs) };
    }
  }
}

/** Field names of UpdateInodeRequest that `set_fields` may name. */
const SETTABLE = new Set(['mode', 'uid', 'gid', 'length', 'rdev', 'atime', 'mtime', 'ctime']);

function updateOpOf(r: UpdateInodeRequest): UpdateInodeOp {
  const set = new Set(r.setFields.filter((f) => SETTABLE.has(f)));
  const op: { -readonly [K in keyof UpdateInodeOp]: UpdateInodeOp[K] } = {
    type: OpType.UpdateInode,
    fsId: r.fsId,
    partitionId: r.partitionId,
    inodeId: r.inodeId,
    expectedVersion: r.expectedVersion,
  };
  if (set.has('mode')) op.mode = r.mode;
  if (set.has('uid')) op.uid = r.uid;
  if (set.has('gid')) op.gid = r.gid;
  if (set.has('length')) op.length = r.length;
  if (set.has('rdev')) op.rdev = r.rdev;
  if (set.has('atime')) op.atime = timeOf(r.atime, r.atimeNs);
  if (set.has('mtime')) op.mtime = timeOf(r.mtime, r.mtimeNs);
  if (set.has('ctime')) op.ctime = timeOf(r.ctime, r.ctimeNs);
  if (Object.keys(r.setXattrs).length > 0) op.setXattrs = xattrMap(r.setXattrs);
  if (r.xattrSetMode !== 0) op.xattrSetMode = r.xattrSetMode;
  if (r.removeXattrs.length > 0) op.removeXattrs = r.removeXattrs;
  if (r.nlinkDelta !== 0) op.nlinkDelta = r.nlinkDelta;
  if (r.addParents.length > 0) op.addParents = r.addParents;
  if (r.removeParents.length > 0) op.removeParents = r.removeParents;
  if (r.openCountDelta !== 0) op.openCountDelta = r.openCountDelta;
  // An unknown name in set_fields is a malformed request: refuse it rather than ignore it.
  if (r.setFields.some((f) => !SETTABLE.has(f))) op.expectedVersion = -1;
  return op;
}
