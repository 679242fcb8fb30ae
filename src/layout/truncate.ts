/**
 * Truncate on ChunkInfo lists, pure (used by the metaserver when it applies
 * a truncate, by the client's reference store in tests, and by the compactor).
 *
 * Shrinking drops records that start at or past the new length and clips the
 * ones that straddle it. Clipping only shortens a record: its objects still
 * start where they did, so the object names and offsets stay valid.
 * Extending adds `zero` records over [oldLength, newLength): whatever an
 * older record might still claim there (a list trimmed lazily, a stale
 * replay) reads as zeros, as POSIX requires.
 */
import { assert, assertSafeUint } from '../common/assert.js';
import type { ChunkInfo, ChunkInfoAppend } from './chunk-info.js';
import { splitByChunk, type LayoutGeometry } from './geometry.js';

export function trimChunkInfos(records: readonly ChunkInfo[], newLength: number): ChunkInfo[] {
  assertSafeUint(newLength, 'newLength');
  const out: ChunkInfo[] = [];
  for (const rec of records) {
    if (rec.offset >= newLength) continue;
    if (rec.offset + rec.length <= newLength) out.push(rec);
    else out.push({ ...rec, length: newLength - rec.offset });
  }
  return out;
}

/**
 * Zero records covering [oldLength, newLength). One chunk id serves every
 * chunk: zero records have no objects, so no key can collide.
 */
export function zeroRecordsForExtend(
  g: LayoutGeometry,
  oldLength: number,
  newLength: number,
  chunkId: number,
): ChunkInfoAppend[] {
  assert(newLength >= oldLength, 'extend only grows a file');
  return splitByChunk(g, oldLength, newLength - oldLength).map((r) => ({
    chunkIndex: r.chunkIndex,
    info: { chunkId, compaction: 0, offset: r.offset, length: r.length, zero: true },
  }));
}
