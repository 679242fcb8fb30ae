/**
 * Where the bytes of an object come from, nearest first: data this client
 * has not uploaded yet (memory, or the write-back staging directory), the
 * in-memory block cache (lru-cache), the disk read cache, the object store.
 * Whole-object fetches are shared between concurrent readers (one fetch per
 * key in flight) and fill the caches; ranged fetches (random reads) GET only
 * the bytes asked for. GETs are bounded by a semaphore.
 *
 * A whole object a reader waits for right now (a sequential read that the
 * read-ahead has not covered: the first read of a file) is fetched as
 * parallel ranged GETs of `partBytes` into one block, and each reader waits
 * only for the parts its range lies in: the first MiB of a cold file comes
 * back after about a quarter of a 4 MiB GET instead of all of it. Read-ahead
 * fetches nobody waits for yet stay one GET per object (fewer requests for
 * the object store to serve).
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

/** Ranged GETs a demand fetch of a whole object is cut into (at least two parts, or one GET). */
export const DEMAND_PART_BYTES = 1 << 20;

/** One part of a fetch in parts: bytes [offset, offset + length) of the object, in `block` once `done` resolves. */
interface FetchPart {
  readonly offset: number;
  readonly length: number;
  readonly done: Promise<void>;
}

/**
 * A whole-object fetch in flight. `whole` resolves with the object once all
 * of it is in (and cached). A fetch in parts also exposes its block and its
 * parts, so that a reader can copy its range as soon as the parts under it
 * are in; the block stays held by the fetch until every part has settled.
 */
interface Fetch {
  readonly whole: Promise<Buffer>;
  readonly block: Buffer | null;
  readonly parts: readonly FetchPart[];
  /** Where the object came from (known once `whole` resolves). */
  readonly source: 'store' | 'disk';
}

export class ObjectFetcher {
  private readonly blocks: LRUCache<string, Buffer>;
  private readonly inflight = new Map<string, Fetch>();
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
    /** Part size of a demand fetch in parts (0: always one GET per object). */
    private readonly partBytes = DEMAND_PART_BYTES,
  ) {
    assert(Number.isSafeInteger(partBytes) && partBytes >= 0, 'demand part size');
    this.blocks = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, memoryCacheBytes),
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
    return this.blocks.calculatedSize;
  }

  /**
   * Bytes [offset, offset + length) of object `key`. `whole` asks for the
   * whole object to be fetched and cached (sequential reads, small objects).
   * `objectLength`, when known (the chunk info's), lets a whole fetch go out
   * in parallel parts.
   */
  async read(key: string, offset: number, length: number, whole: boolean, objectLength?: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(key, offset, length, whole, out, 0, objectLength);
    return out;
  }

  /** Copies bytes [offset, offset + length) of object `key` into target at `at`. */
  async readInto(key: string, offset: number, length: number, whole: boolean, target: Buffer, at: number, objectLength?: number): Promise<void> {
    assert(at >= 0 && at + length <= target.length, 'readInto stays inside its target');
    assert(objectLength === undefined || (Number.isSafeInteger(objectLength) && offset + length <= objectLength), 'the range lies in the object');
    // An object store whose replace is not atomic (s3rver rewrites a re-PUT in place: a write-back
    // replay or a retried PUT of identical bytes) can serve a short body for a moment. Such a body
    // is dropped from the caches and fetched again, a bounded number of times, before the read fails.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readOnce(key, offset, length, whole, target, at, objectLength);
      } catch (error) {
        if (!(error instanceof CorruptionError) || attempt >= SHORT_OBJECT_ATTEMPTS_MAX) throw error;
        this.blocks.delete(key);
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
  private async readOnce(
    key: string,
    offset: number,
    length: number,
    whole: boolean,
    target: Buffer,
    at: number,
    objectLength: number | undefined,
  ): Promise<void> {
    const count = (source: ReadSource): void => this.metrics.bytesFetched.inc({ source }, length);
    const unuploaded = this.unuploaded.get(key);
    if (unuploaded !== undefined) {
      count('unuploaded');
      return copyOut(key, unuploaded, offset, length, target, at);
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
    if (whole || this.inflight.has(key)) {
      const joined = this.inflight.get(key);
      const fetch = joined ?? this.startFetch(key, objectLength);
      if (fetch.block === null) {
        const data = await fetch.whole;
        count(joined === undefined ? fetch.source : 'memory');
        return copyOut(key, data, offset, length, target, at);
      }
      // In parts: wait for those under the range only; the fetch holds the block meanwhile.
      const under = fetch.parts.filter((p) => p.offset < offset + length && p.offset + p.length > offset);
      await Promise.all(under.map((p) => p.done));
      count(joined === undefined ? 'store' : 'memory');
      return copyOut(key, fetch.block, offset, length, target, at);
    }
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
    if (this.unuploaded.has(key) || this.blocks.has(key) || this.inflight.has(key)) return;
    if (this.prefetchesQueued >= this.prefetchQueueMax) return;
    this.prefetchesQueued++;
    this.startFetch(key, undefined)
      .whole.catch(() => undefined)
      .finally(() => {
        this.prefetchesQueued--;
      });
  }

  /**
   * Registers a whole-object fetch of `key`: in parts when its length is
   * known, spans at least two parts and the disk cache does not hold it;
   * else one GET (or a disk-cache read).
   */
  private startFetch(key: string, objectLength: number | undefined): Fetch {
    assert(!this.inflight.has(key), 'one fetch per key in flight');
    const inParts =
      objectLength !== undefined && this.partBytes > 0 && objectLength >= 2 * this.partBytes && !(this.diskCache?.has(key) ?? false);
    const fetch = inParts ? this.fetchInParts(key, objectLength) : this.fetchWhole(key);
    this.inflight.set(key, fetch);
    void fetch.whole.then(
      () => this.inflight.delete(key),
      () => this.inflight.delete(key),
    );
    return fetch;
  }

  /**
   * One GET of the whole object (or a disk-cache read). The object may be a
   * pooled block: whoever awaits `whole` copies what it needs in the
   * continuation that receives it.
   */
  private fetchWhole(key: string): Fetch {
    let source: 'store' | 'disk' = 'store';
    const whole = (async () => {
      const fromDisk = this.diskCache === null ? null : await this.diskCache.read(key, undefined, this.alloc);
      const data = fromDisk ?? (await this.gets.run(() => this.store.get(key, undefined, this.alloc)));
      if (fromDisk !== null) source = 'disk';
      this.keep(key, data, fromDisk === null);
      return data;
    })();
    return {
      whole,
      block: null,
      parts: [],
      get source() {
        return source;
      },
    };
  }

  /**
   * Parallel ranged GETs of `partBytes` into one block (pooled when it is
   * block-sized). A part that comes back short means the object is shorter
   * than its chunk info says (CorruptionError, retried by readInto).
   */
  private fetchInParts(key: string, objectLength: number): Fetch {
    const block = this.alloc(objectLength);
    const parts: FetchPart[] = [];
    for (let offset = 0; offset < objectLength; offset += this.partBytes) {
      const length = Math.min(this.partBytes, objectLength - offset);
      const done = this.gets.run(async () => {
        const data = await this.store.get(key, { offset, length });
        if (data.length !== length) throw new CorruptionError(`object ${key} is shorter than its chunk info says`);
        data.copy(block, offset);
      });
      // A failed part fails `whole` (and its own readers); nobody else need observe it.
      done.catch(() => undefined);
      parts.push({ offset, length, done });
    }
    const whole = Promise.allSettled(parts.map((p) => p.done)).then((settled) => {
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) {
        // Readers of parts that did arrive copied them in the microtasks after
        // their arrival; the block returns to the pool a macrotask later.
        this.pool.release(block);
        throw failed.reason;
      }
      this.keep(key, block, true);
      return block;
    });
    return { whole, block, parts, source: 'store' };
  }

  /**
   * A fetched object goes into the memory cache (and, fetched from the
   * store, to the disk cache); then the fetch gives up its own reference:
   * the cache and the disk write hold theirs, and the fetch's waiters copy
   * before the block can be reused.
   */
  private keep(key: string, data: Buffer, isFromStore: boolean): void {
    this.remember(key, data);
    if (isFromStore && this.diskCache !== null) {
      this.pool.retain(data);
      this.diskCache.offer(key, data, () => this.pool.release(data));
    }
    this.pool.release(data);
  }
}

function copyOut(key: string, data: Buffer, offset: number, length: number, target: Buffer, at: number): void {
  if (offset + length > data.length) throw new CorruptionError(`object ${key} is shorter than its chunk info says`);
  assert(offset >= 0 && length >= 0, 'copy bounds');
  data.copy(target, at, offset, offset + length);
}
