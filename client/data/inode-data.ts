/**
 * Everything one client holds about one file's data: dirty ranges per chunk,
 * flush jobs not yet committed (in cut order), the committed chunk-info lists
 * it has read, and its view of the length. The methods here are synchronous
 * (no await between reading state and changing it); data-client.ts drives
 * the I/O around them.
 */
import { assert } from '../../src/common/assert.js';
import type { Timespec } from '../../src/common/file-type.js';
import { sameChunkInfo, type ChunkInfo } from '../../src/layout/chunk-info.js';
import { chunkIndexOf, splitByChunk, type LayoutGeometry } from '../../src/layout/geometry.js';
import { resolveChunkRead, type ReadSegment } from '../../src/layout/read-resolution.js';
import { trimChunkInfos } from '../../src/layout/truncate.js';
import type { BlockPool } from './block-pool.js';
import { ChunkDirty, type DirtyRange, type Reserve } from './dirty-ranges.js';
import type { StageRecord } from './write-back-journal.js';

export type JobState =
  /** Cut from the dirty ranges; no chunk id yet. */
  | 'cut'
  /** Has a chunk id; being staged or uploaded. */
  | 'writing'
  /** Staged in the write-back cache (durable locally); background upload pending. */
  | 'staged'
  /** Objects durable in the store; waiting for the metadata append. */
  | 'uploaded'
  | 'committing'
  | 'committed'
  /** Upload or commit failed past its deadline; retried on the next flush or fsync. */
  | 'failed';

export interface FlushJob {
  readonly cutSeq: number;
  readonly chunkIndex: number;
  readonly offset: number;
  /**
   * The bytes; dropped once durable (uploaded or staged). A view of a pooled
   * block holds a reference that is released when it is dropped.
   */
  data: Buffer | null;
  info: ChunkInfo | null;
  keys: string[];
  state: JobState;
  /** Memory-budget bytes this job holds until its data is durable. */
  budgetBytes: number;
  staged: StageRecord | null;
  error: Error | null;
  failedStep: 'write' | 'commit' | null;
  readonly newLength: number;
}

interface ChunkListEntry {
  readonly promise: Promise<ChunkInfo[]>;
  list: ChunkInfo[] | null;
  /** Records this client committed while the list was loading (merged when it arrives). */
  readonly pendingAdds: ChunkInfo[];
}

/** What a read must do: fetch segments, then apply patches (newer, local bytes) on top. */
export interface ReadPlan {
  readonly segments: ReadSegment[];
  readonly patches: Array<{ offset: number; data: Buffer }>;
}

/**
 * A sync's mtime, to be set by the AppendChunkInfo that commits the last of
 * the jobs it covers (one Raft entry for the data and its time). `isCarried`
 * turns true once such an append succeeded.
 */
export interface MtimeRequest {
  readonly mtime: Timespec;
  readonly jobs: ReadonlySet<FlushJob>;
  isCarried: boolean;
}

export class InodeData {
  readonly dirty = new Map<number, ChunkDirty>();
  readonly jobs: FlushJob[] = [];
  /** Syncs waiting with an mtime (DataClient.sync): the commit loop attaches them. */
  readonly mtimeRequests: MtimeRequest[] = [];
  private readonly chunkLists = new Map<number, ChunkListEntry>();
  private changeWaiters: Array<() => void> = [];
  handles = 0;
  flushTimer: unknown = null;
  isCommitting = false;
  /** Writes wait while a truncate runs. */
  truncating: Promise<void> | null = null;

  constructor(
    readonly inodeId: number,
    public lengthBytes: number,
    private readonly geometry: LayoutGeometry,
    private readonly pool: BlockPool | null = null,
  ) {}

  get dirtyBytes(): number {
    let n = 0;
    for (const c of this.dirty.values()) n += c.bytes;
    return n;
  }

  /** Budget held by dirty data (spare capacity included). */
  get dirtyChargedBytes(): number {
    let n = 0;
    for (const c of this.dirty.values()) n += c.chargedBytes;
    return n;
  }

  get isIdle(): boolean {
    return this.dirty.size === 0 && this.jobs.length === 0;
  }

  /** Resolves at the next job state change (waiters loop on their condition). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.changeWaiters.push(resolve));
  }

  notify(): void {
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    for (const w of waiters) w();
  }

  // ---- committed chunk-info lists ----

  chunkListEntry(chunkIndex: number, load: () => Promise<ChunkInfo[]>): ChunkListEntry {
    let entry = this.chunkLists.get(chunkIndex);
    if (entry === undefined) {
      const pendingAdds: ChunkInfo[] = [];
      // The list is set in the same continuation that resolves `promise`, so
      // whoever awaited `promise` finds `list` set.
      const promise = load().then(
        (list) => {
          for (const r of pendingAdds) if (!list.some((x) => sameChunkInfo(x, r))) list.push(r);
          e.list = list;
          return list;
        },
        (error: unknown) => {
          if (this.chunkLists.get(chunkIndex) === e) this.chunkLists.delete(chunkIndex);
          throw error;
        },
      );
      const e: ChunkListEntry = { promise, list: null, pendingAdds };
      this.chunkLists.set(chunkIndex, e);
      entry = e;
    }
    return entry;
  }

  /**
   * Installs a list read elsewhere (the open's GetInode) as if loaded: only
   * over no entry (a loading or loaded list is never replaced).
   */
  seedChunkList(chunkIndex: number, list: readonly ChunkInfo[]): void {
    if (this.chunkLists.has(chunkIndex)) return;
    const copy = [...list];
    this.chunkLists.set(chunkIndex, { promise: Promise.resolve(copy), list: copy, pendingAdds: [] });
  }

  isCurrent(chunkIndex: number, entry: ChunkListEntry): boolean {
    return this.chunkLists.get(chunkIndex) === entry && entry.list !== null;
  }

  forgetChunkList(chunkIndex: number): void {
    this.chunkLists.delete(chunkIndex);
  }

  /** Close-to-open: a new open reads chunk infos afresh. */
  forgetAllChunkLists(): void {
    this.chunkLists.clear();
  }

  /**
   * Adds a record this client committed to the list it holds. A list still
   * loading may or may not have seen the append: the record is merged (once)
   * when it arrives.
   */
  addCommitted(chunkIndex: number, info: ChunkInfo): void {
    const entry = this.chunkLists.get(chunkIndex);
    if (entry === undefined) return;
    if (entry.list === null) entry.pendingAdds.push(info);
    else if (!entry.list.some((r) => sameChunkInfo(r, info))) entry.list.push(info);
  }

  trimCommitted(newLength: number): void {
    for (const [idx, entry] of this.chunkLists) {
      if (entry.list === null) this.chunkLists.delete(idx);
      else entry.list = trimChunkInfos(entry.list, newLength);
    }
  }

  // ---- dirty data ----

  /** Buffers a write inside one chunk; returns the new bytes charged to memory. */
  writeDirty(offset: number, data: Buffer, nowMs: number, reserve: Reserve): number {
    const chunkIndex = chunkIndexOf(this.geometry, offset);
    assert(chunkIndexOf(this.geometry, offset + data.length - 1) === chunkIndex, 'dirty write crosses a chunk');
    let cd = this.dirty.get(chunkIndex);
    if (cd === undefined) {
      cd = new ChunkDirty(this.geometry.blockSizeBytes, this.pool);
      this.dirty.set(chunkIndex, cd);
    }
    const fresh = cd.write(offset, data, nowMs, reserve);
    this.lengthBytes = Math.max(this.lengthBytes, offset + data.length);
    return fresh;
  }

  /**
   * Cuts what a sequential writer has finished: the part of the range around
   * `offset` that ends at its last full block boundary.
   */
  cutFilledBlocks(offset: number, nextCutSeq: () => number): FlushJob | null {
    const chunkIndex = chunkIndexOf(this.geometry, offset);
    const cd = this.dirty.get(chunkIndex);
    if (cd === undefined) return null;
    const i = cd.ranges.findIndex((r) => r.start <= offset && offset < r.end);
    if (i < 0) return null;
    const range = cd.ranges[i]!;
    const bs = this.geometry.blockSizeBytes;
    const boundary = Math.floor(range.end / bs) * bs;
    if (boundary <= range.start) return null;
    if (boundary === range.end) return this.cutRange(chunkIndex, cd, i, nextCutSeq);
    const chargedBefore = range.chargedBytes;
    const data = range.bytes(range.start, boundary);
    const cutStart = range.start;
    range.dropBefore(boundary);
    return this.makeJob(chunkIndex, cutStart, data, nextCutSeq(), chargedBefore - range.chargedBytes);
  }

  /** Cuts every dirty range into jobs (fsync, flush interval, memory pressure). */
  cutAll(nextCutSeq: () => number): FlushJob[] {
    const out: FlushJob[] = [];
    for (const [chunkIndex, cd] of [...this.dirty]) {
      while (cd.ranges.length > 0) out.push(this.cutRange(chunkIndex, cd, 0, nextCutSeq));
    }
    return out;
  }

  private cutRange(chunkIndex: number, cd: ChunkDirty, i: number, nextCutSeq: () => number): FlushJob {
    const range: DirtyRange = cd.take(i);
    if (cd.ranges.length === 0) this.dirty.delete(chunkIndex);
    const data = range.bytes();
    const charged = range.chargedBytes;
    range.discard();
    return this.makeJob(chunkIndex, range.start, data, nextCutSeq(), charged);
  }

  private makeJob(chunkIndex: number, offset: number, data: Buffer, cutSeq: number, budgetBytes: number): FlushJob {
    assert(budgetBytes >= data.length, 'a job holds at least its bytes of budget');
    const job: FlushJob = {
      cutSeq,
      chunkIndex,
      offset,
      data,
      info: null,
      keys: [],
      state: 'cut',
      budgetBytes,
      staged: null,
      error: null,
      failedStep: null,
      newLength: offset + data.length,
    };
    this.jobs.push(job);
    return job;
  }

  /** Drops dirty bytes at or past length; returns the bytes freed. */
  truncateDirty(length: number): number {
    let freed = 0;
    for (const [idx, cd] of [...this.dirty]) {
      freed += cd.truncate(length);
      if (cd.ranges.length === 0) this.dirty.delete(idx);
    }
    return freed;
  }

  oldestDirtyMs(): number | null {
    let oldest: number | null = null;
    for (const cd of this.dirty.values()) {
      for (const r of cd.ranges) oldest = oldest === null ? r.firstWriteMs : Math.min(oldest, r.firstWriteMs);
    }
    return oldest;
  }

  // ---- reads ----

  /**
   * Plans a read of [offset, offset + length) from the committed lists
   * (already loaded), the jobs with chunk ids (resolved with them: ids order
   * them), then, newest of all, jobs still without ids (cut order) and the
   * dirty ranges, as byte patches.
   */
  planRead(offset: number, length: number, committed: ReadonlyMap<number, readonly ChunkInfo[]>): ReadPlan {
    const segments: ReadSegment[] = [];
    const patches: Array<{ offset: number; data: Buffer }> = [];
    const end = offset + length;
    for (const r of splitByChunk(this.geometry, offset, length)) {
      const list = committed.get(r.chunkIndex);
      assert(list !== undefined, 'planRead needs every chunk list loaded');
      const local = this.jobs.filter((j) => j.chunkIndex === r.chunkIndex && j.info !== null && j.state !== 'committed');
      const records = local.length === 0 ? list : [...list, ...local.map((j) => j.info!)];
      segments.push(...resolveChunkRead(this.geometry, r.chunkIndex, records, r.offset, r.length));
    }
    for (const j of this.jobs) {
      if (j.info !== null || j.data === null) continue;
      const s = Math.max(offset, j.offset);
      const e = Math.min(end, j.offset + j.data.length);
      // A copy: the job's bytes may be a pooled block that its upload gives
      // back (and a writer reuses) while this read still awaits its fetches.
      if (s < e) patches.push({ offset: s, data: Buffer.from(j.data.subarray(s - j.offset, e - j.offset)) });
    }
    for (const r of splitByChunk(this.geometry, offset, length)) {
      const cd = this.dirty.get(r.chunkIndex);
      if (cd === undefined) continue;
      for (const range of cd.ranges) {
        const s = Math.max(r.offset, range.start);
        const e = Math.min(r.offset + r.length, range.end);
        // A copy: the dirty part may be overwritten in place before the patch is applied.
        if (s < e) patches.push({ offset: s, data: range.bytes(s, e, true) });
      }
    }
    return { segments, patches };
  }
}
