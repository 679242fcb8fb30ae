/**
 * The cross-partition rename transaction (DESIGN §7, CurveFS "tx v2",
 * Percolator style), driven by the client:
 *
 *   1. startTs ← Tso
 *   2. PrewriteRename the primary's partition (the source parent's: its
 *      write is the source dentry's delete), then every other partition
 *      touched (destination dentry put, moved inode's parent list, replaced
 *      target's nlink and, for a directory target, its emptiness). Each
 *      prewrite checks what the VFS saw (expected inode ids) and locks.
 *   3. commitTs ← Tso; CommitRename the primary: from here the rename has
 *      happened, whatever else fails.
 *   4. CommitRename the secondaries (a failure here is only a lock that the
 *      next reader rolls forward).
 * Any failure before 3 rolls back what was prewritten, primary first.
 * Contention (TX_LOCKED) resolves the other lock and starts again with a
 * new startTs; TX_CONFLICT means a name no longer points where the caller
 * believed and is returned to it.
 */
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';
import { MetaError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { MessageInit } from '../../src/proto/types-common.js';
import { FsFileType, type DentryKey, type TxInodeChange, type TxWrite } from '../../src/proto/types-metaserver.js';
import { abortableSleep } from '../../src/rpc/index.js';
import { FileType, type RenameRequest } from '../vfs/meta-api.js';
import { backoffMs, checkOk, type MetaCaller } from './meta-caller.js';
import type { Target } from './meta-router.js';
import { timeToWire } from './meta-wire.js';
import type { TxResolver } from './tx-resolver.js';

/** Whole-transaction restarts after contention. */
const TX_ATTEMPTS_MAX = 20;

interface PartitionPart {
  readonly target: Target;
  readonly writes: MessageInit<TxWrite>[];
  readonly inodeChanges: MessageInit<TxInodeChange>[];
  readonly emptyDirs: number[];
}

export interface RenameTxDeps {
  readonly caller: MetaCaller;
  readonly resolver: TxResolver;
  readonly tso: () => Promise<number>;
  readonly wallClock: Clock;
  readonly logger: Logger;
  readonly ttlMs: number;
}

export class RenameTx {
  /** Transactions committed / restarted (tests and metrics). */
  committedCount = 0;
  restartCount = 0;

  constructor(private readonly deps: RenameTxDeps) {
    assert(deps.ttlMs > 0, 'tx ttl is positive');
  }

  async run(r: RenameRequest): Promise<void> {
    for (let attempt = 1; attempt <= TX_ATTEMPTS_MAX; attempt++) {
      const outcome = await this.attempt(r);
      if (outcome === 'done') return;
      this.restartCount += 1;
      await abortableSleep(backoffMs(attempt), undefined);
    }
    throw new MetaError(MetaStatusCode.TX_LOCKED, `rename ${r.srcParent}/${r.srcName}: contention did not clear`);
  }

  /** One transaction: 'done', or 'retry' after contention that has been dealt with. */
  private async attempt(r: RenameRequest): Promise<'done' | 'retry'> {
    const parts = await this.plan(r);
    const primaryKey: MessageInit<DentryKey> = { fsId: this.deps.caller.router.fsId, parentInodeId: r.srcParent, name: r.srcName };
    const primary = parts.get(partitionOf(await this.deps.caller.router.forInode(r.srcParent)));
    assert(primary !== undefined, 'the primary partition takes part');
    const startTs = await this.deps.tso();
    const lockTimeMs = Math.floor(this.deps.wallClock.nowMs());
    const common = { primary: primaryKey, startTs, ttlMs: this.deps.ttlMs, lockTimeMs, ...timeToWire(r.time) };
    const prewritten: PartitionPart[] = [];
    const ordered = [primary, ...[...parts.values()].filter((p) => p !== primary)];
    for (const part of ordered) {
      let reply;
      try {
        ({ reply } = await this.deps.caller.call(
          () => Promise.resolve(part.target),
          'PrewriteRename',
          { ...common, writes: part.writes, inodeChanges: part.inodeChanges, emptyDirs: part.emptyDirs },
          { isIdempotent: true },
        ));
      } catch (error) {
        // Unknown whether this one locked: roll back everything including it (a rollback of nothing is recorded, harmless).
        await this.rollback([...prewritten, part], startTs);
        throw error;
      }
      if (reply.status === MetaStatusCode.OK) {
        prewritten.push(part);
        continue;
      }
      await this.rollback(prewritten, startTs);
      if (reply.status === MetaStatusCode.TX_LOCKED && reply.conflictingLock !== null) {
        await this.deps.resolver.resolve(reply.conflictingLock, part.target);
        return 'retry';
      }
      checkOk('PrewriteRename', reply);
    }
    const commitTs = await this.deps.tso();
    assert(commitTs > startTs, 'Tso increases');
    const { reply: committed } = await this.deps.caller.call(
      () => Promise.resolve(primary.target),
      'CommitRename',
      { startTs, commitTs, keys: [primaryKey] },
      { isIdempotent: true },
    );
    if (committed.status === MetaStatusCode.TX_CONFLICT) {
      // A reader judged our lock expired and rolled the primary back: nothing happened. Clean up and go again.
      this.deps.logger.warn({ startTs }, 'meta: rename transaction was rolled back by a reader; retrying');
      await this.rollback(prewritten.slice(1), startTs);
      return 'retry';
    }
    checkOk('CommitRename', committed);
    this.committedCount += 1;
    await Promise.all(
      prewritten.slice(1).map(async (part) => {
        try {
          const { reply } = await this.deps.caller.call(() => Promise.resolve(part.target), 'CommitRename', { startTs, commitTs }, { isIdempotent: true });
          checkOk('CommitRename', reply);
        } catch (error) {
          // Committed at the primary: the lock left here is rolled forward by the next reader.
          this.deps.logger.warn({ startTs, partitionId: part.target.partition.partitionId, err: (error as Error).message }, 'meta: secondary commit failed');
        }
      }),
    );
    return 'done';
  }

  /** The owner aborts: its locks go regardless of ttl. The primary first, so the transaction is decided. */
  private async rollback(parts: readonly PartitionPart[], startTs: number): Promise<void> {
    for (const part of parts) {
      try {
        const { reply } = await this.deps.caller.call(
          () => Promise.resolve(part.target),
          'CommitRename',
          { startTs, rollback: true },
          { isIdempotent: true },
        );
        checkOk('CommitRename(rollback)', reply);
      } catch (error) {
        // Left locked: readers roll it back after the ttl (the primary is decided first by them too).
        this.deps.logger.warn({ startTs, err: (error as Error).message }, 'meta: rollback of a prewrite failed');
      }
    }
  }

  /** Groups the transaction's pieces by the partition that owns each. */
  private async plan(r: RenameRequest): Promise<Map<number, PartitionPart>> {
    const router = this.deps.caller.router;
    const parts = new Map<number, PartitionPart>();
    const partAt = async (inodeId: number): Promise<PartitionPart> => {
      const target = await router.forInode(inodeId);
      let part = parts.get(partitionOf(target));
      if (part === undefined) {
        part = { target, writes: [], inodeChanges: [], emptyDirs: [] };
        parts.set(partitionOf(target), part);
      }
      return part;
    };
    (await partAt(r.srcParent)).writes.push({
      parentInodeId: r.srcParent,
      name: r.srcName,
      isDelete: true,
      expectedInodeId: r.srcInodeId,
    });
    (await partAt(r.dstParent)).writes.push({
      parentInodeId: r.dstParent,
      name: r.dstName,
      isDelete: false,
      inodeId: r.srcInodeId,
      type: r.srcType as number as FsFileType,
      expectedInodeId: r.expectedDstInodeId,
    });
    // The moved inode: its parent list follows the move; the change also sets its ctime.
    const isMove = r.srcParent !== r.dstParent;
    (await partAt(r.srcInodeId)).inodeChanges.push({
      inodeId: r.srcInodeId,
      nlinkDelta: 0,
      addParents: isMove ? [r.dstParent] : [],
      removeParents: isMove ? [r.srcParent] : [],
    });
    if (r.expectedDstInodeId !== 0) {
      const isDir = (r.expectedDstType ?? r.srcType) === FileType.Directory;
      const target = await partAt(r.expectedDstInodeId);
      // A replaced directory loses its name and its "." link (the server clamps at 0); a file one link.
      target.inodeChanges.push({ inodeId: r.expectedDstInodeId, nlinkDelta: isDir ? -2 : -1, addParents: [], removeParents: [r.dstParent] });
      if (isDir) target.emptyDirs.push(r.expectedDstInodeId);
    }
    return parts;
  }
}

function partitionOf(target: Target): number {
  return target.partition.partitionId;
}
