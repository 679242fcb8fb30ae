/**
 * Hands out chunk ids one at a time from batches reserved at the MDS, so a
 * flush costs an allocation RPC only once per batch. Ids are handed out in
 * increasing order: within this client a later flush gets a higher id, which
 * is what makes it the newer write in read resolution.
 */
import { assert } from '../../src/common/assert.js';
import type { ChunkIdAllocator } from './metadata.js';

export class ChunkIdPool {
  private next = 0;
  private end = 0;
  private refill: Promise<void> | null = null;

  constructor(
    private readonly allocator: ChunkIdAllocator,
    private readonly batchSize = 256,
  ) {
    assert(batchSize > 0, 'chunk id batch size must be positive');
  }

  /** An id without waiting, or null when the batch is spent. */
  tryTake(): number | null {
    if (this.next < this.end) return this.next++;
    return null;
  }

  async take(): Promise<number> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const id = this.tryTake();
      if (id !== null) return id;
      if (this.refill === null) {
        this.refill = this.allocator
          .allocate(this.batchSize)
          .then((first) => {
            assert(Number.isSafeInteger(first) && first >= this.end, 'chunk ids must increase');
            this.next = first;
            this.end = first + this.batchSize;
          })
          .finally(() => {
            this.refill = null;
          });
      }
      await this.refill;
    }
    throw new Error('chunk id pool could not refill');
  }
}
