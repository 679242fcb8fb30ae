/**
 * Prometheus metrics of the RPC layer, one set per process registry (served
 * at /metrics by src/common/metrics.ts). Labels are bounded: service and
 * method names come from the .proto files, results and codes from fixed
 * enums, never from request contents.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { registry } from '../common/metrics.js';

const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class RpcMetrics {
  /** Finished client calls by result: ok (a reply, whatever its status) or the error code. */
  readonly clientCalls: Counter<'service' | 'method' | 'result'>;
  /** Retries by why: follow-leader, next-address, same-address. */
  readonly clientRetries: Counter<'service' | 'method' | 'reason'>;
  readonly clientSeconds: Histogram<'service' | 'method'>;
  /** Server-side calls by outcome: a reply status name (OK, NOT_FOUND...) or a gRPC status name. */
  readonly serverHandled: Counter<'service' | 'method' | 'code'>;
  readonly serverSeconds: Histogram<'service' | 'method'>;

  constructor(register: Registry) {
    const registers = [register];
    this.clientCalls = new Counter({
      name: 'curvefs_rpc_client_calls_total',
      help: 'RPC calls finished by the client, by result',
      labelNames: ['service', 'method', 'result'],
      registers,
    });
    this.clientRetries = new Counter({
      name: 'curvefs_rpc_client_retries_total',
      help: 'RPC attempts repeated by the client, by reason',
      labelNames: ['service', 'method', 'reason'],
      registers,
    });
    this.clientSeconds = new Histogram({
      name: 'curvefs_rpc_client_seconds',
      help: 'RPC call latency seen by the client, retries included',
      labelNames: ['service', 'method'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.serverHandled = new Counter({
      name: 'curvefs_rpc_server_handled_total',
      help: 'RPC calls handled by the server, by reply status or gRPC status',
      labelNames: ['service', 'method', 'code'],
      registers,
    });
    this.serverSeconds = new Histogram({
      name: 'curvefs_rpc_server_seconds',
      help: 'RPC handling time on the server',
      labelNames: ['service', 'method'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
  }
}

let processMetrics: RpcMetrics | null = null;

/** The RPC metrics in the process registry (created on first use). */
export function rpcMetrics(): RpcMetrics {
  processMetrics ??= new RpcMetrics(registry);
  return processMetrics;
}
