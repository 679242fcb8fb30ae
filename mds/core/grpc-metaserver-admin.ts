/**
 * MetaserverAdmin over the metaservers' gRPC service (metaserver.proto): the
 * production implementation handed to the MDS. Each call is bounded
 * (ADMIN_TOTAL_TIMEOUT_MS) and idempotent as the interface requires: EXIST
 * from a create and NOT_FOUND from a delete count as success.
 */
import { MetaError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { metaServerService } from '../../src/proto/index.js';
import type { PartitionInfo, Peer } from '../../src/proto/types-common.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { ChannelPool, RpcClient } from '../../src/rpc/index.js';
import type { CopysetTarget, MetaserverAdmin, RootInodeSpec } from './metaserver-admin.js';

export const ADMIN_TIMEOUT_MS = 3_000;
export const ADMIN_TOTAL_TIMEOUT_MS = 10_000;
/** DeleteCopysetNode on a removed replica after a membership change (one attempt). */
const DROP_REPLICA_TIMEOUT_MS = 1_000;

type Client = RpcClient<MetaServerMethods>;

export class GrpcMetaserverAdmin implements MetaserverAdmin {
  private readonly channels = new ChannelPool();

  constructor(private readonly log?: Logger) {}

  /** A client for one copyset: the known leader first, redirects followed. */
  private client(target: CopysetTarget): Client {
    const addresses = target.peers.map((p) => p.address).filter((a) => a.length > 0);
    if (target.leader !== null && target.leader.address !== '') {
      addresses.sort((a, b) => (a === target.leader!.address ? -1 : b === target.leader!.address ? 1 : 0));
    }
    if (addresses.length === 0) throw new Error(`copyset ${target.copysetId} has no peer addresses`);
    return new RpcClient(metaServerService(), {
      addresses,
      channels: this.channels,
      timeoutMs: ADMIN_TIMEOUT_MS,
      totalTimeoutMs: ADMIN_TOTAL_TIMEOUT_MS,
      ...(this.log ? { logger: this.log } : {}),
    });
  }

  private static check(what: string, status: MetaStatusCode, accepted: readonly MetaStatusCode[] = []): void {
    if (status === MetaStatusCode.OK || accepted.includes(status)) return;
    throw new MetaError(status, `${what}: ${MetaStatusCode[status] ?? status}`);
  }

  async createCopyset(target: CopysetTarget): Promise<void> {
    const client = this.client(target);
    try {
      // Every replica creates its node itself; Raft then elects among them.
      await Promise.all(
        target.peers.map(async (peer) => {
          const res = await client.call(
            'CreateCopysetNode',
            { poolId: target.poolId, copysetId: target.copysetId, peers: target.peers.map((p) => ({ ...p })) },
            { address: peer.address },
          );
          GrpcMetaserverAdmin.check(`CreateCopysetNode ${target.copysetId} on ${peer.address}`, res.status, [MetaStatusCode.EXIST]);
        }),
      );
    } finally {
      client.close();
    }
  }

  async createPartition(target: CopysetTarget, partition: PartitionInfo): Promise<void> {
    const client = this.client(target);
    try {
      const res = await client.call('CreatePartition', {
        poolId: target.poolId,
        copysetId: target.copysetId,
        partitionId: partition.partitionId,
        fsId: partition.fsId,
        partition,
      });
      GrpcMetaserverAdmin.check(`CreatePartition ${partition.partitionId}`, res.status, [MetaStatusCode.EXIST]);
    } finally {
      client.close();
    }
  }

  async createRootInode(target: CopysetTarget, spec: RootInodeSpec): Promise<void> {
    const client = this.client(target);
    try {
      const res = await client.call('CreateRootInode', {
        poolId: target.poolId,
        copysetId: target.copysetId,
        partitionId: spec.partitionId,
        fsId: spec.fsId,
        uid: spec.uid,
        gid: spec.gid,
        mode: spec.mode,
        timeSec: Math.floor(spec.timeMs / 1000),
        timeNs: (spec.timeMs % 1000) * 1_000_000,
      });
      GrpcMetaserverAdmin.check(`CreateRootInode of fs ${spec.fsId}`, res.status, [MetaStatusCode.EXIST]);
    } finally {
      client.close();
    }
  }

  async deletePartition(target: CopysetTarget, partitionId: number): Promise<void> {
    const client = this.client(target);
    try {
      const res = await client.call('DeletePartition', { poolId: target.poolId, copysetId: target.copysetId, partitionId });
      GrpcMetaserverAdmin.check(`DeletePartition ${partitionId}`, res.status, [
        MetaStatusCode.NOT_FOUND,
        MetaStatusCode.PARTITION_NOT_FOUND,
      ]);
    } finally {
      client.close();
    }
  }

  async changePeer(target: CopysetTarget, remove: Peer, add: Peer): Promise<void> {
    const client = this.client(target);
    try {
      // The new replica must exist before the group adds it. It joins with no
      // configuration of its own (peers empty) and learns the group's from the
      // leader: a node bootstrapped with a peer list would start a group of its own.
      const join = await client.call(
        'CreateCopysetNode',
        { poolId: target.poolId, copysetId: target.copysetId, peers: [] },
        { address: add.address },
      );
      GrpcMetaserverAdmin.check(`CreateCopysetNode (join) ${target.copysetId} on ${add.address}`, join.status, [MetaStatusCode.EXIST]);
      const res = await client.call('ChangePeer', {
        poolId: target.poolId,
        copysetId: target.copysetId,
        peer: { ...add },
        oldPeer: { ...remove },
      });
      GrpcMetaserverAdmin.check(`ChangePeer ${target.copysetId} ${remove.address}→${add.address}`, res.status);
      await this.dropRemovedReplica(client, target, remove, res.epoch, res.peers);
    } finally {
      client.close();
    }
  }

  /**
   * Best effort after a membership change: the removed replica deletes its
   * copy (DeleteCopysetNode; it checks the newer epoch and voters itself).
   * One short attempt: a removed replica is often a dead one, and the change
   * is done either way. A replica that misses this keeps its directory (a
   * leak of disk, never of correctness: nobody routes to it).
   */
  private async dropRemovedReplica(client: Client, target: CopysetTarget, removed: Peer, epoch: number, peers: readonly Peer[]): Promise<void> {
    if (removed.address === '' || peers.some((p) => p.address === removed.address)) return;
    try {
      const res = await client.call(
        'DeleteCopysetNode',
        { poolId: target.poolId, copysetId: target.copysetId, epoch, peers: peers.map((p) => ({ ...p })) },
        { address: removed.address, maxAttempts: 1, timeoutMs: DROP_REPLICA_TIMEOUT_MS, totalTimeoutMs: DROP_REPLICA_TIMEOUT_MS },
      );
      if (res.status !== MetaStatusCode.OK) {
        this.log?.warn({ copysetId: target.copysetId, replica: removed.address, status: MetaStatusCode[res.status] }, 'mds: removed replica kept its copy');
      }
    } catch (error) {
      this.log?.warn({ copysetId: target.copysetId, replica: removed.address, err: (error as Error).message }, 'mds: removed replica not reached to drop its copy');
    }
  }

  async transferLeader(target: CopysetTarget, to: Peer): Promise<void> {
    const client = this.client(target);
    try {
      const res = await client.call('TransferLeader', { poolId: target.poolId, copysetId: target.copysetId, peer: { ...to } });
      GrpcMetaserverAdmin.check(`TransferLeader ${target.copysetId} → ${to.address}`, res.status);
    } finally {
      client.close();
    }
  }

  close(): void {
    this.channels.close();
  }
}
