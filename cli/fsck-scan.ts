/**
 * The check behind `curvefs fsck` (DESIGN §8): compares the objects in the
 * fs's object store with the objects its inodes' chunk lists reference.
 *  - orphan: an object no inode references (its inode is gone, a truncate
 *    or a compaction left it, a client died between PUT and commit);
 *  - missing: a referenced object that is not in the store (data loss).
 * Inodes come from a walk of the directory tree from the root plus every
 * inode id named by an object key (unlinked inodes awaiting deletion are
 * reachable only that way). Chunks are read up to the inode's length.
 *
 * Meant for a quiet fs: objects a client is writing right now, or that the
 * data services will delete after their grace period, show as orphans.
 */
import { MetaError } from '../src/common/errors.js';
import { MetaStatusCode } from '../src/common/meta-status.js';
import type { LayoutGeometry } from '../src/layout/geometry.js';
import { objectKey, parseObjectKey } from '../src/layout/object-key.js';
import type { ChunkInfo } from '../src/layout/chunk-info.js';
import type { ObjectStore } from '../src/object/object-store.js';
import { objectsOfRecords } from '../metaserver/compaction/compaction-plan.js';
import { FileType, ROOT_INODE_ID, type InodeAttr } from '../client/vfs/meta-api.js';
import type { MetaClient } from '../client/meta/meta-client.js';

/** Directory entries per ListDentry page. */
const LIST_PAGE = 1000;
/** Inodes checked at once. */
const INODES_IN_FLIGHT = 8;
/** Directories walked at most (a bound, not an expected size). */
const DIRS_MAX = 10_000_000;

export interface FsckInput {
  readonly meta: Pick<MetaClient, 'listDentry' | 'getInodeAttr' | 'getChunkInfos'>;
  readonly store: ObjectStore;
  readonly fsId: number;
  readonly keyPrefix: string;
  readonly geometry: LayoutGeometry;
  /** Called as inodes are checked (for a progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FsckReport {
  readonly objects: number;
  readonly inodes: number;
  readonly orphans: readonly string[];
  readonly missing: readonly { readonly key: string; readonly inodeId: number }[];
}

/** Every file inode reachable from the root (hard links counted once). */
async function walkTree(meta: FsckInput['meta']): Promise<Set<number>> {
  const files = new Set<number>();
  const dirs: number[] = [ROOT_INODE_ID];
  for (let walked = 0; dirs.length > 0 && walked < DIRS_MAX; walked++) {
    const dir = dirs.pop()!;
    let last = '';
    for (;;) {
      const page = await meta.listDentry(dir, last, LIST_PAGE);
      for (const d of page) {
        if (d.type === FileType.Directory) dirs.push(d.inodeId);
        else if (d.type === FileType.File) files.add(d.inodeId);
      }
      if (page.length < LIST_PAGE) break;
      last = page[page.length - 1]!.name;
    }
  }
  return files;
}

/** Object keys of this fs grouped by inode. */
async function listObjects(input: FsckInput): Promise<{ count: number; byInode: Map<number, Set<string>> }> {
  const byInode = new Map<number, Set<string>>();
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = await input.store.list(`${input.keyPrefix}/`, cursor, 1000);
    for (const o of page.objects) {
      const parts = parseObjectKey(o.key);
      if (parts === null || parts.fsId !== input.fsId || parts.prefix !== input.keyPrefix) continue;
      count++;
      let keys = byInode.get(parts.inodeId);
      if (keys === undefined) byInode.set(parts.inodeId, (keys = new Set()));
      keys.add(o.key);
    }
    cursor = page.cursor;
  } while (cursor !== null);
  return { count, byInode };
}

async function attrOrNull(meta: FsckInput['meta'], inodeId: number): Promise<InodeAttr | null> {
  try {
    return await meta.getInodeAttr(inodeId);
  } catch (error) {
    if (error instanceof MetaError && error.status === MetaStatusCode.NOT_FOUND) return null;
    throw error;
  }
}

/** The keys an inode's chunk lists reference. */
async function referencedKeys(input: FsckInput, attr: InodeAttr): Promise<Set<string>> {
  const keys = new Set<string>();
  const chunks = Math.ceil(attr.length / input.geometry.chunkSizeBytes);
  for (let chunkIndex = 0; chunkIndex < chunks; chunkIndex++) {
    const records: ChunkInfo[] = await input.meta.getChunkInfos(attr.inodeId, chunkIndex);
    for (const o of objectsOfRecords(input.geometry, records)) {
      keys.add(objectKey(input.keyPrefix, { fsId: input.fsId, inodeId: attr.inodeId, ...o }));
    }
  }
  return keys;
}

/** Referenced keys, or none if the inode went away while it was read (deleted meanwhile). */
async function referencedOrGone(input: FsckInput, attr: InodeAttr): Promise<Set<string>> {
  try {
    return await referencedKeys(input, attr);
  } catch (error) {
    if (error instanceof MetaError && error.status === MetaStatusCode.NOT_FOUND) return new Set();
    throw error;
  }
}

export async function fsckScan(input: FsckInput): Promise<FsckReport> {
  const listed = await listObjects(input);
  const inodes = await walkTree(input.meta);
  for (const id of listed.byInode.keys()) inodes.add(id);
  const ids = [...inodes].sort((a, b) => a - b);
  const orphans: string[] = [];
  const missing: { key: string; inodeId: number }[] = [];
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const inodeId = ids[next++]!;
      const present = listed.byInode.get(inodeId) ?? new Set<string>();
      const attr = await attrOrNull(input.meta, inodeId);
      const referenced = attr === null || attr.type !== FileType.File ? new Set<string>() : await referencedOrGone(input, attr);
      for (const key of present) if (!referenced.has(key)) orphans.push(key);
      for (const key of referenced) if (!present.has(key)) missing.push({ key, inodeId });
      input.onProgress?.(++done, ids.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(INODES_IN_FLIGHT, ids.length) }, worker));
  orphans.sort();
  missing.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { objects: listed.count, inodes: ids.length, orphans, missing };
}

export function fsckSummary(report: FsckReport): string {
  return `fsck: ${report.objects} objects, ${report.orphans.length} orphans, ${report.missing.length} missing`;
}
