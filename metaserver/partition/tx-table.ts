/**
 * The per-partition state of Percolator rename transactions (DESIGN §7):
 * prewritten-but-unfinished transactions with the locks they hold, and the
 * outcome of finished ones (kept for a while so that a late prewrite or
 * commit of a rolled-back transaction is refused, and a repeated commit is
 * recognised as done).
 *
 * Lock keys: `${parentId}/${name}` for a dentry, `${dirId}/` for a
 * directory that must stay empty (names are never empty, so the two never
 * collide). Invariant: every lock belongs to exactly one pending transaction
 * and every pending transaction holds all its locks.
 */
import { assert } from '../../src/common/assert.js';
import { TX_RECORDS_MAX, TX_RECORD_RETENTION_MS } from './limits.js';
import type { DentryKey, TxInodeChange, TxLockInfo, TxWrite } from './ops.js';
import type { InodeId, Timespec } from './types.js';

export interface PendingTx {
  readonly startTs: number;
  readonly primary: DentryKey;
  readonly ttlMs: number;
  readonly lockTimeMs: number;
  readonly time: Timespec;
  readonly writes: readonly TxWrite[];
  readonly inodeChanges: readonly TxInodeChange[];
  readonly emptyDirs: readonly InodeId[];
}

export interface TxRecord {
  /** 0 = rolled back. */
  readonly commitTs: number;
  /** Client time at which the outcome was recorded (for retention). */
  readonly atMs: number;
}

interface LockEntry {
  readonly parentId: InodeId;
  /** '' for a directory lock. */
  readonly name: string;
  readonly startTs: number;
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

  /** The first lock on a name of `dirId` in (after, upTo] (upTo undefined = no upper bound). */
  firstLockInRange(dirId: InodeId, after: string, upTo: string | undefined): TxLockInfo | undefined {
    for (const entry of this.locks.values()) {
      if (entry.parentId !== dirId || entry.name === '') continue;
      if (entry.name > after && (upTo === undefined || entry.name <= upTo)) return this.infoOf(entry.startTs);
    }
    return undefined;
  }

  add(tx: PendingTx): void {
    assert(!this.pending.has(tx.startTs), 'one pending transaction per start ts');
    for (const key of keysOf(tx)) {
      assert(!this.locks.has(key.key), `lock ${key.key} is free`);
      this.locks.set(key.key, { parentId: key.parentId, name: key.name, startTs: tx.startTs });
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

  /** Records an outcome and forgets outcomes older than the retention (by the caller's time). */
  record(startTs: number, commitTs: number, atMs: number): void {
    this.records.delete(startTs);
    this.records.set(startTs, { commitTs, atMs });
    // Insertion order approximates age; stop at the first record still young enough.
    for (const [ts, rec] of this.records) {
      if (this.records.size <= TX_RECORDS_MAX && rec.atMs + TX_RECORD_RETENTION_MS >= atMs) break;
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

function keysOf(tx: PendingTx): { key: string; parentId: InodeId; name: string }[] {
  const keys = tx.writes.map((w) => ({ key: lockKey(w.parentId, w.name), parentId: w.parentId, name: w.name }));
  for (const dir of tx.emptyDirs) keys.push({ key: lockKey(dir, ''), parentId: dir, name: '' });
  return keys;
}

/** True if the transaction's primary dentry is one of its writes here. */
export function isPrimaryHere(tx: PendingTx): boolean {
  return tx.writes.some((w) => w.parentId === tx.primary.parentId && w.name === tx.primary.name);
}
