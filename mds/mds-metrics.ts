/**
 * Prometheus metrics of one MDS, read from its state at scrape time (no
 * bookkeeping on the request path).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MdsCore } from './core/mds-core.js';
import type { MdsState } from './core/mds-state.js';

export function registerMdsMetrics(registry: Registry, core: MdsCore): void {
  const state = (): MdsState | null => (core.isServing() ? core.currentState : null);
  new Gauge({
    name: 'curvefs_mds_is_leader',
    help: '1 while this MDS acts as leader (lease fresh, state loaded)',
    registers: [registry],
    collect() {
      this.set(core.isServing() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'curvefs_mds_fs_count',
    help: 'File systems (leader only)',
    registers: [registry],
    collect() {
      this.set(state()?.fsById.size ?? 0);
    },
  });
  new Gauge({
    name: 'curvefs_mds_metaservers_online',
    help: 'Metaservers heartbeating within the offline timeout (leader only)',
    registers: [registry],
    collect() {
      const s = state();
      const nowMs = core.options.clock.nowMs();
      this.set(s === null ? 0 : [...s.metaservers.keys()].filter((id) => s.isOnline(id, nowMs, core.metaserverOfflineMs)).length);
    },
  });
  new Gauge({
    name: 'curvefs_mds_sessions',
    help: 'Live mount sessions (leader only)',
    registers: [registry],
    collect() {
      this.set(state()?.sessions.size ?? 0);
    },
  });
  new Gauge({
    name: 'curvefs_mds_copysets',
    help: 'Copysets (leader only)',
    registers: [registry],
    collect() {
      this.set(state()?.copysets.size ?? 0);
    },
  });
  // Counters mirror totals kept by the core; collect() publishes them at scrape time.
  new Counter({
    name: 'curvefs_mds_chunk_ids_allocated_total',
    help: 'Chunk ids handed out by this MDS process',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.chunkIdsAllocated);
    },
  });
  new Counter({
    name: 'curvefs_mds_schedule_ops_total',
    help: 'Scheduler operations carried out successfully',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.topology.scheduleOpsDone);
    },
  });
  new Counter({
    name: 'curvefs_mds_schedule_ops_failed_total',
    help: 'Scheduler operations that failed (retried after the cooldown)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.topology.scheduleOpsFailed);
    },
  });
}
