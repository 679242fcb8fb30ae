/**
 * Coalesces concurrent lookups: GetDentry calls issued in the same
 * event-loop turn (until the next setImmediate) and aimed at the same
 * partition go out as ONE BatchGetDentry, which the metaserver answers after
 * one read barrier. With many callers, grpc-js's per-call cost, not the
 * metaservers, bounds lookups/s; one RPC per batch removes most of it.
 *
 * Semantics stay those of the single call: the batch is routed, redirected
 * and retried by MetaCaller.call like any read (on REDIRECTED the whole batch
 * follows the leader); each item is linearizable (read after the barrier).
 * Only OK and NOT_FOUND items are answered from the batch; any other item
 * status (TX_LOCKED: lock resolution; anything unexpected), a batch refused
 * with a status, or a batch of one goes through the single GetDentry path,
 * which decides errors exactly as before. A batch that fails past the
 * caller's retries and deadline fails every item with that error (UNIMPLEMENTED: a metaserver without
 * the batch RPC, each item goes alone).
 */
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { InodeId, LookupResult } from '../vfs/meta-api.js';
import type { MetaCaller } from './meta-caller.js';
import type { MetaRouter, Target } from './meta-router.js';
import { sendBatchOrFallBack, TurnBatcher } from './turn-batcher.js';
import { attrFromWire, dentryFromWire } from './meta-wire.js';

/** Server bound on items per BatchGetDentry (metaserver/partition/limits.ts BATCH_IDS_MAX). */
const BATCH_ITEMS_MAX = 10_000;

type Single = (parent: InodeId, name: string, withAttr: boolean) => Promise<LookupResult | null>;

interface Pending {
  readonly parent: InodeId;
  readonly name: string;
  readonly withAttr: boolean;
  readonly resolve: (r: LookupResult | null) => void;
  readonly reject: (e: unknown) => void;
}

export class DentryBatcher {
  private readonly turns: TurnBatcher<Pending>;
  /** BatchGetDentry RPCs sent (tests and benchmarks count them). */
  batchesSent = 0;

  constructor(
    router: MetaRouter,
    private readonly caller: MetaCaller,
    private readonly single: Single,
  ) {
    this.turns = new TurnBatcher(router, {
      routeOf: (item) => item.parent,
      keyOf: (item) => (item.withAttr ? 'attr' : ''),
      maxItems: BATCH_ITEMS_MAX,
      runSingle: (item) => this.runSingle(item),
      runBatch: (locate, items) => this.runBatch(locate, items),
    });
  }

  lookup(parent: InodeId, name: string, withAttr: boolean): Promise<LookupResult | null> {
    return new Promise((resolve, reject) => this.turns.add({ parent, name, withAttr, resolve, reject }));
  }

  private async runBatch(locate: () => Promise<Target>, items: Pending[]): Promise<void> {
    if (items.length === 1) return this.runSingle(items[0]!);
    const withAttr = items[0]!.withAttr;
    this.batchesSent++;
    const reply = await sendBatchOrFallBack(
      items,
      async () =>
        (
          await this.caller.call(
            locate,
            'BatchGetDentry',
            { items: items.map((p) => ({ parentInodeId: p.parent, name: p.name })), withAttr },
            { isIdempotent: true },
          )
        ).reply,
      (p) => this.runSingle(p),
    );
    if (reply === null) return;
    const results = reply.results;
    assert(results.length === items.length, `BatchGetDentry: ${results.length} results for ${items.length} items`);
    for (let i = 0; i < items.length; i++) {
      const p = items[i]!;
      const r = results[i]!;
      if (r.status === MetaStatusCode.NOT_FOUND) {
        p.resolve(null);
      } else if (r.status === MetaStatusCode.OK && r.dentry !== null) {
        const dentry = dentryFromWire(r.dentry);
        p.resolve(r.attr === null || r.attr === undefined || r.attr.inodeId !== dentry.inodeId ? { dentry } : { dentry, attr: attrFromWire(r.attr) });
      } else {
        void this.runSingle(p);
      }
    }
  }

  private async runSingle(p: Pending): Promise<void> {
    try {
      p.resolve(await this.single(p.parent, p.name, p.withAttr));
    } catch (error) {
      p.reject(error);
    }
  }
}
