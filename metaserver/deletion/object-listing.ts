/**
 * Listing and deleting the objects of one inode (every object of an inode
 * lives under one key prefix: src/layout/object-key.ts). Bounded: a listing
 * stops at `limit` keys and says so, so one huge inode cannot hold a pass.
 */
import { assert } from '../../src/common/assert.js';
import { parseObjectKey, type ObjectKeyParts } from '../../src/layout/object-key.js';
import { LIST_LIMIT_MAX, type ObjectStore } from '../../src/object/object-store.js';

/** Keys per deleteMany call (S3 DeleteObjects takes at most 1000). */
const DELETE_BATCH = 1000;

export interface ParsedObject extends ObjectKeyParts {
  readonly key: string;
  readonly sizeBytes: number;
}

export interface InodeListing {
  /** Data objects (keys that parse as object keys of this inode). */
  readonly objects: ParsedObject[];
  /** True if the listing stopped at the limit. */
  readonly isTruncated: boolean;
}

export async function listInodeObjects(
  store: ObjectStore,
  prefix: string,
  fsId: number,
  inodeId: number,
  limit: number,
): Promise<InodeListing> {
  assert(prefix.endsWith('/'), 'an inode key prefix ends with /');
  const objects: ParsedObject[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.list(prefix, cursor, LIST_LIMIT_MAX);
    for (const o of page.objects) {
      const parts = parseObjectKey(o.key);
      // Only this inode's data objects: anything else under the prefix is not ours to judge.
      if (parts === null || parts.fsId !== fsId || parts.inodeId !== inodeId) continue;
      objects.push({ ...parts, key: o.key, sizeBytes: o.sizeBytes });
    }
    cursor = page.cursor;
    if (objects.length >= limit && cursor !== null) return { objects, isTruncated: true };
  } while (cursor !== null);
  return { objects, isTruncated: false };
}

export async function deleteKeys(store: ObjectStore, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_BATCH) await store.deleteMany(keys.slice(i, i + DELETE_BATCH));
}

/** The short name of an object within its inode (`chunkId_blockIndex_compaction`). */
export function objectNameOf(o: { chunkId: number; blockIndex: number; compaction: number }): string {
  return `${o.chunkId}_${o.blockIndex}_${o.compaction}`;
}
