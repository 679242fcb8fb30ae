/**
 * Prometheus counters of the client data path: what writers handed over,
 * what reached the object store and metadata, where reads were served from,
 * and what failed (and is being retried).
 */
import { Counter, type Registry } from 'prom-client';
import { registry as processRegistry } from '../../src/common/metrics.js';

export type ReadSource = 'unuploaded' | 'memory' | 'staged' | 'disk' | 'store';

export interface DataMetrics {
  readonly bytesWritten: Counter;
  readonly bytesRead: Counter;
  readonly objectsUploaded: Counter;
  readonly bytesUploaded: Counter;
  readonly bytesStaged: Counter;
  readonly commits: Counter;
  /** Label `step`: write (upload or staging), commit (metadata append). */
  readonly flushFailures: Counter<'step'>;
  /** Label `source`: where object bytes were served from. */
  readonly bytesFetched: Counter<'source'>;
  readonly stagedReplayed: Counter;
}

const byRegistry = new WeakMap<Registry, DataMetrics>();

export function dataPathMetrics(registry: Registry = processRegistry): DataMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });
  const metrics: DataMetrics = {
    bytesWritten: counter('curvefs_client_data_written_bytes_total', 'Bytes accepted from writers'),
    bytesRead: counter('curvefs_client_data_read_bytes_total', 'Bytes returned to readers'),
    objectsUploaded: counter('curvefs_client_data_objects_uploaded_total', 'Objects PUT to the object store'),
    bytesUploaded: counter('curvefs_client_data_uploaded_bytes_total', 'Bytes PUT to the object store'),
    bytesStaged: counter('curvefs_client_data_staged_bytes_total', 'Bytes staged in the write-back disk cache'),
    commits: counter('curvefs_client_data_commits_total', 'AppendChunkInfo calls that succeeded'),
    flushFailures: new Counter({
      name: 'curvefs_client_data_flush_failures_total',
      help: 'Flush steps that failed past their deadline (kept and retried)',
      labelNames: ['step'],
      registers: [registry],
    }),
    bytesFetched: new Counter({
      name: 'curvefs_client_data_fetched_bytes_total',
      help: 'Object bytes served to reads, by source',
      labelNames: ['source'],
      registers: [registry],
    }),
    stagedReplayed: counter('curvefs_client_data_staged_replayed_total', 'Staged flushes uploaded and committed at start (journal replay)'),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
