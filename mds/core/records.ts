/**
 * What the MDS persists, and its key schema (all under the store's prefix):
 *
 *   fs/<fsName>                 FsRecord      (one per file system; name unique by CAS on absence)
 *   ms/<metaserverId>           MetaServerRecord
 *   cs/<poolId>/<copysetId>     CopysetRecord (peers as metaserver ids; epoch from heartbeats)
 *   pt/<partitionId>            PartitionRecord
 *   session/<sessionId>         SessionRecord (mounts; open inodes)
 *   counter/<name>              first value not yet reserved (batch-counter.ts)
 *   election/leader             the leader's address, bound to its lease (etcd only)
 *
 * Values are JSON. Heartbeat times, usage, copyset leaders and session
 * expiry stay in the leader's memory: they are rebuilt within seconds after
 * a failover and writing them would cost a store write per heartbeat.
 */
import { assert } from '../../src/common/assert.js';
import { maskSecret } from '../../src/common/config.js';
import type { FsInfo, Mountpoint, PartitionInfo, StorageInfo } from '../../src/proto/types-common.js';
import { FsStatus, PartitionStatus } from '../../src/proto/types-common.js';

export const KEY_FS = 'fs/';
export const KEY_METASERVER = 'ms/';
export const KEY_COPYSET = 'cs/';
export const KEY_PARTITION = 'pt/';
export const KEY_SESSION = 'session/';
export const KEY_COUNTER = 'counter/';
export const ELECTION_KEY = 'election/leader';

/** Each partition covers 2^20 inode ids (DESIGN §3). */
export const PARTITION_INODE_SPAN = 2 ** 20;
export const ROOT_INODE_ID = 1;
export const DEFAULT_POOL_ID = 1;

export interface FsRecord {
  fsId: number;
  fsName: string;
  status: FsStatus;
  capacityBytes: number;
  blockSizeBytes: number;
  chunkSizeBytes: number;
  owner: string;
  storage: StorageInfo;
  rootUid: number;
  rootGid: number;
  rootMode: number;
  createTimeMs: number;
}

export interface MetaServerRecord {
  metaserverId: number;
  hostname: string;
  internalIp: string;
  internalPort: number;
  externalIp: string;
  externalPort: number;
  zone: string;
  pool: string;
  token: string;
}

export interface CopysetRecord {
  poolId: number;
  copysetId: number;
  epoch: number;
  peers: number[];
}

export interface PartitionRecord {
  fsId: number;
  poolId: number;
  copysetId: number;
  partitionId: number;
  start: number;
  end: number;
  status: PartitionStatus;
}

export interface SessionRecord {
  sessionId: string;
  fsId: number;
  fsName: string;
  mountpoint: Mountpoint;
  openInodeIds: number[];
  createTimeMs: number;
}

export const fsKey = (name: string): string => `${KEY_FS}${name}`;
export const metaserverKey = (id: number): string => `${KEY_METASERVER}${id}`;
export const copysetRecordKey = (poolId: number, copysetId: number): string => `${KEY_COPYSET}${poolId}/${copysetId}`;
export const partitionKey = (id: number): string => `${KEY_PARTITION}${id}`;
export const sessionKey = (id: string): string => `${KEY_SESSION}${id}`;

export function encodeRecord(record: object): string {
  return JSON.stringify(record);
}

export function decodeRecord<T>(key: string, value: string): T {
  const parsed = JSON.parse(value) as unknown;
  assert(typeof parsed === 'object' && parsed !== null, `record ${key} is an object`);
  return parsed as T;
}

/** The copy of an fs's storage that status commands and logs may show. */
export function maskStorage(storage: StorageInfo): StorageInfo {
  return {
    ...storage,
    s3: storage.s3 === null ? null : { ...storage.s3, accessKey: maskSecret(storage.s3.accessKey), secretKey: storage.s3.secretKey ? '***' : '' },
  };
}

/**
 * The wire form of an fs. `withSecrets` only for a mounting client (MountFs,
 * RefreshSession): it needs the keys to reach its data.
 */
export function toFsInfo(fs: FsRecord, mountpoints: Mountpoint[], withSecrets: boolean): FsInfo {
  return {
    fsId: fs.fsId,
    fsName: fs.fsName,
    status: fs.status,
    rootInodeId: ROOT_INODE_ID,
    capacityBytes: fs.capacityBytes,
    blockSizeBytes: fs.blockSizeBytes,
    chunkSizeBytes: fs.chunkSizeBytes,
    owner: fs.owner,
    storage: withSecrets ? fs.storage : maskStorage(fs.storage),
    mountpoints,
    createTimeMs: fs.createTimeMs,
  };
}

export function toPartitionInfo(p: PartitionRecord, stats?: PartitionStats): PartitionInfo {
  return {
    fsId: p.fsId,
    poolId: p.poolId,
    copysetId: p.copysetId,
    partitionId: p.partitionId,
    start: p.start,
    end: p.end,
    nextId: stats?.nextId ?? firstFreeInodeId(p.start),
    status: p.status,
    inodeCount: stats?.inodeCount ?? 0,
    dentryCount: stats?.dentryCount ?? 0,
  };
}

/** Inode ids 0 (invalid) and 1 (root) are never handed out by a partition. */
export function firstFreeInodeId(start: number): number {
  return start <= ROOT_INODE_ID ? ROOT_INODE_ID + 1 : start;
}

export interface PartitionStats {
  nextId: number;
  inodeCount: number;
  dentryCount: number;
}

export function metaserverAddress(m: MetaServerRecord): string {
  return `${m.internalIp}:${m.internalPort}`;
}
