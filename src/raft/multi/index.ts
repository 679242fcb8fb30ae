/** Multi-raft: many groups per process over one transport (gRPC or in-process). */
export type { Transport, GroupMessage, SnapshotChunkIn, SnapshotReceiveResult, SnapshotHandler, MessageHandler, UnreachableHandler } from './transport.js';
export { GrpcTransport, tuneServerSockets } from './grpc-transport.js';
export type { GrpcTransportOptions, GrpcTransportStats } from './grpc-transport.js';
export { LocalHub, LocalTransport } from './local-transport.js';
export { RaftHost } from './raft-host.js';
export type { GroupOptions } from './raft-host.js';
export { groupId, parseGroupId } from './group-id.js';
export type { GroupId } from './group-id.js';
