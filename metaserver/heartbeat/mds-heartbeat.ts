/**
 * Registration with the MDS and periodic heartbeats (DESIGN §11): each
 * heartbeat reports every hosted copyset (peers, leader, partitions with
 * their counts) and memory use. Registration is by service address, so a
 * restarted metaserver gets its id back; a heartbeat answered NOT_FOUND or
 * PERMISSION_DENIED (the MDS lost or replaced the record) registers again.
 *
 * Runs in the background: an unreachable MDS is retried at the next beat,
 * never stalls the metaserver. Every wait is bounded by the RPC deadline.
 */
import { hostname } from 'node:os';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { Logger } from '../../src/common/log.js';
import { silentLogger } from '../../src/common/log.js';
import { mdsService } from '../../src/proto/index.js';
import type { CopysetInfo } from '../../src/proto/types-common.js';
import { ConfigChangeType, type CopysetConf, type MdsMethods } from '../../src/proto/types-mds.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import type { CopysetManager } from '../copyset/copyset-manager.js';
import { partitionToWire } from '../service/wire.js';

export interface MdsHeartbeatOptions {
  readonly mds: readonly string[];
  /** This metaserver's service address ("host:port"). */
  readonly address: string;
  readonly zone: string;
  readonly copysets: CopysetManager;
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

export class MdsHeartbeat {
  private readonly client: RpcClient<MdsMethods>;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly startTimeMs = Date.now();
  private registration: { metaserverId: number; token: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private isStopped = false;
  beats = 0;

  constructor(private readonly options: MdsHeartbeatOptions) {
    this.client = new RpcClient(mdsService(), { addresses: options.mds, timeoutMs: 3_000, totalTimeoutMs: 5_000, maxAttempts: 3 });
    this.intervalMs = options.intervalMs ?? 2_000;
    this.logger = options.logger ?? silentLogger;
  }

  get metaserverId(): number | undefined {
    return this.registration?.metaserverId;
  }

  start(): void {
    const loop = (): void => {
      if (this.isStopped) return;
      this.running = this.beat()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'metaserver: heartbeat to the MDS failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.isStopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    this.client.close();
  }

  /** One registration (if needed) and one heartbeat. */
  async beat(): Promise<void> {
    const { host, port } = splitHostPort(this.options.address);
    if (this.registration === undefined) {
      const reply = await this.client.call('RegisterMetaServer', {
        hostname: hostname(),
        internalIp: host,
        internalPort: port,
        externalIp: host,
        externalPort: port,
        zone: this.options.zone,
      });
      if (reply.status !== MetaStatusCode.OK) {
        this.logger.warn({ status: reply.status }, 'metaserver: MDS refused registration');
        return;
      }
      this.registration = { metaserverId: reply.metaserverId, token: reply.token };
      this.logger.info({ metaserverId: reply.metaserverId }, 'metaserver: registered with the MDS');
    }
    // A leader whose voters changed without a recorded epoch records them now (bounded by the RPC deadline).
    await Promise.all(this.options.copysets.all().map((node) => node.syncEpoch().catch(() => undefined)));
    const copysets = this.options.copysets.all().map((node): CopysetInfo => {
      const s = node.status();
      return {
        poolId: node.poolId,
        copysetId: node.copysetId,
        epoch: node.sm.epoch,
        peers: s.confState.voters.map((address) => ({ id: 0, address })),
        leader: s.leader === '' ? null : { id: 0, address: s.leader },
        partitions: node.sm.partitionInfos().map((p) => partitionToWire(p, node.poolId, node.copysetId)),
      };
    });
    const reply = await this.client.call('MetaServerHeartbeat', {
      metaserverId: this.registration.metaserverId,
      token: this.registration.token,
      internalIp: host,
      internalPort: port,
      startTimeMs: this.startTimeMs,
      copysets,
      space: { memoryUsedBytes: process.memoryUsage().heapUsed },
      leaderCount: this.options.copysets.all().filter((n) => n.isLeader()).length,
    });
    if (reply.status === MetaStatusCode.NOT_FOUND || reply.status === MetaStatusCode.PERMISSION_DENIED) {
      this.registration = undefined; // register again at the next beat
    }
    if (reply.status === MetaStatusCode.OK) {
      this.beats += 1;
      await this.dropRemovedCopysets(reply.copysetConfs);
    }
  }

  /**
   * The MDS names copysets that no longer count this replica (removed while
   * it was away): each is dropped only if the replica's own check agrees
   * (CopysetManager.removeIfNotMember: its conf, or a newer epoch without it).
   */
  private async dropRemovedCopysets(confs: readonly CopysetConf[]): Promise<void> {
    for (const c of confs) {
      if (c.type !== ConfigChangeType.REMOVE_PEER || c.oldPeer?.address !== this.options.address) continue;
      const outcome = await this.options.copysets.removeIfNotMember(c.poolId, c.copysetId, { epoch: c.epoch, peers: c.peers.map((p) => p.address) });
      this.logger.info({ poolId: c.poolId, copysetId: c.copysetId, epoch: c.epoch, outcome }, 'metaserver: MDS reports this replica removed');
    }
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}
