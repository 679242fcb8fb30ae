/**
 * A byte budget per second shared by every compaction worker of a
 * metaserver (reads and writes both count), so background rewriting never
 * takes the object store's bandwidth from clients. A token bucket holding
 * one second of budget: a caller waits until its bytes fit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../src/common/assert.js';
import type { Clock } from '../../src/common/clock.js';

/** Longest single wait: large requests are let through after it rather than starved. */
const WAIT_MS_MAX = 5_000;

export class ByteRate {
  private tokens: number;
  private lastMs: number;

  /** `bytesPerSecond` 0 = unlimited. */
  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: Clock,
  ) {
    assert(Number.isSafeInteger(bytesPerSecond) && bytesPerSecond >= 0, 'bytesPerSecond is a byte count');
    this.tokens = bytesPerSecond;
    this.lastMs = clock.nowMs();
  }

  async take(bytes: number, isCancelled: () => boolean = () => false): Promise<void> {
    assert(Number.isSafeInteger(bytes) && bytes >= 0, 'bytes is a byte count');
    if (this.bytesPerSecond === 0) return;
    for (let waitedMs = 0; ; ) {
      const now = this.clock.nowMs();
      this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.lastMs) * this.bytesPerSecond) / 1000);
      this.lastMs = now;
      // A request above one second of budget goes once the bucket is full.
      const need = Math.min(bytes, this.bytesPerSecond);
      if (this.tokens >= need || waitedMs >= WAIT_MS_MAX || isCancelled()) {
        this.tokens -= bytes;
        return;
      }
      const waitMs = Math.min(WAIT_MS_MAX, Math.ceil(((need - this.tokens) * 1000) / this.bytesPerSecond));
      await sleep(waitMs);
      waitedMs += waitMs;
    }
  }
}
