/**
 * TxLocator backed by the MDS: partition ranges from ListPartition (cached
 * briefly per fs) and a partition's copyset replicas from
 * GetCopysetOfPartition. Used by the transaction sweeper for partitions
 * this metaserver does not lead.
 */
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { mdsService } from '../../src/proto/index.js';
import type { PartitionInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import type { TxLocator } from './tx-sweeper.js';

const RANGES_TTL_MS = 5_000;

export class MdsTxLocator implements TxLocator {
  private readonly client: RpcClient<MdsMethods>;
  private readonly ranges = new Map<number, { atMs: number; partitions: PartitionInfo[] }>();

  constructor(mds: readonly string[]) {
    this.client = new RpcClient(mdsService(), { addresses: mds, timeoutMs: 3_000, totalTimeoutMs: 10_000 });
  }

  async partitionOfInode(fsId: number, inodeId: number): Promise<number | undefined> {
    let cached = this.ranges.get(fsId);
    if (cached === undefined || Date.now() - cached.atMs > RANGES_TTL_MS) {
      const reply = await this.client.call('ListPartition', { fsId });
      if (reply.status !== MetaStatusCode.OK) return undefined;
      cached = { atMs: Date.now(), partitions: reply.partitions };
      this.ranges.set(fsId, cached);
    }
    return cached.partitions.find((p) => p.start <= inodeId && inodeId <= p.end)?.partitionId;
  }

  async locatePartition(_fsId: number, partitionId: number): Promise<{ poolId: number; copysetId: number; addresses: string[] } | undefined> {
    const reply = await this.client.call('GetCopysetOfPartition', { partitionIds: [partitionId] });
    const copyset = reply.status === MetaStatusCode.OK ? reply.copysetMap[String(partitionId)] : undefined;
    if (copyset === undefined) return undefined;
    return { poolId: copyset.poolId, copysetId: copyset.copysetId, addresses: copyset.peers.map((p) => p.address).filter((a) => a !== '') };
  }

  close(): void {
    this.client.close();
  }
}

/** A locator that knows nothing beyond this metaserver (no MDS configured). */
export const NO_REMOTE_PARTITIONS: TxLocator = {
  partitionOfInode: async () => undefined,
  locatePartition: async () => undefined,
};
