/**
 * The coalescing both batchers share: requests made in one event-loop turn
 * are drained together, grouped by the partition that serves them (routes
 * are cached, so grouping costs no RPC in the common case) plus an optional
 * key of the caller's, and sent as batches of at most `maxItems`. A lone
 * request, or one whose route cannot be found, takes the single-request
 * path, which reports errors as it always did.
 */
import type { InodeId } from '../vfs/meta-api.js';
import type { MetaRouter, Target } from './meta-router.js';

export interface TurnBatchSpec<P> {
  /** The inode whose partition serves the request. */
  readonly routeOf: (item: P) => InodeId;
  /** Items with different keys never share a batch. */
  readonly keyOf?: (item: P) => string;
  readonly maxItems: number;
  readonly runSingle: (item: P) => Promise<void>;
  readonly runBatch: (locate: () => Promise<Target>, items: P[]) => Promise<void>;
}

export class TurnBatcher<P> {
  private queue: P[] = [];
  private isScheduled = false;

  constructor(
    private readonly router: MetaRouter,
    private readonly spec: TurnBatchSpec<P>,
  ) {}

  add(item: P): void {
    this.queue.push(item);
    if (this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const pending = this.queue;
    this.queue = [];
    this.isScheduled = false;
    if (pending.length === 1) return this.spec.runSingle(pending[0]!);
    const groups = new Map<string, { locate: () => Promise<Target>; items: P[] }>();
    await Promise.all(
      pending.map(async (item) => {
        const inodeId = this.spec.routeOf(item);
        let target: Target;
        try {
          target = await this.router.forInode(inodeId);
        } catch {
          return this.spec.runSingle(item);
        }
        const key = `${target.partition.partitionId}:${this.spec.keyOf?.(item) ?? ''}`;
        let group = groups.get(key);
        if (group === undefined) {
          group = { locate: () => this.router.forInode(inodeId), items: [] };
          groups.set(key, group);
        }
        group.items.push(item);
      }),
    );
    for (const { locate, items } of groups.values()) {
      for (let i = 0; i < items.length; i += this.spec.maxItems) {
        void this.spec.runBatch(locate, items.slice(i, i + this.spec.maxItems));
      }
    }
  }
}
