/**
 * ObjectStore: the narrow seam to where file data lives (DESIGN §5, STYLE
 * "ObjectStore"). Keys are immutable: a key is written once and never
 * overwritten with other bytes, so every operation is idempotent and safe to
 * retry. Failures after retries are StorageError; a missing key is a
 * StorageError with code CURVEFS_ERR_NOT_FOUND (see isNotFound).
 */
import { CurveError } from '../common/errors.js';

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface ObjectInfo {
  readonly key: string;
  readonly sizeBytes: number;
}

export interface ListPage {
  readonly objects: readonly ObjectInfo[];
  /** Pass to the next list call; null when the listing is complete. */
  readonly cursor: string | null;
}

/** A buffer of exactly `bytes` bytes (contents undefined) to receive a body into. */
export type BodyAllocator = (bytes: number) => Buffer;

export interface ObjectStore {
  /** Short description for logs (never holds credentials). */
  readonly description: string;
  put(key: string, data: Uint8Array): Promise<void>;
  /**
   * The object's bytes, or bytes [offset, offset + length) of it. A range
   * that runs past the end is cut short; one that starts at or past the end
   * returns an empty buffer. Missing key: StorageError notFound.
   * `alloc`, when given, provides the buffer a whole object's bytes are
   * received into (the caller's buffer pool); a backend may call it once per
   * attempt and may ignore it.
   */
  get(key: string, range?: ByteRange, alloc?: BodyAllocator): Promise<Buffer>;
  /** Missing key: StorageError notFound. */
  head(key: string): Promise<ObjectInfo>;
  /** Deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Deletes many keys (missing ones are fine); batched by the backend. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Keys starting with prefix, in lexicographic order, from `cursor` on. */
  list(prefix: string, cursor?: string | null, limit?: number): Promise<ListPage>;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}

export function isNotFound(error: unknown): boolean {
  return CurveError.is(error) && error.code === 'CURVEFS_ERR_NOT_FOUND';
}

export const LIST_LIMIT_MAX = 1000;
