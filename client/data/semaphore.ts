/** Bounded concurrency: at most `limit` holders at a time, the rest wait in FIFO order. */
import { assert } from '../../src/common/assert.js';

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    assert(Number.isSafeInteger(limit) && limit > 0, 'semaphore limit must be a positive integer');
  }

  get activeCount(): number {
    return this.active;
  }

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    // The releaser handed its slot over: active is unchanged.
  }

  release(): void {
    assert(this.active > 0, 'semaphore released more than acquired');
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.active--;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
