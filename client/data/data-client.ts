/**
 * The client data path (DESIGN §5, §6): per-file write-back buffering in
 * memory, flushes to the object store (or to the write-back disk cache),
 * chunk-info commits, and reads through caches with read-ahead.
 *
 * Order of a flush: chunk id → objects durable (PUT, or staged + journaled)
 * → AppendChunkInfo. Metadata never points at data that is not durable.
 * fsync/close resolve once every flush they cover is durable and, without a
 * write-back cache, committed (close-to-open).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assert, assertSafeUint } from '../../src/common/assert.js';
import { StorageError } from '../../src/common/errors.js';
import type { Timespec } from '../../src/common/file-type.js';
import { silentLogger, type Logger } from '../../src/common/log.js';
import type { ChunkInfo, ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { chunkIndexOf, objectPiecesOf, splitByChunk, type LayoutGeometry } from '../../src/layout/geometry.js';
import { objectKey } from '../../src/layout/object-key.js';
import { zeroRecordsForExtend } from '../../src/layout/truncate.js';
import type { ReadSegment } from '../../src/layout/read-resolution.js';
import { isNotFound, type ObjectStore } from '../../src/object/object-store.js';
import { BlockPool } from './block-pool.js';
import { ChunkIdPool } from './chunk-id-pool.js';
import { dataPathMetrics, type DataMetrics } from './data-metrics.js';
import { resolveDataOptions, type DataClientOptions, type ResolvedDataOptions } from './data-options.js';
import { DiskReadCache } from './disk-read-cache.js';
import { FileHandle } from './file-handle.js';
import { InodeData, type FlushJob, type MtimeRequest, type ReadPlan } from './inode-data.js';
import { MemoryBudget } from './memory-budget.js';
import type { ChunkInfoStore } from './metadata.js';
import { ObjectFetcher } from './object-fetcher.js';
import { Semaphore } from './semaphore.js';
import { realTimers, type Timers } from './timers.js';
import { WriteBackCache } from './write-back-cache.js';
import type { StageRecord } from './write-back-journal.js';

const RETRY_BACKOFF_MS_MAX = 2_000;
const MISSING_OBJECT_RETRIES = 3;
const CHUNK_LIST_RELOADS_MAX = 8;
/**
 * Free blocks the pool keeps: enough for the blocks a sequential reader's
 * cache evicts and its next fetches take in the same turn, or a writer's
 * uploads give back; little enough to be cheap when idle (32 MiB of 4 MiB blocks).
 */
const POOL_FREE_BLOCKS_MAX = 8;

export class DataClient {
  readonly geometry: LayoutGeometry;
  readonly options: ResolvedDataOptions;
  readonly budget: MemoryBudget;
  readonly fetcher: ObjectFetcher;
  readonly metrics: DataMetrics;
  /** Block-sized buffers shared by dirty blocks and fetched objects. */
  readonly pool: BlockPool;
  private readonly store: ObjectStore;
  private readonly chunkInfos: ChunkInfoStore;
  private readonly ids: ChunkIdPool;
  private idChain: Promise<unknown> = Promise.resolve();
  private readonly puts: Semaphore;
  private readonly inodes = new Map<number, InodeData>();
  private readonly timers: Timers;
  private readonly log: Logger;
  private cutSeq = 0;
  private isClosed = false;
  private backgroundUploads = new Set<Promise<void>>();

  private constructor(
    private readonly raw: DataClientOptions,
    private readonly writeBack: WriteBackCache | null,
    diskCache: DiskReadCache | null,
  ) {
    this.geometry = raw.geometry;
    this.options = resolveDataOptions(raw);
    this.store = raw.store;
    this.chunkInfos = raw.chunkInfos;
    this.ids = new ChunkIdPool(raw.chunkIds);
    this.puts = new Semaphore(this.options.uploadConcurrency);
    this.timers = raw.timers ?? realTimers;
    this.log = raw.logger ?? silentLogger;
    this.budget = new MemoryBudget(this.options.memoryLimitBytes, () => this.onMemoryPressure());
    this.metrics = dataPathMetrics(raw.metricsRegistry);
    this.pool = new BlockPool(this.geometry.blockSizeBytes, POOL_FREE_BLOCKS_MAX);
    this.fetcher = new ObjectFetcher(
      raw.store,
      this.options.blockCacheBytes,
      this.options.readConcurrency,
      diskCache,
      writeBack,
      this.metrics,
      undefined,
      this.pool,
    );
  }

  /**
   * Starts the data path. With a write-back cache, everything its journal
   * still lists is uploaded and committed first: no new write is
   * acknowledged before the data of the last run is safe.
   */
  static async start(options: DataClientOptions): Promise<DataClient> {
    resolveDataOptions(options);
    assertSafeUint(options.fsId, 'fsId');
    const dc = options.diskCache;
    let writeBack: WriteBackCache | null = null;
    let replay: StageRecord[] = [];
    let diskCache: DiskReadCache | null = null;
    if (dc !== undefined) {
      diskCache = await DiskReadCache.open(`${dc.dir}/read`, dc.limitBytes);
      if (dc.writeBack) ({ cache: writeBack, replay } = await WriteBackCache.open(`${dc.dir}/write`, dc.limitBytes));
    }
    const client = new DataClient(options, writeBack, diskCache);
    for (const record of replay) await client.replayStaged(record);
    return client;
  }

  private async replayStaged(record: StageRecord): Promise<void> {
    assert(this.writeBack !== null, 'replay needs the write-back cache');
    this.log.info({ seq: record.seq, inodeId: record.inodeId }, 'replaying staged flush');
    await this.withDeadline(`replay of staged flush ${record.seq}`, async () => {
      await Promise.all(
        record.pieces.map(async (p) => {
          const data = await this.writeBack!.readPiece(p);
          await this.puts.run(() => this.store.put(p.key, data));
        }),
      );
      await this.chunkInfos.appendChunkInfos(record.inodeId, [{ chunkIndex: record.chunkIndex, info: record.info }], record.newLength);
    });
    await this.writeBack.complete(record.seq);
    this.metrics.stagedReplayed.inc();
  }

  // ---- files ----

  /**
   * Opens a file's data. `lengthBytes` is the inode length just read from
   * metadata; `chunks`, when given, are the chunk lists read in the same
   * reply (a missing index has no records): they serve the first reads
   * instead of GetChunkInfo.
   */
  open(inodeId: number, lengthBytes: number, chunks?: ReadonlyMap<number, readonly ChunkInfo[]>): FileHandle {
    assert(!this.isClosed, 'open on a closed data client');
    assertSafeUint(inodeId, 'inodeId');
    assertSafeUint(lengthBytes, 'lengthBytes');
    let inode = this.inodes.get(inodeId);
    if (inode === undefined) {
      inode = new InodeData(inodeId, lengthBytes, this.geometry, this.pool);
      this.inodes.set(inodeId, inode);
    } else if (inode.isIdle) {
      inode.lengthBytes = lengthBytes;
    } else {
      inode.lengthBytes = Math.max(inode.lengthBytes, lengthBytes);
    }
    // Close-to-open: whatever another client committed before this open is read afresh.
    inode.forgetAllChunkLists();
    // Seeded only over a quiet inode: with writes or a truncate of this
    // client in flight, a list read before this open could miss a record it
    // commits meanwhile (a loaded list merges those; a seeded one cannot).
    if (chunks !== undefined && inode.isIdle && inode.truncating === null && !inode.isCommitting) {
      const chunkCount = lengthBytes === 0 ? 0 : chunkIndexOf(this.geometry, lengthBytes - 1) + 1;
      for (let c = 0; c < chunkCount; c++) inode.seedChunkList(c, chunks.get(c) ?? []);
    }
    inode.handles++;
    return new FileHandle(this, inode, this.geometry.blockSizeBytes, this.options.readAheadMaxBytes);
  }

  /** Called by FileHandle.close after its flush. */
  release(inode: InodeData): void {
    assert(inode.handles > 0, 'release of a closed inode');
    inode.handles--;
    this.maybeForget(inode);
  }

  private maybeForget(inode: InodeData): void {
    if (inode.handles === 0 && inode.isIdle && this.inodes.get(inode.inodeId) === inode) {
      if (inode.flushTimer !== null) this.timers.clearTimeout(inode.flushTimer);
      inode.flushTimer = null;
      this.inodes.delete(inode.inodeId);
    }
  }

  // ---- writes ----

  async write(inode: InodeData, offset: number, data: Uint8Array): Promise<void> {
    assertSafeUint(offset, 'offset');
    assert(!this.isClosed, 'write on a closed data client');
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const block = this.geometry.blockSizeBytes;
    let pos = 0;
    while (pos < buf.length) {
      while (inode.truncating !== null) await inode.truncating;
      // Charge at most one block at a time, cut at block boundaries.
      const at = offset + pos;
      const n = Math.min(buf.length - pos, block - (at % block));
      await this.budget.acquire(n, this.options.writeWaitTimeoutMs);
      if (inode.truncating !== null) {
        // A truncate started while we waited for memory: it goes first.
        this.budget.release(n);
        continue;
      }
      // From here to the end of the iteration nothing awaits: state is consistent.
      const fresh = inode.writeDirty(at, buf.subarray(pos, pos + n), performance.now(), (extra) => this.budget.tryTake(extra));
      this.budget.release(n - fresh);
      const job = inode.cutFilledBlocks(at, () => this.cutSeq++);
      if (job !== null) this.startJob(inode, job);
      this.armFlushTimer(inode);
      this.metrics.bytesWritten.inc(n);
      pos += n;
    }
  }

  /**
   * Writers are waiting for memory. Flushing dirty data frees memory only
   * once it is uploaded; when uploads in flight already hold most of the
   * budget they will free it sooner, and cutting a sequential writer's
   * half-filled block would only make smaller objects. So dirty data is cut
   * only when it holds at least half of what is used (and then always: with
   * nothing in flight, dirty data is all of it).
   */
  private onMemoryPressure(): void {
    let dirty = 0;
    for (const inode of this.inodes.values()) dirty += inode.dirtyChargedBytes;
    if (dirty === 0 || dirty * 2 < this.budget.usedBytes) return;
    for (const inode of this.inodes.values()) this.flushDirty(inode);
  }

  /** Cuts every dirty range of the inode into jobs and starts them (does not wait). */
  flushDirty(inode: InodeData): void {
    for (const job of inode.cutAll(() => this.cutSeq++)) this.startJob(inode, job);
  }

  private armFlushTimer(inode: InodeData): void {
    if (inode.flushTimer !== null || this.isClosed) return;
    inode.flushTimer = this.timers.setTimeout(() => {
      inode.flushTimer = null;
      this.flushDirty(inode);
      this.retryFailed(inode);
      if (!inode.isIdle) this.armFlushTimer(inode);
      else this.maybeForget(inode);
    }, this.options.flushIntervalMs);
  }

  /** Chunk ids in cut order: a later cut of the same bytes is a newer write. */
  private nextChunkId(): Promise<number> {
    const p = this.idChain.then(() => this.ids.take());
    this.idChain = p.catch(() => undefined);
    return p;
  }

  private startJob(inode: InodeData, job: FlushJob): void {
    void this.runJob(inode, job);
  }

  private async runJob(inode: InodeData, job: FlushJob): Promise<void> {
    assert(job.data !== null, 'a job runs with its data');
    job.state = 'writing';
    job.error = null;
    job.failedStep = null;
    try {
      if (job.info === null) {
        const chunkId = await this.nextChunkId();
        const info: ChunkInfo = { chunkId, compaction: 0, offset: job.offset, length: job.data.length, zero: false };
        job.keys = objectPiecesOf(this.geometry, info).map((p) =>
          objectKey(this.options.keyPrefix, { fsId: this.raw.fsId, inodeId: inode.inodeId, chunkId, blockIndex: p.blockIndex, compaction: 0 }),
        );
        job.info = info;
      }
      const pieces = this.piecesOf(job);
      for (const p of pieces) this.fetcher.unuploaded.set(p.key, p.data);
      if (this.writeBack !== null && this.writeBack.hasRoomFor(job.data.length) && (await this.tryStage(inode, job, pieces))) return;
      await this.withDeadline(`upload of inode ${inode.inodeId}`, () =>
        Promise.all(pieces.map((p) => this.puts.run(() => this.store.put(p.key, p.data)))),
      );
      // Read-after-write: small objects (small files, tails) stay in the block
      // cache. Whole blocks of a streaming writer do not: they would push
      // fetched data out of the cache and hold pooled blocks that the next
      // writes could reuse at once (a read of them GETs them back).
      for (const p of pieces) if (p.data.length < this.geometry.blockSizeBytes) this.fetcher.remember(p.key, p.data);
      this.metrics.objectsUploaded.inc(pieces.length);
      this.metrics.bytesUploaded.inc(job.data.length);
      this.markDurable(job, pieces);
      job.state = 'uploaded';
      inode.notify();
      void this.commit(inode);
    } catch (error) {
      this.log.warn({ inodeId: inode.inodeId, err: (error as Error).message }, 'flush failed; kept for retry');
      this.metrics.flushFailures.inc({ step: 'write' });
      job.state = 'failed';
      job.failedStep = 'write';
      job.error = error as Error;
      inode.notify();
      // The flush timer retries it even if nobody writes or fsyncs again.
      this.armFlushTimer(inode);
    }
  }

  private piecesOf(job: FlushJob): Array<{ key: string; data: Buffer }> {
    assert(job.info !== null && job.data !== null, 'pieces need an id and data');
    return objectPiecesOf(this.geometry, job.info).map((p, i) => ({
      key: job.keys[i]!,
      data: job.data!.subarray(p.fileOffset - job.offset, p.fileOffset - job.offset + p.length),
    }));
  }

  /** Data is durable: memory goes back to writers. */
  private markDurable(job: FlushJob, pieces: ReadonlyArray<{ key: string }>): void {
    for (const p of pieces) this.fetcher.unuploaded.delete(p.key);
    this.budget.release(job.budgetBytes);
    job.budgetBytes = 0;
    // The block cache keeps its own reference to what it remembered.
    if (job.data !== null) this.pool.release(job.data);
    job.data = null;
  }

  private async tryStage(inode: InodeData, job: FlushJob, pieces: Array<{ key: string; data: Buffer }>): Promise<boolean> {
    assert(this.writeBack !== null && job.info !== null, 'staging needs the cache and an id');
    try {
      job.staged = await this.writeBack.stage({
        inodeId: inode.inodeId,
        chunkIndex: job.chunkIndex,
        info: job.info,
        newLength: job.newLength,
        pieces,
      });
    } catch (error) {
      // A full or failing cache disk: upload directly (slower, still correct).
      this.log.warn({ err: (error as Error).message }, 'staging failed; uploading directly');
      return false;
    }
    this.metrics.bytesStaged.inc(job.data!.length);
    this.markDurable(job, pieces);
    job.state = 'staged';
    inode.notify();
    const upload = this.uploadStaged(inode, job).finally(() => this.backgroundUploads.delete(upload));
    this.backgroundUploads.add(upload);
    return true;
  }

  /** Background upload of a staged flush: retries until it succeeds or the client closes. */
  private async uploadStaged(inode: InodeData, job: FlushJob): Promise<void> {
    const staged = job.staged;
    assert(staged !== null && this.writeBack !== null, 'uploadStaged of an unstaged job');
    for (let attempt = 0; !this.isClosed; attempt++) {
      try {
        await Promise.all(
          staged.pieces.map(async (p) => {
            const data = await this.writeBack!.readPiece(p);
            await this.puts.run(() => this.store.put(p.key, data));
            this.metrics.bytesUploaded.inc(data.length);
          }),
        );
        this.metrics.objectsUploaded.inc(staged.pieces.length);
        job.state = 'uploaded';
        inode.notify();
        void this.commit(inode);
        return;
      } catch (error) {
        this.log.warn({ err: (error as Error).message, attempt }, 'background upload failed; retrying');
        await sleep(Math.min(RETRY_BACKOFF_MS_MAX, 50 * 2 ** Math.min(attempt, 10)));
      }
    }
  }

  /** Group commit: one AppendChunkInfo at a time per inode, carrying every uploaded job. */
  private async commit(inode: InodeData): Promise<void> {
    if (inode.isCommitting) return;
    inode.isCommitting = true;
    try {
      for (;;) {
        const batch = inode.jobs.filter((j) => j.state === 'uploaded');
        if (batch.length === 0) break;
        for (const j of batch) j.state = 'committing';
        const records: ChunkInfoAppend[] = batch.map((j) => ({ chunkIndex: j.chunkIndex, info: j.info! }));
        const newLength = Math.max(...batch.map((j) => j.newLength));
        const carried = inode.mtimeRequests.filter((r) => completesRequest(r, batch, inode.jobs));
        const mtime = latestMtime(carried);
        try {
          await this.withDeadline(`commit of inode ${inode.inodeId}`, () =>
            this.chunkInfos.appendChunkInfos(inode.inodeId, records, newLength, mtime),
          );
        } catch (error) {
          this.metrics.flushFailures.inc({ step: 'commit' });
          for (const j of batch) {
            j.state = 'failed';
            j.failedStep = 'commit';
            j.error = error as Error;
          }
          inode.notify();
          this.armFlushTimer(inode);
          continue;
        }
        this.metrics.commits.inc();
        // Before the jobs leave the list: their syncs must see it when they wake.
        for (const r of carried) r.isCarried = true;
        // The journal's 'done' goes before the job counts as committed: a
        // truncate that follows must not be undone by replaying this record
        // after a crash.
        await Promise.all(batch.map((j) => (j.staged !== null ? this.completeStaged(j.staged.seq) : undefined)));
        for (const j of batch) {
          j.state = 'committed';
          inode.addCommitted(j.chunkIndex, j.info!);
          inode.jobs.splice(inode.jobs.indexOf(j), 1);
        }
        inode.notify();
      }
    } finally {
      inode.isCommitting = false;
    }
    this.maybeForget(inode);
  }

  private async completeStaged(seq: number): Promise<void> {
    try {
      await this.writeBack!.complete(seq);
    } catch (error) {
      // The record stays in the journal: the next start uploads and commits it again (idempotent).
      this.log.warn({ seq, err: (error as Error).message }, 'could not mark staged flush done');
    }
  }

  /** Restarts failed jobs (fsync, flush timer): the store may be back. */
  private retryFailed(inode: InodeData): void {
    for (const job of inode.jobs) {
      if (job.state !== 'failed') continue;
      if (job.failedStep === 'commit') job.state = 'uploaded';
      else this.startJob(inode, job);
    }
    if (inode.jobs.some((j) => j.state === 'uploaded')) void this.commit(inode);
  }

  /**
   * Makes every write so far durable: staged (write-back) or committed.
   * `committed` forces the metadata commit even with a write-back cache.
   * Rejects with the store's error (EIO) if a flush keeps failing past the
   * upload timeout; the data stays buffered and the next fsync retries it.
   *
   * `mtime`, when given, goes with the AppendChunkInfo that commits the last
   * of the writes this sync covers (the file's mtime and ctime change in the
   * same entry as its data). Returns whether it did: false when there was
   * nothing to commit, when the writes were committed by appends already
   * under way, or with a write-back cache (its commits come later, in the
   * background; the caller sets the time itself).
   */
  async sync(inode: InodeData, level: 'durable' | 'committed', mtime?: Timespec): Promise<boolean> {
    this.flushDirty(inode);
    this.retryFailed(inode);
    const covered = new Set(inode.jobs);
    const isDone = (j: FlushJob): boolean =>
      !inode.jobs.includes(j) || (level === 'durable' && j.staged !== null);
    let request: MtimeRequest | null = null;
    if (mtime !== undefined && this.writeBack === null && covered.size > 0) {
      request = { mtime, jobs: covered, isCarried: false };
      inode.mtimeRequests.push(request);
    }
    try {
      for (;;) {
        const open = [...covered].filter((j) => !isDone(j));
        if (open.length === 0) return request?.isCarried ?? false;
        const failed = open.find((j) => j.state === 'failed');
        if (failed !== undefined) {
          throw failed.error instanceof StorageError ? failed.error : new StorageError(`flush failed: ${failed.error?.message}`, { cause: failed.error });
        }
        await inode.changed();
      }
    } finally {
      // A failed sync leaves no time behind: a later retry of its jobs commits them without it.
      if (request !== null) inode.mtimeRequests.splice(inode.mtimeRequests.indexOf(request), 1);
    }
  }

  async truncate(inode: InodeData, newLength: number): Promise<void> {
    assertSafeUint(newLength, 'newLength');
    while (inode.truncating !== null) await inode.truncating;
    const run = (async () => {
      this.budget.release(inode.truncateDirty(newLength));
      await this.sync(inode, 'committed');
      const oldLength = inode.lengthBytes;
      let zeros: ChunkInfoAppend[] = [];
      if (newLength > oldLength) zeros = zeroRecordsForExtend(this.geometry, oldLength, newLength, await this.nextChunkId());
      await this.withDeadline(`truncate of inode ${inode.inodeId}`, () => this.chunkInfos.truncate(inode.inodeId, newLength, zeros));
      inode.trimCommitted(newLength);
      for (const z of zeros) inode.addCommitted(z.chunkIndex, z.info);
      inode.lengthBytes = newLength;
    })();
    inode.truncating = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } finally {
      inode.truncating = null;
    }
  }

  // ---- reads ----

  /**
   * Reads [offset, offset + length) (already clipped to the length) into
   * `into` (its first `length` bytes; a new buffer when not given) and
   * returns that span. Bytes are copied once, from wherever the object is
   * (block cache, in-flight GET, dirty data) straight into the target: the
   * result never shares memory with a cache.
   */
  async readRange(inode: InodeData, offset: number, length: number, isSequential: boolean, into?: Buffer): Promise<Buffer> {
    assert(into === undefined || into.length >= length, 'the read target holds the range');
    const out = into === undefined ? Buffer.allocUnsafe(length) : into.subarray(0, length);
    if (length === 0) return out;
    for (let attempt = 0; ; attempt++) {
      const plan = await this.plan(inode, offset, length);
      // Segments tile the range: every byte is written below, zeros included.
      const fill = (s: ReadSegment): Promise<void> | undefined => {
        if (s.kind === 'zero') {
          out.fill(0, s.fileOffset - offset, s.fileOffset - offset + s.length);
          return undefined;
        }
        const key = objectKey(this.options.keyPrefix, { fsId: this.raw.fsId, inodeId: inode.inodeId, chunkId: s.chunkId, blockIndex: s.blockIndex, compaction: s.compaction });
        const whole = isSequential || s.objectLength <= Math.max(64 << 10, 2 * s.length);
        return this.fetcher.readInto(key, s.objectOffset, s.length, whole, out, s.fileOffset - offset);
      };
      try {
        if (plan.segments.length === 1) await fill(plan.segments[0]!);
        else {
          // Every copy into `out` has settled before the read fails or retries:
          // the target may be the kernel's buffer, handed back with the reply.
          const settled = await Promise.allSettled(plan.segments.map(fill));
          const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        }
      } catch (error) {
        // An object compacted away after we read the list: reload the lists and retry.
        if (!isNotFound(error) || attempt >= MISSING_OBJECT_RETRIES) throw error;
        for (const r of splitByChunk(this.geometry, offset, length)) inode.forgetChunkList(r.chunkIndex);
        continue;
      }
      for (const p of plan.patches) p.data.copy(out, p.offset - offset);
      return out;
    }
  }

  /** Loads the chunk lists, then plans synchronously against one consistent state. */
  private async plan(inode: InodeData, offset: number, length: number): Promise<ReadPlan> {
    const chunks = splitByChunk(this.geometry, offset, length).map((r) => r.chunkIndex);
    for (let i = 0; i < CHUNK_LIST_RELOADS_MAX; i++) {
      const entries = chunks.map((c) => inode.chunkListEntry(c, () => this.chunkInfos.getChunkInfos(inode.inodeId, c)));
      await Promise.all(entries.map((e) => e.promise));
      // A commit may have replaced a list while we waited; plan only on current lists.
      if (!chunks.every((c, j) => inode.isCurrent(c, entries[j]!))) continue;
      const committed = new Map(chunks.map((c, j) => [c, entries[j]!.list!] as const));
      return inode.planRead(offset, length, committed);
    }
    throw new StorageError(`chunk lists of inode ${inode.inodeId} kept changing`);
  }

  /** Read-ahead: fetches the objects of [offset, offset + length) in the background. */
  prefetch(inode: InodeData, offset: number, length: number): void {
    void this.plan(inode, offset, length)
      .then((plan) => {
        for (const s of plan.segments) {
          if (s.kind === 'zero') continue;
          this.fetcher.prefetch(objectKey(this.options.keyPrefix, { fsId: this.raw.fsId, inodeId: inode.inodeId, chunkId: s.chunkId, blockIndex: s.blockIndex, compaction: s.compaction }));
        }
      })
      .catch(() => undefined);
  }

  // ---- helpers ----

  /** Retries fn with backoff until it succeeds or uploadTimeoutMs has passed. */
  private async withDeadline<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const delayMs = Math.min(RETRY_BACKOFF_MS_MAX, 50 * 2 ** Math.min(attempt, 10));
        if (performance.now() - started + delayMs >= this.options.uploadTimeoutMs || this.isClosed) {
          throw error instanceof StorageError ? error : new StorageError(`${what}: ${(error as Error).message}`, { cause: error });
        }
        await sleep(delayMs);
      }
    }
  }

  /** Waits until every flush, background uploads included, is committed (bounded). */
  async drain(timeoutMs = this.options.uploadTimeoutMs): Promise<void> {
    const all = Promise.all([...this.inodes.values()].map((inode) => this.sync(inode, 'committed')));
    await withTimeout(all, timeoutMs, () => new StorageError(`drain: data not committed after ${timeoutMs} ms`));
  }

  get bufferedBytes(): number {
    return this.budget.usedBytes;
  }

  get stagedBytes(): number {
    return this.writeBack?.bytesStaged ?? 0;
  }

  /**
   * Flushes everything. Background uploads of staged data that do not finish
   * within the timeout stay in the journal for the next start.
   */
  async close(timeoutMs = this.options.uploadTimeoutMs): Promise<void> {
    if (this.isClosed) return;
    let error: unknown = null;
    try {
      await this.drain(timeoutMs);
    } catch (e) {
      error = e;
    }
    this.isClosed = true;
    for (const inode of this.inodes.values()) {
      if (inode.flushTimer !== null) this.timers.clearTimeout(inode.flushTimer);
      inode.flushTimer = null;
    }
    await withTimeout(Promise.allSettled([...this.backgroundUploads]), timeoutMs, () => null).catch(() => undefined);
    await this.writeBack?.close();
    if (error !== null) throw error;
  }
}

/**
 * Whether an append of `batch` commits the last of the request's jobs: one
 * of them is in it and every other is in it or already committed (gone from
 * the inode's list). A request whose jobs all went with earlier appends is
 * not carried: its sync is about to return and set the time itself.
 */
function completesRequest(r: MtimeRequest, batch: readonly FlushJob[], pending: readonly FlushJob[]): boolean {
  let isInBatch = false;
  for (const j of r.jobs) {
    if (batch.includes(j)) isInBatch = true;
    else if (pending.includes(j)) return false;
  }
  return isInBatch;
}

/** The newest of the requests' times (each is the time of the writes its sync covered). */
function latestMtime(requests: readonly MtimeRequest[]): Timespec | undefined {
  let latest: Timespec | undefined;
  for (const r of requests) {
    if (latest === undefined || r.mtime.sec > latest.sec || (r.mtime.sec === latest.sec && r.mtime.nsec > latest.nsec)) latest = r.mtime;
  }
  return latest;
}

/** p's result, or a rejection with makeError() after timeoutMs; the timer never outlives the race. */
async function withTimeout<T>(p: Promise<T>, timeoutMs: number, makeError: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(makeError()), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([p, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
