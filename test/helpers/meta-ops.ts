/**
 * Builders for metaserver state-machine ops in tests: a `MetaHarness` wraps
 * a CopysetStateMachine, numbers entries itself and fills the routing and
 * time fields, so a test reads as a sequence of file-system steps.
 */
import { CopysetStateMachine } from '../../metaserver/partition/copyset-state-machine.js';
import {
  OpType,
  XattrSetMode,
  type MetaOp,
  type OpResult,
  type UpdateInodeOp,
} from '../../metaserver/partition/ops.js';
import { FileType, ROOT_INODE_ID, attrOf, type InodeId, type Timespec } from '../../metaserver/partition/types.js';
import { PARTITION_ID_COUNT } from '../../metaserver/partition/limits.js';

export const FS_ID = 7;

type Distribute<T> = T extends MetaOp ? Omit<T, 'fsId' | 'partitionId'> & { fsId?: number; partitionId?: number } : never;
export type OpInput = Distribute<MetaOp>;

export class MetaHarness {
  index = 0;
  clockSec = 1_700_000_000;
  constructor(readonly sm = new CopysetStateMachine()) {}

  now(): Timespec {
    this.clockSec += 1;
    return { sec: this.clockSec, nsec: (this.clockSec * 7919) % 1e9 };
  }

  /** Partition `k` (1-based) of FS_ID owns ids [(k-1)·2^20, k·2^20 - 1]. */
  static rangeOf(k: number): { start: number; end: number } {
    return { start: (k - 1) * PARTITION_ID_COUNT, end: k * PARTITION_ID_COUNT - 1 };
  }

  /** The partition id owning an inode id (with partitions laid out by rangeOf). */
  static partitionOf(inodeId: InodeId): number {
    return Math.floor(inodeId / PARTITION_ID_COUNT) + 1;
  }

  apply(op: OpInput): OpResult {
    this.index += 1;
    const full = { fsId: FS_ID, partitionId: 1, ...op } as MetaOp;
    const result = this.sm.apply(this.index, full);
    if (result === undefined) throw new Error('entry unexpectedly skipped');
    return result;
  }

  /** Creates partitions 1..count and the root directory. */
  setup(count = 1): void {
    for (let k = 1; k <= count; k++) {
      const r = this.apply({ type: OpType.CreatePartition, partitionId: k, ...MetaHarness.rangeOf(k) });
      if (r.status !== 0) throw new Error(`create partition ${k}: ${r.status}`);
    }
    const r = this.apply({ type: OpType.CreateRootInode, partitionId: 1, mode: 0o40755, uid: 0, gid: 0, time: this.now() });
    if (r.status !== 0) throw new Error(`root: ${r.status}`);
  }

  createInode(partitionId: number, fileType: FileType, parent: InodeId, extra: { symlink?: string; mode?: number } = {}): OpResult {
    return this.apply({
      type: OpType.CreateInode,
      partitionId,
      fileType,
      mode: extra.mode ?? (fileType === FileType.Directory ? 0o40755 : 0o100644),
      uid: 1000,
      gid: 1000,
      rdev: 0,
      symlink: extra.symlink ?? '',
      parent,
      time: this.now(),
    });
  }

  createDentry(parentId: InodeId, name: string, inodeId: InodeId, fileType: FileType): OpResult {
    return this.apply({
      type: OpType.CreateDentry,
      partitionId: MetaHarness.partitionOf(parentId),
      parentId,
      name,
      inodeId,
      fileType,
      time: this.now(),
    });
  }

  deleteDentry(parentId: InodeId, name: string, fileType: FileType | 0 = 0, expectedInodeId = 0): OpResult {
    return this.apply({
      type: OpType.DeleteDentry,
      partitionId: MetaHarness.partitionOf(parentId),
      parentId,
      name,
      fileType,
      expectedInodeId,
      time: this.now(),
    });
  }

  update(inodeId: InodeId, fields: Omit<UpdateInodeOp, 'type' | 'fsId' | 'partitionId' | 'inodeId' | 'expectedVersion'> & { expectedVersion?: number }): OpResult {
    return this.apply({
      type: OpType.UpdateInode,
      partitionId: MetaHarness.partitionOf(inodeId),
      inodeId,
      expectedVersion: 0,
      ...fields,
    });
  }

  rename(srcParentId: InodeId, srcName: string, dstParentId: InodeId, dstName: string): OpResult {
    return this.apply({
      type: OpType.Rename,
      partitionId: MetaHarness.partitionOf(srcParentId),
      srcParentId,
      srcName,
      dstParentId,
      dstName,
      time: this.now(),
    });
  }

  /** mkdir/create as a client does it: inode first, then the name; undo the inode on failure. */
  make(parentId: InodeId, name: string, fileType: FileType, partitionId = 1): { status: number; inodeId: InodeId } {
    const created = this.createInode(partitionId, fileType, parentId);
    if (created.status !== 0) return { status: created.status, inodeId: 0 };
    const inodeId = created.inode!.inodeId;
    const linked = this.createDentry(parentId, name, inodeId, fileType);
    if (linked.status !== 0) {
      const undo = this.update(inodeId, { nlinkDelta: -created.inode!.nlink, removeParents: [parentId] });
      if (undo.status !== 0) throw new Error(`undo create: ${undo.status}`);
    }
    return { status: linked.status, inodeId };
  }

  inode(inodeId: InodeId) {
    return this.sm.getInode(FS_ID, MetaHarness.partitionOf(inodeId), inodeId);
  }

  lookup(parentId: InodeId, name: string) {
    return this.sm.getDentry(FS_ID, MetaHarness.partitionOf(parentId), parentId, name);
  }

  /** Every entry of a directory through pages of `pageSize`. */
  listAll(dirId: InodeId, pageSize: number): { status: number; names: string[]; ids: InodeId[] } {
    const names: string[] = [];
    const ids: InodeId[] = [];
    let last = '';
    for (let pages = 0; pages < 1_000_000; pages++) {
      const page = this.sm.listDentry(FS_ID, MetaHarness.partitionOf(dirId), dirId, last, pageSize, false);
      if (page.status !== 0) return { status: page.status, names, ids };
      for (const d of page.dentries) {
        names.push(d.name);
        ids.push(d.inodeId);
      }
      if (page.dentries.length < pageSize) break;
      last = page.dentries[page.dentries.length - 1]!.name;
    }
    return { status: 0, names, ids };
  }
}

export { FileType, OpType, ROOT_INODE_ID, XattrSetMode };

/**
 * A canonical, order-independent picture of a copyset's replicated state
 * (everything a snapshot must carry), for comparing two machines.
 */
export function dumpState(sm: CopysetStateMachine): unknown {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return {
    appliedIndex: sm.appliedIndex,
    partitions: sm.allPartitions().map((p) => ({
      info: p.info(),
      inodes: [...p.inodes.values()]
        .sort((a, b) => a.inodeId - b.inodeId)
        .map((i) => ({
          ...attrOf(i),
          xattrs: [...(i.xattrs ?? [])].map(([k, v]) => [k, hex(v)]).sort(),
          chunks: [...(i.chunks ?? [])].sort((a, b) => a[0] - b[0]),
        })),
      dirs: [...p.dirs.entries()].sort((a, b) => a[0] - b[0]).map(([id, dir]) => [id, [...dir.entries()].map((d) => ({ ...d }))]),
      toDelete: [...p.toDelete],
      pending: [...p.tx.pending.values()].sort((a, b) => a.startTs - b.startTs),
      records: [...p.tx.records].sort((a, b) => a[0] - b[0]),
      locks: p.tx.lockCount(),
    })),
  };
}
