/**
 * The state machine of one copyset: the partitions it hosts, the changes
 * (one Raft entry each) and the reads. Pure and synchronous: no I/O, no
 * clock, no randomness; `apply` is a function of (state, index, op), so
 * every replica computes the same state and the same result.
 *
 * Idempotence: `appliedIndex` is the last entry applied; an entry at or
 * below it (replayed after restoring a snapshot) is skipped. Each touched
 * partition also records the index as its own applied index.
 *
 * Operations whose pieces live in several partitions of this copyset
 * (rename, rmdir's emptiness check) are applied here in one entry.
 */
import { assert, unreachable } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import { BATCH_IDS_MAX, PARTITION_ID_COUNT, RECENT_REQUESTS_MAX, REQUEST_ID_LENGTH_MAX, isUint } from './limits.js';
import { OpType, type BatchCreateInodeOp, type CreateInodeOp, type DeleteDentryOp, type MetaOp, type OpResult, type TxLockInfo } from './ops.js';
import { Partition, type PartitionInfo } from './partition.js';
import { checkTxStatus, commitRename, prewriteRename, resolveTxLock, type TxStatusReport } from './partition-tx.js';
import { renameLocal } from './rename-local.js';
import {
  FileType,
  Inode,
  attrOf,
  dentryViewOf,
  viewOf,
  type ChunkInfo,
  type DentryView,
  type FsId,
  type InodeAttr,
  type InodeId,
  type InodeView,
  type PartitionId,
} from './types.js';

const status = (s: MetaStatusCode): OpResult => ({ status: s });

/** What a successful change returned, kept to answer its resends (snapshotted). */
export interface RecentOutcome {
  readonly type: OpType;
  readonly inodeId: number;
  readonly version: number;
  readonly replacedInodeId: number;
}

export interface ToDeleteEntry {
  readonly inodeId: InodeId;
  readonly dtimeSec: number;
}

export class CopysetStateMachine {
  appliedIndex = 0;
  /** Bumped each time a membership change records new voters (SetCopysetVoters); the MDS keeps the newest. */
  epoch = 0;
  /** The voters recorded with `epoch`, sorted. */
  epochVoters: readonly string[] = [];
  /** Successful changes by request id, oldest first (at most RECENT_REQUESTS_MAX). */
  readonly recentRequests = new Map<string, RecentOutcome>();
  private readonly partitions = new Map<PartitionId, Partition>();
  /** fsId → its partitions here, sorted by range start (range lookups). */
  private readonly byFs = new Map<FsId, Partition[]>();

  // ---- changes ----

  /**
   * Applies the entry at `index`. Returns undefined when the entry was
   * already applied (index ≤ appliedIndex), otherwise the result for the
   * proposer. Never throws on a malformed request: it is refused by status.
   */
  apply(index: number, op: MetaOp): OpResult | undefined {
    assert(isUint(index) && index > 0, 'entry index is positive');
    if (index <= this.appliedIndex) return undefined;
    this.appliedIndex = index;
    return this.applyTracked(index, op);
  }

  /** One change at `index`, deduplicated by its request id (an entry's op, or one item of a batch). */
  private applyTracked(index: number, op: MetaOp): OpResult {
    const requestId = typeof op === 'object' && op !== null && typeof op.requestId === 'string' ? op.requestId : '';
    const isTracked = requestId !== '' && requestId.length <= REQUEST_ID_LENGTH_MAX;
    if (isTracked) {
      const seen = this.recentRequests.get(requestId);
      // A resend of a change that already succeeded: its first answer, nothing applied again.
      if (seen !== undefined && seen.type === op.type) return this.replay(op, seen);
    }
    const result = this.dispatch(index, op);
    // Only successes are remembered: a refused change applied nothing, so a resend may try again.
    if (isTracked && result.status === MetaStatusCode.OK) this.remember(requestId, op.type, result);
    return result;
  }

  /** Records a successful change's outcome under its request id (also used by snapshot restore). */
  remember(requestId: string, type: OpType, result: Pick<OpResult, 'inode' | 'version' | 'replacedInodeId'>): void {
    this.recentRequests.delete(requestId);
    this.recentRequests.set(requestId, {
      type,
      inodeId: result.inode?.inodeId ?? 0,
      version: result.version ?? 0,
      replacedInodeId: result.replacedInodeId ?? 0,
    });
    for (const key of this.recentRequests.keys()) {
      if (this.recentRequests.size <= RECENT_REQUESTS_MAX) break;
      this.recentRequests.delete(key);
    }
  }

  private replay(op: MetaOp, seen: RecentOutcome): OpResult {
    const inode = seen.inodeId === 0 ? undefined : this.partitionOf(op.fsId, seen.inodeId)?.inodes.get(seen.inodeId);
    return {
      status: MetaStatusCode.OK,
      ...(inode === undefined ? {} : { inode: attrOf(inode) }),
      ...(seen.version === 0 ? {} : { version: seen.version }),
      ...(op.type === OpType.Rename ? { replacedInodeId: seen.replacedInodeId } : {}),
    };
  }

  /** Advances the applied index over an entry that carries no op (a leader's empty entry, a conf change). */
  applyEmpty(index: number): void {
    assert(isUint(index) && index > 0, 'entry index is positive');
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  private dispatch(index: number, op: MetaOp): OpResult {
    if (typeof op !== 'object' || op === null || !isUint(op.fsId) || !isUint(op.partitionId)) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    if (op.type === OpType.CreatePartition) return this.createPartition(index, op.fsId, op.partitionId, op.start, op.end);
    if (op.type === OpType.SetCopysetVoters) return this.setVoters(op.voters);
    const p = this.partitions.get(op.partitionId);
    // DeletePartition may leave fsId out (0): the partition id alone names it.
    const isFsMatch = p !== undefined && (p.fsId === op.fsId || (op.type === OpType.DeletePartition && op.fsId === 0));
    if (p === undefined || !isFsMatch) return status(MetaStatusCode.PARTITION_NOT_FOUND);
    // Its items are routed (and record their partition's applied index) one by one.
    if (op.type === OpType.BatchCreateInode) return this.batchCreateInode(index, op);
    const result = this.dispatchTo(index, p, op);
    // Only a change moves a partition's applied index: a refused request leaves it as it was.
    if (result.status === MetaStatusCode.OK) p.appliedIndex = index;
    return result;
  }

  private setVoters(voters: readonly string[]): OpResult {
    if (!Array.isArray(voters) || voters.length === 0 || voters.length > 16 || !voters.every((v) => typeof v === 'string' && v !== '')) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    const sorted = [...new Set(voters)].sort();
    if (sorted.length !== this.epochVoters.length || sorted.some((v, i) => v !== this.epochVoters[i])) {
      this.epoch += 1;
      this.epochVoters = sorted;
    }
    return status(MetaStatusCode.OK);
  }

  private dispatchTo(
    index: number,
    p: Partition,
    op: Exclude<MetaOp, { type: OpType.CreatePartition | OpType.SetCopysetVoters | OpType.BatchCreateInode }>,
  ): OpResult {
    switch (op.type) {
      case OpType.DeletePartition:
        this.removePartition(p);
        return status(MetaStatusCode.OK);
      case OpType.CreateRootInode:
        return p.createRootInode(op);
      case OpType.CreateInode:
        return op.dentryName === undefined ? p.createInode(op) : this.createInodeLinked(p, op, op.dentryName);
      case OpType.UpdateInode:
        return p.updateInode(op);
      case OpType.DeleteInode:
        return p.deleteInode(op);
      case OpType.CreateDentry:
        return p.createDentry(op);
      case OpType.DeleteDentry:
        return this.deleteDentry(p, op);
      case OpType.Rename:
        return renameLocal(this, index, p, op);
      case OpType.AppendChunkInfo:
        return p.appendChunkInfo(op);
      case OpType.ReplaceChunkInfo:
        return p.replaceChunkInfo(op);
      case OpType.Truncate:
        return p.truncate(op);
      case OpType.PrewriteRename:
        return prewriteRename(p, op);
      case OpType.CommitRename:
        return commitRename(p, op);
      case OpType.ResolveTxLock:
        return resolveTxLock(p, op);
      default:
        return unreachable(op, 'op type');
    }
  }

  /**
   * Each item as its own CreateInode entry at this index would apply (its
   * request id deduplicated and remembered), in order, one result each: a
   * refused item changes nothing and the next one still applies. Items must
   * be CreateInode ops routed as the batch is (the codec makes them so).
   */
  private batchCreateInode(index: number, op: BatchCreateInodeOp): OpResult {
    if (!Array.isArray(op.items) || op.items.length === 0 || op.items.length > BATCH_IDS_MAX) return status(MetaStatusCode.PARAM_ERROR);
    const items = op.items.map((item) =>
      typeof item !== 'object' || item === null || item.type !== OpType.CreateInode || item.fsId !== op.fsId || item.partitionId !== op.partitionId
        ? status(MetaStatusCode.PARAM_ERROR)
        : this.applyTracked(index, item),
    );
    return { status: MetaStatusCode.OK, items };
  }

  private createPartition(index: number, fsId: FsId, partitionId: PartitionId, start: InodeId, end: InodeId): OpResult {
    if (!isUint(start) || !isUint(end) || start > end || end - start + 1 > PARTITION_ID_COUNT) {
      return status(MetaStatusCode.PARAM_ERROR);
    }
    if (partitionId === 0 || fsId === 0) return status(MetaStatusCode.PARAM_ERROR);
    const existing = this.partitions.get(partitionId);
    if (existing !== undefined) {
      // A retried create is a success; a different partition under the same id is not.
      const same = existing.fsId === fsId && existing.start === start && existing.end === end;
      return status(same ? MetaStatusCode.OK : MetaStatusCode.EXIST);
    }
    const siblings = this.byFs.get(fsId) ?? [];
    if (siblings.some((s) => s.start <= end && start <= s.end)) return status(MetaStatusCode.EXIST);
    const p = new Partition(fsId, partitionId, start, end);
    p.appliedIndex = index;
    this.addPartition(p);
    return status(MetaStatusCode.OK);
  }

  /** Adds a partition (apply and snapshot restore). */
  addPartition(p: Partition): void {
    assert(!this.partitions.has(p.partitionId), 'partition id is new');
    this.partitions.set(p.partitionId, p);
    const list = this.byFs.get(p.fsId) ?? [];
    list.push(p);
    list.sort((a, b) => a.start - b.start);
    this.byFs.set(p.fsId, list);
  }

  private removePartition(p: Partition): void {
    // A snapshot being streamed still needs what it has not encoded yet.
    p.guard?.preservePartition(p);
    this.partitions.delete(p.partitionId);
    const list = this.byFs.get(p.fsId)!.filter((x) => x !== p);
    if (list.length === 0) this.byFs.delete(p.fsId);
    else this.byFs.set(p.fsId, list);
  }

  /**
   * CreateInode with a name: the inode and its dentry in one apply, so a
   * create costs one Raft commit instead of two. The parent's entries must
   * live in a partition of this copyset. Everything is checked before
   * anything changes: a refusal creates no inode (no orphan to collect).
   */
  private createInodeLinked(p: Partition, op: CreateInodeOp, name: string): OpResult {
    const home = this.partitionOf(p.fsId, op.parent);
    if (home === undefined || op.parent === 0) return status(MetaStatusCode.PARTITION_NOT_FOUND);
    const checked = home.checkCreateDentry(op.parent, name, op.fileType, op.time);
    if (!(checked instanceof Inode)) return checked;
    const created = p.createInode(op);
    if (created.status !== MetaStatusCode.OK) return created;
    assert(created.inode !== undefined, 'a created inode is answered');
    const linked = home.createDentry({
      type: OpType.CreateDentry,
      fsId: op.fsId,
      partitionId: home.partitionId,
      parentId: op.parent,
      name,
      inodeId: created.inode.inodeId,
      fileType: op.fileType,
      time: op.time,
    });
    assert(linked.status === MetaStatusCode.OK, 'a checked dentry is created');
    return created;
  }

  private deleteDentry(p: Partition, op: DeleteDentryOp): OpResult {
    const checked = p.checkDeleteDentry(op);
    if (!('parentId' in checked)) return checked;
    if (checked.type === FileType.Directory) {
      // rmdir: the child's entries live in the partition owning the child's id. When that
      // partition is here the check is atomic with the delete; otherwise the client checked.
      const owner = this.partitionOf(p.fsId, checked.inodeId);
      // Pending renames into or out of it first: the entries it really has depend on them.
      const lock = owner?.tx.emptinessLock(checked.inodeId);
      if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
      if (owner !== undefined && owner.dirSize(checked.inodeId) > 0) return status(MetaStatusCode.NOT_EMPTY);
    }
    p.deleteDentry(checked, op.time);
    if (op.unlinkChild === true) {
      // unlink in one commit: the link count follows the name (a refusal leaves it to the client).
      const owner = this.partitionOf(p.fsId, checked.inodeId);
      const dropped = owner?.updateInode({
        type: OpType.UpdateInode,
        fsId: p.fsId,
        partitionId: owner.partitionId,
        inodeId: checked.inodeId,
        expectedVersion: 0,
        nlinkDelta: checked.type === FileType.Directory ? -2 : -1,
        removeParents: [op.parentId],
        ctime: op.time,
      });
      if (dropped?.status === MetaStatusCode.OK) return { status: MetaStatusCode.OK, version: dropped.version! };
    }
    return status(MetaStatusCode.OK);
  }

  /** Replaces this machine's whole state by another's (snapshot restore into a live object). */
  resetFrom(other: CopysetStateMachine): void {
    assert(other !== this, 'reset from another machine');
    this.partitions.clear();
    this.byFs.clear();
    for (const p of other.allPartitions()) this.addPartition(p);
    this.appliedIndex = other.appliedIndex;
    this.epoch = other.epoch;
    this.epochVoters = other.epochVoters;
    this.recentRequests.clear();
    for (const [k, v] of other.recentRequests) this.recentRequests.set(k, v);
  }

  // ---- lookups ----

  partition(partitionId: PartitionId): Partition | undefined {
    return this.partitions.get(partitionId);
  }

  /** The partition of `fsId` hosted here whose range holds `inodeId`. */
  partitionOf(fsId: FsId, inodeId: InodeId): Partition | undefined {
    const list = this.byFs.get(fsId);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end < inodeId) lo = mid + 1;
      else hi = mid;
    }
    const p = list[lo];
    return p !== undefined && p.owns(inodeId) ? p : undefined;
  }

  allPartitions(): Partition[] {
    return [...this.partitions.values()].sort((a, b) => a.partitionId - b.partitionId);
  }

  partitionInfos(): PartitionInfo[] {
    return this.allPartitions().map((p) => p.info());
  }

  // ---- reads (linearizable when called after ReadIndex on the leader) ----

  private routed(fsId: FsId, partitionId: PartitionId, inodeId: InodeId): Partition | MetaStatusCode {
    const p = this.partitions.get(partitionId);
    if (p === undefined || p.fsId !== fsId) return MetaStatusCode.PARTITION_NOT_FOUND;
    if (!isUint(inodeId) || !p.owns(inodeId)) return MetaStatusCode.PARTITION_NOT_FOUND;
    return p;
  }

  getInode(fsId: FsId, partitionId: PartitionId, inodeId: InodeId, withChunks = true): { status: MetaStatusCode; inode?: InodeView } {
    const p = this.routed(fsId, partitionId, inodeId);
    if (typeof p === 'number') return { status: p };
    const inode = p.inodes.get(inodeId);
    if (inode === undefined) return { status: MetaStatusCode.NOT_FOUND };
    return { status: MetaStatusCode.OK, inode: viewOf(inode, withChunks) };
  }

  /** Attributes of the ids found (missing ids are left out). */
  batchGetInodeAttr(fsId: FsId, partitionId: PartitionId, inodeIds: readonly InodeId[]): { status: MetaStatusCode; attrs: InodeAttr[] } {
    const p = this.partitions.get(partitionId);
    if (p === undefined || p.fsId !== fsId) return { status: MetaStatusCode.PARTITION_NOT_FOUND, attrs: [] };
    if (!Array.isArray(inodeIds) || inodeIds.length > BATCH_IDS_MAX) return { status: MetaStatusCode.PARAM_ERROR, attrs: [] };
    const attrs: InodeAttr[] = [];
    for (const id of inodeIds) {
      const inode = p.inodes.get(id);
      if (inode !== undefined) attrs.push(attrOf(inode));
    }
    return { status: MetaStatusCode.OK, attrs };
  }

  batchGetXAttr(
    fsId: FsId,
    partitionId: PartitionId,
    inodeIds: readonly InodeId[],
  ): { status: MetaStatusCode; xattrs: { inodeId: InodeId; xattrs: Map<string, Uint8Array> }[] } {
    const p = this.partitions.get(partitionId);
    if (p === undefined || p.fsId !== fsId) return { status: MetaStatusCode.PARTITION_NOT_FOUND, xattrs: [] };
    if (!Array.isArray(inodeIds) || inodeIds.length > BATCH_IDS_MAX) return { status: MetaStatusCode.PARAM_ERROR, xattrs: [] };
    const xattrs: { inodeId: InodeId; xattrs: Map<string, Uint8Array> }[] = [];
    for (const id of inodeIds) {
      const inode = p.inodes.get(id);
      if (inode !== undefined) xattrs.push({ inodeId: id, xattrs: new Map(inode.xattrs ?? []) });
    }
    return { status: MetaStatusCode.OK, xattrs };
  }

  getDentry(
    fsId: FsId,
    partitionId: PartitionId,
    parentId: InodeId,
    name: string,
  ): { status: MetaStatusCode; dentry?: DentryView; lock?: TxLockInfo } {
    const p = this.routed(fsId, partitionId, parentId);
    if (typeof p === 'number') return { status: p };
    if (typeof name !== 'string' || name.length === 0) return { status: MetaStatusCode.PARAM_ERROR };
    const lock = p.tx.lockOn(parentId, name);
    if (lock !== undefined) return { status: MetaStatusCode.TX_LOCKED, lock };
    const dentry = p.getDentry(parentId, name);
    if (dentry === undefined) {
      const parent = p.inodes.get(parentId);
      if (parent !== undefined && parent.type !== FileType.Directory) return { status: MetaStatusCode.NOT_DIR };
      return { status: MetaStatusCode.NOT_FOUND };
    }
    return { status: MetaStatusCode.OK, dentry: dentryViewOf(fsId, dentry) };
  }

  /** Entries after `last` in name order; `count` 0 = the default page size. */
  listDentry(
    fsId: FsId,
    partitionId: PartitionId,
    dirId: InodeId,
    last: string,
    count: number,
    onlyDir: boolean,
  ): { status: MetaStatusCode; dentries: DentryView[]; lock?: TxLockInfo } {
    const p = this.routed(fsId, partitionId, dirId);
    if (typeof p === 'number') return { status: p, dentries: [] };
    const listed = p.listDentry(dirId, last, count, onlyDir);
    const dentries = listed.dentries.map((d) => dentryViewOf(fsId, d));
    return listed.lock === undefined ? { status: listed.status, dentries } : { status: listed.status, dentries, lock: listed.lock };
  }

  getChunkInfo(
    fsId: FsId,
    partitionId: PartitionId,
    inodeId: InodeId,
    chunkIndexes: readonly number[],
  ): { status: MetaStatusCode; chunks: Map<number, ChunkInfo[]>; version: number } {
    const p = this.routed(fsId, partitionId, inodeId);
    if (typeof p === 'number') return { status: p, chunks: new Map(), version: 0 };
    const inode = p.inodes.get(inodeId);
    if (inode === undefined) return { status: MetaStatusCode.NOT_FOUND, chunks: new Map(), version: 0 };
    const chunks = new Map<number, ChunkInfo[]>();
    if (inode.chunks !== null) {
      const wanted = chunkIndexes.length === 0 ? [...inode.chunks.keys()].sort((a, b) => a - b) : chunkIndexes;
      for (const index of wanted) {
        const list = inode.chunks.get(index);
        if (list !== undefined) chunks.set(index, list.slice());
      }
    }
    return { status: MetaStatusCode.OK, chunks, version: inode.version };
  }

  checkTxStatus(
    fsId: FsId,
    partitionId: PartitionId,
    startTs: number,
    nowMs: number,
  ): TxStatusReport {
    const p = this.partitions.get(partitionId);
    if (p === undefined || p.fsId !== fsId) {
      return { status: MetaStatusCode.PARTITION_NOT_FOUND, txStatus: 0, commitTs: 0, isExpired: false, secondaries: [] };
    }
    return checkTxStatus(p, startTs, nowMs);
  }

  /** Unlinked inodes no client holds open, oldest first (the deletion service's work list). */
  listToDelete(fsId: FsId, partitionId: PartitionId, limit: number): ToDeleteEntry[] {
    const p = this.partitions.get(partitionId);
    if (p === undefined || p.fsId !== fsId) return [];
    const out: ToDeleteEntry[] = [];
    for (const [inodeId, dtimeSec] of p.toDelete) {
      if (out.length >= limit) break;
      if (p.inodes.get(inodeId)!.openCount === 0) out.push({ inodeId, dtimeSec });
    }
    return out;
  }
}
