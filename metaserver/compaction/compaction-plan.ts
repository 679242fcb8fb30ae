/**
 * What compacting one chunk means (DESIGN §9), pure: no I/O, no clock.
 *
 * `assessChunk` decides whether a chunk's ChunkInfo list is worth
 * rewriting (too many records, records mostly hidden by newer ones, or
 * records past the end of the file). `planChunkCompaction` resolves the
 * chunk's live bytes with the same read resolution the client uses
 * (src/layout) and lays them out again as few records as possible: one
 * record per run of live data (runs closer than `mergeGapBytes` are joined,
 * the gap written as zeros, which is what a hole reads as), all under the
 * newest data chunk id of the list with a compaction version one above any
 * that id has, so no new object key can equal a key the list references.
 *
 * Bytes past the file length are dropped: nothing reads them (a later
 * extending truncate masks that range with zero records anyway).
 */
import { assert } from '../../src/common/assert.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import { blockIndexOf, chunkStartOf, objectPiecesOf, type LayoutGeometry } from '../../src/layout/geometry.js';
import { resolveChunkRead, type ObjectSegment } from '../../src/layout/read-resolution.js';

export interface CompactionThresholds {
  /** A chunk with more records than this is compacted (DESIGN §9: 20). */
  readonly recordsMax: number;
  /** Or when its data records claim at least this many times the bytes still live (overlap). */
  readonly overlapRatioMax: number;
  /** Or when a record reaches past the end of the file. */
  readonly trimPastEof: boolean;
  /** Live runs closer than this are written as one record (the gap as zeros). */
  readonly mergeGapBytes: number;
}

export const DEFAULT_THRESHOLDS: CompactionThresholds = {
  recordsMax: 20,
  overlapRatioMax: 4,
  trimPastEof: true,
  mergeGapBytes: 256 << 10,
};

export interface ChunkAssessment {
  readonly records: number;
  /** Bytes the data (non-zero) records claim, overlaps counted each time. */
  readonly claimedBytes: number;
  /** Bytes of the chunk inside the file length that resolve to object data. */
  readonly liveBytes: number;
  readonly pastEof: boolean;
  /** Why it should be compacted, or null if it should not. */
  readonly reason: 'records' | 'overlap' | 'past-eof' | null;
}

function chunkEndWithin(g: LayoutGeometry, chunkIndex: number, fileLength: number): number {
  const start = chunkStartOf(g, chunkIndex);
  return Math.max(start, Math.min(start + g.chunkSizeBytes, fileLength));
}

function liveSegments(g: LayoutGeometry, chunkIndex: number, records: readonly ChunkInfo[], fileLength: number): ObjectSegment[] {
  const start = chunkStartOf(g, chunkIndex);
  const end = chunkEndWithin(g, chunkIndex, fileLength);
  if (end <= start) return [];
  return resolveChunkRead(g, chunkIndex, records, start, end - start).filter((s): s is ObjectSegment => s.kind === 'object');
}

export function assessChunk(
  g: LayoutGeometry,
  chunkIndex: number,
  records: readonly ChunkInfo[],
  fileLength: number,
  t: CompactionThresholds,
): ChunkAssessment {
  const claimedBytes = records.reduce((sum, r) => sum + (r.zero ? 0 : r.length), 0);
  const liveBytes = liveSegments(g, chunkIndex, records, fileLength).reduce((sum, s) => sum + s.length, 0);
  const pastEof = records.some((r) => r.offset + r.length > fileLength);
  let reason: ChunkAssessment['reason'] = null;
  if (records.length > t.recordsMax) reason = 'records';
  else if (records.length > 1 && claimedBytes > 0 && claimedBytes >= t.overlapRatioMax * Math.max(liveBytes, 1)) reason = 'overlap';
  else if (pastEof && t.trimPastEof) reason = 'past-eof';
  return { records: records.length, claimedBytes, liveBytes, pastEof, reason };
}

/** One new object: its bytes are the concatenation of `sources` (object ranges or zeros). */
export interface PlannedObject {
  readonly chunkId: number;
  readonly compaction: number;
  readonly blockIndex: number;
  readonly fileOffset: number;
  readonly length: number;
  /** Tiles [fileOffset, fileOffset + length) in order; 'zero' parts are holes filled with zeros. */
  readonly sources: readonly PlannedSource[];
}

export type PlannedSource =
  | { readonly kind: 'zero'; readonly length: number }
  | {
      readonly kind: 'object';
      readonly length: number;
      readonly chunkId: number;
      readonly compaction: number;
      readonly blockIndex: number;
      readonly objectOffset: number;
    };

/** An object named by the parts of its key that vary within one inode. */
export interface ObjectName {
  readonly chunkId: number;
  readonly blockIndex: number;
  readonly compaction: number;
}

export interface CompactionPlan {
  readonly chunkIndex: number;
  /** The list as read: ReplaceChunkInfo commits only if the chunk still holds exactly this. */
  readonly expected: readonly ChunkInfo[];
  readonly replacement: readonly ChunkInfo[];
  readonly writes: readonly PlannedObject[];
  /** Objects of `expected` that nothing references once the replacement commits. */
  readonly superseded: readonly ObjectName[];
  readonly bytesToRead: number;
}

/** Every object a list's data records reference (a record's objects: one per block it touches). */
export function objectsOfRecords(g: LayoutGeometry, records: readonly ChunkInfo[]): ObjectName[] {
  const seen = new Set<string>();
  const out: ObjectName[] = [];
  for (const r of records) {
    if (r.zero) continue;
    for (const p of objectPiecesOf(g, r)) {
      const id = `${r.chunkId}_${p.blockIndex}_${r.compaction}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ chunkId: r.chunkId, blockIndex: p.blockIndex, compaction: r.compaction });
    }
  }
  return out;
}

interface Run {
  start: number;
  end: number;
}

/**
 * Live data runs, joined across gaps of at most `mergeGapBytes`, and always
 * when two runs touch one block: records sharing a chunk id and compaction
 * would otherwise name the same object for that block with different bytes.
 */
function runsOf(g: LayoutGeometry, segments: readonly ObjectSegment[], mergeGapBytes: number): Run[] {
  const runs: Run[] = [];
  for (const s of segments) {
    const last = runs[runs.length - 1];
    const sameBlock = last !== undefined && blockIndexOf(g, s.fileOffset) === blockIndexOf(g, last.end - 1);
    if (last !== undefined && (sameBlock || s.fileOffset - last.end <= mergeGapBytes)) last.end = s.fileOffset + s.length;
    else runs.push({ start: s.fileOffset, end: s.fileOffset + s.length });
  }
  return runs;
}

/** The sources tiling [start, end) from the live segments (file order); uncovered parts are zeros. */
function sourcesFor(segments: readonly ObjectSegment[], start: number, end: number): PlannedSource[] {
  const out: PlannedSource[] = [];
  let pos = start;
  for (const s of segments) {
    const from = Math.max(start, s.fileOffset);
    const to = Math.min(end, s.fileOffset + s.length);
    if (from >= to) continue;
    if (from > pos) out.push({ kind: 'zero', length: from - pos });
    out.push({
      kind: 'object',
      length: to - from,
      chunkId: s.chunkId,
      compaction: s.compaction,
      blockIndex: s.blockIndex,
      objectOffset: s.objectOffset + (from - s.fileOffset),
    });
    pos = to;
  }
  if (pos < end) out.push({ kind: 'zero', length: end - pos });
  return out;
}

/**
 * The rewrite of one chunk, or null when it would not shrink the list
 * (compaction must make progress or leave the chunk alone).
 */
export function planChunkCompaction(
  g: LayoutGeometry,
  chunkIndex: number,
  records: readonly ChunkInfo[],
  fileLength: number,
  mergeGapBytes: number,
): CompactionPlan | null {
  assert(Number.isSafeInteger(mergeGapBytes) && mergeGapBytes >= 0, 'mergeGapBytes is a byte count');
  if (records.length === 0) return null;
  const data = records.filter((r) => !r.zero);
  const segments = liveSegments(g, chunkIndex, records, fileLength);
  const runs = runsOf(g, segments, mergeGapBytes);
  const pastEof = records.some((r) => r.offset + r.length > fileLength);
  if (runs.length >= records.length && !pastEof) return null;
  let replacement: ChunkInfo[] = [];
  const writes: PlannedObject[] = [];
  if (runs.length > 0) {
    // Data runs exist only if data records do.
    const chunkId = Math.max(...data.map((r) => r.chunkId));
    const compaction = 1 + Math.max(...data.filter((r) => r.chunkId === chunkId).map((r) => r.compaction));
    replacement = runs.map((run) => ({ chunkId, compaction, offset: run.start, length: run.end - run.start, zero: false }));
    for (const rec of replacement) {
      for (const piece of objectPiecesOf(g, rec)) {
        writes.push({
          chunkId,
          compaction,
          blockIndex: piece.blockIndex,
          fileOffset: piece.fileOffset,
          length: piece.length,
          sources: sourcesFor(segments, piece.fileOffset, piece.fileOffset + piece.length),
        });
      }
    }
  }
  const bytesToRead = segments.reduce((sum, s) => sum + s.length, 0);
  return { chunkIndex, expected: records.slice(), replacement, writes, superseded: objectsOfRecords(g, data), bytesToRead };
}
