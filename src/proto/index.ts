/**
 * The wire protocol: service definitions loaded from the .proto files next to
 * this module, message codecs, and the TypeScript shapes of the messages.
 * Everything that speaks gRPC or encodes protobuf goes through here.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { serviceDefinition } from './loader.js';

export * from './types-common.js';
export * from './types-mds.js';
export * from './types-metaserver.js';
export * from './types-raft.js';
export {
  CONVERSION_OPTIONS,
  MalformedMessage,
  PROTO_DIR,
  PROTO_FILES,
  messageCodec,
  protoEnum,
  protoRoot,
  serviceDefinition,
  type MessageCodec,
} from './loader.js';
export { findUnsafeInteger } from './safe-integers.js';

export const MDS_SERVICE_NAME = 'curvefs.mds.Mds';
export const METASERVER_SERVICE_NAME = 'curvefs.metaserver.MetaServer';
export const RAFT_TRANSPORT_SERVICE_NAME = 'curvefs.raft.RaftTransport';

/** A service definition tagged with its method map type, so RpcClient/RpcServer can type calls and handlers. */
export interface TypedService<M> {
  readonly name: string;
  readonly definition: ServiceDefinition;
  /** Never set; carries the method map type. */
  readonly methods?: M;
}

function typedService<M>(name: string): TypedService<M> {
  return { name, definition: serviceDefinition(name) };
}

export function mdsService(): TypedService<import('./types-mds.js').MdsMethods> {
  return typedService(MDS_SERVICE_NAME);
}

export function metaServerService(): TypedService<import('./types-metaserver.js').MetaServerMethods> {
  return typedService(METASERVER_SERVICE_NAME);
}

export function raftTransportService(): TypedService<import('./types-raft.js').RaftTransportMethods> {
  return typedService(RAFT_TRANSPORT_SERVICE_NAME);
}
