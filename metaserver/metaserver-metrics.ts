/**
 * Prometheus metrics of one metaserver. Gauges read the copysets' state at
 * scrape time; the request counter is bumped by the service wrapper below
 * (one increment per reply, labelled by method and status name).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { MetaStatusCode } from '../src/common/meta-status.js';
import type { ServiceHandlers } from '../src/rpc/rpc-server.js';
import type { MetaServerMethods } from '../src/proto/types-metaserver.js';
import type { CopysetManager } from './copyset/copyset-manager.js';
import type { TxSweeper } from './copyset/tx-sweeper.js';

export function registerMetaserverMetrics(registry: Registry, copysets: CopysetManager, sweeper: TxSweeper): Counter<'method' | 'status'> {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  const sum = (f: (p: ReturnType<ReturnType<CopysetManager['all']>[number]['sm']['allPartitions']>[number]) => number): number =>
    copysets.all().reduce((n, c) => n + c.sm.allPartitions().reduce((m, p) => m + f(p), 0), 0);
  gauge('curvefs_metaserver_copysets', 'Copysets hosted here', () => copysets.all().length);
  gauge('curvefs_metaserver_copyset_leaders', 'Copysets led here', () => copysets.all().filter((c) => c.isLeader()).length);
  gauge('curvefs_metaserver_partitions', 'Partitions in the hosted copysets', () => sum(() => 1));
  gauge('curvefs_metaserver_inodes', 'Inodes in the hosted copysets', () => sum((p) => p.inodes.size));
  gauge('curvefs_metaserver_dentries', 'Dentries in the hosted copysets', () => sum((p) => p.dentryCount));
  gauge('curvefs_metaserver_to_delete', 'Unlinked inodes waiting for data deletion', () => sum((p) => p.toDelete.size));
  gauge('curvefs_metaserver_pending_rename_txs', 'Prewritten, unfinished rename transactions', () => sum((p) => p.tx.pending.size));
  new Counter({
    name: 'curvefs_metaserver_rename_txs_swept_total',
    help: 'Abandoned rename transactions finished by the sweeper',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sweeper.resolvedCount);
    },
  });
  return new Counter({
    name: 'curvefs_metaserver_requests_total',
    help: 'MetaServer RPC replies by method and status',
    labelNames: ['method', 'status'],
    registers: [registry],
  });
}

/** Wraps unary handlers to count replies by status (streams are left as they are). */
export function countedHandlers(
  handlers: ServiceHandlers<MetaServerMethods>,
  requests: Counter<'method' | 'status'>,
): ServiceHandlers<MetaServerMethods> {
  const out: Record<string, unknown> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      out[method] = handler;
      continue;
    }
    out[method] = async (request: unknown, context: unknown) => {
      const reply = (await (handler as (r: unknown, c: unknown) => Promise<{ status?: MetaStatusCode }>)(request, context)) ?? {};
      const status = reply.status ?? MetaStatusCode.OK;
      requests.inc({ method, status: MetaStatusCode[status] ?? String(status) });
      return reply;
    };
  }
  return out as ServiceHandlers<MetaServerMethods>;
}
