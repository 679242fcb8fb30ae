/**
 * The data services of a metaserver (DESIGN §8, §9), run for the copysets
 * this replica leads, one pass at a time (every `intervalMs`):
 *  1. deletion of unlinked inodes no session holds open (unlinked-deleter);
 *  2. compaction of fragmented chunks, at most `concurrency` at once and
 *     `bytesPerSecond` of object traffic (chunk-compactor);
 *  3. sweeps of inodes that may hold unreferenced objects: every file of a
 *     copyset once when this replica becomes its leader (a cursor walks
 *     them, `sweep.inodesPerPass` at a time), a file whose length shrank,
 *     one whose compaction ended without a known outcome (inode-sweep);
 *  4. deletion of objects superseded by compaction whose grace has passed.
 * Every step checks leadership (LeaderTerm) and stops when it moves. Errors
 * are counted and logged; the next pass tries again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { assert } from '../../src/common/assert.js';
import { MonotonicClock, SystemClock, type Clock } from '../../src/common/clock.js';
import { silentLogger, type Logger } from '../../src/common/log.js';
import type { CopysetManager } from '../copyset/copyset-manager.js';
import type { CopysetNode } from '../copyset/copyset-node.js';
import type { LayoutGeometry } from '../../src/layout/geometry.js';
import { FileType } from '../partition/types.js';
import { DelayedDeletes } from '../deletion/delayed-deletes.js';
import type { FsDataSource } from '../deletion/fs-data.js';
import { InodeSweeper, type SweepTarget } from '../deletion/inode-sweep.js';
import { UnlinkedDeleter } from '../deletion/unlinked-deleter.js';
import { ByteRate } from './byte-rate.js';
import { ChunkCompactor, type ChunkTarget } from './chunk-compactor.js';
import { assessChunk, DEFAULT_THRESHOLDS, type CompactionThresholds } from './compaction-plan.js';
import { dataMetrics, emptyStats, type DataMetrics, type DataStats } from './data-metrics.js';
import { LeaderTerm, LeadershipLost } from './leader-term.js';

export interface DataServicesOptions {
  readonly copysets: CopysetManager;
  readonly source: FsDataSource;
  /** Pause between passes (default 5 s). */
  readonly intervalMs?: number;
  /** How long superseded or unreferenced objects outlive their last reference (default 60 s). */
  readonly graceMs?: number;
  readonly compaction?: Partial<CompactionThresholds> & {
    /** On by default. */
    readonly enabled?: boolean;
    /** Chunks compacted at once (default 2). */
    readonly concurrency?: number;
    /** Object-store bytes per second, reads and writes together (default 64 MiB/s; 0 = unlimited). */
    readonly bytesPerSecond?: number;
    /** Chunks taken per pass (default 64). */
    readonly chunksPerPass?: number;
  };
  readonly deletion?: {
    readonly enabled?: boolean;
    /** Seconds an unlinked inode is kept before its data goes (default 0). */
    readonly trashDelaySec?: number;
    /** Unlinked inodes per copyset per pass (default 1000). */
    readonly inodesPerPass?: number;
    /** Inodes deleted at once (default 8). */
    readonly concurrency?: number;
    /** How long this leader sees an inode unlinked before deleting it (default 5 s: open registrations are batched). */
    readonly unlinkGraceMs?: number;
  };
  readonly sweep?: {
    readonly enabled?: boolean;
    /** Inodes swept per copyset per pass (default 256). */
    readonly inodesPerPass?: number;
    /** A finished full sweep starts over after this long (default 6 h; catches rare leftovers). */
    readonly fullEveryMs?: number;
  };
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Monotonic time (grace periods); wall time (trash delay against dtime). */
  readonly clock?: Clock;
  readonly wallClock?: Clock;
}

/** What this replica remembers per partition of a copyset it leads (numeric keys: compact). */
interface PartitionMemory {
  /** inodeId → version last found not worth compacting (skips re-assessing unchanged inodes). */
  readonly cleanVersions: Map<number, number>;
  /** inodeId → length last seen (a shrink means objects past the end to free). */
  readonly lengths: Map<number, number>;
}

interface CopysetWork {
  term: number;
  /** `fsId:inodeId` → what to sweep and when (shrinks, unknown outcomes, pending suspects). */
  readonly sweepQueue: Map<string, { target: SweepTarget; dueMs: number }>;
  /**
   * The sweep of every file this term started with: partitions still to do
   * and the last inode id done in the first of them. A cursor, not a queue,
   * so a copyset of millions of files costs no memory for it.
   */
  readonly fullSweep: { partitionIds: number[]; afterInodeId: number; startedMs: number };
  readonly partitions: Map<number, PartitionMemory>;
}

const SWEEP_QUEUE_MAX = 1_000_000;
const SUSPECTS_MAX = 1_000_000;
const DELAYED_KEYS_MAX = 1_000_000;

const keyOf = (fsId: number, inodeId: number): string => `${fsId}:${inodeId}`;

export class DataServices {
  readonly stats: DataStats = emptyStats();
  private readonly metrics: DataMetrics;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly wallClock: Clock;
  private readonly intervalMs: number;
  private readonly graceMs: number;
  private readonly thresholds: CompactionThresholds;
  private readonly compactor: ChunkCompactor;
  private readonly sweeper: InodeSweeper;
  private readonly deleter: UnlinkedDeleter;
  private readonly delayed = new DelayedDeletes(DELAYED_KEYS_MAX);
  private readonly work = new Map<CopysetNode, CopysetWork>();
  /** Inodes some step is working on (one step per inode at a time). */
  private readonly busy = new Set<string>();
  private running: Promise<void> | null = null;
  private loop: Promise<void> | null = null;
  private readonly stopping = new AbortController();
  private isStopped = false;
  passes = 0;

  constructor(private readonly options: DataServicesOptions) {
    this.log = options.logger ?? silentLogger;
    this.clock = options.clock ?? new MonotonicClock();
    this.wallClock = options.wallClock ?? new SystemClock();
    this.metrics = dataMetrics(options.registry);
    this.intervalMs = options.intervalMs ?? 5_000;
    this.graceMs = options.graceMs ?? 60_000;
    assert(this.intervalMs > 0 && this.graceMs >= 0, 'interval and grace are durations');
    const c = options.compaction ?? {};
    this.thresholds = {
      recordsMax: c.recordsMax ?? DEFAULT_THRESHOLDS.recordsMax,
      overlapRatioMax: c.overlapRatioMax ?? DEFAULT_THRESHOLDS.overlapRatioMax,
      trimPastEof: c.trimPastEof ?? DEFAULT_THRESHOLDS.trimPastEof,
      mergeGapBytes: c.mergeGapBytes ?? DEFAULT_THRESHOLDS.mergeGapBytes,
    };
    this.compactor = new ChunkCompactor(new ByteRate(c.bytesPerSecond ?? 64 << 20, this.clock), this.thresholds.mergeGapBytes);
    this.sweeper = new InodeSweeper(options.source, this.graceMs, SUSPECTS_MAX);
    const d = options.deletion ?? {};
    this.deleter = new UnlinkedDeleter(options.source, d.trashDelaySec ?? 0, Math.max(1, d.concurrency ?? 8), d.unlinkGraceMs ?? 5_000);
  }

  /** Runs passes every `intervalMs` until stop(). */
  start(): void {
    assert(this.loop === null, 'started once');
    this.loop = (async () => {
      while (!this.isStopped) {
        await this.runOnce();
        if (!this.isStopped) await sleep(this.intervalMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    })();
  }

  /** Stops after the step in progress, then closes the source (its MDS client and object stores). */
  async stop(): Promise<void> {
    this.isStopped = true;
    this.stopping.abort();
    await this.running?.catch(() => undefined);
    await this.loop;
    await this.options.source.close();
  }

  /** One pass over every copyset this replica leads (joins a pass already running). */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
      this.passes++;
    });
    return this.running;
  }

  /** Objects waiting for their grace period (compaction leftovers held by this replica). */
  get delayedObjects(): number {
    return this.delayed.size;
  }

  private async pass(): Promise<void> {
    for (const node of this.options.copysets.all()) {
      if (this.isStopped) return;
      const leader = LeaderTerm.of(node);
      if (leader === null) {
        this.work.delete(node);
        continue;
      }
      const work = this.workOf(leader);
      if (this.options.deletion?.enabled !== false) await this.step('deletion', () => this.deleteUnlinked(leader));
      if (this.options.compaction?.enabled !== false) await this.step('compaction', () => this.compact(leader, work));
      else this.noteShrinks(leader, work);
      if (this.options.sweep?.enabled !== false) await this.step('sweep', () => this.sweep(leader, work));
    }
    await this.step('deletion', () => this.deleteDue());
  }

  private async step(task: 'compaction' | 'deletion' | 'sweep', body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      if (error instanceof LeadershipLost) return;
      this.stats.failures++;
      this.metrics.failures.inc({ task });
      this.log.warn({ err: error, task }, 'metaserver: data service step failed (retried next pass)');
    }
  }

  /** This copyset's memory; a new term (this replica just became leader) starts a full sweep. */
  private workOf(leader: LeaderTerm): CopysetWork {
    let work = this.work.get(leader.node);
    if (work !== undefined && work.term === leader.term) return work;
    const partitionIds = leader.node.sm.allPartitions().map((p) => p.partitionId);
    const fullSweep = { partitionIds, afterInodeId: 0, startedMs: this.clock.nowMs() };
    work = { term: leader.term, sweepQueue: new Map(), fullSweep, partitions: new Map() };
    this.work.set(leader.node, work);
    return work;
  }

  private memoryOf(work: CopysetWork, partitionId: number): PartitionMemory {
    let m = work.partitions.get(partitionId);
    if (m === undefined) work.partitions.set(partitionId, (m = { cleanVersions: new Map(), lengths: new Map() }));
    return m;
  }

  /** Up to `count` more files of the full sweep (ascending inode ids, partition by partition). */
  private nextOfFullSweep(leader: LeaderTerm, work: CopysetWork, count: number): SweepTarget[] {
    const out: SweepTarget[] = [];
    const cursor = work.fullSweep;
    const now = this.clock.nowMs();
    if (cursor.partitionIds.length === 0 && now - cursor.startedMs >= (this.options.sweep?.fullEveryMs ?? 6 * 3_600_000)) {
      cursor.partitionIds = leader.node.sm.allPartitions().map((p) => p.partitionId);
      cursor.afterInodeId = 0;
      cursor.startedMs = now;
    }
    while (out.length < count && cursor.partitionIds.length > 0) {
      const p = leader.node.sm.partition(cursor.partitionIds[0]!);
      const ids: number[] = [];
      for (const inode of p?.inodes.values() ?? []) {
        if (inode.inodeId > cursor.afterInodeId && inode.type === FileType.File && inode.nlink > 0) ids.push(inode.inodeId);
      }
      ids.sort((a, b) => a - b);
      const take = ids.slice(0, count - out.length);
      for (const inodeId of take) out.push({ fsId: p!.fsId, partitionId: p!.partitionId, inodeId });
      if (take.length === ids.length) {
        cursor.partitionIds.shift();
        cursor.afterInodeId = 0;
      } else {
        cursor.afterInodeId = take[take.length - 1]!;
      }
    }
    return out;
  }

  private queueSweep(work: CopysetWork, target: SweepTarget, dueMs: number): void {
    const key = keyOf(target.fsId, target.inodeId);
    const existing = work.sweepQueue.get(key);
    if (existing !== undefined) existing.dueMs = Math.min(existing.dueMs, dueMs);
    else if (work.sweepQueue.size < SWEEP_QUEUE_MAX) work.sweepQueue.set(key, { target, dueMs });
  }

  // ---- deletion ----

  private async deleteUnlinked(leader: LeaderTerm): Promise<void> {
    const nowSec = Math.floor(this.wallClock.nowMs() / 1000);
    const limit = this.options.deletion?.inodesPerPass ?? 1000;
    const result = await this.deleter.run(leader, nowSec, this.clock.nowMs(), limit, (fsId, inodeId) => this.busy.has(keyOf(fsId, inodeId)));
    this.stats.inodesDeleted += result.inodesDeleted;
    this.stats.objectsDeleted += result.objectsDeleted;
    this.metrics.inodesDeleted.inc(result.inodesDeleted);
    this.metrics.objectsDeleted.inc({ reason: 'deletion' }, result.objectsDeleted);
  }

  private async deleteDue(): Promise<void> {
    for (const batch of this.delayed.takeDue(this.clock.nowMs())) {
      const fs = await this.options.source.fs(batch.fsId);
      await fs.store.deleteMany(batch.keys);
      this.stats.objectsDeleted += batch.keys.length;
      this.metrics.objectsDeleted.inc({ reason: 'compaction' }, batch.keys.length);
    }
  }

  // ---- compaction ----

  /** Records shrinks without compacting (compaction disabled). */
  private noteShrinks(leader: LeaderTerm, work: CopysetWork): void {
    this.candidates(leader, work, 0);
  }

  /** Chunks worth compacting (local state: a candidate is re-read linearizably before use). */
  private candidates(leader: LeaderTerm, work: CopysetWork, max: number): ChunkTarget[] {
    const out: ChunkTarget[] = [];
    const now = this.clock.nowMs();
    for (const p of leader.node.sm.allPartitions()) {
      for (const inode of p.inodes.values()) {
        if (inode.type !== FileType.File || inode.nlink === 0) continue;
        const memory = this.memoryOf(work, p.partitionId);
        const lastLength = memory.lengths.get(inode.inodeId);
        if (lastLength !== undefined && inode.length < lastLength) {
          this.queueSweep(work, { fsId: p.fsId, partitionId: p.partitionId, inodeId: inode.inodeId }, now);
        }
        memory.lengths.set(inode.inodeId, inode.length);
        if (out.length >= max || inode.chunks === null || memory.cleanVersions.get(inode.inodeId) === inode.version) continue;
        const geometry = this.geometryOf(p.fsId);
        if (geometry === undefined) continue;
        let isClean = true;
        let wasAssessed = false;
        for (const [chunkIndex, list] of inode.chunks) {
          if (list.length < 2 && list.every((r) => r.offset + r.length <= inode.length)) continue;
          wasAssessed = true;
          const a = assessChunk(geometry, chunkIndex, list, inode.length, this.thresholds);
          if (a.reason === null) continue;
          isClean = false;
          if (out.length < max) out.push({ fsId: p.fsId, partitionId: p.partitionId, inodeId: inode.inodeId, chunkIndex });
        }
        // Remembered only where assessing costs something (lists of 2+ records).
        if (isClean && wasAssessed) memory.cleanVersions.set(inode.inodeId, inode.version);
      }
    }
    return out;
  }

  private readonly geometries = new Map<number, LayoutGeometry>();

  private geometryOf(fsId: number): LayoutGeometry | undefined {
    return this.geometries.get(fsId);
  }

  /** Learns the geometry of every fs with a partition in this copyset (cached by the source). */
  private async loadGeometries(leader: LeaderTerm): Promise<void> {
    for (const p of leader.node.sm.allPartitions()) {
      if (!this.geometries.has(p.fsId)) this.geometries.set(p.fsId, (await this.options.source.fs(p.fsId)).geometry);
    }
  }

  private async compact(leader: LeaderTerm, work: CopysetWork): Promise<void> {
    await this.loadGeometries(leader);
    const targets = this.candidates(leader, work, this.options.compaction?.chunksPerPass ?? 64);
    const compactedInodes = new Set<string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length && !this.isStopped && leader.isCurrent()) {
        const target = targets[next++]!;
        const key = keyOf(target.fsId, target.inodeId);
        if (this.busy.has(key)) continue;
        this.busy.add(key);
        try {
          if (await this.compactOne(leader, work, target)) compactedInodes.add(key);
        } finally {
          this.busy.delete(key);
        }
      }
    };
    const concurrency = Math.max(1, this.options.compaction?.concurrency ?? 2);
    await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
    this.stats.inodesCompacted += compactedInodes.size;
    this.metrics.inodesCompacted.inc(compactedInodes.size);
  }

  private async compactOne(leader: LeaderTerm, work: CopysetWork, target: ChunkTarget): Promise<boolean> {
    const sweepLater = (): void =>
      this.queueSweep(work, { fsId: target.fsId, partitionId: target.partitionId, inodeId: target.inodeId }, this.clock.nowMs());
    try {
      const fs = await this.options.source.fs(target.fsId);
      const outcome = await this.compactor.compact(leader, fs, target);
      switch (outcome.kind) {
        case 'skipped':
          return false;
        case 'compacted':
          this.stats.chunksCompacted++;
          this.stats.recordsBefore += outcome.recordsBefore;
          this.stats.recordsAfter += outcome.recordsAfter;
          this.stats.bytesRead += outcome.bytesRead;
          this.stats.bytesWritten += outcome.bytesWritten;
          this.metrics.chunksCompacted.inc();
          this.metrics.recordsBefore.inc(outcome.recordsBefore);
          this.metrics.recordsAfter.inc(outcome.recordsAfter);
          this.metrics.bytesRead.inc(outcome.bytesRead);
          this.metrics.bytesWritten.inc(outcome.bytesWritten);
          this.delayed.add({ dueMs: this.clock.nowMs() + this.graceMs, fsId: target.fsId, keys: outcome.superseded });
          return true;
        case 'raced':
          this.stats.compactionsRaced++;
          this.stats.bytesRead += outcome.bytesRead;
          this.stats.bytesWritten += outcome.bytesWritten;
          this.stats.objectsDeleted += outcome.objectsDeleted;
          this.metrics.compactionsRaced.inc();
          this.metrics.objectsDeleted.inc({ reason: 'aborted' }, outcome.objectsDeleted);
          return false;
        case 'unknown':
          sweepLater();
          throw outcome.error;
      }
    } catch (error) {
      // Objects may have been written that nothing references: the sweep decides.
      sweepLater();
      if (error instanceof LeadershipLost) return false;
      this.stats.failures++;
      this.metrics.failures.inc({ task: 'compaction' });
      this.log.warn({ err: error, fsId: target.fsId, inodeId: target.inodeId, chunkIndex: target.chunkIndex }, 'metaserver: compaction of a chunk failed');
      return false;
    }
  }

  // ---- sweep ----

  private async sweep(leader: LeaderTerm, work: CopysetWork): Promise<void> {
    const now = this.clock.nowMs();
    const limit = this.options.sweep?.inodesPerPass ?? 256;
    const due: SweepTarget[] = [];
    for (const [key, entry] of work.sweepQueue) {
      if (due.length >= limit) break;
      if (entry.dueMs > now || this.busy.has(key)) continue;
      due.push(entry.target);
    }
    const queued = new Set(due.map((t) => keyOf(t.fsId, t.inodeId)));
    for (const t of this.nextOfFullSweep(leader, work, limit - due.length)) {
      const key = keyOf(t.fsId, t.inodeId);
      if (!queued.has(key) && !this.busy.has(key)) due.push(t);
    }
    const byFs = new Map<number, SweepTarget[]>();
    for (const t of due) byFs.set(t.fsId, [...(byFs.get(t.fsId) ?? []), t]);
    for (const [fsId, targets] of byFs) {
      if (!leader.isCurrent()) throw new LeadershipLost();
      for (const t of targets) {
        work.sweepQueue.delete(keyOf(t.fsId, t.inodeId));
        this.busy.add(keyOf(t.fsId, t.inodeId));
      }
      try {
        const fs = await this.options.source.fs(fsId);
        const result = await this.sweeper.sweep(leader, fs, targets, () => this.clock.nowMs());
        this.stats.inodesSwept += result.swept;
        this.stats.objectsDeleted += result.deleted;
        this.metrics.inodesSwept.inc(result.swept);
        this.metrics.objectsDeleted.inc({ reason: 'sweep' }, result.deleted);
        const again = this.clock.nowMs() + this.graceMs;
        for (const t of result.again) this.queueSweep(work, t, again);
      } catch (error) {
        // Put them back: a failed sweep judged nothing.
        const again = this.clock.nowMs() + Math.min(this.graceMs, 5_000);
        for (const t of targets) this.queueSweep(work, t, again);
        throw error;
      } finally {
        for (const t of targets) this.busy.delete(keyOf(t.fsId, t.inodeId));
      }
    }
  }

  /** Sweeps still queued for copysets this replica leads, full sweeps not finished counted as 1. */
  pendingSweeps(): number {
    let n = 0;
    for (const w of this.work.values()) n += w.sweepQueue.size + (w.fullSweep.partitionIds.length > 0 ? 1 : 0);
    return n;
  }
}
