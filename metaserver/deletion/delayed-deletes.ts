/**
 * Objects to delete once a grace period has passed (DESIGN §9): a reader
 * that read a chunk list just before compaction replaced it may still fetch
 * the old objects, so they outlive the replacement by longer than any read
 * may take. Kept in memory on the leader that compacted; if it stops first,
 * the new leader's sweep finds the same objects unreferenced and deletes
 * them after the same grace (inode-sweep.ts). Bounded: past `keysMax` the
 * oldest batch is handed back early to the sweep's care (dropped here).
 */
import { assert } from '../../src/common/assert.js';

export interface DelayedBatch {
  readonly dueMs: number;
  readonly fsId: number;
  readonly keys: readonly string[];
}

export class DelayedDeletes {
  private readonly batches: DelayedBatch[] = [];
  private keyCount = 0;
  dropped = 0;

  constructor(private readonly keysMax: number) {
    assert(Number.isSafeInteger(keysMax) && keysMax > 0, 'keysMax is positive');
  }

  add(batch: DelayedBatch): void {
    if (batch.keys.length === 0) return;
    // Due times only grow (one clock, one grace), so the array stays sorted.
    assert(this.batches.length === 0 || this.batches[this.batches.length - 1]!.dueMs <= batch.dueMs, 'batches in due order');
    this.batches.push(batch);
    this.keyCount += batch.keys.length;
    while (this.keyCount > this.keysMax && this.batches.length > 1) {
      const old = this.batches.shift()!;
      this.keyCount -= old.keys.length;
      this.dropped += old.keys.length;
    }
  }

  /** Removes and returns every batch due at `nowMs`. */
  takeDue(nowMs: number): DelayedBatch[] {
    let n = 0;
    while (n < this.batches.length && this.batches[n]!.dueMs <= nowMs) n++;
    const due = this.batches.splice(0, n);
    for (const b of due) this.keyCount -= b.keys.length;
    assert(this.keyCount >= 0, 'key count stays non-negative');
    return due;
  }

  get size(): number {
    return this.keyCount;
  }
}
