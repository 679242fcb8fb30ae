/**
 * Prometheus counters of the data services (compaction, deletion, sweeps).
 * One set per registry: several metaservers in one process (tests) share
 * it, and each service also keeps its own plain `DataStats` for callers.
 */
import { Counter, type Registry } from 'prom-client';
import { registry as processRegistry } from '../../src/common/metrics.js';

export interface DataStats {
  /** Chunks rewritten (ReplaceChunkInfo committed). */
  chunksCompacted: number;
  inodesCompacted: number;
  recordsBefore: number;
  recordsAfter: number;
  bytesRead: number;
  bytesWritten: number;
  /** Compactions given up because a client changed the chunk meanwhile (new objects deleted). */
  compactionsRaced: number;
  /** Unlinked inodes whose objects and record are gone. */
  inodesDeleted: number;
  objectsDeleted: number;
  /** Inodes whose object listing was compared with their chunk lists. */
  inodesSwept: number;
  failures: number;
}

export function emptyStats(): DataStats {
  return {
    chunksCompacted: 0,
    inodesCompacted: 0,
    recordsBefore: 0,
    recordsAfter: 0,
    bytesRead: 0,
    bytesWritten: 0,
    compactionsRaced: 0,
    inodesDeleted: 0,
    objectsDeleted: 0,
    inodesSwept: 0,
    failures: 0,
  };
}

export interface DataMetrics {
  readonly inodesCompacted: Counter;
  readonly chunksCompacted: Counter;
  readonly recordsBefore: Counter;
  readonly recordsAfter: Counter;
  readonly bytesRead: Counter;
  readonly bytesWritten: Counter;
  readonly compactionsRaced: Counter;
  readonly inodesDeleted: Counter;
  /** Label `reason`: compaction (superseded), aborted (a raced compaction's new objects), deletion, sweep. */
  readonly objectsDeleted: Counter<'reason'>;
  readonly inodesSwept: Counter;
  /** Label `task`: compaction, deletion, sweep. */
  readonly failures: Counter<'task'>;
}

const byRegistry = new WeakMap<Registry, DataMetrics>();

export function dataMetrics(registry: Registry = processRegistry): DataMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });
  const metrics: DataMetrics = {
    inodesCompacted: counter('curvefs_metaserver_compaction_inodes_total', 'Inodes with at least one chunk compacted'),
    chunksCompacted: counter('curvefs_metaserver_compaction_chunks_total', 'Chunks whose ChunkInfo list was rewritten'),
    recordsBefore: counter('curvefs_metaserver_compaction_records_before_total', 'ChunkInfo records of compacted chunks, before'),
    recordsAfter: counter('curvefs_metaserver_compaction_records_after_total', 'ChunkInfo records of compacted chunks, after'),
    bytesRead: counter('curvefs_metaserver_compaction_read_bytes_total', 'Bytes read from the object store by compaction'),
    bytesWritten: counter('curvefs_metaserver_compaction_written_bytes_total', 'Bytes written to the object store by compaction'),
    compactionsRaced: counter('curvefs_metaserver_compaction_raced_total', 'Compactions aborted because a client changed the chunk'),
    inodesDeleted: counter('curvefs_metaserver_deletion_inodes_total', 'Unlinked inodes deleted (objects, then record)'),
    objectsDeleted: new Counter({
      name: 'curvefs_metaserver_objects_deleted_total',
      help: 'Objects deleted by the data services',
      labelNames: ['reason'],
      registers: [registry],
    }),
    inodesSwept: counter('curvefs_metaserver_sweep_inodes_total', 'Inodes whose objects were checked against their chunk lists'),
    failures: new Counter({
      name: 'curvefs_metaserver_data_failures_total',
      help: 'Failed compaction, deletion or sweep steps (retried on a later pass)',
      labelNames: ['task'],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
