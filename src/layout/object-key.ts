/**
 * Object names (DESIGN §5):
 *   {prefix}/{hh}/{fsId}/{inodeId}/{chunkId}_{blockIndex}_{compaction}
 * `hh` is two hex digits of a hash of (fsId, inodeId): it spreads one file
 * system's keys over 256 prefixes (S3 partitions by prefix) while keeping
 * every object of an inode under one listable prefix (deletion, fsck).
 * Keys stay short on purpose: some servers store a key as a file name.
 */
import { assert, assertSafeUint } from '../common/assert.js';

export interface ObjectKeyParts {
  readonly fsId: number;
  readonly inodeId: number;
  readonly chunkId: number;
  readonly blockIndex: number;
  readonly compaction: number;
}

/** FNV-1a over the decimal ids: stable across processes and versions. */
function spreadHash(fsId: number, inodeId: number): string {
  const text = `${fsId}/${inodeId}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h & 0xff).toString(16).padStart(2, '0');
}

function assertPrefix(prefix: string): void {
  assert(prefix.length > 0 && !prefix.endsWith('/') && !prefix.startsWith('/'), `bad key prefix '${prefix}'`);
}

/** The prefix under which every object of one inode lives (ends with '/'). */
export function inodeKeyPrefix(prefix: string, fsId: number, inodeId: number): string {
  assertPrefix(prefix);
  assertSafeUint(fsId, 'fsId');
  assertSafeUint(inodeId, 'inodeId');
  return `${prefix}/${spreadHash(fsId, inodeId)}/${fsId}/${inodeId}/`;
}

export function objectKey(prefix: string, parts: ObjectKeyParts): string {
  assertSafeUint(parts.chunkId, 'chunkId');
  assertSafeUint(parts.blockIndex, 'blockIndex');
  assertSafeUint(parts.compaction, 'compaction');
  return `${inodeKeyPrefix(prefix, parts.fsId, parts.inodeId)}${parts.chunkId}_${parts.blockIndex}_${parts.compaction}`;
}

const KEY_PATTERN = /^(.+)\/([0-9a-f]{2})\/(\d+)\/(\d+)\/(\d+)_(\d+)_(\d+)$/;

/** Inverse of objectKey; null for a key that is not a data object (fsck, deletion). */
export function parseObjectKey(key: string): ({ prefix: string } & ObjectKeyParts) | null {
  const m = KEY_PATTERN.exec(key);
  if (m === null) return null;
  const nums = m.slice(3).map(Number);
  if (!nums.every((n) => Number.isSafeInteger(n))) return null;
  const [fsId, inodeId, chunkId, blockIndex, compaction] = nums as [number, number, number, number, number];
  if (spreadHash(fsId, inodeId) !== m[2]) return null;
  return { prefix: m[1]!, fsId, inodeId, chunkId, blockIndex, compaction };
}
