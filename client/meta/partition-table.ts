/**
 * The client's view of one file system's partitions (DESIGN §3): which
 * partition owns an inode id, and which partition a new inode goes to.
 * Pure: no I/O, no clock; the random choice comes from an injected Random.
 *
 * Invariants: partitions are sorted by `start` and their inclusive ranges
 * [start, end] do not overlap (the MDS hands out contiguous, disjoint
 * ranges). A partition marked full here is never chosen for a new inode
 * again, even if a later refresh still reports it READWRITE (the MDS learns
 * of spent ranges only through heartbeats).
 */
import { assert } from '../../src/common/assert.js';
import type { Random } from '../../src/common/random.js';
import { PartitionStatus, type PartitionInfo } from '../../src/proto/types-common.js';

/** What the client needs of a partition. */
export interface PartitionRoute {
  readonly partitionId: number;
  readonly poolId: number;
  readonly copysetId: number;
  /** First inode id owned. */
  readonly start: number;
  /** Last inode id owned (inclusive, as in common.proto). */
  readonly end: number;
  readonly status: PartitionStatus;
  readonly inodeCount: number;
}

export function routeOf(p: PartitionInfo): PartitionRoute {
  assert(Number.isSafeInteger(p.start) && Number.isSafeInteger(p.end) && p.start <= p.end, `partition ${p.partitionId} range`);
  return {
    partitionId: p.partitionId,
    poolId: p.poolId,
    copysetId: p.copysetId,
    start: p.start,
    end: p.end,
    status: p.status,
    inodeCount: p.inodeCount,
  };
}

export class PartitionTable {
  private sorted: PartitionRoute[] = [];
  /** Partitions whose ids ran out (PARTITION_ALLOC_ID_FAIL), by id. */
  private readonly full = new Set<number>();

  /** Replaces the table with a fresh listing from the MDS. */
  replace(partitions: readonly PartitionInfo[]): void {
    const routes = partitions.filter((p) => p.status !== PartitionStatus.DELETING).map(routeOf);
    routes.sort((a, b) => a.start - b.start);
    for (let i = 1; i < routes.length; i++) {
      assert(routes[i - 1]!.end < routes[i]!.start, `partitions ${routes[i - 1]!.partitionId} and ${routes[i]!.partitionId} overlap`);
    }
    this.sorted = routes;
  }

  size(): number {
    return this.sorted.length;
  }

  all(): readonly PartitionRoute[] {
    return this.sorted;
  }

  byId(partitionId: number): PartitionRoute | undefined {
    return this.sorted.find((p) => p.partitionId === partitionId);
  }

  /** The partition whose range holds `inodeId` (binary search), or undefined. */
  owner(inodeId: number): PartitionRoute | undefined {
    assert(Number.isSafeInteger(inodeId) && inodeId >= 0, `inode id ${inodeId}`);
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.sorted[mid]!;
      if (inodeId < p.start) hi = mid - 1;
      else if (inodeId > p.end) lo = mid + 1;
      else return p;
    }
    return undefined;
  }

  /** A uniformly random partition that can still allocate ids, or undefined when none is left. */
  pickForCreate(random: Random): PartitionRoute | undefined {
    const writable = this.sorted.filter((p) => p.status === PartitionStatus.READWRITE && !this.full.has(p.partitionId));
    if (writable.length === 0) return undefined;
    const choice = writable[random.int(writable.length)];
    assert(choice !== undefined, 'random index in range');
    return choice;
  }

  /** A random writable partition of the same copyset as `near` (undefined when there is none). */
  pickForCreateNear(near: PartitionRoute, random: Random): PartitionRoute | undefined {
    const writable = this.sorted.filter(
      (p) => p.poolId === near.poolId && p.copysetId === near.copysetId && p.status === PartitionStatus.READWRITE && !this.full.has(p.partitionId),
    );
    if (writable.length === 0) return undefined;
    return writable[random.int(writable.length)];
  }

  markFull(partitionId: number): void {
    this.full.add(partitionId);
  }

  isFull(partitionId: number): boolean {
    return this.full.has(partitionId);
  }
}
