/**
 * Topology handlers of the MDS: metaserver registration and heartbeats,
 * copyset and partition placement, lookups for clients, and the scheduler
 * runner that turns planSchedule()'s operations into MetaserverAdmin calls.
 * Shares MdsCore's gate, mutex and generation discipline (see mds-core.ts).
 */
import { randomBytes } from 'node:crypto';
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { CopysetInfo } from '../../src/proto/types-common.js';
import { FsStatus, PartitionStatus } from '../../src/proto/types-common.js';
import type * as M from '../../src/proto/types-mds.js';
import { ConfigChangeType, OnlineState } from '../../src/proto/types-mds.js';
import { choosePartitionCopyset, chooseCopysetPeers, COPYSET_REPLICAS } from '../placement/placement.js';
import { copysetKey, planSchedule, type ScheduleOp } from '../placement/scheduler.js';
import type { MdsCore, Reply } from './mds-core.js';
import { errorText, reply } from './mds-core.js';
import type { MdsState } from './mds-state.js';
import type { CopysetTarget } from './metaserver-admin.js';
import {
  DEFAULT_POOL_ID,
  PARTITION_INODE_SPAN,
  copysetRecordKey,
  encodeRecord,
  metaserverAddress,
  metaserverKey,
  partitionKey,
  toPartitionInfo,
  type CopysetRecord,
  type FsRecord,
  type MetaServerRecord,
  type PartitionRecord,
} from './records.js';

export const CREATE_PARTITION_COUNT_MAX = 16;
export const SCHEDULE_OPS_MAX = 4;
const COPYSET_IDS_PER_REQUEST_MAX = 10_000;

export class MdsTopology {
  /** copyset key → time until which the scheduler leaves it alone. */
  private readonly busyUntilMs = new Map<string, number>();
  scheduleOpsDone = 0;
  scheduleOpsFailed = 0;

  constructor(
    private readonly core: MdsCore,
    private readonly scheduleCooldownMs: number,
  ) {}

  reset(): void {
    this.busyUntilMs.clear();
  }

  private get nowMs(): number {
    return this.core.options.clock.nowMs();
  }

  copysetTarget(state: MdsState, poolId: number, copysetId: number): CopysetTarget {
    const record = state.copysets.get(copysetKey(poolId, copysetId));
    assert(record !== undefined, `copyset ${poolId}/${copysetId} exists`);
    const leaderId = state.copysetLeaders.get(copysetKey(poolId, copysetId)) ?? 0;
    return {
      poolId,
      copysetId,
      peers: record.peers.map((id) => state.peer(id)),
      leader: leaderId === 0 ? null : state.peer(leaderId),
    };
  }

  private copysetInfo(state: MdsState, record: CopysetRecord, withPartitions: boolean): CopysetInfo {
    const key = copysetKey(record.poolId, record.copysetId);
    const leaderId = state.copysetLeaders.get(key) ?? 0;
    return {
      poolId: record.poolId,
      copysetId: record.copysetId,
      epoch: record.epoch,
      peers: record.peers.map((id) => state.peer(id)),
      leader: leaderId === 0 ? null : state.peer(leaderId),
      partitions: withPartitions
        ? [...state.partitions.values()]
            .filter((p) => p.poolId === record.poolId && p.copysetId === record.copysetId)
            .map((p) => toPartitionInfo(p, state.partitionStats.get(p.partitionId)))
        : [],
    };
  }

  // ---- registration and heartbeats ----

  async registerMetaServer(request: M.RegisterMetaServerRequest): Promise<Reply<M.RegisterMetaServerResponse>> {
    if (request.internalIp === '' || request.internalPort <= 0 || request.internalPort > 65535) {
      return reply(MetaStatusCode.PARAM_ERROR, 'a metaserver registers with its internal ip and port');
    }
    if (request.zone.length > 64 || request.hostname.length > 255 || request.pool.length > 64) {
      return reply(MetaStatusCode.PARAM_ERROR, 'zone and pool names are at most 64 characters, hostnames 255');
    }
    const zone = request.zone || 'zone1';
    const hostname = request.hostname || request.internalIp;
    return this.core.handle('RegisterMetaServer', () =>
      this.core.mutex.run(async () => {
        const gated = this.core.gate();
        if (!('state' in gated)) return gated;
        const { state, generation } = gated;
        const address = `${request.internalIp}:${request.internalPort}`;
        const existing = [...state.metaservers.values()].find((m) => metaserverAddress(m) === address);
        const record: MetaServerRecord = {
          metaserverId: existing?.metaserverId ?? (await this.core.ids.metaserver.take(1)),
          hostname,
          internalIp: request.internalIp,
          internalPort: request.internalPort,
          externalIp: request.externalIp || request.internalIp,
          externalPort: request.externalPort || request.internalPort,
          zone,
          pool: request.pool || 'default',
          token: existing?.token ?? newToken(),
        };
        if (existing === undefined || JSON.stringify(existing) !== JSON.stringify(record)) {
          await this.core.options.store.put(metaserverKey(record.metaserverId), encodeRecord(record));
          if (!this.core.stillCurrent(generation)) return reply(MetaStatusCode.REDIRECTED, 'leadership lost');
        }
        state.metaservers.set(record.metaserverId, record);
        state.metaserverRuntime.set(record.metaserverId, { lastHeartbeatMs: this.nowMs, space: null, startTimeMs: 0 });
        this.core.options.log.info({ metaserverId: record.metaserverId, address, zone }, 'mds: metaserver registered');
        return { ...reply(MetaStatusCode.OK), metaserverId: record.metaserverId, token: record.token };
      }),
    );
  }

  async heartbeat(request: M.MetaServerHeartbeatRequest): Promise<Reply<M.MetaServerHeartbeatResponse>> {
    return this.core.handle('MetaServerHeartbeat', async (state, generation) => {
      const m = state.metaservers.get(request.metaserverId);
      if (m === undefined) return reply(MetaStatusCode.NOT_FOUND, `metaserver ${request.metaserverId} is not registered`);
      if (m.token !== request.token) return reply(MetaStatusCode.PERMISSION_DENIED, `metaserver ${request.metaserverId}: wrong token`);
      state.metaserverRuntime.set(m.metaserverId, { lastHeartbeatMs: this.nowMs, space: request.space, startTimeMs: request.startTimeMs });
      const changed: CopysetRecord[] = [];
      const spent: PartitionRecord[] = [];
      const removals: M.CopysetConf[] = [];
      for (const report of request.copysets) {
        const key = copysetKey(report.poolId, report.copysetId);
        const record = state.copysets.get(key);
        // A replica removed while it could not hear it (it still lists itself, at an older
        // epoch): tell it the current voters; it drops its copy after checking them itself
        // (metaserver DeleteCopysetNode rules). A joining replica lists no peers: never told.
        const self = metaserverAddress(m);
        if (record !== undefined && report.epoch < record.epoch && !record.peers.includes(m.metaserverId) && report.peers.some((p) => p.address === self)) {
          removals.push({
            poolId: report.poolId,
            copysetId: report.copysetId,
            epoch: record.epoch,
            type: ConfigChangeType.REMOVE_PEER,
            configChangeItem: null,
            oldPeer: { id: m.metaserverId, address: self },
            peers: record.peers.flatMap((id) => {
              const peer = state.metaservers.get(id);
              return peer === undefined ? [] : [{ id, address: metaserverAddress(peer) }];
            }),
          });
        }
        // An unknown copyset is a leftover of a failed create or a deleted fs: ignore it.
        if (record === undefined || report.epoch < record.epoch) continue;
        // Peers by MDS id when the metaserver knows it, else by address (a replica's Raft id is its address).
        const reportedPeers = report.peers
          .map((p) => (state.metaservers.has(p.id) ? p.id : state.metaserverIdByAddress(p.address)))
          .filter((id): id is number => id !== undefined);
        // "Not older" (DESIGN §11): a newer epoch from any replica; the same epoch only
        // from the copyset's leader itself, the replica whose configuration is current.
        const isLeaderReport = report.leader !== null && report.leader.address === metaserverAddress(m);
        const peersDiffer = reportedPeers.length !== record.peers.length || reportedPeers.some((id) => !record.peers.includes(id));
        if (reportedPeers.length > 0 && (report.epoch > record.epoch || (isLeaderReport && peersDiffer))) {
          changed.push({ ...record, epoch: report.epoch, peers: reportedPeers });
        }
        const leaderId =
          report.leader === null
            ? 0
            : state.metaservers.has(report.leader.id)
              ? report.leader.id
              : (state.metaserverIdByAddress(report.leader.address) ?? 0);
        // The leader's own report is authoritative about leadership.
        if (leaderId !== 0 && (leaderId === m.metaserverId || !state.copysetLeaders.has(key))) state.copysetLeaders.set(key, leaderId);
        else if (leaderId === 0 && state.copysetLeaders.get(key) === m.metaserverId) state.copysetLeaders.delete(key);
        for (const p of report.partitions) {
          const record = state.partitions.get(p.partitionId);
          if (record === undefined) continue;
          state.partitionStats.set(p.partitionId, { nextId: p.nextId, inodeCount: p.inodeCount, dentryCount: p.dentryCount });
          // A partition whose ids are spent turns READONLY for good: clients stop picking it.
          if (leaderId === m.metaserverId && p.status === PartitionStatus.READONLY && record.status === PartitionStatus.READWRITE) {
            spent.push({ ...record, status: PartitionStatus.READONLY });
          }
        }
      }
      if (spent.length > 0) {
        await this.core.mutex.run(async () => {
          for (const p of spent) {
            if (!this.core.stillCurrent(generation) || state.partitions.get(p.partitionId)?.status !== PartitionStatus.READWRITE) continue;
            await this.core.options.store.put(partitionKey(p.partitionId), encodeRecord(p));
            if (this.core.stillCurrent(generation)) state.partitions.set(p.partitionId, p);
          }
        });
      }
      if (changed.length > 0) {
        await this.core.mutex.run(async () => {
          for (const c of changed) {
            if (!this.core.stillCurrent(generation)) return;
            const current = state.copysets.get(copysetKey(c.poolId, c.copysetId));
            if (current === undefined || current.epoch > c.epoch) continue;
            await this.core.options.store.put(copysetRecordKey(c.poolId, c.copysetId), encodeRecord(c));
            if (this.core.stillCurrent(generation)) state.copysets.set(copysetKey(c.poolId, c.copysetId), c);
          }
        });
      }
      return { ...reply(MetaStatusCode.OK), copysetConfs: removals };
    });
  }

  // ---- partitions and copysets ----

  async createPartition(request: M.CreatePartitionRequest): Promise<Reply<M.CreatePartitionResponse>> {
    if (!Number.isSafeInteger(request.count) || request.count < 1 || request.count > CREATE_PARTITION_COUNT_MAX) {
      return reply(MetaStatusCode.PARAM_ERROR, `partition count must be 1..${CREATE_PARTITION_COUNT_MAX}`);
    }
    return this.core.handle('CreatePartition', () =>
      this.core.mutex.run(async () => {
        const gated = this.core.gate();
        if (!('state' in gated)) return gated;
        const fs = gated.state.fsById.get(request.fsId);
        if (fs === undefined || fs.status !== FsStatus.INITED) {
          return reply(MetaStatusCode.FS_NOT_FOUND, `fs id ${request.fsId} does not exist or is not ready`);
        }
        const created = await this.createPartitionsLocked(gated.state, gated.generation, fs, request.count);
        if ('status' in created) return created;
        return {
          ...reply(MetaStatusCode.OK),
          partitions: created.partitions.map((p) => toPartitionInfo(p)),
        };
      }),
    );
  }

  /** Why a partition cannot be placed right now ('' when it can): checked before an fs is recorded. */
  placementBlocker(state: MdsState): string {
    const nowMs = this.nowMs;
    const offlineMs = this.core.metaserverOfflineMs;
    const hasHealthyCopyset = [...state.copysets.values()].some(
      (c) => c.peers.length === COPYSET_REPLICAS && c.peers.every((id) => state.isOnline(id, nowMs, offlineMs)),
    );
    if (hasHealthyCopyset) return '';
    if (chooseCopysetPeers(state.placementView(nowMs, offlineMs)) !== undefined) return '';
    const online = [...state.metaservers.keys()].filter((id) => state.isOnline(id, nowMs, offlineMs)).length;
    return `need ${COPYSET_REPLICAS} online metaservers to place the fs's partitions, have ${online}`;
  }

  /** Under the mutex: creates `count` partitions of `fs`, and copysets as placement asks for them. */
  async createPartitionsLocked(
    state: MdsState,
    generation: number,
    fs: FsRecord,
    count: number,
  ): Promise<{ partitions: PartitionRecord[] } | Reply<object>> {
    const partitions: PartitionRecord[] = [];
    for (let i = 0; i < count; i++) {
      const nowMs = this.nowMs;
      const offlineMs = this.core.metaserverOfflineMs;
      const onlineCount = [...state.metaservers.keys()].filter((id) => state.isOnline(id, nowMs, offlineMs)).length;
      const choice = choosePartitionCopyset(
        [...state.copysets.entries()].map(([key, c]) => ({
          key,
          partitionCount: state.partitionCountOf(key),
          isHealthy: c.peers.length === COPYSET_REPLICAS && c.peers.every((id) => state.isOnline(id, nowMs, offlineMs)),
        })),
        onlineCount,
      );
      let copyset: CopysetRecord;
      if (choice.kind === 'new') {
        const created = await this.createCopysetLocked(state, generation);
        if ('status' in created) return created;
        copyset = created.copyset;
      } else {
        copyset = state.copysets.get(choice.key)!;
      }
      const partitionId = await this.core.ids.partition.take(1);
      const start = state.partitionsOf(fs.fsId).reduce((max, p) => Math.max(max, p.end + 1), 0);
      const record: PartitionRecord = {
        fsId: fs.fsId,
        poolId: copyset.poolId,
        copysetId: copyset.copysetId,
        partitionId,
        start,
        end: start + PARTITION_INODE_SPAN - 1,
        status: PartitionStatus.READWRITE,
      };
      assert(Number.isSafeInteger(record.end), 'inode ids stay safe integers');
      try {
        await this.core.options.admin.createPartition(this.copysetTarget(state, copyset.poolId, copyset.copysetId), toPartitionInfo(record));
      } catch (e) {
        return reply(MetaStatusCode.UNAVAILABLE, `creating partition ${partitionId} on copyset ${copyset.copysetId} failed: ${errorText(e)}`);
      }
      if (!this.core.stillCurrent(generation)) return reply(MetaStatusCode.REDIRECTED, 'leadership lost');
      await this.core.options.store.put(partitionKey(partitionId), encodeRecord(record));
      if (!this.core.stillCurrent(generation)) return reply(MetaStatusCode.REDIRECTED, 'leadership lost');
      state.partitions.set(partitionId, record);
      partitions.push(record);
      this.core.options.log.info({ fsId: fs.fsId, partitionId, copysetId: copyset.copysetId, start }, 'mds: partition created');
    }
    return { partitions };
  }

  private async createCopysetLocked(state: MdsState, generation: number): Promise<{ copyset: CopysetRecord } | Reply<object>> {
    const view = state.placementView(this.nowMs, this.core.metaserverOfflineMs);
    const peers = chooseCopysetPeers(view);
    if (peers === undefined) {
      const online = view.filter((m) => m.isOnline).length;
      return reply(MetaStatusCode.NO_SPACE, `need ${COPYSET_REPLICAS} online metaservers to place a copyset, have ${online}`);
    }
    const copysetId = await this.core.ids.copyset.take(1);
    const record: CopysetRecord = { poolId: DEFAULT_POOL_ID, copysetId, epoch: 0, peers };
    const target: CopysetTarget = { poolId: record.poolId, copysetId, peers: peers.map((id) => state.peer(id)), leader: null };
    try {
      await this.core.options.admin.createCopyset(target);
    } catch (e) {
      return reply(MetaStatusCode.UNAVAILABLE, `creating copyset ${copysetId} failed: ${errorText(e)}`);
    }
    if (!this.core.stillCurrent(generation)) return reply(MetaStatusCode.REDIRECTED, 'leadership lost');
    await this.core.options.store.put(copysetRecordKey(record.poolId, copysetId), encodeRecord(record));
    if (!this.core.stillCurrent(generation)) return reply(MetaStatusCode.REDIRECTED, 'leadership lost');
    state.copysets.set(copysetKey(record.poolId, copysetId), record);
    this.core.options.log.info({ copysetId, peers }, 'mds: copyset created');
    return { copyset: record };
  }

  async listPartition(request: M.ListPartitionRequest): Promise<Reply<M.ListPartitionResponse>> {
    return this.core.handle('ListPartition', async (state) => {
      if (!state.fsById.has(request.fsId)) return reply(MetaStatusCode.FS_NOT_FOUND, `fs id ${request.fsId} does not exist`);
      const partitions = state.partitionsOf(request.fsId).map((p) => toPartitionInfo(p, state.partitionStats.get(p.partitionId)));
      return { ...reply(MetaStatusCode.OK), partitions };
    });
  }

  async getCopysetOfPartition(request: M.GetCopysetOfPartitionRequest): Promise<Reply<M.GetCopysetOfPartitionResponse>> {
    if (request.partitionIds.length > COPYSET_IDS_PER_REQUEST_MAX) return reply(MetaStatusCode.PARAM_ERROR, 'too many partition ids');
    return this.core.handle('GetCopysetOfPartition', async (state) => {
      const copysetMap: Record<string, CopysetInfo> = {};
      for (const id of request.partitionIds) {
        const p = state.partitions.get(id);
        if (p === undefined) return reply(MetaStatusCode.PARTITION_NOT_FOUND, `partition ${id} does not exist`);
        const c = state.copysets.get(copysetKey(p.poolId, p.copysetId));
        assert(c !== undefined, `partition ${id} lies on a known copyset`);
        copysetMap[String(id)] = this.copysetInfo(state, c, false);
      }
      return { ...reply(MetaStatusCode.OK), copysetMap };
    });
  }

  async getMetaServerListInCopysets(request: M.GetMetaServerListInCopysetsRequest): Promise<Reply<M.GetMetaServerListInCopysetsResponse>> {
    if (request.copysetIds.length > COPYSET_IDS_PER_REQUEST_MAX) return reply(MetaStatusCode.PARAM_ERROR, 'too many copyset ids');
    return this.core.handle('GetMetaServerListInCopysets', async (state) => {
      const infos: M.CopysetServerInfo[] = [];
      for (const copysetId of request.copysetIds) {
        const c = state.copysets.get(copysetKey(request.poolId || DEFAULT_POOL_ID, copysetId));
        if (c === undefined) return reply(MetaStatusCode.COPYSET_NOT_FOUND, `copyset ${copysetId} does not exist`);
        infos.push({
          copysetId,
          locations: c.peers.map((id) => {
            const m = state.metaservers.get(id)!;
            return { metaserverId: id, internalIp: m.internalIp, internalPort: m.internalPort, externalIp: m.externalIp, externalPort: m.externalPort };
          }),
        });
      }
      return { ...reply(MetaStatusCode.OK), infos };
    });
  }

  // ---- topology and status ----

  async listTopology(): Promise<Reply<M.ListTopologyResponse>> {
    return this.core.handle('ListTopology', async (state) => {
      const zoneNames = [...new Set([...state.metaservers.values()].map((m) => m.zone))].sort();
      const zoneId = (name: string): number => zoneNames.indexOf(name) + 1;
      const nowMs = this.nowMs;
      const copysetCounts = state.copysetCountOf();
      const leaderCounts = state.leaderCountOf();
      const metaservers: M.MetaServerInfo[] = [...state.metaservers.values()]
        .sort((a, b) => a.metaserverId - b.metaserverId)
        .map((m) => {
          const runtime = state.metaserverRuntime.get(m.metaserverId);
          return {
            metaserverId: m.metaserverId,
            hostname: m.hostname,
            internalIp: m.internalIp,
            internalPort: m.internalPort,
            externalIp: m.externalIp,
            externalPort: m.externalPort,
            zoneId: zoneId(m.zone),
            state: state.isOnline(m.metaserverId, nowMs, this.core.metaserverOfflineMs) ? OnlineState.ONLINE : OnlineState.OFFLINE,
            copysetCount: copysetCounts.get(m.metaserverId) ?? 0,
            leaderCount: leaderCounts.get(m.metaserverId) ?? 0,
            space: runtime?.space ?? null,
            lastHeartbeatMs: runtime === undefined ? 0 : Math.max(0, Math.round(nowMs - runtime.lastHeartbeatMs)),
          };
        });
      return {
        ...reply(MetaStatusCode.OK),
        pools: [{ poolId: DEFAULT_POOL_ID, name: 'default', replicaCount: COPYSET_REPLICAS }],
        zones: zoneNames.map((name) => ({ zoneId: zoneId(name), name, poolId: DEFAULT_POOL_ID })),
        metaservers,
        copysets: [...state.copysets.values()]
          .sort((a, b) => a.copysetId - b.copysetId)
          .map((c) => this.copysetInfo(state, c, true)),
      };
    });
  }

  /**
   * @param members addresses of live MDS processes (etcd presence keys; just
   *   this one when embedded). This MDS answers, so it is the leader.
   */
  async clusterStatus(selfAddress: string, members: () => Promise<string[]>): Promise<Reply<M.ClusterStatusResponse>> {
    return this.core.handle('ClusterStatus', async (state) => {
      let addresses: string[];
      try {
        addresses = await members();
      } catch {
        addresses = [];
      }
      if (!addresses.includes(selfAddress)) addresses.push(selfAddress);
      const nowMs = this.nowMs;
      const offlineMs = this.core.metaserverOfflineMs;
      const online = [...state.metaservers.keys()].filter((id) => state.isOnline(id, nowMs, offlineMs)).length;
      let unhealthy = 0;
      for (const [key, c] of state.copysets) {
        const healthy =
          state.copysetLeaders.has(key) && c.peers.length === COPYSET_REPLICAS && c.peers.every((id) => state.isOnline(id, nowMs, offlineMs));
        if (!healthy) unhealthy++;
      }
      return {
        ...reply(MetaStatusCode.OK),
        isHealthy: unhealthy === 0 && online === state.metaservers.size,
        mds: addresses.sort().map((address) => ({ address, isLeader: address === selfAddress, isHealthy: true })),
        metaserverOnline: online,
        metaserverOffline: state.metaservers.size - online,
        copysetTotal: state.copysets.size,
        copysetUnhealthy: unhealthy,
        fsCount: state.fsById.size,
      };
    });
  }

  // ---- scheduling ----

  /** One scheduling round (leader only): plans, then carries the operations out. Returns how many ran. */
  async runSchedule(): Promise<number> {
    const gated = this.core.gate();
    if (!('state' in gated)) return 0;
    const { state, generation } = gated;
    const nowMs = this.nowMs;
    for (const [key, until] of this.busyUntilMs) if (until <= nowMs) this.busyUntilMs.delete(key);
    const view = state.placementView(nowMs, this.core.metaserverOfflineMs);
    const ops = planSchedule({
      metaservers: view,
      copysets: [...state.copysets.entries()].map(([key, c]) => ({ ...c, leader: state.copysetLeaders.get(key) ?? 0 })),
      busyCopysets: new Set(this.busyUntilMs.keys()),
      opsMax: SCHEDULE_OPS_MAX,
    });
    for (const op of ops) this.busyUntilMs.set(copysetKey(op.poolId, op.copysetId), Number.POSITIVE_INFINITY);
    await Promise.all(ops.map((op) => this.execute(state, generation, op)));
    return ops.length;
  }

  private async execute(state: MdsState, generation: number, op: ScheduleOp): Promise<void> {
    const key = copysetKey(op.poolId, op.copysetId);
    const log = this.core.options.log;
    try {
      const target = this.copysetTarget(state, op.poolId, op.copysetId);
      if (op.kind === 'changePeer') {
        log.info({ copysetId: op.copysetId, remove: op.remove, add: op.add }, 'mds scheduler: replacing an offline replica');
        await this.core.options.admin.changePeer(target, state.peer(op.remove), state.peer(op.add));
        await this.core.mutex.run(async () => {
          if (!this.core.stillCurrent(generation)) return;
          const current = state.copysets.get(key);
          if (current === undefined || current.epoch !== op.epoch || !current.peers.includes(op.remove)) return;
          // The epoch stays: the copyset's own report (epoch + 1) confirms the change.
          const updated: CopysetRecord = { ...current, peers: current.peers.map((id) => (id === op.remove ? op.add : id)) };
          await this.core.options.store.put(copysetRecordKey(op.poolId, op.copysetId), encodeRecord(updated));
          if (this.core.stillCurrent(generation)) state.copysets.set(key, updated);
        });
      } else {
        log.info({ copysetId: op.copysetId, from: op.from, to: op.to }, 'mds scheduler: moving a leader');
        await this.core.options.admin.transferLeader(target, state.peer(op.to));
      }
      this.scheduleOpsDone++;
    } catch (e) {
      this.scheduleOpsFailed++;
      log.warn({ copysetId: op.copysetId, kind: op.kind, err: errorText(e) }, 'mds scheduler: operation failed');
    } finally {
      if (this.core.stillCurrent(generation)) this.busyUntilMs.set(key, this.nowMs + this.scheduleCooldownMs);
    }
  }
}

function newToken(): string {
  return randomBytes(16).toString('hex');
}
