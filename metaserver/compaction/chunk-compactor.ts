/**
 * Compacts one chunk of one inode (DESIGN §9):
 *  1. read the chunk's list and the inode's length (linearizable read);
 *  2. plan the rewrite (compaction-plan.ts, pure);
 *  3. GET the live bytes, PUT them as new objects (new chunk-id/compaction
 *     names: never a key the list references);
 *  4. ReplaceChunkInfo conditional on the list being exactly what was read.
 * Then: committed → the superseded objects are deleted after the grace
 * period; refused because a client changed the chunk → the new objects are
 * deleted at once (nothing references them) and the chunk waits for a later
 * pass; no answer (leader lost, timeout: the entry may still commit) → the
 * new objects are left alone and the inode is swept later, which deletes
 * whichever set ended up unreferenced.
 */
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { CorruptionError } from '../../src/common/errors.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import { objectKey } from '../../src/layout/object-key.js';
import { OpType } from '../partition/ops.js';
import type { FsData } from '../deletion/fs-data.js';
import type { ByteRate } from './byte-rate.js';
import { planChunkCompaction, type CompactionPlan, type PlannedObject } from './compaction-plan.js';
import { LeadershipLost, type LeaderTerm } from './leader-term.js';

/** Parallel GETs while assembling one new object. */
const GETS_IN_FLIGHT_MAX = 8;

export type ChunkOutcome =
  | { readonly kind: 'skipped' }
  | {
      readonly kind: 'compacted';
      readonly recordsBefore: number;
      readonly recordsAfter: number;
      readonly bytesRead: number;
      readonly bytesWritten: number;
      /** Keys to delete after the grace period. */
      readonly superseded: readonly string[];
    }
  /** A client changed the chunk: the new objects are already deleted. */
  | { readonly kind: 'raced'; readonly objectsDeleted: number; readonly bytesRead: number; readonly bytesWritten: number }
  /** The outcome of the commit is unknown: the inode needs a sweep. */
  | { readonly kind: 'unknown'; readonly error: unknown };

export interface ChunkTarget {
  readonly fsId: number;
  readonly partitionId: number;
  readonly inodeId: number;
  readonly chunkIndex: number;
}

function wire(c: ChunkInfo): { chunkId: number; compaction: number; offset: number; len: number; zero: boolean } {
  return { chunkId: c.chunkId, compaction: c.compaction, offset: c.offset, len: c.length, zero: c.zero };
}

export class ChunkCompactor {
  constructor(
    private readonly rate: ByteRate,
    private readonly mergeGapBytes: number,
  ) {}

  async compact(leader: LeaderTerm, fs: FsData, target: ChunkTarget): Promise<ChunkOutcome> {
    const { fsId, partitionId, inodeId, chunkIndex } = target;
    const read = await leader.node.read((sm) => {
      const inode = sm.getInode(fsId, partitionId, inodeId, false);
      const chunks = sm.getChunkInfo(fsId, partitionId, inodeId, [chunkIndex]);
      return { inode: inode.inode, list: chunks.chunks.get(chunkIndex) ?? [] };
    });
    // Gone, or unlinked (the deletion service owns it now).
    if (read.inode === undefined || read.inode.nlink === 0) return { kind: 'skipped' };
    const plan = planChunkCompaction(fs.geometry, chunkIndex, read.list, read.inode.length, this.mergeGapBytes);
    if (plan === null) return { kind: 'skipped' };
    const written: string[] = [];
    let bytesRead = 0;
    let bytesWritten = 0;
    for (const w of plan.writes) {
      if (!leader.isCurrent()) {
        // Nothing proposed yet: what was written is referenced by nobody.
        await fs.store.deleteMany(written);
        throw new LeadershipLost();
      }
      const data = await this.assemble(fs, inodeId, w, () => !leader.isCurrent());
      bytesRead += data.bytesRead;
      const key = objectKey(fs.keyPrefix, { fsId, inodeId, chunkId: w.chunkId, blockIndex: w.blockIndex, compaction: w.compaction });
      await this.rate.take(data.bytes.byteLength, () => !leader.isCurrent());
      written.push(key);
      await fs.store.put(key, data.bytes);
      bytesWritten += data.bytes.byteLength;
    }
    return this.commit(leader, fs, target, plan, written, bytesRead, bytesWritten);
  }

  private async commit(
    leader: LeaderTerm,
    fs: FsData,
    target: ChunkTarget,
    plan: CompactionPlan,
    written: string[],
    bytesRead: number,
    bytesWritten: number,
  ): Promise<ChunkOutcome> {
    let status: MetaStatusCode;
    try {
      const result = await leader.node.propose(OpType.ReplaceChunkInfo, {
        ...leader.header(target.fsId, target.partitionId),
        inodeId: target.inodeId,
        chunkIndex: target.chunkIndex,
        expected: plan.expected.map(wire),
        replacement: plan.replacement.map(wire),
      });
      status = result.status;
    } catch (error) {
      return { kind: 'unknown', error };
    }
    if (status !== MetaStatusCode.OK) {
      // A definite refusal (VERSION_MISMATCH: a client appended or trimmed meanwhile).
      await fs.store.deleteMany(written);
      return { kind: 'raced', objectsDeleted: written.length, bytesRead, bytesWritten };
    }
    const superseded = plan.superseded.map((o) =>
      objectKey(fs.keyPrefix, { fsId: target.fsId, inodeId: target.inodeId, chunkId: o.chunkId, blockIndex: o.blockIndex, compaction: o.compaction }),
    );
    return {
      kind: 'compacted',
      recordsBefore: plan.expected.length,
      recordsAfter: plan.replacement.length,
      bytesRead,
      bytesWritten,
      superseded,
    };
  }

  /** The bytes of one new object: live ranges of old objects, zeros for holes. */
  private async assemble(
    fs: FsData,
    inodeId: number,
    w: PlannedObject,
    isCancelled: () => boolean,
  ): Promise<{ bytes: Buffer; bytesRead: number }> {
    const bytes = Buffer.alloc(w.length);
    // One GET per source object: the ranges an object gives this new object are fetched as
    // their covering range (overwrites split an old object into many small ranges).
    const byKey = new Map<string, { at: number; offset: number; length: number }[]>();
    let at = 0;
    for (const s of w.sources) {
      if (s.kind === 'object') {
        const key = objectKey(fs.keyPrefix, { fsId: fs.fsId, inodeId, chunkId: s.chunkId, blockIndex: s.blockIndex, compaction: s.compaction });
        const parts = byKey.get(key) ?? [];
        parts.push({ at, offset: s.objectOffset, length: s.length });
        byKey.set(key, parts);
      }
      at += s.length;
    }
    assert(at === w.length, 'sources tile the new object');
    const jobs = [...byKey].map(([key, parts]) => {
      const offset = Math.min(...parts.map((p) => p.offset));
      const end = Math.max(...parts.map((p) => p.offset + p.length));
      return { key, offset, length: end - offset, parts };
    });
    let bytesRead = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        await this.rate.take(job.length, isCancelled);
        const got = await fs.store.get(job.key, { offset: job.offset, length: job.length });
        if (got.byteLength !== job.length) {
          throw new CorruptionError(`object ${job.key} is shorter than its chunk info says (${got.byteLength} < ${job.length} at ${job.offset})`);
        }
        for (const p of job.parts) got.copy(bytes, p.at, p.offset - job.offset, p.offset - job.offset + p.length);
        bytesRead += job.length;
      }
    };
    await Promise.all(Array.from({ length: Math.min(GETS_IN_FLIGHT_MAX, jobs.length) }, worker));
    return { bytes, bytesRead };
  }
}
