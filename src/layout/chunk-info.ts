/**
 * ChunkInfo: one flushed write range of a file (DESIGN §5). A record claims
 * the bytes [offset, offset + length) of the file (absolute file offsets, all
 * inside one chunk). Its data lives in one object per block it touches, or
 * nowhere when `zero` is set (an extending truncate: the range reads as zeros).
 * Within a chunk a higher chunkId is a newer write; `compaction` only names
 * the object version a compactor rewrote the record into.
 */
import { assert, assertSafeUint } from '../common/assert.js';

export interface ChunkInfo {
  readonly chunkId: number;
  readonly compaction: number;
  /** Absolute file offset of the first byte the record claims. */
  readonly offset: number;
  readonly length: number;
  readonly zero: boolean;
}

/** A record together with the chunk it belongs to (appends name the chunk). */
export interface ChunkInfoAppend {
  readonly chunkIndex: number;
  readonly info: ChunkInfo;
}

export function assertChunkInfo(info: ChunkInfo, chunkSizeBytes: number): void {
  assertSafeUint(info.chunkId, 'chunkId');
  assertSafeUint(info.compaction, 'compaction');
  assertSafeUint(info.offset, 'offset');
  assertSafeUint(info.length, 'length');
  assert(info.length > 0, 'a chunk info claims at least one byte');
  const chunkIndex = Math.floor(info.offset / chunkSizeBytes);
  assert(
    info.offset + info.length <= (chunkIndex + 1) * chunkSizeBytes,
    `chunk info [${info.offset}, +${info.length}) crosses a chunk boundary`,
  );
}

/** Two records are the same write (an append replayed after a crash is a no-op). */
export function sameChunkInfo(a: ChunkInfo, b: ChunkInfo): boolean {
  return (
    a.chunkId === b.chunkId &&
    a.compaction === b.compaction &&
    a.offset === b.offset &&
    a.length === b.length &&
    a.zero === b.zero
  );
}
