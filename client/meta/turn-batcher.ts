/**
 * The coalescing the batchers share: requests made in one event-loop turn
 * are drained together, grouped by the partition that serves them (routes
 * are cached, so grouping costs no RPC in the common case) plus an optional
 * key of the caller's, and sent as batches of at most `maxItems`. A lone
 * request, or one whose route cannot be found, takes the single-request
 * path, which reports errors as it always did.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { RpcError } from '../../src/rpc/index.js';
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

/**
 * Sends one batch RPC for `items` and returns its reply when the batch as a
 * whole was answered OK. Otherwise every item is settled as its single call
 * would be, and null returned: a batch refused as a whole goes item by item
 * through `runSingle`, and so does every item when the metaserver lacks the
 * batch RPC (an older version during an upgrade); any other failure (past the
 * caller's retries and deadline) rejects every item with it.
 */
export async function sendBatchOrFallBack<P extends { reject(error: unknown): void }, R extends { status: MetaStatusCode }>(
  items: readonly P[],
  send: () => Promise<R>,
  runSingle: (item: P) => Promise<void>,
): Promise<R | null> {
  let reply: R;
  try {
    reply = await send();
  } catch (error) {
    const isUnimplemented = error instanceof RpcError && error.grpcCode === GrpcStatus.UNIMPLEMENTED;
    for (const p of items) {
      if (isUnimplemented) void runSingle(p);
      else p.reject(error);
    }
    return null;
  }
  if (reply.status !== MetaStatusCode.OK) {
    for (const p of items) void runSingle(p);
    return null;
  }
  return reply;
}
