/**
 * MetaClient: the metadata library of one mounted file system. Implements
 * the VFS's seam (`MetaApi`, client/vfs/meta-api.ts) and the data path's
 * (`ChunkInfoStore`, `ChunkIdAllocator`, client/data/metadata.ts) over the
 * metaserver and MDS RPCs (DESIGN §3, §4, §7, §8).
 *
 * - Mount: MountFs opens a session (mount-session.ts), refreshed on a timer
 *   with the open-file registrations; close() unmounts.
 * - Routing: an inode's partition is the one whose range holds its id; a
 *   dentry lives in its parent's partition (meta-router.ts). New inodes go
 *   to a random READWRITE partition; PARTITION_ALLOC_ID_FAIL marks it full;
 *   with none left the MDS creates more.
 * - Retries: the copyset's RpcClient follows leaders and retries transport
 *   failures with deadlines; meta-caller.ts adds re-routing, UNAVAILABLE
 *   backoff and transaction-lock resolution.
 * - Rename: one Raft entry when the copyset holds every piece (Rename RPC),
 *   else the Percolator transaction (rename-tx.ts).
 * - Chunk ids: reserved at the MDS in batches, handed out locally.
 */
import { hostname } from 'node:os';
import { assert } from '../../src/common/assert.js';
import { SystemClock, type Clock } from '../../src/common/clock.js';
import { MetaError } from '../../src/common/errors.js';
import { silentLogger, type Logger } from '../../src/common/log.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { SystemRandom, type Random } from '../../src/common/random.js';
import type { ChunkInfo, ChunkInfoAppend } from '../../src/layout/chunk-info.js';
import { mdsService } from '../../src/proto/index.js';
import type { FsInfo } from '../../src/proto/types-common.js';
import type { MdsMethods } from '../../src/proto/types-mds.js';
import { FsFileType, type TxLock } from '../../src/proto/types-metaserver.js';
import { RpcClient } from '../../src/rpc/index.js';
import type { ChunkIdAllocator, ChunkInfoStore } from '../data/metadata.js';
import type {
  CreateInodeRequest,
  Dentry,
  FsStats,
  InodeAttr,
  InodeId,
  InodeUpdate,
  InodeWithChunks,
  LookupResult,
  MetaApi,
  RenameRequest,
  Timespec,
  XattrSnapshot,
} from '../vfs/meta-api.js';
import { FileType } from '../vfs/meta-api.js';
import { checkOk, MetaCaller } from './meta-caller.js';
import { MetaRouter, type Target } from './meta-router.js';
import { attrFromWire, chunkInfoFromWire, dentryFromWire, timeToWire, updateToWire, xattrsFromWire, xattrsToWire } from './meta-wire.js';
import { ChunkIdReserve } from './chunk-id-reserve.js';
import { AttrBatcher } from './attr-batcher.js';
import { CreateBatcher, type CreateBody } from './create-batcher.js';
import { ChunkInfoClient } from './chunk-info-client.js';
import { DentryBatcher } from './dentry-batcher.js';
import { MountSession } from './mount-session.js';
import { RenameTx } from './rename-tx.js';
import { TxResolver } from './tx-resolver.js';

/** Server bounds (metaserver/partition/limits.ts): ids per batch read, entries per list page. */
const BATCH_IDS_MAX = 10_000;
const LIST_PAGE_MAX = 10_000;
/** Partitions tried for one CreateInode before asking for new ones. */
const CREATE_ATTEMPTS_MAX = 16;
/** Attempts per RPC: redirects without a hint during an election cycle the replicas fast; the deadline bounds the rest. */
const ATTEMPTS_MAX_DEFAULT = 60;
/** Longest backoff between attempts (short: a new leader is usually there within a second or two). */
const BACKOFF_MAX_MS = 500;
/** How long a statFs answer is reused. */
const STATFS_CACHE_MS = 1_000;

export interface MetaClientOptions {
  /** MDS addresses ("host:port"); the leader is found by redirects. */
  readonly mds: readonly string[];
  readonly fsName: string;
  readonly logger?: Logger;
  /** Who mounts (sessions of the same host and path replace each other). Default: this host, a per-client path. */
  readonly mountpoint?: { readonly hostname?: string; readonly path?: string };
  /** Per-attempt and per-call deadlines of metaserver and MDS calls (defaults 5 s / 20 s). */
  readonly timeoutMs?: number;
  readonly totalTimeoutMs?: number;
  /** Attempts per call, bounded by totalTimeoutMs too (default 60: an election or an MDS failover takes seconds). */
  readonly maxAttempts?: number;
  /** Chunk ids reserved per MDS call (default 1024). */
  readonly chunkIdBatch?: number;
  /** Lock ttl of rename transactions (default 10 s). */
  readonly txTtlMs?: number;
  /** Partition choice and retry jitter. Default SystemRandom. */
  readonly random?: Random;
  /** Wall clock for transaction lock times. Default SystemClock. */
  readonly wallClock?: Clock;
}

let mountCounter = 0;

export class MetaClient implements MetaApi, ChunkInfoStore, ChunkIdAllocator {
  readonly router: MetaRouter;
  readonly caller: MetaCaller;
  /** Coalesces concurrent lookups into BatchGetDentry (dentry-batcher.ts). */
  readonly dentryBatcher: DentryBatcher;
  /** Coalesces concurrent getInodeAttr into BatchGetInodeAttr (attr-batcher.ts). */
  readonly attrBatcher: AttrBatcher;
  /** Coalesces concurrent createLinked into BatchCreateInode (create-batcher.ts). */
  readonly createBatcher: CreateBatcher;
  readonly resolver: TxResolver;
  readonly renameTx: RenameTx;
  readonly chunkInfos: ChunkInfoClient;
  readonly chunkIds: ChunkIdReserve;
  private isClosed = false;
  private statFsCache: { atMs: number; stats: FsStats } | null = null;
  private createSequence = 0;

  private constructor(
    private readonly mds: RpcClient<MdsMethods>,
    readonly session: MountSession,
    options: MetaClientOptions,
    private readonly logger: Logger,
  ) {
    const random = options.random ?? new SystemRandom();
    const wallClock = options.wallClock ?? new SystemClock();
    this.router = new MetaRouter({
      mds,
      fsId: session.fsId,
      random,
      logger,
      rpc: {
        random,
        logger,
        maxAttempts: options.maxAttempts ?? ATTEMPTS_MAX_DEFAULT,
        backoff: { maxMs: BACKOFF_MAX_MS },
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.totalTimeoutMs !== undefined ? { totalTimeoutMs: options.totalTimeoutMs } : {}),
      },
    });
    this.caller = new MetaCaller(this.router, logger);
    this.resolver = new TxResolver(this.caller, wallClock, logger);
    this.caller.resolveLock = (lock, at) => this.resolver.resolve(lock, at);
    this.attrBatcher = new AttrBatcher(this.router, this.caller, (inodeId) => this.sendGetInodeAttr(inodeId));
    this.dentryBatcher = new DentryBatcher(this.router, this.caller, (parent, name, withAttr) => this.sendGetDentry(parent, name, withAttr));
    this.createBatcher = new CreateBatcher(this.router, this.caller, (body) => this.sendCreateLinked(body));
    this.chunkInfos = new ChunkInfoClient(this.caller, { wallClock, newRequestId: () => `${this.session.id}:${++this.createSequence}` });
    this.chunkIds = new ChunkIdReserve(mds, session.fsId, options.chunkIdBatch);
    this.renameTx = new RenameTx({
      caller: this.caller,
      resolver: this.resolver,
      tso: () => this.tso(),
      wallClock,
      logger,
      ttlMs: options.txTtlMs ?? 10_000,
    });
  }

  /** Mounts `fsName` through the MDS and loads its routes. */
  static async open(options: MetaClientOptions): Promise<MetaClient> {
    assert(options.mds.length > 0, 'at least one MDS address');
    const logger = options.logger ?? silentLogger;
    const mds = new RpcClient(mdsService(), {
      addresses: options.mds,
      logger,
      maxAttempts: options.maxAttempts ?? ATTEMPTS_MAX_DEFAULT,
      backoff: { maxMs: BACKOFF_MAX_MS },
      // Reads, and counters whose repeat only skips values (Tso, chunk ids are never reused).
      idempotentMethods: ['GetFsInfo', 'ListPartition', 'GetCopysetOfPartition', 'GetMetaServerListInCopysets', 'RefreshSession', 'ListFs', 'Tso', 'AllocateChunkIds'],
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.totalTimeoutMs !== undefined ? { totalTimeoutMs: options.totalTimeoutMs } : {}),
    });
    let session: MountSession | undefined;
    try {
      const mountpoint = {
        hostname: options.mountpoint?.hostname ?? hostname(),
        port: 0,
        path: options.mountpoint?.path ?? `/meta-client/${process.pid}/${++mountCounter}`,
      };
      session = await MountSession.open(mds, options.fsName, mountpoint, logger);
      const client = new MetaClient(mds, session, options, logger);
      await client.router.refresh();
      return client;
    } catch (error) {
      await session?.close().catch(() => undefined);
      mds.close();
      throw error;
    }
  }

  get fsInfo(): FsInfo {
    return this.session.fsInfo;
  }

  get fsId(): number {
    return this.session.fsId;
  }

  /** Unmounts (UmountFs) and closes every channel. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      await this.session.close();
    } finally {
      this.router.close();
      this.mds.close();
    }
  }

  // ---- dentries ----

  async getDentry(parent: InodeId, name: string): Promise<Dentry | null> {
    return (await this.dentryBatcher.lookup(parent, name, false))?.dentry ?? null;
  }

  /** GetDentry with the child's attributes when the metaserver sent them (MetaApi.lookup). Concurrent ones are coalesced. */
  lookup(parent: InodeId, name: string): Promise<LookupResult | null> {
    return this.dentryBatcher.lookup(parent, name, true);
  }

  private async sendGetDentry(parent: InodeId, name: string, withAttr: boolean): Promise<LookupResult | null> {
    const { reply } = await this.caller.callUnlocked(
      () => this.router.forInode(parent),
      'GetDentry',
      { parentInodeId: parent, name, withAttr },
      (r) => r.dentry?.lock ?? null,
      { isIdempotent: true },
    );
    if (reply.status === MetaStatusCode.NOT_FOUND) return null;
    checkOk('GetDentry', reply);
    assert(reply.dentry !== null, 'GetDentry OK carries the dentry');
    const dentry = dentryFromWire(reply.dentry);
    if (reply.attr === null || reply.attr === undefined || reply.attr.inodeId !== dentry.inodeId) return { dentry };
    return { dentry, attr: attrFromWire(reply.attr) };
  }

  async listDentry(dir: InodeId, last: string, count: number, onlyDir = false): Promise<Dentry[]> {
    assert(Number.isSafeInteger(count) && count > 0, `list count ${count}`);
    const out: Dentry[] = [];
    let after = last;
    // Pages of at most the server's bound until `count` or the end ("fewer than count means the end").
    for (let page = 0; out.length < count; page++) {
      assert(page <= count, 'list pages are bounded');
      const want = Math.min(LIST_PAGE_MAX, count - out.length);
      const { reply } = await this.caller.callUnlocked(
        () => this.router.forInode(dir),
        'ListDentry',
        { dirInodeId: dir, last: after, count: want, onlyDir },
        (r) => r.lock,
        { isIdempotent: true },
      );
      checkOk('ListDentry', reply);
      for (const d of reply.dentries) out.push(dentryFromWire(d));
      // A filtered (onlyDir) page may come back short before the end; an empty one is the end.
      if (reply.dentries.length === 0 || (!onlyDir && reply.dentries.length < want)) break;
      after = reply.dentries[reply.dentries.length - 1]!.name;
    }
    return out;
  }

  async createDentry(dentry: Dentry, time: Timespec): Promise<void> {
    const { reply } = await this.caller.callUnlocked(
      () => this.router.forInode(dentry.parentInodeId),
      'CreateDentry',
      {
        dentry: { fsId: this.fsId, parentInodeId: dentry.parentInodeId, name: dentry.name, inodeId: dentry.inodeId, type: dentry.type as number as FsFileType },
        ...timeToWire(time),
      },
      (r) => r.lock,
      { isIdempotent: true },
    );
    // A resent create (its first reply lost) finds its own dentry: that is success.
    if (reply.status === MetaStatusCode.EXIST && reply.existing?.inodeId === dentry.inodeId) return;
    checkOk('CreateDentry', reply);
  }

  async deleteDentry(parent: InodeId, name: string, type: FileType, time: Timespec): Promise<void> {
    await this.sendDeleteDentry(parent, name, type, time, false);
  }

  /** MetaApi.deleteDentryAndLink: true when the metaserver dropped the child's link in the same change. */
  async deleteDentryAndLink(parent: InodeId, name: string, type: FileType, time: Timespec): Promise<boolean> {
    return (await this.sendDeleteDentry(parent, name, type, time, true)) > 0;
  }

  /** DeleteDentry; answers the child's version when its link was dropped too (0 = not). */
  private async sendDeleteDentry(parent: InodeId, name: string, type: FileType, time: Timespec, unlinkChild: boolean): Promise<number> {
    const { reply } = await this.caller.callUnlocked(
      () => this.router.forInode(parent),
      'DeleteDentry',
      { parentInodeId: parent, name, type: type as number as FsFileType, ...timeToWire(time), unlinkChild },
      // The reply carries no lock: read it from the name.
      (_r, target) => this.lockOnName(target, parent, name),
    );
    checkOk('DeleteDentry', reply);
    return reply.childVersion ?? 0;
  }

  async rename(request: RenameRequest): Promise<void> {
    // A name onto itself, or onto another name of the same inode: POSIX does nothing.
    if (request.srcParent === request.dstParent && request.srcName === request.dstName) return;
    if (request.expectedDstInodeId === request.srcInodeId) return;
    const src = await this.router.forInode(request.srcParent);
    const dst = await this.router.forInode(request.dstParent);
    if (src.partition.poolId === dst.partition.poolId && src.partition.copysetId === dst.partition.copysetId) {
      const { reply } = await this.caller.callUnlocked(
        () => this.router.forInode(request.srcParent),
        'Rename',
        {
          srcParentInodeId: request.srcParent,
          srcName: request.srcName,
          dstParentInodeId: request.dstParent,
          dstName: request.dstName,
          ...timeToWire(request.time),
          // The server checks what our lookups saw (NOT_FOUND / EXIST when a name moved meanwhile).
          srcInodeId: request.srcInodeId,
          expectedDstInodeId: request.expectedDstInodeId,
        },
        (r) => r.lock,
        {
          // PARTITION_NOT_FOUND here means "a piece lives in another copyset": use the transaction.
          isRerouteOnPartitionNotFound: false,
          // The lock may sit on the source, the destination or a replaced directory's entries.
          lockSites: async (at) => [
            at,
            await this.router.forInode(request.dstParent),
            ...(request.expectedDstInodeId !== 0 ? [await this.router.forInode(request.expectedDstInodeId)] : []),
          ],
        },
      );
      if (reply.status === MetaStatusCode.NOT_FOUND && (await this.isRenamed(request))) return;
      if (reply.status !== MetaStatusCode.PARTITION_NOT_FOUND) return checkOk('Rename', reply);
    }
    try {
      await this.renameTx.run(request);
    } catch (error) {
      if (error instanceof MetaError && error.status === MetaStatusCode.TX_CONFLICT && (await this.isRenamed(request))) return;
      throw error;
    }
  }

  /**
   * After a NOT_FOUND / TX_CONFLICT: has this very rename already happened
   * (a resend whose first attempt applied, its reply lost)? Then the source
   * is gone and the destination names the moved inode.
   */
  private async isRenamed(r: RenameRequest): Promise<boolean> {
    const [src, dst] = await Promise.all([this.getDentry(r.srcParent, r.srcName), this.getDentry(r.dstParent, r.dstName)]);
    return src === null && dst !== null && dst.inodeId === r.srcInodeId;
  }

  // ---- inodes ----

  async createInode(request: CreateInodeRequest): Promise<InodeAttr> {
    // One id for every resend of this create (metaserver.proto CreateInodeRequest.request_id).
    const requestId = `${this.session.id}:${++this.createSequence}`;
    for (let attempt = 1; ; attempt++) {
      const { reply, target } = await this.caller.call(() => this.router.forCreate(), 'CreateInode', createBodyOf(request, requestId));
      if (reply.status === MetaStatusCode.PARTITION_ALLOC_ID_FAIL && attempt < CREATE_ATTEMPTS_MAX) {
        this.router.markFull(target.partition.partitionId);
        continue;
      }
      checkOk('CreateInode', reply);
      assert(reply.inode !== null, 'CreateInode OK carries the inode');
      const attr = attrFromWire(reply.inode);
      assert(target.partition.start <= attr.inodeId && attr.inodeId <= target.partition.end, 'new inode id lies in its partition');
      return attr;
    }
  }

  /**
   * MetaApi.createLinked: CreateInode carrying the name (one Raft entry makes
   * the inode and its dentry), in a partition of the parent's copyset. null
   * when no partition there can allocate ids (nothing sent, or refused
   * before any change).
   */
  async createLinked(request: CreateInodeRequest, name: string): Promise<InodeAttr | null> {
    // One id for every resend of this create, batched or alone (metaserver.proto CreateInodeRequest.request_id).
    const requestId = `${this.session.id}:${++this.createSequence}`;
    // Concurrent creates are coalesced into BatchCreateInode (create-batcher.ts); a lone one takes sendCreateLinked.
    return this.createBatcher.create({ ...createBodyOf(request, requestId), dentryName: name });
  }

  /** One linked create as its own CreateInode (the batcher's single path). */
  private async sendCreateLinked(body: CreateBody): Promise<InodeAttr | null> {
    const parent = body.parent;
    const name = body.dentryName;
    for (let attempt = 1; attempt <= CREATE_ATTEMPTS_MAX; attempt++) {
      const near = await this.router.forCreateNear(parent);
      if (near === undefined) return null;
      const { reply, target } = await this.caller.callUnlocked(
        () => Promise.resolve(near),
        'CreateInode',
        body,
        // The reply carries no lock: read it from the name, in the parent's partition.
        async () => this.lockOnName(await this.router.forInode(parent), parent, name),
        { lockSites: async () => [await this.router.forInode(parent)], isRerouteOnPartitionNotFound: false },
      );
      if (reply.status === MetaStatusCode.PARTITION_ALLOC_ID_FAIL) {
        this.router.markFull(target.partition.partitionId);
        continue;
      }
      // The parent's entries are not in that copyset (a stale route): refused before any change.
      if (reply.status === MetaStatusCode.PARTITION_NOT_FOUND) {
        await this.router.refresh();
        return null;
      }
      checkOk('CreateInode', reply);
      assert(reply.inode !== null, 'CreateInode OK carries the inode');
      const attr = attrFromWire(reply.inode);
      assert(target.partition.start <= attr.inodeId && attr.inodeId <= target.partition.end, 'new inode id lies in its partition');
      return attr;
    }
    return null;
  }

  /** GetInode's attributes; concurrent ones are coalesced into BatchGetInodeAttr (attr-batcher.ts). */
  getInodeAttr(inodeId: InodeId): Promise<InodeAttr> {
    return this.attrBatcher.getInodeAttr(inodeId);
  }

  private async sendGetInodeAttr(inodeId: InodeId): Promise<InodeAttr> {
    const { reply } = await this.caller.call(() => this.router.forInode(inodeId), 'GetInode', { inodeId, supportStreaming: true }, { isIdempotent: true });
    checkOk('GetInode', reply);
    assert(reply.inode !== null, 'GetInode OK carries the inode');
    return attrFromWire(reply.inode);
  }

  /**
   * GetInode with the chunk lists (no support_streaming): the open of a small
   * file reads its attributes and its chunk lists in one round trip. The
   * lists are handed over only when they hold at most `maxRecords` records
   * in all (null otherwise: the data path loads them lazily, as before).
   */
  async getInodeAttrWithChunks(inodeId: InodeId, maxRecords: number): Promise<InodeWithChunks> {
    const { reply } = await this.caller.call(() => this.router.forInode(inodeId), 'GetInode', { inodeId, supportStreaming: false }, { isIdempotent: true });
    checkOk('GetInode', reply);
    assert(reply.inode !== null, 'GetInode OK carries the inode');
    let records = 0;
    for (const list of Object.values(reply.inode.chunks)) records += list.infos.length;
    if (records > maxRecords) return { attr: attrFromWire(reply.inode), chunks: null };
    const chunks = new Map<number, ChunkInfo[]>();
    for (const [index, list] of Object.entries(reply.inode.chunks)) chunks.set(Number(index), list.infos.map(chunkInfoFromWire));
    return { attr: attrFromWire(reply.inode), chunks };
  }

  async batchGetInodeAttr(inodeIds: readonly InodeId[]): Promise<InodeAttr[]> {
    const results = await this.perPartitionBatches(inodeIds, async (locate, ids) => {
      const { reply } = await this.caller.call(locate, 'BatchGetInodeAttr', { inodeIds: ids }, { isIdempotent: true });
      checkOk('BatchGetInodeAttr', reply);
      return reply.attrs.map(attrFromWire);
    });
    return results.flat();
  }

  /** BatchGetXAttr per partition; versions are 0 (the reply has none): these snapshots serve reads only. */
  async batchGetXattrs(inodeIds: readonly InodeId[]): Promise<Array<{ inodeId: InodeId; snapshot: XattrSnapshot }>> {
    const results = await this.perPartitionBatches(inodeIds, async (locate, ids) => {
      const { reply } = await this.caller.call(locate, 'BatchGetXAttr', { inodeIds: ids }, { isIdempotent: true });
      checkOk('BatchGetXAttr', reply);
      return reply.xattrs.map((x) => ({ inodeId: x.inodeId, snapshot: { xattrs: xattrsFromWire(x.xattrs), version: 0 } }));
    });
    return results.flat();
  }

  /** Splits ids by owning partition and by the server's batch bound, and runs the batches in parallel. */
  private async perPartitionBatches<T>(inodeIds: readonly InodeId[], run: (locate: () => Promise<Target>, ids: number[]) => Promise<T>): Promise<T[]> {
    const groups = new Map<number, number[]>();
    for (const id of new Set(inodeIds)) {
      let target: Target;
      try {
        target = await this.router.forInode(id);
      } catch (error) {
        if (error instanceof MetaError && error.status === MetaStatusCode.NOT_FOUND) continue; // no partition holds it: missing
        throw error;
      }
      const group = groups.get(target.partition.partitionId) ?? [];
      group.push(id);
      groups.set(target.partition.partitionId, group);
    }
    const batches: number[][] = [];
    for (const ids of groups.values()) {
      for (let i = 0; i < ids.length; i += BATCH_IDS_MAX) batches.push(ids.slice(i, i + BATCH_IDS_MAX));
    }
    // Re-located on every attempt: a refresh may move the partition.
    return Promise.all(batches.map((ids) => run(() => this.router.forInode(ids[0]!), ids)));
  }

  async updateInode(inodeId: InodeId, update: InodeUpdate): Promise<number> {
    const { reply } = await this.caller.call(() => this.router.forInode(inodeId), 'UpdateInode', updateToWire(inodeId, update));
    checkOk('UpdateInode', reply);
    return reply.version;
  }

  async getXattrs(inodeId: InodeId): Promise<XattrSnapshot> {
    const { reply } = await this.caller.call(() => this.router.forInode(inodeId), 'GetInode', { inodeId, supportStreaming: true }, { isIdempotent: true });
    checkOk('GetInode', reply);
    assert(reply.inode !== null, 'GetInode OK carries the inode');
    return { xattrs: xattrsFromWire(reply.inode.xattrs), version: reply.inode.version };
  }

  // ---- sessions and figures ----

  registerOpen(inodeId: InodeId): Promise<void> {
    return this.session.registerOpen(inodeId);
  }

  unregisterOpen(inodeId: InodeId): Promise<void> {
    return this.session.unregisterOpen(inodeId);
  }

  /**
   * Capacity and block size from the fs record; the inode count from the
   * metaservers' own partition figures (fresher than the MDS's heartbeat
   * copy, which is the fallback). Used bytes are not tracked by any
   * service yet: reported as 0.
   */
  async statFs(): Promise<FsStats> {
    // df and file managers call statfs in bursts: one fan-out per second is plenty.
    const nowMs = performance.now();
    if (this.statFsCache !== null && nowMs - this.statFsCache.atMs < STATFS_CACHE_MS) return this.statFsCache.stats;
    const stats = await this.loadStatFs();
    this.statFsCache = { atMs: nowMs, stats };
    return stats;
  }

  /**
   * Waits (bounded) until every copyset of the fs reports a leader. Right
   * after a cluster (re)start the Raft groups are still electing: without
   * this, the first operations of a fresh mount hang about a second each
   * behind the elections, after the mount said it was ready. Returns the
   * copysets still without a leader when `timeoutMs` ran out (the mount goes
   * on: its operations retry on their own), an empty list when all serve.
   */
  async waitUntilServing(timeoutMs: number, pollMs = 25): Promise<string[]> {
    assert(timeoutMs >= 0 && pollMs > 0, 'wait bounds');
    const deadline = performance.now() + timeoutMs;
    await this.router.refresh();
    let waiting = this.router.copysetTargets();
    for (;;) {
      const stillWaiting: typeof waiting = [];
      await Promise.all(
        waiting.map(async (target) => {
          const { poolId, copysetId, client } = target;
          const status = await client
            .call('GetCopysetStatus', { poolId, copysetId }, { isIdempotent: true, timeoutMs: 1_000, totalTimeoutMs: 1_000, maxAttempts: 1 })
            .catch(() => null);
          if (status?.status !== MetaStatusCode.OK || !status.copyset?.leader?.address) stillWaiting.push(target);
        }),
      );
      waiting = stillWaiting;
      if (waiting.length === 0 || performance.now() + pollMs > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return waiting.map(({ poolId, copysetId }) => `${poolId}/${copysetId}`);
  }

  private async loadStatFs(): Promise<FsStats> {
    const listed = await this.mds.callOk('ListPartition', { fsId: this.fsId }, { isIdempotent: true });
    const counts = new Map(listed.partitions.map((p) => [p.partitionId, p.inodeCount]));
    await this.router.refresh();
    await Promise.all(
      this.router.copysetTargets().map(async ({ poolId, copysetId, client }) => {
        try {
          const status = await client.callOk('GetCopysetStatus', { poolId, copysetId }, { isIdempotent: true });
          for (const p of status.copyset?.partitions ?? []) if (p.fsId === this.fsId && counts.has(p.partitionId)) counts.set(p.partitionId, p.inodeCount);
        } catch (error) {
          this.logger.debug({ copysetId, err: (error as Error).message }, 'meta: statfs kept the MDS figure');
        }
      }),
    );
    let inodeCount = 0;
    for (const n of counts.values()) inodeCount += n;
    return {
      capacityBytes: this.fsInfo.capacityBytes,
      usedBytes: 0,
      inodeCount,
      inodeLimit: 0,
      blockSizeBytes: this.fsInfo.blockSizeBytes,
    };
  }

  // ---- chunk infos and chunk ids (client/data's seams) ----

  getChunkInfos(inodeId: number, chunkIndex: number): Promise<ChunkInfo[]> {
    return this.chunkInfos.getChunkInfos(inodeId, chunkIndex);
  }

  appendChunkInfos(inodeId: number, records: readonly ChunkInfoAppend[], newLength: number, mtime?: Timespec): Promise<void> {
    return this.chunkInfos.appendChunkInfos(inodeId, records, newLength, mtime);
  }

  truncate(inodeId: number, newLength: number, zeroRecords: readonly ChunkInfoAppend[]): Promise<void> {
    return this.chunkInfos.truncate(inodeId, newLength, zeroRecords);
  }

  allocate(count: number): Promise<number> {
    return this.chunkIds.allocate(count);
  }

  /** A transaction timestamp from the MDS (strictly increasing). */
  async tso(): Promise<number> {
    const reply = await this.mds.callOk('Tso', {});
    assert(Number.isSafeInteger(reply.ts) && reply.ts > 0, `tso ${reply.ts}`);
    return reply.ts;
  }

  // ---- helpers ----

  /** The lock on a name, read with GetDentry (for replies that do not carry it). */
  private async lockOnName(target: Target, parent: InodeId, name: string): Promise<TxLock | null> {
    const { reply } = await this.caller.call(() => Promise.resolve(target), 'GetDentry', { parentInodeId: parent, name }, { isIdempotent: true });
    return reply.status === MetaStatusCode.TX_LOCKED ? (reply.dentry?.lock ?? null) : null;
  }
}

/** The wire form of a create (CreateInode, or one item of BatchCreateInode without its name). */
function createBodyOf(request: CreateInodeRequest, requestId: string): Omit<CreateBody, 'dentryName'> {
  return {
    type: request.type as number as FsFileType,
    mode: request.mode,
    uid: request.uid,
    gid: request.gid,
    rdev: request.rdev,
    symlink: request.symlink,
    parent: request.parent,
    ...timeToWire(request.time),
    xattrs: xattrsToWire(request.xattrs),
    requestId,
  };
}
