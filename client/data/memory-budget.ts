/**
 * Accounting for buffered (dirty and not yet durable) bytes. Writers acquire
 * before they copy data in and the flush path releases once the bytes are
 * durable (uploaded, or staged in the write-back cache). When the ceiling is
 * reached writers wait, FIFO, and the owner is told (onPressure) so it can
 * flush; a writer that waits longer than its timeout fails, so memory never
 * grows without bound and no writer waits forever.
 */
import { assert } from '../../src/common/assert.js';
import { StorageError } from '../../src/common/errors.js';

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
}

export class MemoryBudget {
  private used = 0;
  private peak = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly capacityBytes: number,
    private readonly onPressure: () => void,
  ) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes > 0, 'memory capacity must be positive');
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Highest usage seen (tests check the ceiling held). */
  get peakBytes(): number {
    return this.peak;
  }

  get waitingCount(): number {
    return this.waiters.length;
  }

  async acquire(bytes: number, timeoutMs: number): Promise<void> {
    assert(Number.isSafeInteger(bytes) && bytes >= 0, 'acquire bytes');
    assert(bytes <= this.capacityBytes, `one acquire (${bytes}) exceeds the memory ceiling`);
    if (this.waiters.length === 0 && this.used + bytes <= this.capacityBytes) {
      this.take(bytes);
      return;
    }
    this.onPressure();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, timer: null };
      waiter.timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new StorageError(`write waited ${timeoutMs} ms for buffer memory (store too slow or unreachable)`));
        this.grant();
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Takes `bytes` now if they fit and nobody waits; never blocks. */
  tryTake(bytes: number): boolean {
    assert(Number.isSafeInteger(bytes) && bytes >= 0, 'tryTake bytes');
    if (this.waiters.length > 0 || this.used + bytes > this.capacityBytes) return false;
    this.take(bytes);
    return true;
  }

  release(bytes: number): void {
    assert(bytes >= 0 && bytes <= this.used, `release ${bytes} of ${this.used} used bytes`);
    this.used -= bytes;
    this.grant();
  }

  private take(bytes: number): void {
    this.used += bytes;
    this.peak = Math.max(this.peak, this.used);
    assert(this.used <= this.capacityBytes, 'memory ceiling exceeded');
  }

  private grant(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.bytes <= this.capacityBytes) {
      const w = this.waiters.shift()!;
      if (w.timer !== null) clearTimeout(w.timer);
      this.take(w.bytes);
      w.resolve();
    }
    if (this.waiters.length > 0) this.onPressure();
  }
}
