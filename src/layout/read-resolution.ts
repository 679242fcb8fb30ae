/**
 * Read resolution (DESIGN §5), pure. Per chunk, the ChunkInfo records are
 * walked newest first (higher chunkId, then higher compaction); each claims
 * the parts of the requested range that no newer record claimed. What no
 * record claims reads as zeros (holes, sparse files). `zero` records claim
 * their range as zeros (extending truncates). The compactor reuses this to
 * find the live ranges of a chunk.
 */
import { assert, assertSafeUint } from '../common/assert.js';
import type { ChunkInfo } from './chunk-info.js';
import { blockIndexOf, blockStartOf, chunkIndexOf, chunkStartOf, type LayoutGeometry } from './geometry.js';

export interface ZeroSegment {
  readonly kind: 'zero';
  readonly fileOffset: number;
  readonly length: number;
}

/** Bytes to read from one object: object bytes [objectOffset, objectOffset + length). */
export interface ObjectSegment {
  readonly kind: 'object';
  readonly fileOffset: number;
  readonly length: number;
  readonly chunkId: number;
  readonly compaction: number;
  readonly blockIndex: number;
  readonly objectOffset: number;
  /**
   * Bytes of the object the record still covers from the object's start. The
   * object is exactly this long unless a truncate clipped the record (then it
   * is longer); a reader that fetches the whole object gets at least this.
   */
  readonly objectLength: number;
}

export type ReadSegment = ZeroSegment | ObjectSegment;

/** Newest first: higher chunkId wins; for the same id a higher compaction wins. */
export function newestFirst(a: ChunkInfo, b: ChunkInfo): number {
  return b.chunkId - a.chunkId || b.compaction - a.compaction;
}

interface Interval {
  start: number;
  end: number;
}

/**
 * Resolves [offset, offset + length), which must lie inside chunk
 * `chunkIndex`, against that chunk's records. Returns segments that tile the
 * range exactly, in file order.
 */
export function resolveChunkRead(
  g: LayoutGeometry,
  chunkIndex: number,
  records: readonly ChunkInfo[],
  offset: number,
  length: number,
): ReadSegment[] {
  assertSafeUint(offset, 'offset');
  assertSafeUint(length, 'length');
  const chunkStart = chunkStartOf(g, chunkIndex);
  assert(offset >= chunkStart && offset + length <= chunkStart + g.chunkSizeBytes, 'read range leaves its chunk');
  const out: ReadSegment[] = [];
  let unclaimed: Interval[] = length > 0 ? [{ start: offset, end: offset + length }] : [];
  const ordered = [...records].sort(newestFirst);
  for (const rec of ordered) {
    if (unclaimed.length === 0) break;
    assert(chunkIndexOf(g, rec.offset) === chunkIndex, 'record belongs to another chunk');
    const recEnd = rec.offset + rec.length;
    const next: Interval[] = [];
    for (const iv of unclaimed) {
      const start = Math.max(iv.start, rec.offset);
      const end = Math.min(iv.end, recEnd);
      if (start >= end) {
        next.push(iv);
        continue;
      }
      if (iv.start < start) next.push({ start: iv.start, end: start });
      if (end < iv.end) next.push({ start: end, end: iv.end });
      claim(g, chunkIndex, rec, start, end, out);
    }
    unclaimed = next;
  }
  for (const iv of unclaimed) out.push({ kind: 'zero', fileOffset: iv.start, length: iv.end - iv.start });
  out.sort((a, b) => a.fileOffset - b.fileOffset);
  assertTiles(out, offset, length);
  return out;
}

/** Emits the segments for [start, end) claimed by `rec`, one per block for data. */
function claim(g: LayoutGeometry, chunkIndex: number, rec: ChunkInfo, start: number, end: number, out: ReadSegment[]): void {
  if (rec.zero) {
    out.push({ kind: 'zero', fileOffset: start, length: end - start });
    return;
  }
  let pos = start;
  while (pos < end) {
    const blockIndex = blockIndexOf(g, pos);
    const blockStart = blockStartOf(g, chunkIndex, blockIndex);
    const objectStart = Math.max(rec.offset, blockStart);
    const objectEnd = Math.min(rec.offset + rec.length, blockStart + g.blockSizeBytes);
    const stop = Math.min(end, objectEnd);
    out.push({
      kind: 'object',
      fileOffset: pos,
      length: stop - pos,
      chunkId: rec.chunkId,
      compaction: rec.compaction,
      blockIndex,
      objectOffset: pos - objectStart,
      objectLength: objectEnd - objectStart,
    });
    pos = stop;
  }
}

function assertTiles(segments: readonly ReadSegment[], offset: number, length: number): void {
  let pos = offset;
  for (const s of segments) {
    assert(s.fileOffset === pos && s.length > 0, 'segments must tile the read range');
    pos += s.length;
  }
  assert(pos === offset + length, 'segments must cover the read range');
}

/** Resolves a range that may span chunks; `recordsOf` gives each chunk's records. */
export function resolveRead(
  g: LayoutGeometry,
  recordsOf: (chunkIndex: number) => readonly ChunkInfo[],
  offset: number,
  length: number,
): ReadSegment[] {
  const out: ReadSegment[] = [];
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const chunkIndex = chunkIndexOf(g, pos);
    const stop = Math.min(end, chunkStartOf(g, chunkIndex + 1));
    out.push(...resolveChunkRead(g, chunkIndex, recordsOf(chunkIndex), pos, stop - pos));
    pos = stop;
  }
  return out;
}
