/**
 * Per-group Prometheus gauges (labelled by group id and node id): term, role, commit
 * index, applied index, log entries and bytes, snapshot index. Values are
 * read at scrape time from the registered nodes, so the hot path pays
 * nothing and 100 idle groups cost nothing between scrapes.
 */
import { Gauge, type Registry } from 'prom-client';

export interface RaftGroupGauges {
  readonly groupId: string;
  readonly nodeId: string;
  term(): number;
  role(): number;
  commitIndex(): number;
  appliedIndex(): number;
  logEntries(): number;
  logBytes(): number;
  snapshotIndex(): number;
}

const byRegistry = new WeakMap<Registry, RaftMetrics>();

export class RaftMetrics {
  private readonly groups = new Set<RaftGroupGauges>();

  static for(registry: Registry): RaftMetrics {
    let m = byRegistry.get(registry);
    if (m === undefined) {
      m = new RaftMetrics(registry);
      byRegistry.set(registry, m);
    }
    return m;
  }

  private constructor(registry: Registry) {
    const groups = this.groups;
    const define = (name: string, help: string, read: (g: RaftGroupGauges) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['group', 'node'],
        registers: [registry],
        collect(this: Gauge<'group' | 'node'>) {
          this.reset();
          for (const g of groups) this.set({ group: g.groupId, node: g.nodeId }, read(g));
        },
      });
    };
    define('curvefs_raft_term', 'Current Raft term of the group on this node', (g) => g.term());
    define('curvefs_raft_role', 'Raft role: 0 follower, 1 candidate, 2 leader, 3 pre-candidate', (g) => g.role());
    define('curvefs_raft_commit_index', 'Highest log index known committed', (g) => g.commitIndex());
    define('curvefs_raft_applied_index', 'Highest log index applied to the state machine', (g) => g.appliedIndex());
    define('curvefs_raft_log_entries', 'Log entries held since the last snapshot', (g) => g.logEntries());
    define('curvefs_raft_log_bytes', 'Bytes of log entry payload held since the last snapshot', (g) => g.logBytes());
    define('curvefs_raft_snapshot_index', 'Index of the latest snapshot', (g) => g.snapshotIndex());
  }

  register(g: RaftGroupGauges): () => void {
    this.groups.add(g);
    return () => this.groups.delete(g);
  }
}
