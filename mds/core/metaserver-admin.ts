/**
 * What the MDS asks of metaservers. The MDS never imports metaserver code;
 * the metaserver RPC client (or a test harness) implements this interface and
 * is handed to startMds().
 *
 * Contract: every call is idempotent (the MDS retries after a failover or a
 * timeout: creating a copyset, partition or root inode that already exists
 * with the same parameters succeeds), bounded in time, and rejects with an
 * Error whose message says which metaserver failed and why.
 */
import type { PartitionInfo, Peer } from '../../src/proto/types-common.js';

export interface CopysetTarget {
  readonly poolId: number;
  readonly copysetId: number;
  /** Every replica, with its metaserver address. */
  readonly peers: readonly Peer[];
  /** Best-known leader (id 0 when unknown): try it first. */
  readonly leader: Peer | null;
}

export interface RootInodeSpec {
  readonly fsId: number;
  readonly partitionId: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** Creation time in ms since the epoch (replicas apply the same value). */
  readonly timeMs: number;
}

export interface MetaserverAdmin {
  /** CreateCopysetNode on every peer; resolves when all replicas exist. */
  createCopyset(target: CopysetTarget): Promise<void>;
  /** CreatePartition through the copyset's leader (Raft-replicated). */
  createPartition(target: CopysetTarget, partition: PartitionInfo): Promise<void>;
  /** CreateRootInode (inode 1) in the fs's first partition. */
  createRootInode(target: CopysetTarget, spec: RootInodeSpec): Promise<void>;
  /** DeletePartition through the copyset's leader. */
  deletePartition(target: CopysetTarget, partitionId: number): Promise<void>;
  /**
   * Raft membership change on the copyset's leader: replace `remove` by `add`.
   * The gRPC implementation first creates the replica on `add` with an empty
   * peer list (CreateCopysetNode, meaning "join": the node learns the group's
   * configuration from the leader), then asks the leader for ChangePeer,
   * then (best effort, one short attempt) asks `remove` to drop its copy
   * (DeleteCopysetNode with the new epoch and voters: the replica checks
   * that it is really out before deleting anything).
   */
  changePeer(target: CopysetTarget, remove: Peer, add: Peer): Promise<void>;
  /** Raft leader transfer to `to`. */
  transferLeader(target: CopysetTarget, to: Peer): Promise<void>;
}
