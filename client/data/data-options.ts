/** Configuration of the data path, with defaults and the checks that tie the limits together. */
import { assert } from '../../src/common/assert.js';
import { ConfigError } from '../../src/common/errors.js';
import { assertGeometry, type LayoutGeometry } from '../../src/layout/geometry.js';
import type { Logger } from '../../src/common/log.js';
import type { Registry } from 'prom-client';
import type { ObjectStore } from '../../src/object/object-store.js';
import type { ChunkIdAllocator, ChunkInfoStore } from './metadata.js';
import type { Timers } from './timers.js';

export interface DiskCacheOptions {
  readonly dir: string;
  /** Size limit of the read cache, and separately of staged (not yet uploaded) data. */
  readonly limitBytes: number;
  /** Write-back: flushes are acknowledged once staged on this disk (DESIGN §5, §6). */
  readonly writeBack: boolean;
}

export interface DataClientOptions {
  readonly fsId: number;
  readonly geometry: LayoutGeometry;
  /** First level of every object key (default 'data'). */
  readonly keyPrefix?: string;
  readonly store: ObjectStore;
  readonly chunkInfos: ChunkInfoStore;
  readonly chunkIds: ChunkIdAllocator;
  /** Ceiling of buffered bytes (dirty plus not yet durable); writers wait above it. */
  readonly memoryLimitBytes?: number;
  readonly uploadConcurrency?: number;
  readonly readConcurrency?: number;
  /** Dirty data older than this is flushed. */
  readonly flushIntervalMs?: number;
  /** How long fsync/close keep retrying a failing store before they fail with EIO. */
  readonly uploadTimeoutMs?: number;
  /** How long a write waits for buffer memory before it fails with EIO. */
  readonly writeWaitTimeoutMs?: number;
  /** In-memory block cache size. */
  readonly blockCacheBytes?: number;
  /** Largest read-ahead window. */
  readonly readAheadMaxBytes?: number;
  readonly diskCache?: DiskCacheOptions;
  readonly timers?: Timers;
  readonly logger?: Logger;
  /** Where the data-path counters register (default: the process registry). */
  readonly metricsRegistry?: Registry;
}

export interface ResolvedDataOptions {
  readonly keyPrefix: string;
  readonly memoryLimitBytes: number;
  readonly uploadConcurrency: number;
  readonly readConcurrency: number;
  readonly flushIntervalMs: number;
  readonly uploadTimeoutMs: number;
  readonly writeWaitTimeoutMs: number;
  readonly blockCacheBytes: number;
  readonly readAheadMaxBytes: number;
}

export function resolveDataOptions(o: DataClientOptions): ResolvedDataOptions {
  assertGeometry(o.geometry);
  const block = o.geometry.blockSizeBytes;
  const r: ResolvedDataOptions = {
    keyPrefix: o.keyPrefix ?? 'data',
    memoryLimitBytes: o.memoryLimitBytes ?? Math.max(256 << 20, 4 * block),
    uploadConcurrency: o.uploadConcurrency ?? 16,
    readConcurrency: o.readConcurrency ?? 16,
    flushIntervalMs: o.flushIntervalMs ?? 5_000,
    uploadTimeoutMs: o.uploadTimeoutMs ?? 120_000,
    writeWaitTimeoutMs: o.writeWaitTimeoutMs ?? 120_000,
    blockCacheBytes: o.blockCacheBytes ?? 128 << 20,
    readAheadMaxBytes: o.readAheadMaxBytes ?? 8 * block,
  };
  // A write is charged block by block; the ceiling must hold a few blocks or
  // a single writer could wait on itself.
  if (r.memoryLimitBytes < 2 * block) throw new ConfigError('memoryLimitBytes', 'must hold at least two blocks');
  if (o.diskCache !== undefined && o.diskCache.limitBytes < 2 * block) {
    throw new ConfigError('diskCache.limitBytes', 'must hold at least two blocks');
  }
  assert(r.uploadConcurrency > 0 && r.readConcurrency > 0, 'concurrency must be positive');
  assert(r.flushIntervalMs > 0 && r.uploadTimeoutMs > 0 && r.writeWaitTimeoutMs > 0, 'timeouts must be positive');
  return r;
}
