/**
 * The per-partition state of Percolator rename transactions (DESIGN §7):
 * prewritten-but-unfinished transactions with the locks they hold, and the
 * outcome of finished ones (kept for a while so that a late prewrite or
 * commit of a rolled-back transaction is refused, and a repeated commit is
 * recognised as done).
 *
 * Lock keys: `${parentId}/${name}` for a dentry, `${dirId}/` for a
 * directory that must stay empty (names are never empty, so the two never
 * collide), `#${inodeId}` for an inode whose nlink or parents change at
 * commit (UpdateInode and DeleteInode meet it and resolve first). Invariant: every lock belongs to exactly one pending transaction
 * and every pending transaction holds all its locks.
 */
import { assert } from '../../src/common/assert.js';
import { TX_RECORDS_MAX } from './limits.js';
import type { DentryKey, TxInodeChange, TxLockInfo, TxWrite } from './ops.js';
import type { InodeId, PartitionId, Timespec } from './types.js';

export interface PendingTx {
  readonly startTs: number;
  readonly primary: DentryKey;
  readonly ttlMs: number;
  readonly lockTimeMs: number;
  readonly time: Timespec;
  readonly writes: readonly TxWrite[];
  readonly inodeChanges: readonly TxInodeChange[];
  readonly emptyDirs: readonly InodeId[];
  /** The other partitions of the transaction (recorded on the primary's partition). */
  readonly secondaries: readonly PartitionId[];
}

export interface TxRecord {
  /** 0 = rolled back. */
  readonly commitTs: number;
  /** Client time at which the outcome was recorded (for retention). */
  readonly atMs: number;
  readonly secondaries: readonly PartitionId[];
}

interface LockEntry {
  /** The directory (dentry and directory locks) or the inode (inode locks). */
  readonly parentId: InodeId;
  /** '' for a directory lock; unused for an inode lock. */
  readonly name: string;
  readonly isInode: boolean;
  readonly startTs: number;
}

function inodeLockKey(inodeId: InodeId): string {
  return `#${inodeId}`;
}

export function lockKey(parentId: InodeId, name: string): string {
  return `${parentId}/${name}`;
}

export class TxTable {
  readonly pending = new Map<number, PendingTx>();
  readonly records = new Map<number, TxRecord>();
  private readonly locks = new Map<string, LockEntry>();

  hasLocks(): boolean {
    return this.locks.size > 0;
  }

  lockCount(): number {
    return this.locks.size;
  }

  lockOn(parentId: InodeId, name: string): TxLockInfo | undefined {
    if (this.locks.size === 0) return undefined;
    const entry = this.locks.get(lockKey(parentId, name));
    return entry === undefined ? undefined : this.infoOf(entry.startTs);
  }

  dirLock(dirId: InodeId): TxLockInfo | undefined {
    return this.lockOn(dirId, '');
  }

  inodeLock(inodeId: InodeId): TxLockInfo | undefined {
    if (this.locks.size === 0) return undefined;
    const entry = this.locks.get(inodeLockKey(inodeId));
    return entry === undefined ? undefined : this.infoOf(entry.startTs);
  }

  /**
   * A lock that keeps `dirId` from counting as empty: the directory's own
   * lock, or a pending write of a name inside it (a rename moving something
   * in). Emptiness checks (rmdir, replacing a directory) resolve it first.
   */
  emptinessLock(dirId: InodeId): TxLockInfo | undefined {
    if (this.locks.size === 0) return undefined;
    return this.dirLock(dirId) ?? this.firstLockInRange(dirId, '', undefined);
  }

  /** The first lock on a name of `dirId` in (after, upTo] (upTo undefined = no upper bound). */
  firstLockInRange(dirId: InodeId, after: string, upTo: string | undefined): TxLockInfo | undefined {
    for (const entry of this.locks.values()) {
      if (entry.isInode || entry.parentId !== dirId || entry.name === '') continue;
      if (entry.name > after && (upTo === undefined || entry.name <= upTo)) return this.infoOf(entry.startTs);
    }
    return undefined;
  }

  add(tx: PendingTx): void {
    assert(!this.pending.has(tx.startTs), 'one pending transaction per start ts');
    for (const key of keysOf(tx)) {
      assert(!this.locks.has(key.key), `lock ${key.key} is free`);
      this.locks.set(key.key, { parentId: key.parentId, name: key.name, isInode: key.isInode, startTs: tx.startTs });
    }
    this.pending.set(tx.startTs, tx);
  }

  remove(startTs: number): PendingTx {
    const tx = this.pending.get(startTs);
    assert(tx !== undefined, 'removing a pending transaction');
    for (const key of keysOf(tx)) {
      assert(this.locks.get(key.key)?.startTs === startTs, `lock ${key.key} held by ${startTs}`);
      this.locks.delete(key.key);
    }
    this.pending.delete(startTs);
    return tx;
  }

  /**
   * Records an outcome (once: an outcome never changes) and forgets the
   * oldest beyond TX_RECORDS_MAX. Only a count bounds the table, never a
   * client's clock: a client with a clock far ahead must not be able to wipe
   * the record of a committed transaction whose secondaries are unresolved
   * (a resolver would then roll them back).
   */
  record(startTs: number, commitTs: number, atMs: number, secondaries: readonly PartitionId[] = []): void {
    const existing = this.records.get(startTs);
    if (existing !== undefined) {
      assert(existing.commitTs === commitTs, 'a transaction outcome never changes');
      return;
    }
    this.records.set(startTs, { commitTs, atMs, secondaries });
    for (const ts of this.records.keys()) {
      if (this.records.size <= TX_RECORDS_MAX) break;
      this.records.delete(ts);
    }
  }

  /** Restores a lock table from pending transactions (snapshot restore). */
  restorePending(txs: Iterable<PendingTx>): void {
    assert(this.pending.size === 0 && this.locks.size === 0, 'restore into an empty table');
    for (const tx of txs) this.add(tx);
  }

  private infoOf(startTs: number): TxLockInfo {
    const tx = this.pending.get(startTs);
    assert(tx !== undefined, 'a lock belongs to a pending transaction');
    return { primary: tx.primary, startTs, ttlMs: tx.ttlMs, lockTimeMs: tx.lockTimeMs };
  }
}

function keysOf(tx: PendingTx): { key: string; parentId: InodeId; name: string; isInode: boolean }[] {
  const keys = tx.writes.map((w) => ({ key: lockKey(w.parentId, w.name), parentId: w.parentId, name: w.name, isInode: false }));
  for (const dir of tx.emptyDirs) keys.push({ key: lockKey(dir, ''), parentId: dir, name: '', isInode: false });
  for (const c of tx.inodeChanges) keys.push({ key: inodeLockKey(c.inodeId), parentId: c.inodeId, name: '', isInode: true });
  return keys;
}

/** True if the transaction's primary dentry is one of its writes here. */
export function isPrimaryHere(tx: PendingTx): boolean {
  return tx.writes.some((w) => w.parentId === tx.primary.parentId && w.name === tx.primary.name);
}
