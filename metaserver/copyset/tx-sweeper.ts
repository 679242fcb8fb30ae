/**
 * Finishes rename transactions whose client died (DESIGN §7). Readers
 * resolve the locks they meet; this sweeper, on each copyset this node
 * leads, resolves the ones nobody meets (e.g. the nlink change of a
 * replaced file): for every pending transaction whose lock expired more
 * than `graceMs` ago it asks the primary's partition (CheckTxStatus), rolls
 * the primary back if it never committed (the primary's record decides,
 * and is written first), then rolls the primary and every secondary the
 * same way (ResolveTxLock). Partitions led here are reached directly, the
 * others by RPC through the locator.
 *
 * Bounded: at most `txsPerRoundMax` transactions per round, every RPC with
 * a deadline; a failure leaves the transaction for the next round.
 */
import type { Logger } from '../../src/common/log.js';
import { silentLogger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { metaServerService } from '../../src/proto/index.js';
import type { MetaServerMethods } from '../../src/proto/types-metaserver.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { OpType } from '../partition/ops.js';
import { TxStatus, type TxStatusReport } from '../partition/partition-tx.js';
import type { CopysetManager } from './copyset-manager.js';
import type { CopysetNode } from './copyset-node.js';

/** Where partitions live, for those not led here. */
export interface TxLocator {
  /** The partition of `fsId` whose range holds `inodeId`. */
  partitionOfInode(fsId: number, inodeId: number): Promise<number | undefined>;
  /** The copyset hosting a partition and its replicas' addresses. */
  locatePartition(fsId: number, partitionId: number): Promise<{ poolId: number; copysetId: number; addresses: string[] } | undefined>;
}

/** A partition's transaction endpoints, local or remote. */
interface TxEndpoint {
  checkTxStatus(startTs: number, nowMs: number): Promise<TxStatusReport>;
  resolve(startTs: number, commitTs: number, nowMs: number): Promise<MetaStatusCode>;
}

export interface TxSweeperOptions {
  readonly copysets: CopysetManager;
  readonly locator: TxLocator;
  /** Wall clock (ms): compared with the clients' lock times. */
  readonly nowMs?: () => number;
  /** Extra wait after a lock's ttl before sweeping it (clock skew between clients and servers). */
  readonly graceMs?: number;
  readonly intervalMs?: number;
  readonly txsPerRoundMax?: number;
  readonly logger?: Logger;
}

export class TxSweeper {
  private readonly nowMs: () => number;
  private readonly graceMs: number;
  private readonly intervalMs: number;
  private readonly txsPerRoundMax: number;
  private readonly logger: Logger;
  private readonly clients = new Map<string, RpcClient<MetaServerMethods>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private isStopped = false;
  resolvedCount = 0;

  constructor(private readonly options: TxSweeperOptions) {
    this.nowMs = options.nowMs ?? (() => Date.now());
    this.graceMs = options.graceMs ?? 30_000;
    this.intervalMs = options.intervalMs ?? 10_000;
    this.txsPerRoundMax = options.txsPerRoundMax ?? 100;
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    const loop = (): void => {
      if (this.isStopped) return;
      this.running = this.sweepOnce()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'metaserver: transaction sweep failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.isStopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** One round; returns how many transactions it finished. */
  async sweepOnce(): Promise<number> {
    const now = this.nowMs();
    const due: { fsId: number; startTs: number; primaryParentId: number; partitionId: number }[] = [];
    for (const node of this.options.copysets.all()) {
      if (!node.isLeader()) continue;
      for (const p of node.sm.allPartitions()) {
        for (const tx of p.tx.pending.values()) {
          if (due.length >= this.txsPerRoundMax) break;
          if (now < tx.lockTimeMs + tx.ttlMs + this.graceMs) continue;
          due.push({ fsId: p.fsId, startTs: tx.startTs, primaryParentId: tx.primary.parentId, partitionId: p.partitionId });
        }
      }
    }
    let resolved = 0;
    const done = new Set<string>();
    for (const tx of due) {
      // One transaction spans partitions: the first resolution finishes it everywhere.
      const key = `${tx.fsId}/${tx.startTs}`;
      if (done.has(key)) continue;
      done.add(key);
      try {
        if (await this.resolveTx(tx.fsId, tx.startTs, tx.primaryParentId, tx.partitionId, now)) resolved += 1;
      } catch (error) {
        this.logger.warn({ err: error, startTs: tx.startTs }, 'metaserver: could not resolve a transaction yet');
      }
    }
    this.resolvedCount += resolved;
    return resolved;
  }

  /** Resolves one transaction everywhere; false if it is still live or its primary cannot be reached. */
  private async resolveTx(fsId: number, startTs: number, primaryParentId: number, localPartitionId: number, nowMs: number): Promise<boolean> {
    const primaryId = this.localPartitionOfInode(fsId, primaryParentId) ?? (await this.options.locator.partitionOfInode(fsId, primaryParentId));
    if (primaryId === undefined) return false;
    const primary = await this.endpoint(fsId, primaryId);
    if (primary === undefined) return false;
    let report = await primary.checkTxStatus(startTs, nowMs);
    if (report.txStatus === TxStatus.Pending && !report.isExpired) return false;
    let commitTs = report.txStatus === TxStatus.Committed ? report.commitTs : 0;
    // The primary's outcome first: a rollback recorded there can no longer commit.
    const atPrimary = await primary.resolve(startTs, commitTs, nowMs);
    if (atPrimary === MetaStatusCode.TX_CONFLICT && commitTs === 0) {
      report = await primary.checkTxStatus(startTs, nowMs); // committed meanwhile
      if (report.txStatus !== TxStatus.Committed) return false;
      commitTs = report.commitTs;
    } else if (atPrimary !== MetaStatusCode.OK) {
      return false;
    }
    const secondaries = new Set(report.secondaries);
    secondaries.add(localPartitionId);
    secondaries.delete(primaryId);
    for (const partitionId of secondaries) {
      const endpoint = await this.endpoint(fsId, partitionId);
      if (endpoint === undefined) return false;
      const status = await endpoint.resolve(startTs, commitTs, nowMs);
      if (status !== MetaStatusCode.OK && status !== MetaStatusCode.NOT_FOUND) return false;
    }
    this.logger.info({ fsId, startTs, committed: commitTs > 0 }, 'metaserver: resolved an abandoned rename transaction');
    return true;
  }

  private localPartitionOfInode(fsId: number, inodeId: number): number | undefined {
    for (const node of this.options.copysets.all()) {
      const p = node.sm.partitionOf(fsId, inodeId);
      if (p !== undefined) return p.partitionId;
    }
    return undefined;
  }

  private async endpoint(fsId: number, partitionId: number): Promise<TxEndpoint | undefined> {
    const local = this.options.copysets.all().find((n) => n.isLeader() && n.sm.partition(partitionId)?.fsId === fsId);
    if (local !== undefined) return localEndpoint(local, fsId, partitionId);
    const where = await this.options.locator.locatePartition(fsId, partitionId);
    if (where === undefined || where.addresses.length === 0) return undefined;
    const key = where.addresses.join(',');
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new RpcClient(metaServerService(), { addresses: where.addresses, timeoutMs: 3_000, totalTimeoutMs: 10_000 });
      this.clients.set(key, client);
    }
    return remoteEndpoint(client, { poolId: where.poolId, copysetId: where.copysetId, partitionId, fsId });
  }
}

function localEndpoint(node: CopysetNode, fsId: number, partitionId: number): TxEndpoint {
  const header = { poolId: node.poolId, copysetId: node.copysetId, partitionId, fsId };
  return {
    checkTxStatus: (startTs, nowMs) => node.read((sm) => sm.checkTxStatus(fsId, partitionId, startTs, nowMs)),
    resolve: async (startTs, commitTs, nowMs) => (await node.propose(OpType.ResolveTxLock, { ...header, startTs, commitTs, nowMs })).status,
  };
}

function remoteEndpoint(
  client: RpcClient<MetaServerMethods>,
  header: { poolId: number; copysetId: number; partitionId: number; fsId: number },
): TxEndpoint {
  return {
    checkTxStatus: async (startTs, nowMs) => {
      const r = await client.call('CheckTxStatus', { ...header, startTs, nowMs });
      return {
        status: r.status,
        txStatus: r.txStatus as number as TxStatus,
        commitTs: r.commitTs,
        isExpired: r.isExpired,
        secondaries: r.secondaryPartitions,
      };
    },
    resolve: async (startTs, commitTs, nowMs) => (await client.call('ResolveTxLock', { ...header, startTs, commitTs, nowMs })).status,
  };
}
