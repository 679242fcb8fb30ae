/** The RPC layer every service and client uses (see rpc-client.ts and rpc-server.ts). */
export { abortableSleep } from './abortable-sleep.js';
export { BACKOFF_DEFAULTS, ExponentialBackoff, type BackoffOptions } from './backoff.js';
export { ChannelPool, MESSAGE_BYTES_DEFAULT, type ChannelPoolOptions } from './channel-pool.js';
export { Deadline, TIMEOUT_DEFAULT_MS, TOTAL_TIMEOUT_DEFAULT_MS } from './deadline.js';
export {
  isAddress,
  isRedirectStatus,
  LeaderRedirect,
  notLeader,
  RedirectError,
  type RedirectReply,
} from './leader-redirect.js';
export { LeaderTracker } from './leader-tracker.js';
export { decideRetry, type AttemptOutcome, type RetryDecision } from './retry-policy.js';
export {
  ATTEMPTS_DEFAULT_MAX,
  RpcClient,
  type CallOptions,
  type RequestOf,
  type ResponseOf,
  type RpcClientOptions,
} from './rpc-client.js';
export { RpcMetrics, rpcMetrics } from './rpc-metrics.js';
export { errorCodeForGrpcStatus, isGrpcFailure, RpcError, type GrpcFailure } from './rpc-error.js';
export {
  RpcServer,
  SHUTDOWN_GRACE_DEFAULT_MS,
  type AnyHandler,
  type CallContext,
  type ClientStreamHandler,
  type RpcServerOptions,
  type ServerStreamHandler,
  type ServiceHandlers,
  type ServiceOptions,
  type UnaryHandler,
} from './rpc-server.js';
