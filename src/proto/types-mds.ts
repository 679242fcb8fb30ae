/** TypeScript shapes of mds.proto messages (decoding conventions: types-common.ts). */
import type {
  CopysetInfo,
  FsInfo,
  Method,
  Mountpoint,
  PartitionInfo,
  Peer,
  ReplyHeader,
  StorageInfo,
} from './types-common.js';

/** Every MDS reply: the common header plus a human-readable error (mds.proto field 15). */
export interface MdsReplyHeader extends ReplyHeader {
  /** Why the status is not OK, for operators; '' on OK. Never contains credentials. */
  errorMessage: string;
}

export interface CreateFsRequest {
  fsName: string;
  blockSizeBytes: number;
  chunkSizeBytes: number;
  capacityBytes: number;
  owner: string;
  storage: StorageInfo | null;
  rootUid: number;
  rootGid: number;
  rootMode: number;
}
export interface CreateFsResponse extends MdsReplyHeader {
  fsInfo: FsInfo | null;
}

export interface DeleteFsRequest {
  fsName: string;
}
export type DeleteFsResponse = MdsReplyHeader;

export interface GetFsInfoRequest {
  fsId: number;
  fsName: string;
}
export interface GetFsInfoResponse extends MdsReplyHeader {
  fsInfo: FsInfo | null;
}

export type ListFsRequest = Record<string, never>;
export interface ListFsResponse extends MdsReplyHeader {
  fsInfos: FsInfo[];
}

export interface MountFsRequest {
  fsName: string;
  mountpoint: Mountpoint | null;
}
export interface MountFsResponse extends MdsReplyHeader {
  fsInfo: FsInfo | null;
  sessionId: string;
  sessionTtlMs: number;
}

export interface UmountFsRequest {
  fsName: string;
  sessionId: string;
  mountpoint: Mountpoint | null;
}
export type UmountFsResponse = MdsReplyHeader;

export interface RefreshSessionRequest {
  fsId: number;
  sessionId: string;
  openInodeIds: number[];
}
export interface RefreshSessionResponse extends MdsReplyHeader {
  sessionTtlMs: number;
  fsInfo: FsInfo | null;
}

/** Data services of the metaservers (issue #8): the fs with credentials and the inodes live sessions hold open. */
export interface GetFsDataInfoRequest {
  fsId: number;
}
export interface GetFsDataInfoResponse extends MdsReplyHeader {
  fsInfo: FsInfo | null;
  openInodeIds: number[];
}

export interface AllocateChunkIdsRequest {
  fsId: number;
  count: number;
}
export interface AllocateChunkIdsResponse extends MdsReplyHeader {
  startChunkId: number;
  count: number;
}

export type TsoRequest = Record<string, never>;
export interface TsoResponse extends MdsReplyHeader {
  ts: number;
  timestampMs: number;
}

export interface RegisterMetaServerRequest {
  hostname: string;
  internalIp: string;
  internalPort: number;
  externalIp: string;
  externalPort: number;
  zone: string;
  pool: string;
}
export interface RegisterMetaServerResponse extends MdsReplyHeader {
  metaserverId: number;
  token: string;
}

export interface MetaServerSpaceStatus {
  diskCapacityBytes: number;
  diskUsedBytes: number;
  memoryUsedBytes: number;
}

export interface MetaServerHeartbeatRequest {
  metaserverId: number;
  token: string;
  internalIp: string;
  internalPort: number;
  startTimeMs: number;
  copysets: CopysetInfo[];
  space: MetaServerSpaceStatus | null;
  leaderCount: number;
}

export enum ConfigChangeType {
  NONE = 0,
  ADD_PEER = 1,
  REMOVE_PEER = 2,
  CHANGE_PEER = 3,
  TRANSFER_LEADER = 4,
}

export interface CopysetConf {
  poolId: number;
  copysetId: number;
  epoch: number;
  type: ConfigChangeType;
  configChangeItem: Peer | null;
  oldPeer: Peer | null;
  peers: Peer[];
}

export interface MetaServerHeartbeatResponse extends MdsReplyHeader {
  copysetConfs: CopysetConf[];
}

export interface CreatePartitionRequest {
  fsId: number;
  count: number;
}
export interface CreatePartitionResponse extends MdsReplyHeader {
  partitions: PartitionInfo[];
}

export interface ListPartitionRequest {
  fsId: number;
}
export interface ListPartitionResponse extends MdsReplyHeader {
  partitions: PartitionInfo[];
}

export interface GetCopysetOfPartitionRequest {
  partitionIds: number[];
}
export interface GetCopysetOfPartitionResponse extends MdsReplyHeader {
  /** partition id (as a decimal string) → copyset */
  copysetMap: Record<string, CopysetInfo>;
}

export interface GetMetaServerListInCopysetsRequest {
  poolId: number;
  copysetIds: number[];
}
export interface MetaServerLocation {
  metaserverId: number;
  internalIp: string;
  internalPort: number;
  externalIp: string;
  externalPort: number;
}
export interface CopysetServerInfo {
  copysetId: number;
  locations: MetaServerLocation[];
}
export interface GetMetaServerListInCopysetsResponse extends MdsReplyHeader {
  infos: CopysetServerInfo[];
}

export enum OnlineState {
  UNSPECIFIED = 0,
  ONLINE = 1,
  OFFLINE = 2,
}

export interface PoolInfo {
  poolId: number;
  name: string;
  replicaCount: number;
}
export interface ZoneInfo {
  zoneId: number;
  name: string;
  poolId: number;
}
export interface MetaServerInfo {
  metaserverId: number;
  hostname: string;
  internalIp: string;
  internalPort: number;
  externalIp: string;
  externalPort: number;
  zoneId: number;
  state: OnlineState;
  copysetCount: number;
  leaderCount: number;
  space: MetaServerSpaceStatus | null;
  lastHeartbeatMs: number;
}

export type ListTopologyRequest = Record<string, never>;
export interface ListTopologyResponse extends MdsReplyHeader {
  pools: PoolInfo[];
  zones: ZoneInfo[];
  metaservers: MetaServerInfo[];
  copysets: CopysetInfo[];
}

export interface MdsMember {
  address: string;
  isLeader: boolean;
  isHealthy: boolean;
}

export type ClusterStatusRequest = Record<string, never>;
export interface ClusterStatusResponse extends MdsReplyHeader {
  isHealthy: boolean;
  mds: MdsMember[];
  metaserverOnline: number;
  metaserverOffline: number;
  copysetTotal: number;
  copysetUnhealthy: number;
  fsCount: number;
}

/** Service `curvefs.mds.Mds`: method name → request/reply. */
export interface MdsMethods {
  CreateFs: Method<CreateFsRequest, CreateFsResponse>;
  DeleteFs: Method<DeleteFsRequest, DeleteFsResponse>;
  GetFsInfo: Method<GetFsInfoRequest, GetFsInfoResponse>;
  ListFs: Method<ListFsRequest, ListFsResponse>;
  MountFs: Method<MountFsRequest, MountFsResponse>;
  UmountFs: Method<UmountFsRequest, UmountFsResponse>;
  RefreshSession: Method<RefreshSessionRequest, RefreshSessionResponse>;
  AllocateChunkIds: Method<AllocateChunkIdsRequest, AllocateChunkIdsResponse>;
  Tso: Method<TsoRequest, TsoResponse>;
  RegisterMetaServer: Method<RegisterMetaServerRequest, RegisterMetaServerResponse>;
  MetaServerHeartbeat: Method<MetaServerHeartbeatRequest, MetaServerHeartbeatResponse>;
  CreatePartition: Method<CreatePartitionRequest, CreatePartitionResponse>;
  ListPartition: Method<ListPartitionRequest, ListPartitionResponse>;
  GetCopysetOfPartition: Method<GetCopysetOfPartitionRequest, GetCopysetOfPartitionResponse>;
  GetMetaServerListInCopysets: Method<GetMetaServerListInCopysetsRequest, GetMetaServerListInCopysetsResponse>;
  ListTopology: Method<ListTopologyRequest, ListTopologyResponse>;
  ClusterStatus: Method<ClusterStatusRequest, ClusterStatusResponse>;
  GetFsDataInfo: Method<GetFsDataInfoRequest, GetFsDataInfoResponse>;
}
