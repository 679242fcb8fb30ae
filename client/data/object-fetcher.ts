/**
 * Where the bytes of an object come from, nearest first: data this client
 * has not uploaded yet (memory, or the write-back staging directory), the
 * in-memory block cache (lru-cache), the disk read cache, the object store.
 * Whole-object fetches are shared between concurrent readers (one GET per
 * key in flight) and fill the caches; ranged fetches (random reads) GET only
 * the bytes asked for. GETs are bounded by a semaphore.
 *
 * Objects fetched by read-ahead wait in a holding area of their own (at most
 * half of the cache's bytes, oldest first out) until a reader first reads
 * them; only then do they join the LRU cache. In one LRU, every read
 * refreshes the blocks readers have already consumed, so the oldest entries
 * were the read-ahead blocks nobody had read yet: with four sequential
 * readers (4 x 32 MiB of windows in a 128 MiB cache) 160 of 256 blocks were
 * fetched twice. A block pushed out of the full holding area joins the LRU
 * rather than being dropped (a reader that stopped reading does not pin it).
 *
 * Readers get bytes copied into their own buffer (`readInto`), never a view
 * of a cached object: whole objects of block size live in pooled blocks
 * (BlockPool) that are reused once the cache lets go of them. The cache and
 * a disk-cache write in flight each hold a reference; a reader copies in the
 * continuation that receives the object, before the pool can reuse it.
 */
import { LRUCache } from 'lru-cache';
import { assert } from '../../src/common/assert.js';
import { CorruptionError } from '../../src/common/errors.js';
import type { ObjectStore } from '../../src/object/object-store.js';
import { BlockPool } from './block-pool.js';
import type { DataMetrics, ReadSource } from './data-metrics.js';
import type { DiskReadCache } from './disk-read-cache.js';
import { Semaphore } from './semaphore.js';
import type { WriteBackCache } from './write-back-cache.js';

/** Fetches of an object that came back shorter than its chunk info says, before the read fails. */
const SHORT_OBJECT_ATTEMPTS_MAX = 4;
const SHORT_OBJECT_RETRY_MS = 50;

export class ObjectFetcher {
  private readonly blocks: LRUCache<string, Buffer>;
  /** Read-ahead objects no reader has read yet, oldest first (each holds a pool reference). */
  private readonly ahead = new Map<string, Buffer>();
  private aheadBytes = 0;
  private readonly aheadBytesMax: number;
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private readonly gets: Semaphore;
  /** Objects of flushes still being uploaded, by key (set by the writer). */
  readonly unuploaded = new Map<string, Buffer>();
  private prefetchesQueued = 0;
  /** Receives whole objects: block-sized ones into pooled blocks. */
  private readonly alloc = (bytes: number): Buffer => this.pool.alloc(bytes);

  constructor(
    private readonly store: ObjectStore,
    memoryCacheBytes: number,
    readConcurrency: number,
    private readonly diskCache: DiskReadCache | null,
    private readonly staged: WriteBackCache | null,
    private readonly metrics: DataMetrics,
    private readonly prefetchQueueMax = 64,
    /** Where whole-block objects are received (a private pool of 4 MiB blocks when not given). */
    readonly pool: BlockPool = new BlockPool(4 << 20, 0),
  ) {
    // The cache's bytes are shared: up to half hold read-ahead not read yet, the rest the LRU.
    this.aheadBytesMax = Math.floor(memoryCacheBytes / 2);
    this.blocks = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, memoryCacheBytes - this.aheadBytesMax),
      sizeCalculation: (b) => Math.max(1, b.length),
      // Evicted, deleted or replaced by another buffer: the cache's reference goes.
      dispose: (value) => this.pool.release(value),
    });
    this.gets = new Semaphore(readConcurrency);
  }

  /** Puts an object (this client just wrote or fetched it) into the memory cache. */
  remember(key: string, data: Buffer): void {
    if (data.length > this.blocks.maxSize || this.blocks.peek(key) === data) return;
    this.pool.retain(data);
    this.blocks.set(key, data);
  }

  get cachedBytes(): number {
    return this.blocks.calculatedSize + this.aheadBytes;
  }

  /** Read-ahead objects waiting for their first reader. */
  get aheadCount(): number {
    return this.ahead.size;
  }

  /** Keeps a read-ahead object until its first read; the oldest waiting ones move to the LRU to make room. */
  private holdAhead(key: string, data: Buffer): void {
    if (data.length > this.aheadBytesMax || this.ahead.has(key)) {
      this.remember(key, data);
      return;
    }
    while (this.aheadBytes + data.length > this.aheadBytesMax) {
      const [oldest, block] = this.ahead.entries().next().value as [string, Buffer];
      this.takeAhead(oldest, block);
    }
    this.pool.retain(data);
    this.ahead.set(key, data);
    this.aheadBytes += data.length;
  }

  /** A held read-ahead object is read (or pushed out): it moves to the LRU, which takes its own reference. */
  private takeAhead(key: string, data: Buffer): void {
    this.ahead.delete(key);
    this.aheadBytes -= data.length;
    this.remember(key, data);
    this.pool.release(data);
  }

  private forgetAhead(key: string): void {
    const data = this.ahead.get(key);
    if (data === undefined) return;
    this.ahead.delete(key);
    this.aheadBytes -= data.length;
    this.pool.release(data);
  }

  /**
   * Bytes [offset, offset + length) of object `key`. `whole` asks for the
   * whole object to be fetched and cached (sequential reads, small objects).
   */
  async read(key: string, offset: number, length: number, whole: boolean): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(key, offset, length, whole, out, 0);
    return out;
  }

  /** Copies bytes [offset, offset + length) of object `key` into target at `at`. */
  async readInto(key: string, offset: number, length: number, whole: boolean, target: Buffer, at: number): Promise<void> {
    assert(at >= 0 && at + length <= target.length, 'readInto stays inside its target');
    // An object store whose replace is not atomic (s3rver rewrites a re-PUT in place: a write-back
    // replay or a retried PUT of identical bytes) can serve a short body for a moment. Such a body
    // is dropped from the caches and fetched again, a bounded number of times, before the read fails.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readOnce(key, offset, length, whole, target, at);
      } catch (error) {
        if (!(error instanceof CorruptionError) || attempt >= SHORT_OBJECT_ATTEMPTS_MAX) throw error;
        this.blocks.delete(key);
        this.forgetAhead(key);
        this.diskCache?.forget(key);
        await new Promise((resolve) => setTimeout(resolve, SHORT_OBJECT_RETRY_MS * attempt));
      }
    }
  }

  /**
   * Every copy out of a cached or pooled object happens synchronously here,
   * right where the object is in hand (after an await, in the continuation
   * that received it): nothing outside keeps a view of it.
   */
  private async readOnce(key: string, offset: number, length: number, whole: boolean, target: Buffer, at: number): Promise<void> {
    const count = (source: ReadSource): void => this.metrics.bytesFetched.inc({ source }, length);
    const unuploaded = this.unuploaded.get(key);
    if (unuploaded !== undefined) {
      count('unuploaded');
      return copyOut(key, unuploaded, offset, length, target, at);
    }
    const held = this.ahead.get(key);
    if (held !== undefined) {
      // Copied before the move: the LRU may hand the block straight back to the pool (too big for it).
      count('memory');
      copyOut(key, held, offset, length, target, at);
      this.takeAhead(key, held);
      return;
    }
    const cached = this.blocks.get(key);
    if (cached !== undefined) {
      count('memory');
      return copyOut(key, cached, offset, length, target, at);
    }
    if (this.staged !== null) {
      const data = await this.staged.readStaged(key);
      if (data !== null) {
        this.remember(key, data);
        count('staged');
        return copyOut(key, data, offset, length, target, at);
      }
    }
    if (whole || this.inflight.has(key)) return copyOut(key, await this.fetchWhole(key, count), offset, length, target, at);
    if (this.diskCache !== null) {
      const fromDisk = await this.diskCache.read(key, { offset, length });
      if (fromDisk !== null) {
        count('disk');
        return copyOut(key, fromDisk, 0, length, target, at);
      }
    }
    const data = await this.gets.run(() => this.store.get(key, { offset, length }));
    if (data.length !== length) throw new CorruptionError(`object ${key} is shorter than its chunk info says`);
    count('store');
    data.copy(target, at);
  }

  /** Starts a whole-object fetch in the background (read-ahead); errors are left to the real read. */
  prefetch(key: string): void {
    if (this.unuploaded.has(key) || this.ahead.has(key) || this.blocks.has(key) || this.inflight.has(key)) return;
    if (this.prefetchesQueued >= this.prefetchQueueMax) return;
    this.prefetchesQueued++;
    this.fetchWhole(key, undefined, true)
      .catch(() => undefined)
      .finally(() => {
        this.prefetchesQueued--;
      });
  }

  /**
   * `count` is told where the bytes came from (a shared in-flight fetch
   * counts as memory). The object may be a pooled block: whoever awaits the
   * promise copies what it needs in the continuation that receives it.
   */
  private fetchWhole(key: string, count: (source: ReadSource) => void = () => undefined, isReadAhead = false): Promise<Buffer> {
    const existing = this.inflight.get(key);
    if (existing !== undefined) return existing.then((data) => (count('memory'), data));
    const p = (async () => {
      const fromDisk = this.diskCache === null ? null : await this.diskCache.read(key, undefined, this.alloc);
      const data = fromDisk ?? (await this.gets.run(() => this.store.get(key, undefined, this.alloc)));
      count(fromDisk === null ? 'store' : 'disk');
      // Read-ahead waits for its first reader (readers that joined this fetch copy from `data` itself).
      if (isReadAhead) this.holdAhead(key, data);
      else this.remember(key, data);
      if (fromDisk === null && this.diskCache !== null) {
        this.pool.retain(data);
        this.diskCache.offer(key, data, () => this.pool.release(data));
      }
      // This fetch's own reference: the cache and the disk write hold theirs,
      // and the waiters copy before the block can be reused.
      this.pool.release(data);
      return data;
    })().finally(() => {
      this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }
}

function copyOut(key: string, data: Buffer, offset: number, length: number, target: Buffer, at: number): void {
  if (offset + length > data.length) throw new CorruptionError(`object ${key} is shorter than its chunk info says`);
  assert(offset >= 0 && length >= 0, 'copy bounds');
  data.copy(target, at, offset, offset + length);
}
