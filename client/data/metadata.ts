/**
 * The narrow seam between the data path and metadata. The metaserver client
 * (client/meta) implements these for real; tests use an in-process reference
 * (test/helpers/chunk-info-store-double.ts). The data path needs nothing else
 * from metadata.
 */
import type { Timespec } from '../../src/common/file-type.js';
import type { ChunkInfo, ChunkInfoAppend } from '../../src/layout/chunk-info.js';

export interface ChunkInfoStore {
  /** Every record of one chunk of the inode, in any order (resolution orders by chunk id). */
  getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]>;
  /**
   * Appends records to the inode in one atomic operation (AppendChunkInfo)
   * and raises its length to at least `newLength`. Called only after every
   * object of the records is durable in the object store. Must be idempotent:
   * a record that is already present (same chunk id, compaction, offset,
   * length, zero) is not added twice; a replay after a crash depends on it.
   * `mtime`, when given, becomes the inode's mtime and ctime in the same
   * operation (when split in several, with the last of them).
   */
  appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number, mtime?: Timespec): Promise<void>;
  /**
   * Sets the inode's length to exactly `newLength` in one operation. When it
   * shrinks, records are trimmed to the new length (`trimChunkInfos` of
   * src/layout); `zeroRecords` (non-empty only when it grows) are appended
   * in the same operation.
   */
  truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void>;
}

/** Chunk ids from the MDS (AllocateChunkIds): never reused, increasing per call. */
export interface ChunkIdAllocator {
  /** Reserves `count` ids and returns the first: the ids are [first, first + count). */
  allocate(count: number): Promise<number>;
}
