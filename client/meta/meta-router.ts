/**
 * Routing for one mounted file system (DESIGN §3, §4): fs → partitions
 * (ListPartition) → copyset (GetCopysetOfPartition, falling back to
 * GetMetaServerListInCopysets for addresses) → one RpcClient per copyset.
 * All copyset clients share one ChannelPool, so a metaserver hosting many
 * copysets costs one HTTP/2 connection. Leader discovery and redirects are
 * the RpcClient's (src/rpc); this module only keeps the address books
 * current and re-resolves when a metaserver says the copyset or partition
 * is not where we thought (refresh()).
 *
 * Refreshes are single-flight: concurrent callers that find the cache stale
 * share one round of MDS calls.
 */
import { assert } from '../../src/common/assert.js';
import { MetaError } from '../../src/common/errors.js';
import type { Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { Random } from '../../src/common/random.js';
import { metaServerService } from '../../src/proto/index.js';
import type { CopysetInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { ChannelPool, RpcClient, type RpcClientOptions } from '../../src/rpc/index.js';
import { PartitionTable, type PartitionRoute } from './partition-table.js';

export type MetaServerClient = RpcClient<MetaServerMethods>;

/** Where one request goes: the partition and the client of its copyset. */
export interface Target {
  readonly partition: PartitionRoute;
  readonly client: MetaServerClient;
}

/** Partition ids per GetCopysetOfPartition request (the MDS allows 10,000). */
const PARTITIONS_PER_LOOKUP_MAX = 1_000;
/** Partitions asked of the MDS at once when every known one is full. */
const PARTITIONS_PER_CREATE = 2;

/** Reads the metaserver service may repeat after a timeout. */
export const METASERVER_IDEMPOTENT_METHODS = [
  'GetDentry',
  'ListDentry',
  'GetInode',
  'BatchGetInodeAttr',
  'BatchGetXAttr',
  'BatchGetDentry',
  'GetChunkInfo',
  'CheckTxStatus',
  'GetCopysetStatus',
  'GetLeader',
] as const satisfies readonly (keyof MetaServerMethods)[];

export interface MetaRouterOptions {
  readonly mds: RpcClient<MdsMethods>;
  readonly fsId: number;
  readonly random: Random;
  readonly logger: Logger;
  /** Options for every copyset client (addresses and channels are set here). */
  readonly rpc: Omit<RpcClientOptions<MetaServerMethods>, 'addresses' | 'channels'>;
}

export class MetaRouter {
  readonly table = new PartitionTable();
  readonly channels = new ChannelPool();
  private readonly copysets = new Map<string, MetaServerClient>();
  private refreshing: Promise<void> | null = null;
  private creating: Promise<void> | null = null;
  private isClosed = false;
  /** Route refreshes done (tests and metrics). */
  refreshCount = 0;

  constructor(private readonly options: MetaRouterOptions) {
    assert(Number.isSafeInteger(options.fsId) && options.fsId > 0, `fs id ${options.fsId}`);
  }

  get fsId(): number {
    return this.options.fsId;
  }

  /** The target owning `inodeId` (its inode, and the dentries of which it is the parent). */
  async forInode(inodeId: number): Promise<Target> {
    assert(Number.isSafeInteger(inodeId) && inodeId > 0, `inode id ${inodeId}`);
    let partition = this.table.owner(inodeId);
    if (partition === undefined || this.copysetClient(partition) === undefined) {
      await this.refresh();
      partition = this.table.owner(inodeId);
    }
    // No partition holds the id: it cannot name an inode of this fs.
    if (partition === undefined) throw new MetaError(MetaStatusCode.NOT_FOUND, `no partition of fs ${this.fsId} holds inode ${inodeId}`);
    return this.targetOf(partition);
  }

  /** A random partition that can still allocate inode ids; asks the MDS for more when none is left. */
  async forCreate(): Promise<Target> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const partition = this.table.pickForCreate(this.options.random);
      if (partition !== undefined) return this.targetOf(partition);
      if (attempt === 0 && this.table.size() === 0) {
        await this.refresh();
        continue;
      }
      await this.createPartitions();
    }
    throw new MetaError(MetaStatusCode.NO_SPACE, `fs ${this.fsId}: no partition can allocate inode ids`);
  }

  /**
   * A partition that can allocate inode ids in the same copyset as the one
   * holding `parent`'s entries, or undefined (none known: the caller creates
   * the plain way, which may ask the MDS for partitions).
   */
  async forCreateNear(parent: number): Promise<Target | undefined> {
    const home = (await this.forInode(parent)).partition;
    const partition = this.table.pickForCreateNear(home, this.options.random);
    return partition === undefined ? undefined : this.targetOf(partition);
  }

  markFull(partitionId: number): void {
    this.options.logger.info({ fsId: this.fsId, partitionId }, 'meta: partition has no inode ids left');
    this.table.markFull(partitionId);
  }

  /** Re-reads partitions and copysets from the MDS (single-flight). */
  refresh(): Promise<void> {
    assert(!this.isClosed, 'router is closed');
    if (this.refreshing === null) {
      this.refreshing = this.load().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const client of this.copysets.values()) client.close();
    this.copysets.clear();
    this.channels.close();
  }

  /** Every copyset client, for fan-out reads (statFs). */
  copysetTargets(): { poolId: number; copysetId: number; client: MetaServerClient }[] {
    return [...this.copysets.entries()].map(([key, client]) => {
      const [poolId, copysetId] = key.split('/').map(Number) as [number, number];
      return { poolId, copysetId, client };
    });
  }

  private targetOf(partition: PartitionRoute): Target {
    const client = this.copysetClient(partition);
    // The MDS knows no address for the copyset (yet): a transient state, not a bug here.
    if (client === undefined) {
      throw new MetaError(MetaStatusCode.UNAVAILABLE, `copyset ${partition.copysetId} of partition ${partition.partitionId} has no known metaserver`);
    }
    return { partition, client };
  }

  private copysetClient(p: PartitionRoute): MetaServerClient | undefined {
    return this.copysets.get(copysetKey(p.poolId, p.copysetId));
  }

  private createPartitions(): Promise<void> {
    if (this.creating === null) {
      this.creating = (async () => {
        const reply = await this.options.mds.callOk('CreatePartition', { fsId: this.fsId, count: PARTITIONS_PER_CREATE });
        this.options.logger.info({ fsId: this.fsId, partitions: reply.partitions.map((p) => p.partitionId) }, 'meta: created partitions');
        await this.refresh();
      })().finally(() => {
        this.creating = null;
      });
    }
    return this.creating;
  }

  private async load(): Promise<void> {
    const listed = await this.options.mds.callOk('ListPartition', { fsId: this.fsId }, { isIdempotent: true });
    const infos = new Map<string, CopysetInfo>();
    const ids = listed.partitions.map((p) => p.partitionId);
    for (let i = 0; i < ids.length; i += PARTITIONS_PER_LOOKUP_MAX) {
      const reply = await this.options.mds.callOk(
        'GetCopysetOfPartition',
        { partitionIds: ids.slice(i, i + PARTITIONS_PER_LOOKUP_MAX) },
        { isIdempotent: true },
      );
      for (const info of Object.values(reply.copysetMap)) infos.set(copysetKey(info.poolId, info.copysetId), info);
    }
    const addresses = await this.addressesOf([...infos.values()]);
    for (const [key, info] of infos) this.upsertCopyset(key, info, addresses.get(key) ?? []);
    this.table.replace(listed.partitions);
    this.refreshCount += 1;
    this.options.logger.debug({ fsId: this.fsId, partitions: ids.length, copysets: infos.size }, 'meta: routes refreshed');
  }

  /** Peer addresses per copyset: from the copyset info, else from GetMetaServerListInCopysets. */
  private async addressesOf(infos: readonly CopysetInfo[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const missing = new Map<number, number[]>();
    for (const info of infos) {
      const key = copysetKey(info.poolId, info.copysetId);
      const known = info.peers.map((p) => p.address).filter((a) => a !== '');
      if (known.length === info.peers.length && known.length > 0) out.set(key, known);
      else missing.set(info.poolId, [...(missing.get(info.poolId) ?? []), info.copysetId]);
    }
    for (const [poolId, copysetIds] of missing) {
      const reply = await this.options.mds.callOk('GetMetaServerListInCopysets', { poolId, copysetIds }, { isIdempotent: true });
      for (const server of reply.infos) {
        const list = server.locations.map((l) => `${l.internalIp}:${l.internalPort}`);
        if (list.length > 0) out.set(copysetKey(poolId, server.copysetId), list);
      }
    }
    return out;
  }

  private upsertCopyset(key: string, info: CopysetInfo, addresses: readonly string[]): void {
    if (addresses.length === 0) {
      this.options.logger.warn({ copysetId: info.copysetId }, 'meta: copyset has no known peer address');
      return;
    }
    let client = this.copysets.get(key);
    if (client === undefined) {
      client = new RpcClient(metaServerService(), {
        ...this.options.rpc,
        addresses,
        channels: this.channels,
        idempotentMethods: METASERVER_IDEMPOTENT_METHODS,
      });
      this.copysets.set(key, client);
      // The MDS's leader (from heartbeats) is a first guess; later, redirects know better.
      const leader = info.leader?.address ?? '';
      if (leader !== '' && addresses.includes(leader)) client.setLeader(leader);
    } else {
      client.setAddresses(addresses);
    }
  }
}

function copysetKey(poolId: number, copysetId: number): string {
  return `${poolId}/${copysetId}`;
}
