/**
 * The gRPC face of the MDS: maps each `curvefs.mds.Mds` method onto
 * MdsCore/MdsTopology. No logic lives here; RpcServer handles decoding,
 * malformed requests and shutdown.
 */
import type { ServiceHandlers } from '../../src/rpc/index.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import type { MdsCore } from '../core/mds-core.js';

export function mdsHandlers(
  core: MdsCore,
  selfAddress: () => string,
  members: () => Promise<string[]>,
): ServiceHandlers<MdsMethods> {
  const topology = core.topology;
  return {
    CreateFs: (request) => core.createFs(request),
    DeleteFs: (request) => core.deleteFs(request),
    GetFsInfo: (request) => core.getFsInfo(request),
    ListFs: () => core.listFs(),
    MountFs: (request) => core.mountFs(request),
    UmountFs: (request) => core.umountFs(request),
    RefreshSession: (request) => core.refreshSession(request),
    AllocateChunkIds: (request) => core.allocateChunkIds(request),
    Tso: () => core.tsoNext(),
    RegisterMetaServer: (request) => topology.registerMetaServer(request),
    MetaServerHeartbeat: (request) => topology.heartbeat(request),
    CreatePartition: (request) => topology.createPartition(request),
    ListPartition: (request) => topology.listPartition(request),
    GetCopysetOfPartition: (request) => topology.getCopysetOfPartition(request),
    GetMetaServerListInCopysets: (request) => topology.getMetaServerListInCopysets(request),
    ListTopology: () => topology.listTopology(),
    ClusterStatus: () => topology.clusterStatus(selfAddress(), members),
    GetFsDataInfo: (request) => core.getFsDataInfo(request),
  };
}
