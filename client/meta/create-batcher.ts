/**
 * Coalesces concurrent linked creates (MetaClient.createLinked: inode and
 * name in one Raft entry): those issued in the same event-loop turn whose
 * parents' entries live in the same partition go out as ONE
 * BatchCreateInode, which the metaserver proposes as ONE Raft entry and
 * applies item by item. With many callers the per-call cost of grpc-js and
 * the per-entry cost of Raft (encode, WAL record, MsgApp and its ack,
 * decode, apply) bound creates/s; one RPC and one entry per batch remove
 * most of it (group commit already shared the fsyncs).
 *
 * Semantics stay those of the single create: every item keeps its own
 * request id, the same one its single path would send, so a resend (of the
 * batch, or of one item alone) is answered with the inode made first, never
 * applied twice. Only OK items are answered from the batch; any other item
 * status (EXIST, TX_LOCKED: lock resolution, PARTITION_ALLOC_ID_FAIL: the
 * partition is marked full first, ...), a batch refused with a status, a
 * batch of one and a create carrying a long symlink target or xattrs (kept
 * out so a batch stays small) go through the single path, which decides
 * errors exactly as before (a refused item changed nothing, so trying it
 * again is safe). A
 * batch failing past the caller's retries and deadline fails every item
 * with that error (UNIMPLEMENTED: a metaserver without the batch RPC, each
 * item goes alone).
 */
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { MessageInit } from '../../src/proto/types-common.js';
import type { CreateInodeRequest as WireCreateInodeRequest } from '../../src/proto/types-metaserver.js';
import type { InodeAttr } from '../vfs/meta-api.js';
import type { MetaCaller } from './meta-caller.js';
import type { MetaRouter } from './meta-router.js';
import { attrFromWire } from './meta-wire.js';
import { sendBatchOrFallBack, TurnBatcher } from './turn-batcher.js';

/**
 * Items per BatchCreateInode (the server takes up to 10,000, limits.ts
 * BATCH_IDS_MAX), well above the concurrency of a mount's FUSE requests.
 */
export const CREATE_BATCH_ITEMS_MAX = 256;
/**
 * A create carrying more than this in symlink target and xattrs goes alone,
 * so a batch (one Raft entry, one message) stays under ~400 KiB: below the
 * Raft message size and far below the gRPC message limit. Plain creates
 * carry nothing of the kind.
 */
export const CREATE_BATCH_ITEM_EXTRA_BYTES_MAX = 1_024;

/** One linked create: the CreateInode body (with its name and request id) without the routing header. */
export type CreateBody = Omit<MessageInit<WireCreateInodeRequest>, 'poolId' | 'copysetId' | 'partitionId' | 'fsId'> & {
  readonly parent: number;
  readonly dentryName: string;
  readonly requestId: string;
};

/** The single path: createLinked's own loop for one item (same request id). */
type Single = (body: CreateBody) => Promise<InodeAttr | null>;

interface Pending {
  readonly body: CreateBody;
  readonly resolve: (a: InodeAttr | null) => void;
  readonly reject: (e: unknown) => void;
}

export class CreateBatcher {
  private readonly turns: TurnBatcher<Pending>;
  /** BatchCreateInode RPCs sent (tests and benchmarks count them). */
  batchesSent = 0;

  constructor(
    private readonly router: MetaRouter,
    private readonly caller: MetaCaller,
    private readonly single: Single,
  ) {
    this.turns = new TurnBatcher(router, {
      // Grouped by the partition of the parent's entries: its copyset is where the inodes go.
      routeOf: (item) => item.body.parent,
      maxItems: CREATE_BATCH_ITEMS_MAX,
      runSingle: (item) => this.runSingle(item),
      runBatch: (_locate, items) => this.runBatch(items),
    });
  }

  /** The new inode, or null when no partition of the parent's copyset can allocate ids (as createLinked). */
  create(body: CreateBody): Promise<InodeAttr | null> {
    if (extraBytesOf(body) > CREATE_BATCH_ITEM_EXTRA_BYTES_MAX) return this.single(body);
    return new Promise((resolve, reject) => this.turns.add({ body, resolve, reject }));
  }

  private async runBatch(items: Pending[]): Promise<void> {
    if (items.length === 1) return this.runSingle(items[0]!);
    let near;
    try {
      // Every item's parent lives in the same partition, so one pick serves them all.
      near = await this.router.forCreateNear(items[0]!.body.parent);
    } catch {
      for (const p of items) void this.runSingle(p);
      return;
    }
    // No partition there can allocate ids: nothing sent, as the single path answers.
    if (near === undefined) {
      for (const p of items) p.resolve(null);
      return;
    }
    this.batchesSent++;
    const reply = await sendBatchOrFallBack(
      items,
      async () =>
        (await this.caller.call(() => Promise.resolve(near), 'BatchCreateInode', { items: items.map((p) => p.body) }, { isRerouteOnPartitionNotFound: false })).reply,
      (p) => this.runSingle(p),
    );
    if (reply === null) return;
    const results = reply.results;
    assert(results.length === items.length, `BatchCreateInode: ${results.length} results for ${items.length} items`);
    // Ids run out in order: once one item found the partition full, the single path must look elsewhere.
    if (results.some((r) => r.status === MetaStatusCode.PARTITION_ALLOC_ID_FAIL)) this.router.markFull(near.partition.partitionId);
    for (let i = 0; i < items.length; i++) {
      const p = items[i]!;
      const r = results[i]!;
      if (r.status === MetaStatusCode.OK && r.inode !== null) {
        const attr = attrFromWire(r.inode);
        assert(near.partition.start <= attr.inodeId && attr.inodeId <= near.partition.end, 'new inode id lies in its partition');
        p.resolve(attr);
      } else {
        void this.runSingle(p);
      }
    }
  }

  private async runSingle(p: Pending): Promise<void> {
    try {
      p.resolve(await this.single(p.body));
    } catch (error) {
      p.reject(error);
    }
  }
}

/** Bytes of a create beyond its fixed fields (symlink target, xattr names and values), counted cheaply. */
function extraBytesOf(body: CreateBody): number {
  let bytes = (body.symlink ?? '').length * 3; // UTF-16 units: at most 3 UTF-8 bytes each
  for (const [k, v] of Object.entries(body.xattrs ?? {})) bytes += k.length * 3 + (v as Uint8Array).byteLength;
  return bytes;
}
