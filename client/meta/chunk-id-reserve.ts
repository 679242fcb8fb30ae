/**
 * Chunk ids for the data path (client/data/metadata.ts ChunkIdAllocator):
 * reserved at the MDS in batches (AllocateChunkIds) and handed out from the
 * current batch, so a flush rarely costs an MDS call (DESIGN §5, §12). Ids
 * increase across batches (the MDS counter only moves forward, also across
 * its failovers); what is left of a batch that cannot serve a request is
 * dropped, as ids are never reused and gaps are harmless.
 */
import { assert } from '../../src/common/assert.js';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { RpcClient } from '../../src/rpc/index.js';
import type { ChunkIdAllocator } from '../data/metadata.js';

export const CHUNK_ID_BATCH_DEFAULT = 1024;
/** Refills tried for one request (another caller may take a fresh batch first). */
const REFILL_ROUNDS_MAX = 4;

export class ChunkIdReserve implements ChunkIdAllocator {
  private chunkIdNext = 0;
  private chunkIdEnd = 0;
  private chunkIdRefill: Promise<void> | null = null;
  /** MDS calls made (tests). */
  reserveCount = 0;

  constructor(
    private readonly mds: RpcClient<MdsMethods>,
    private readonly fsId: number,
    private readonly batchSize = CHUNK_ID_BATCH_DEFAULT,
  ) {
    assert(Number.isSafeInteger(batchSize) && batchSize > 0, `chunk id batch ${batchSize}`);
  }

  async allocate(count: number): Promise<number> {
    assert(Number.isSafeInteger(count) && count > 0, `chunk id count ${count}`);
    for (let round = 0; round < REFILL_ROUNDS_MAX; round++) {
      if (this.chunkIdEnd - this.chunkIdNext >= count) {
        const first = this.chunkIdNext;
        this.chunkIdNext += count;
        return first;
      }
      if (this.chunkIdRefill === null) {
        const want = Math.max(count, this.batchSize);
        this.reserveCount += 1;
        this.chunkIdRefill = this.mds
          .callOk('AllocateChunkIds', { fsId: this.fsId, count: want })
          .then((reply) => {
            assert(reply.startChunkId >= this.chunkIdEnd && reply.startChunkId > 0, 'chunk ids increase');
            const granted = reply.count > 0 ? reply.count : want;
            // The rest of the old batch is dropped: ids are never reused, gaps are fine.
            this.chunkIdNext = reply.startChunkId;
            this.chunkIdEnd = reply.startChunkId + granted;
          })
          .finally(() => {
            this.chunkIdRefill = null;
          });
      }
      await this.chunkIdRefill;
    }
    throw new MetaError(MetaStatusCode.UNAVAILABLE, `could not reserve ${count} chunk ids`);
  }
}
