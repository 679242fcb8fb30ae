/**
 * The inode sweep: deletes objects of an inode that its chunk lists no
 * longer reference. That covers what a shrinking truncate cut off (DESIGN
 * §8), what a compaction superseded or wrote in vain when its leader died
 * before cleaning up (§9), and objects a crashed client PUT but never
 * committed. It is what makes the data services idempotent across leader
 * changes: a new leader sweeps every file of its copysets once.
 *
 * Why deleting is safe. Per batch of inodes, in this order:
 *   L. list each inode's objects;
 *   O. read the open set from the MDS;
 *   R. read the chunk lists (linearizable).
 * An object listed at L was PUT before L. If its record was committed
 * before R, R sees it (referenced, kept). Otherwise its writer had not
 * committed at R, and a writer holds the file open from before its PUT
 * until after its commit, so at O (between L and R) the inode was open:
 * skipped. Two cases escape that argument: a write-back upload committing
 * after close, and a client cut off from the MDS while still writing. So
 * an unreferenced object is only a suspect the first time; it is deleted
 * when a sweep at least `graceMs` later still finds it unreferenced, which
 * also gives a reader holding a list from before a compaction its grace.
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { inodeKeyPrefix } from '../../src/layout/object-key.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import { objectsOfRecords } from '../compaction/compaction-plan.js';
import type { LeaderTerm } from '../compaction/leader-term.js';
import type { FsData, FsDataSource } from './fs-data.js';
import { deleteKeys, listInodeObjects, objectNameOf, type InodeListing } from './object-listing.js';

export interface SweepTarget {
  readonly fsId: number;
  readonly partitionId: number;
  readonly inodeId: number;
}

export interface SweepResult {
  readonly swept: number;
  readonly deleted: number;
  /** Inodes to sweep again after the grace (suspects pending, or open now). */
  readonly again: readonly SweepTarget[];
}

/** Objects listed per inode at most; a bigger inode is swept in later passes (never partially judged). */
const OBJECTS_PER_INODE_MAX = 200_000;

export class InodeSweeper {
  /** Object key → when it was first seen unreferenced (this leader's memory). */
  private readonly suspects = new Map<string, number>();

  constructor(
    private readonly source: FsDataSource,
    private readonly graceMs: number,
    private readonly suspectsMax: number,
  ) {}

  /** Sweeps `targets` (all of one fs, all in `leader`'s copyset). */
  async sweep(leader: LeaderTerm, fs: FsData, targets: readonly SweepTarget[], nowMs: () => number): Promise<SweepResult> {
    const listings = new Map<number, InodeListing>();
    for (const t of targets) {
      const prefix = inodeKeyPrefix(fs.keyPrefix, fs.fsId, t.inodeId);
      listings.set(t.inodeId, await listInodeObjects(fs.store, prefix, fs.fsId, t.inodeId, OBJECTS_PER_INODE_MAX));
    }
    const open = await this.source.openInodes(fs.fsId);
    const lists = await leader.node.read((sm) =>
      targets.map((t) => {
        const got = sm.getInode(t.fsId, t.partitionId, t.inodeId, true);
        return { target: t, status: got.status, inode: got.inode };
      }),
    );
    const now = nowMs();
    let deleted = 0;
    const again: SweepTarget[] = [];
    for (const { target, status, inode } of lists) {
      const listing = listings.get(target.inodeId)!;
      if (listing.isTruncated || open.has(target.inodeId)) {
        again.push(target);
        continue;
      }
      // An unlinked inode belongs to the deletion service; a moved partition to another copyset.
      if (status === MetaStatusCode.OK && inode !== undefined && inode.nlink === 0) continue;
      if (status !== MetaStatusCode.OK && status !== MetaStatusCode.NOT_FOUND) continue;
      const records: ChunkInfo[] = [];
      for (const list of inode?.chunks.values() ?? []) records.push(...list);
      // Inode ids are never reused: objects of a removed inode are referenced by nothing.
      const referenced = new Set(objectsOfRecords(fs.geometry, records).map(objectNameOf));
      const due: string[] = [];
      let pending = false;
      for (const o of listing.objects) {
        if (referenced.has(objectNameOf(o))) {
          this.suspects.delete(o.key);
          continue;
        }
        const first = this.suspects.get(o.key);
        if (first !== undefined && now - first >= this.graceMs) {
          due.push(o.key);
        } else {
          pending = true;
          if (first === undefined && this.suspects.size < this.suspectsMax) this.suspects.set(o.key, now);
        }
      }
      if (due.length > 0) {
        await deleteKeys(fs.store, due);
        for (const k of due) this.suspects.delete(k);
        deleted += due.length;
      }
      if (pending) again.push(target);
    }
    return { swept: targets.length, deleted, again };
  }
}
