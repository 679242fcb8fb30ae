/**
 * Deletes unlinked inodes (DESIGN §8): an inode whose link count reached 0
 * sits in its partition's to-delete set; once no live session holds it open
 * (and its trash delay, if any, has passed) its objects are deleted from the
 * object store, and only then its record, through Raft (DeleteInode).
 *
 * The open set can lag an open by a moment (clients batch their open
 * registrations into the next session refresh), so an inode is deleted
 * only once this leader has seen it unlinked for `unlinkGraceMs`: an open
 * made before the unlink has reached the MDS by then.
 *
 * Idempotent across leader changes: a leader that dies after deleting the
 * objects leaves the record, and the next leader lists the (now empty)
 * prefix and removes it; one that dies before leaves both. Data is never
 * referenced after it is deleted: an inode with nlink 0 that nobody holds
 * open has no reader and no writer, and cannot be opened again by name.
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { inodeKeyPrefix } from '../../src/layout/object-key.js';
import { OpType } from '../partition/ops.js';
import type { LeaderTerm } from '../compaction/leader-term.js';
import type { FsDataSource } from './fs-data.js';
import { deleteKeys, listInodeObjects } from './object-listing.js';

/** Keys listed per round for one inode; a bigger inode takes several rounds. */
const OBJECTS_PER_ROUND = 10_000;
const ROUNDS_PER_INODE_MAX = 1_000;

export interface DeletionResult {
  readonly inodesDeleted: number;
  readonly objectsDeleted: number;
  /** Inodes left for a later pass (held open, trash delay, lock in the way). */
  readonly waiting: number;
}

export class UnlinkedDeleter {
  /** Per copyset: `fsId:inodeId` → when this leader first saw it unlinked (monotonic ms). */
  private readonly firstSeen = new WeakMap<object, Map<string, number>>();

  constructor(
    private readonly source: FsDataSource,
    private readonly trashDelaySec: number,
    /** Inodes deleted at once (object-store calls and Raft proposals overlap). */
    private readonly concurrency: number,
    private readonly unlinkGraceMs: number,
  ) {}

  /** Handles up to `limit` unlinked inodes of `leader`'s copyset. */
  async run(
    leader: LeaderTerm,
    nowSec: number,
    nowMs: number,
    limit: number,
    isBusy: (fsId: number, inodeId: number) => boolean,
  ): Promise<DeletionResult> {
    const sm = leader.node.sm;
    const work: { fsId: number; partitionId: number; inodeId: number }[] = [];
    let waiting = 0;
    const seenBefore = this.firstSeen.get(leader.node) ?? new Map<string, number>();
    const seen = new Map<string, number>();
    for (const p of sm.allPartitions()) {
      for (const e of sm.listToDelete(p.fsId, p.partitionId, limit - work.length)) {
        const key = `${p.fsId}:${e.inodeId}`;
        const first = seenBefore.get(key) ?? nowMs;
        seen.set(key, first);
        const isYoung = nowMs - first < this.unlinkGraceMs;
        if (isYoung || e.dtimeSec + this.trashDelaySec > nowSec || isBusy(p.fsId, e.inodeId)) waiting++;
        else work.push({ fsId: p.fsId, partitionId: p.partitionId, inodeId: e.inodeId });
      }
      if (work.length >= limit) break;
    }
    // Only what is still unlinked is remembered (the map stays as small as the work list).
    this.firstSeen.set(leader.node, seen);
    let inodesDeleted = 0;
    let objectsDeleted = 0;
    const byFs = new Map<number, typeof work>();
    for (const w of work) byFs.set(w.fsId, [...(byFs.get(w.fsId) ?? []), w]);
    for (const [fsId, items] of byFs) {
      const fs = await this.source.fs(fsId);
      // Read after the inodes reached nlink 0: an open registered before the unlink is in it.
      const open = await this.source.openInodes(fsId);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < items.length && leader.isCurrent()) {
          const item = items[next++]!;
          if (open.has(item.inodeId)) {
            waiting++;
            continue;
          }
          const prefix = inodeKeyPrefix(fs.keyPrefix, fsId, item.inodeId);
          for (let round = 0; round < ROUNDS_PER_INODE_MAX; round++) {
            const listing = await listInodeObjects(fs.store, prefix, fsId, item.inodeId, OBJECTS_PER_ROUND);
            await deleteKeys(fs.store, listing.objects.map((o) => o.key));
            objectsDeleted += listing.objects.length;
            if (!listing.isTruncated) break;
          }
          const result = await leader.node.propose(OpType.DeleteInode, { ...leader.header(fsId, item.partitionId), inodeId: item.inodeId });
          if (result.status === MetaStatusCode.OK || result.status === MetaStatusCode.NOT_FOUND) inodesDeleted++;
          else waiting++; // TX_LOCKED (a rename in flight), FS_BUSY: a later pass tries again
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
    }
    return { inodesDeleted, objectsDeleted, waiting };
  }
}
