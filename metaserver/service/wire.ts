/**
 * State-machine records → metaserver.proto reply shapes (times split into
 * seconds and nanoseconds, maps as records keyed by decimal strings, chunk
 * info `length` as `len`).
 */
import { Buffer } from 'node:buffer';
import type { PartitionInfo as WirePartitionInfo } from '../../src/proto/types-common.js';
import type { ChunkMap, Dentry, Inode, InodeAttr as WireInodeAttr, TxLock } from '../../src/proto/types-metaserver.js';
import type { TxLockInfo } from '../partition/ops.js';
import type { PartitionInfo } from '../partition/partition.js';
import type { ChunkInfo, DentryView, InodeAttr, InodeView } from '../partition/types.js';

export function attrToWire(a: InodeAttr): WireInodeAttr {
  return {
    fsId: a.fsId,
    inodeId: a.inodeId,
    type: a.type as number,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    nlink: a.nlink,
    length: a.length,
    rdev: a.rdev,
    atime: a.atime.sec,
    atimeNs: a.atime.nsec,
    mtime: a.mtime.sec,
    mtimeNs: a.mtime.nsec,
    ctime: a.ctime.sec,
    ctimeNs: a.ctime.nsec,
    symlink: a.symlink,
    parents: [...a.parents],
    version: a.version,
  };
}

export function chunksToWire(chunks: ReadonlyMap<number, readonly ChunkInfo[]>): ChunkMap {
  const out: ChunkMap = {};
  for (const [index, list] of chunks) {
    out[String(index)] = {
      infos: list.map((c) => ({ chunkId: c.chunkId, compaction: c.compaction, offset: c.offset, len: c.length, zero: c.zero })),
    };
  }
  return out;
}

export function xattrsToWire(xattrs: ReadonlyMap<string, Uint8Array>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of xattrs) out[k] = Buffer.from(v);
  return out;
}

export function inodeToWire(i: InodeView): Inode {
  return {
    ...attrToWire(i),
    xattrs: xattrsToWire(i.xattrs),
    chunks: chunksToWire(i.chunks),
    dtime: Math.max(0, i.dtimeSec),
    openCount: i.openCount,
  };
}

export function lockToWire(lock: TxLockInfo): TxLock {
  return {
    primary: { fsId: lock.primary.fsId, parentInodeId: lock.primary.parentId, name: lock.primary.name },
    startTs: lock.startTs,
    ttlMs: lock.ttlMs,
    lockTimeMs: lock.lockTimeMs,
  };
}

export function dentryToWire(d: DentryView): Dentry {
  return {
    fsId: d.fsId,
    parentInodeId: d.parentId,
    name: d.name,
    inodeId: d.inodeId,
    type: d.type as number,
    commitTs: d.commitTs,
    lock: null,
    isDelete: false,
  };
}

export function partitionToWire(p: PartitionInfo, poolId: number, copysetId: number): WirePartitionInfo {
  return {
    fsId: p.fsId,
    poolId,
    copysetId,
    partitionId: p.partitionId,
    start: p.start,
    end: p.end,
    nextId: p.nextId,
    status: p.status as number,
    inodeCount: p.inodeCount,
    dentryCount: p.dentryCount,
  };
}
