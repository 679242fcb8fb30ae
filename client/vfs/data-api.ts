/**
 * The minimal file-data seam the VFS needs from the data path (`client/data/`,
 * DESIGN §5). The VFS opens one `FileData` per inode while any handle on it is
 * open and shares it between handles, so every handle of this client sees the
 * writes of the others at once.
 *
 * Contract:
 * - `write` may buffer; it resolves when the bytes are accepted (memory has a
 *   ceiling: it may wait). `read` sees this object's own unflushed writes.
 * - `flush` and `fsync` resolve once all accepted writes are durable in the
 *   object store (or staged in the write-back journal) AND their chunk infos
 *   and the new length are committed in metadata (close-to-open, DESIGN §6).
 *   Given an `mtime`, they may commit it (as mtime and ctime) in the same
 *   metadata operation as the last of those writes, and resolve to true if
 *   they did; false (nothing to commit, or committed otherwise) leaves
 *   setting it to the caller.
 * - `truncate` commits the new length in metadata (and drops or zero-fills
 *   what it must) before resolving; buffered writes past it are cut.
 * - `length()` is the file length as this client sees it now, including
 *   buffered writes not yet committed.
 * - Failures throw values `toErrno` understands (StorageError, MetaError...).
 */
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import type { InodeId, Timespec } from './meta-api.js';

export interface FileData {
  readonly inodeId: InodeId;
  /** Reads up to `length` bytes at `offset` into `into`; returns the count (0 at EOF). */
  read(offset: number, length: number, into: Buffer): Promise<number>;
  /** `data` is borrowed until the promise resolves (FUSE reuses it): copy what is kept. */
  write(offset: number, data: Buffer): Promise<void>;
  flush(mtime?: Timespec): Promise<boolean>;
  fsync(mtime?: Timespec): Promise<boolean>;
  truncate(length: number): Promise<void>;
  length(): number;
  /** Flushes and releases buffers; the object is unusable afterwards. */
  close(): Promise<void>;
}

export interface FileDataApi {
  /**
   * `lengthBytes` is the committed length from metadata when the first handle
   * opens. `chunks`, when given, are the chunk lists read with that length
   * (same reply): the data path may use them instead of loading its own.
   */
  open(inodeId: InodeId, lengthBytes: number, chunks?: ReadonlyMap<number, readonly ChunkInfo[]>): Promise<FileData>;
}
