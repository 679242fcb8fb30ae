/**
 * TypeScript shapes of the messages in common.proto, as decoded by
 * loader.ts: camelCase, uint64 as safe-integer numbers, enums as numbers,
 * absent scalars as defaults, absent nested messages as null, map keys as
 * strings. Senders may leave any field out (MessageInit).
 */
import { MetaStatusCode } from '../common/meta-status.js';

export { MetaStatusCode };

/** What a sender passes: every field optional, nested messages too (proto3 defaults fill the rest). */
export type MessageInit<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? readonly MessageInit<U>[]
    : T extends object
      ? { [K in keyof T]?: MessageInit<NonNullable<T[K]>> | null }
      : T;

/** The first two fields of every reply (common.proto conventions). */
export interface ReplyHeader {
  status: MetaStatusCode;
  /** "host:port" of the leader when this server is not it; '' when unknown. */
  leaderHint: string;
}

/** The first four fields of every metaserver request. */
export interface RequestHeader {
  poolId: number;
  copysetId: number;
  partitionId: number;
  fsId: number;
}

/** A method's request and reply types, for typed RpcClient/RpcServer. */
export interface Method<Req, Res> {
  request: Req;
  response: Res;
}
/** Constraint for a service's method map: `M extends MethodMap<M>`. */
export type MethodMap<M> = { [K in keyof M]: Method<unknown, unknown> };

export interface Peer {
  id: number;
  address: string;
}

export enum StorageType {
  UNSPECIFIED = 0,
  S3 = 1,
  LOCAL = 2,
}

export interface S3Info {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
  forcePathStyle: boolean;
}

export interface LocalStorageInfo {
  path: string;
}

export interface StorageInfo {
  type: StorageType;
  s3: S3Info | null;
  local: LocalStorageInfo | null;
  keyPrefix: string;
}

export enum FsStatus {
  UNSPECIFIED = 0,
  NEW = 1,
  INITED = 2,
  DELETING = 3,
}

export interface Mountpoint {
  hostname: string;
  port: number;
  path: string;
}

export interface FsInfo {
  fsId: number;
  fsName: string;
  status: FsStatus;
  rootInodeId: number;
  capacityBytes: number;
  blockSizeBytes: number;
  chunkSizeBytes: number;
  owner: string;
  storage: StorageInfo | null;
  mountpoints: Mountpoint[];
  createTimeMs: number;
}

export enum PartitionStatus {
  UNSPECIFIED = 0,
  READWRITE = 1,
  READONLY = 2,
  DELETING = 3,
}

export interface PartitionInfo {
  fsId: number;
  poolId: number;
  copysetId: number;
  partitionId: number;
  start: number;
  end: number;
  nextId: number;
  status: PartitionStatus;
  inodeCount: number;
  dentryCount: number;
}

export interface CopysetInfo {
  poolId: number;
  copysetId: number;
  epoch: number;
  peers: Peer[];
  leader: Peer | null;
  partitions: PartitionInfo[];
}

export type Empty = Record<string, never>;
