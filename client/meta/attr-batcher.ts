/**
 * Coalesces concurrent getInodeAttr calls: those issued in the same
 * event-loop turn (until the next setImmediate) for inodes of the same
 * partition go out as ONE BatchGetInodeAttr (an existing read: one read
 * barrier, so each answer is as linearizable as GetInode's). grpc-js's
 * per-call cost, not the metaservers, bounds getattrs/s with many callers.
 *
 * Semantics stay those of the single GetInode: an id the batch left out
 * (missing, or anything the batch cannot say), a batch refused with a status,
 * and a batch of one go through the single path, which decides errors exactly
 * as before; a batch failing past the caller's retries and deadline fails
 * every waiter with that error (UNIMPLEMENTED: a metaserver without the
 * batch RPC, each goes alone).
 */
import type { InodeAttr, InodeId } from '../vfs/meta-api.js';
import type { MetaCaller } from './meta-caller.js';
import type { MetaRouter, Target } from './meta-router.js';
import { sendBatchOrFallBack, TurnBatcher } from './turn-batcher.js';
import { attrFromWire } from './meta-wire.js';

/** Server bound on ids per BatchGetInodeAttr (metaserver/partition/limits.ts BATCH_IDS_MAX). */
const BATCH_IDS_MAX = 10_000;

interface Pending {
  readonly inodeId: InodeId;
  readonly resolve: (a: InodeAttr) => void;
  readonly reject: (e: unknown) => void;
}

export class AttrBatcher {
  private readonly turns: TurnBatcher<Pending>;

  constructor(
    router: MetaRouter,
    private readonly caller: MetaCaller,
    private readonly single: (inodeId: InodeId) => Promise<InodeAttr>,
  ) {
    this.turns = new TurnBatcher(router, {
      routeOf: (item) => item.inodeId,
      maxItems: BATCH_IDS_MAX,
      runSingle: (item) => this.runSingle(item),
      runBatch: (locate, items) => this.runBatch(locate, items),
    });
  }

  getInodeAttr(inodeId: InodeId): Promise<InodeAttr> {
    return new Promise((resolve, reject) => this.turns.add({ inodeId, resolve, reject }));
  }

  private async runBatch(locate: () => Promise<Target>, items: Pending[]): Promise<void> {
    if (items.length === 1) return this.runSingle(items[0]!);
    const reply = await sendBatchOrFallBack(
      items,
      async () => (await this.caller.call(locate, 'BatchGetInodeAttr', { inodeIds: [...new Set(items.map((p) => p.inodeId))] }, { isIdempotent: true })).reply,
      (p) => this.runSingle(p),
    );
    if (reply === null) return;
    const byId = new Map(reply.attrs.map((a) => [a.inodeId, a]));
    for (const p of items) {
      const wire = byId.get(p.inodeId);
      if (wire === undefined) void this.runSingle(p);
      else p.resolve(attrFromWire(wire));
    }
  }

  private async runSingle(p: Pending): Promise<void> {
    try {
      p.resolve(await this.single(p.inodeId));
    } catch (error) {
      p.reject(error);
    }
  }
}
