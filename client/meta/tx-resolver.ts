/**
 * What a client does when it meets a rename transaction's lock (DESIGN §7,
 * Percolator): ask the primary's partition what became of the transaction
 * (CheckTxStatus) and finish the locked partition's part accordingly.
 *
 *   committed            → roll the lock forward (ResolveTxLock commitTs)
 *   rolled back          → roll it back (ResolveTxLock 0)
 *   pending, live        → leave it; the caller waits and retries
 *   pending, ttl expired → roll the primary back first (so the owner can no
 *                          longer commit), then the locked partition
 *   unknown at primary   → the primary was never prewritten (the owner died
 *                          before it): record a rollback there, then here
 * The primary's record is the truth; a secondary is never decided before it.
 * Returns true when the lock is gone (resend now), false to wait.
 */
import type { Clock } from '../../src/common/clock.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { TxStatus, type TxLock } from '../../src/proto/types-metaserver.js';
import { checkOk, type MetaCaller } from './meta-caller.js';
import type { Target } from './meta-router.js';

/** Re-checks of the primary when its state moves under us (committed while we rolled back). */
const CHECK_ROUNDS_MAX = 4;

export class TxResolver {
  /** Locks resolved (tests and metrics). */
  resolvedCount = 0;

  constructor(
    private readonly caller: MetaCaller,
    private readonly wallClock: Clock,
    private readonly logger: Logger,
  ) {}

  async resolve(lock: TxLock, lockedAt: Target | readonly Target[]): Promise<boolean> {
    const sites = Array.isArray(lockedAt) ? (lockedAt as readonly Target[]) : [lockedAt as Target];
    const primary = lock.primary;
    if (primary === null) return false;
    const primaryAt = () => this.caller.router.forInode(primary.parentInodeId);
    for (let round = 0; round < CHECK_ROUNDS_MAX; round++) {
      const nowMs = this.wallClock.nowMs();
      const { reply: check, target: primaryTarget } = await this.caller.call(
        primaryAt,
        'CheckTxStatus',
        { primary, startTs: lock.startTs, nowMs },
        { isIdempotent: true },
      );
      if (check.status === MetaStatusCode.OK && check.txStatus === TxStatus.COMMITTED) {
        await this.finishAll(sites, lock, check.commitTs);
        return true;
      }
      if (check.status === MetaStatusCode.OK && check.txStatus === TxStatus.ROLLED_BACK) {
        await this.finishAll(sites, lock, 0);
        return true;
      }
      if (check.status === MetaStatusCode.OK && check.txStatus === TxStatus.PENDING && !check.isExpired) return false;
      if (check.status !== MetaStatusCode.OK && check.status !== MetaStatusCode.NOT_FOUND) checkOk('CheckTxStatus', check);
      // Expired or never prewritten at the primary: roll the primary back, which decides the transaction.
      const { reply: back } = await this.caller.call(
        () => Promise.resolve(primaryTarget),
        'ResolveTxLock',
        { key: primary, startTs: lock.startTs, commitTs: 0, nowMs },
        { isIdempotent: true },
      );
      if (back.status === MetaStatusCode.TX_LOCKED) return false; // the primary's clock says not expired yet
      if (back.status === MetaStatusCode.TX_CONFLICT) continue; // committed meanwhile: check again
      checkOk('ResolveTxLock', back);
      this.logger.info({ startTs: lock.startTs, primary: `${primary.parentInodeId}/${primary.name}` }, 'meta: rolled back an abandoned rename');
      await this.finishAll(sites, lock, 0);
      return true;
    }
    return false;
  }

  private async finishAll(sites: readonly Target[], lock: TxLock, commitTs: number): Promise<void> {
    const seen = new Set<number>();
    for (const site of sites) {
      if (seen.has(site.partition.partitionId)) continue;
      seen.add(site.partition.partitionId);
      await this.finish(site, lock, commitTs);
    }
  }

  /** Rolls the locked partition's part forward (commitTs > 0) or back. */
  private async finish(lockedAt: Target, lock: TxLock, commitTs: number): Promise<void> {
    const { reply } = await this.caller.call(
      () => Promise.resolve(lockedAt),
      'ResolveTxLock',
      { key: lock.primary, startTs: lock.startTs, commitTs, nowMs: this.wallClock.nowMs() },
      { isIdempotent: true },
    );
    // NOT_FOUND: nothing of the transaction was left here (another reader finished it).
    if (reply.status !== MetaStatusCode.NOT_FOUND && reply.status !== MetaStatusCode.TX_LOCKED) checkOk('ResolveTxLock', reply);
    this.resolvedCount += 1;
  }
}
