/**
 * Chunk and block arithmetic (DESIGN §5). Pure: no I/O, no clock.
 * A file is cut into chunks (default 64 MiB) and a chunk into blocks
 * (default 4 MiB); both sizes are fixed per file system at creation.
 */
import { assert, assertSafeUint } from '../common/assert.js';
import type { ChunkInfo } from './chunk-info.js';

export interface LayoutGeometry {
  readonly chunkSizeBytes: number;
  readonly blockSizeBytes: number;
}

export const DEFAULT_GEOMETRY: LayoutGeometry = { chunkSizeBytes: 64 << 20, blockSizeBytes: 4 << 20 };

export function assertGeometry(g: LayoutGeometry): void {
  assertSafeUint(g.chunkSizeBytes, 'chunkSizeBytes');
  assertSafeUint(g.blockSizeBytes, 'blockSizeBytes');
  assert(g.blockSizeBytes > 0, 'blockSizeBytes must be positive');
  assert(g.chunkSizeBytes >= g.blockSizeBytes, 'a chunk holds at least one block');
  assert(g.chunkSizeBytes % g.blockSizeBytes === 0, 'chunkSizeBytes must be a multiple of blockSizeBytes');
}

export function chunkIndexOf(g: LayoutGeometry, fileOffset: number): number {
  return Math.floor(fileOffset / g.chunkSizeBytes);
}

/** Index of the block inside its chunk. */
export function blockIndexOf(g: LayoutGeometry, fileOffset: number): number {
  return Math.floor((fileOffset % g.chunkSizeBytes) / g.blockSizeBytes);
}

export function chunkStartOf(g: LayoutGeometry, chunkIndex: number): number {
  return chunkIndex * g.chunkSizeBytes;
}

/** File offset of the first byte of block `blockIndex` of chunk `chunkIndex`. */
export function blockStartOf(g: LayoutGeometry, chunkIndex: number, blockIndex: number): number {
  return chunkIndex * g.chunkSizeBytes + blockIndex * g.blockSizeBytes;
}

/** A byte range of the file that lies inside one chunk. */
export interface ChunkRange {
  readonly chunkIndex: number;
  readonly offset: number;
  readonly length: number;
}

/** Cuts [offset, offset + length) at chunk boundaries. */
export function splitByChunk(g: LayoutGeometry, offset: number, length: number): ChunkRange[] {
  assertSafeUint(offset, 'offset');
  assertSafeUint(length, 'length');
  const out: ChunkRange[] = [];
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const chunkIndex = chunkIndexOf(g, pos);
    const stop = Math.min(end, chunkStartOf(g, chunkIndex + 1));
    out.push({ chunkIndex, offset: pos, length: stop - pos });
    pos = stop;
  }
  return out;
}

/**
 * One object of a record: the bytes of the record inside one block. The
 * object starts at the first byte the record holds in that block.
 */
export interface ObjectPiece {
  readonly blockIndex: number;
  /** File offset of the object's first byte. */
  readonly fileOffset: number;
  readonly length: number;
}

/** The objects a (non-zero) record's data is stored as, in file order. */
export function objectPiecesOf(g: LayoutGeometry, info: ChunkInfo): ObjectPiece[] {
  assert(!info.zero, 'zero records have no objects');
  const chunkIndex = chunkIndexOf(g, info.offset);
  const out: ObjectPiece[] = [];
  let pos = info.offset;
  const end = info.offset + info.length;
  while (pos < end) {
    const blockIndex = blockIndexOf(g, pos);
    const stop = Math.min(end, blockStartOf(g, chunkIndex, blockIndex + 1));
    out.push({ blockIndex, fileOffset: pos, length: stop - pos });
    pos = stop;
  }
  assert(out.length > 0, 'a record touches at least one block');
  return out;
}

/**
 * File offset where the object of `info` in `blockIndex` starts, and its
 * length (the record clipped to the block).
 */
export function objectExtentOf(g: LayoutGeometry, info: ChunkInfo, blockIndex: number): ObjectPiece {
  const chunkIndex = chunkIndexOf(g, info.offset);
  const blockStart = blockStartOf(g, chunkIndex, blockIndex);
  const start = Math.max(info.offset, blockStart);
  const stop = Math.min(info.offset + info.length, blockStart + g.blockSizeBytes);
  assert(start < stop, `record does not touch block ${blockIndex}`);
  return { blockIndex, fileOffset: start, length: stop - start };
}
