/**
 * The leader's in-memory view of everything the MDS persists, plus the
 * runtime facts that are not persisted (heartbeat times, usage, copyset
 * leaders, session expiry). Loaded from the store each time this MDS becomes
 * leader and dropped when it stops; between the two, memory changes only
 * after the store write it mirrors succeeded.
 */
import { assert } from '../../src/common/assert.js';
import type { Mountpoint, Peer } from '../../src/proto/types-common.js';
import type { MetaServerSpaceStatus } from '../../src/proto/types-mds.js';
import type { MdsStore } from '../store/mds-store.js';
import type { PlacementMetaServer } from '../placement/placement.js';
import { copysetKey, isMetaServerOnline } from '../placement/scheduler.js';
import {
  KEY_COPYSET,
  KEY_FS,
  KEY_METASERVER,
  KEY_PARTITION,
  KEY_SESSION,
  decodeRecord,
  metaserverAddress,
  type CopysetRecord,
  type FsRecord,
  type MetaServerRecord,
  type PartitionRecord,
  type PartitionStats,
  type SessionRecord,
} from './records.js';

export interface MetaServerRuntime {
  lastHeartbeatMs: number;
  space: MetaServerSpaceStatus | null;
  startTimeMs: number;
}

export interface LiveSession {
  record: SessionRecord;
  expiresAtMs: number;
}

export class MdsState {
  readonly fsByName = new Map<string, FsRecord>();
  readonly fsById = new Map<number, FsRecord>();
  readonly metaservers = new Map<number, MetaServerRecord>();
  readonly metaserverRuntime = new Map<number, MetaServerRuntime>();
  readonly copysets = new Map<string, CopysetRecord>();
  /** copyset key → leader metaserver id (from heartbeats). */
  readonly copysetLeaders = new Map<string, number>();
  readonly partitions = new Map<number, PartitionRecord>();
  readonly partitionStats = new Map<number, PartitionStats>();
  readonly sessions = new Map<string, LiveSession>();

  /**
   * Reads every record. Metaservers start with a fresh heartbeat time and
   * sessions with a fresh lease: a new leader cannot know how long they were
   * silent under the old one, and erring on "alive" avoids needless
   * re-replication and dropped mounts right after a failover.
   */
  static async load(store: MdsStore, nowMs: number, sessionTtlMs: number): Promise<MdsState> {
    const state = new MdsState();
    for (const kv of await store.list(KEY_FS)) state.putFs(decodeRecord<FsRecord>(kv.key, kv.value));
    for (const kv of await store.list(KEY_METASERVER)) {
      const m = decodeRecord<MetaServerRecord>(kv.key, kv.value);
      state.metaservers.set(m.metaserverId, m);
      state.metaserverRuntime.set(m.metaserverId, { lastHeartbeatMs: nowMs, space: null, startTimeMs: 0 });
    }
    for (const kv of await store.list(KEY_COPYSET)) {
      const c = decodeRecord<CopysetRecord>(kv.key, kv.value);
      state.copysets.set(copysetKey(c.poolId, c.copysetId), c);
    }
    for (const kv of await store.list(KEY_PARTITION)) {
      const p = decodeRecord<PartitionRecord>(kv.key, kv.value);
      state.partitions.set(p.partitionId, p);
    }
    for (const kv of await store.list(KEY_SESSION)) {
      const s = decodeRecord<SessionRecord>(kv.key, kv.value);
      state.sessions.set(s.sessionId, { record: s, expiresAtMs: nowMs + sessionTtlMs });
    }
    return state;
  }

  putFs(fs: FsRecord): void {
    const previous = this.fsById.get(fs.fsId);
    assert(previous === undefined || previous.fsName === fs.fsName, 'an fs id keeps its name');
    this.fsByName.set(fs.fsName, fs);
    this.fsById.set(fs.fsId, fs);
  }

  removeFs(fs: FsRecord): void {
    this.fsByName.delete(fs.fsName);
    this.fsById.delete(fs.fsId);
  }

  isOnline(metaserverId: number, nowMs: number, offlineTimeoutMs: number): boolean {
    const runtime = this.metaserverRuntime.get(metaserverId);
    return runtime !== undefined && isMetaServerOnline(runtime.lastHeartbeatMs, nowMs, offlineTimeoutMs);
  }

  copysetCountOf(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const id of this.metaservers.keys()) counts.set(id, 0);
    for (const c of this.copysets.values()) for (const id of c.peers) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  }

  leaderCountOf(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const id of this.copysetLeaders.values()) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  }

  placementView(nowMs: number, offlineTimeoutMs: number): PlacementMetaServer[] {
    const counts = this.copysetCountOf();
    return [...this.metaservers.values()].map((m) => ({
      id: m.metaserverId,
      zone: m.zone,
      server: m.hostname,
      isOnline: this.isOnline(m.metaserverId, nowMs, offlineTimeoutMs),
      copysetCount: counts.get(m.metaserverId) ?? 0,
    }));
  }

  metaserverIdByAddress(address: string): number | undefined {
    if (address === '') return undefined;
    for (const m of this.metaservers.values()) if (metaserverAddress(m) === address) return m.metaserverId;
    return undefined;
  }

  peer(metaserverId: number): Peer {
    const m = this.metaservers.get(metaserverId);
    return { id: metaserverId, address: m === undefined ? '' : metaserverAddress(m) };
  }

  mountpointsOf(fsId: number): Mountpoint[] {
    const result: Mountpoint[] = [];
    for (const s of this.sessions.values()) if (s.record.fsId === fsId) result.push(s.record.mountpoint);
    return result;
  }

  partitionsOf(fsId: number): PartitionRecord[] {
    return [...this.partitions.values()].filter((p) => p.fsId === fsId).sort((a, b) => a.start - b.start);
  }

  partitionCountOf(key: string): number {
    let n = 0;
    for (const p of this.partitions.values()) if (copysetKey(p.poolId, p.copysetId) === key) n++;
    return n;
  }
}
