/**
 * Conversions between the VFS's metadata types (client/vfs/meta-api.ts,
 * src/layout/chunk-info.ts) and metaserver.proto messages. Pure.
 */
import { Buffer } from 'node:buffer';
import { assert } from '../../src/common/assert.js';
import type { ChunkInfo, ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import type { MessageInit } from '../../src/proto/types-common.js';
import type {
  ChunkMap,
  Dentry as WireDentry,
  InodeAttr as WireInodeAttr,
  UpdateInodeRequest,
  ChunkInfo as WireChunkInfo,
} from '../../src/proto/types-metaserver.js';
import { FileType, type Dentry, type InodeAttr, type InodeUpdate, type Timespec } from '../vfs/meta-api.js';

export function attrFromWire(a: WireInodeAttr): InodeAttr {
  assert(a.type >= FileType.Directory && a.type <= FileType.Block, `inode ${a.inodeId} has file type ${a.type}`);
  return {
    inodeId: a.inodeId,
    type: a.type as number as FileType,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    nlink: a.nlink,
    length: a.length,
    rdev: a.rdev,
    atime: { sec: a.atime, nsec: a.atimeNs },
    mtime: { sec: a.mtime, nsec: a.mtimeNs },
    ctime: { sec: a.ctime, nsec: a.ctimeNs },
    symlink: a.symlink,
    parents: [...a.parents],
    version: a.version,
  };
}

export function dentryFromWire(d: WireDentry): Dentry {
  assert(d.inodeId > 0, `dentry ${d.parentInodeId}/${d.name} names inode 0`);
  return { parentInodeId: d.parentInodeId, name: d.name, inodeId: d.inodeId, type: d.type as number as FileType };
}

export function xattrsToWire(xattrs: ReadonlyMap<string, Uint8Array> | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of xattrs ?? []) out[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return out;
}

export function xattrsFromWire(xattrs: Record<string, Buffer>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  // Copies: the caller owns what it gets (meta-api contract), not a view of a grpc buffer.
  for (const [k, v] of Object.entries(xattrs)) out.set(k, Uint8Array.from(v));
  return out;
}

/** The UpdateInodeRequest body (without the routing header) of an InodeUpdate. */
export function updateToWire(inodeId: number, u: InodeUpdate): MessageInit<UpdateInodeRequest> {
  const setFields: string[] = [];
  const body: { -readonly [K in keyof UpdateInodeRequest]?: MessageInit<UpdateInodeRequest[K]> } = { inodeId };
  if (u.mode !== undefined) (setFields.push('mode'), (body.mode = u.mode));
  if (u.uid !== undefined) (setFields.push('uid'), (body.uid = u.uid));
  if (u.gid !== undefined) (setFields.push('gid'), (body.gid = u.gid));
  if (u.length !== undefined) (setFields.push('length'), (body.length = u.length));
  if (u.atime !== undefined) (setFields.push('atime'), (body.atime = u.atime.sec), (body.atimeNs = u.atime.nsec));
  if (u.mtime !== undefined) (setFields.push('mtime'), (body.mtime = u.mtime.sec), (body.mtimeNs = u.mtime.nsec));
  if (u.ctime !== undefined) (setFields.push('ctime'), (body.ctime = u.ctime.sec), (body.ctimeNs = u.ctime.nsec));
  if (u.setXattrs !== undefined && u.setXattrs.size > 0) body.setXattrs = xattrsToWire(u.setXattrs);
  if (u.removeXattrs !== undefined && u.removeXattrs.length > 0) body.removeXattrs = [...u.removeXattrs];
  if (u.nlinkDelta !== undefined && u.nlinkDelta !== 0) body.nlinkDelta = u.nlinkDelta;
  if (u.addParents !== undefined && u.addParents.length > 0) body.addParents = [...u.addParents];
  if (u.removeParents !== undefined && u.removeParents.length > 0) body.removeParents = [...u.removeParents];
  if (u.expectedVersion !== undefined) {
    assert(Number.isSafeInteger(u.expectedVersion) && u.expectedVersion > 0, `expected version ${u.expectedVersion}`);
    body.expectedVersion = u.expectedVersion;
  }
  body.setFields = setFields;
  return body;
}

export function chunkInfoFromWire(c: WireChunkInfo): ChunkInfo {
  return { chunkId: c.chunkId, compaction: c.compaction, offset: c.offset, length: c.len, zero: c.zero };
}

export function chunkInfoToWire(c: ChunkInfo): WireChunkInfo {
  return { chunkId: c.chunkId, compaction: c.compaction, offset: c.offset, len: c.length, zero: c.zero };
}

/** Appends grouped by chunk index, in the order given within each chunk. */
export function appendsToWire(records: readonly ChunkInfoAppend[]): ChunkMap {
  const out: ChunkMap = {};
  for (const r of records) {
    assert(Number.isSafeInteger(r.chunkIndex) && r.chunkIndex >= 0, `chunk index ${r.chunkIndex}`);
    const key = String(r.chunkIndex);
    (out[key] ??= { infos: [] }).infos.push(chunkInfoToWire(r.info));
  }
  return out;
}

/** A Timespec as the (sec, ns) pair most requests carry. */
export function timeToWire(t: Timespec): { timeSec: number; timeNs: number } {
  assert(Number.isSafeInteger(t.sec) && t.sec >= 0, `time sec ${t.sec}`);
  assert(Number.isInteger(t.nsec) && t.nsec >= 0 && t.nsec < 1e9, `time nsec ${t.nsec}`);
  return { timeSec: t.sec, timeNs: t.nsec };
}
