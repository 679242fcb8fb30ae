/**
 * TEST DOUBLE. An in-memory reference implementation of the VFS's MetaApi
 * (client/vfs/meta-api.ts), written straight from that interface's contract
 * so VFS tests can run without metaservers. It models the server-side rules
 * the VFS relies on: parent nlink/mtime/ctime in dentry changes, nlink deltas,
 * conditional updates by version, atomic rename with replacement, and
 * deletion of an inode only once nlink is 0 and no session holds it open.
 * Never used by product code.
 */
import { assert } from '../../src/common/assert.js';
import { MetaError } from '../../src/common/errors.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import {
  FileType,
  ROOT_INODE_ID,
  type CreateInodeRequest,
  type Dentry,
  type FsStats,
  type InodeAttr,
  type InodeId,
  type InodeUpdate,
  type MetaApi,
  type RenameRequest,
  type Timespec,
  type XattrSnapshot,
} from '../../client/vfs/meta-api.js';

type MutableInode = {
  -readonly [K in keyof InodeAttr]: InodeAttr[K];
};

interface StoredInode {
  attr: MutableInode;
  xattrs: Map<string, Uint8Array>;
}

export class MemoryMeta implements MetaApi {
  readonly inodes = new Map<InodeId, StoredInode>();
  readonly dentries = new Map<InodeId, Map<string, Dentry>>();
  readonly openCounts = new Map<InodeId, number>();
  /** Counts calls per method, for cache tests. */
  readonly calls = new Map<string, number>();
  private nextId = ROOT_INODE_ID + 1;

  constructor(rootTime: Timespec = { sec: 1_700_000_000, nsec: 0 }) {
    this.inodes.set(ROOT_INODE_ID, {
      attr: {
        inodeId: ROOT_INODE_ID, type: FileType.Directory, mode: 0o040777, uid: 0, gid: 0, nlink: 2, length: 4096, rdev: 0,
        atime: rootTime, mtime: rootTime, ctime: rootTime, symlink: '', parents: [], version: 1,
      },
      xattrs: new Map(),
    });
    this.dentries.set(ROOT_INODE_ID, new Map());
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  callCount(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  private stored(inodeId: InodeId): StoredInode {
    const inode = this.inodes.get(inodeId);
    if (inode === undefined) throw new MetaError(MetaStatusCode.NOT_FOUND);
    return inode;
  }

  private touch(inode: StoredInode): void {
    inode.attr.version++;
  }

  private children(parent: InodeId): Map<string, Dentry> {
    const children = this.dentries.get(parent);
    if (children === undefined) throw new MetaError(MetaStatusCode.NOT_FOUND);
    return children;
  }

  private changeNlink(inodeId: InodeId, delta: number): void {
    const inode = this.stored(inodeId);
    inode.attr.nlink += delta;
    assert(inode.attr.nlink >= 0, `nlink of ${inodeId} went negative`);
    this.touch(inode);
    this.collect(inodeId);
  }

  /** The deletion service: an inode with nlink 0 that no session holds open goes away. */
  private collect(inodeId: InodeId): void {
    const inode = this.inodes.get(inodeId);
    if (inode === undefined || inode.attr.nlink > 0 || (this.openCounts.get(inodeId) ?? 0) > 0) return;
    this.inodes.delete(inodeId);
    this.dentries.delete(inodeId);
  }

  private touchParent(parent: InodeId, time: Timespec, nlinkDelta: number): void {
    const inode = this.stored(parent);
    inode.attr.mtime = time;
    inode.attr.ctime = time;
    inode.attr.nlink += nlinkDelta;
    this.touch(inode);
  }

  async getDentry(parent: InodeId, name: string): Promise<Dentry | null> {
    this.count('getDentry');
    return this.dentries.get(parent)?.get(name) ?? null;
  }

  async listDentry(dir: InodeId, last: string, count: number, onlyDir = false): Promise<Dentry[]> {
    this.count('listDentry');
    const all = [...this.children(dir).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return all.filter((d) => d.name > last && (!onlyDir || d.type === FileType.Directory)).slice(0, count > 0 ? count : 1000);
  }

  async createDentry(dentry: Dentry, time: Timespec): Promise<void> {
    this.count('createDentry');
    const children = this.children(dentry.parentInodeId);
    if (children.has(dentry.name)) throw new MetaError(MetaStatusCode.EXIST);
    children.set(dentry.name, { ...dentry });
    this.touchParent(dentry.parentInodeId, time, dentry.type === FileType.Directory ? 1 : 0);
  }

  async deleteDentry(parent: InodeId, name: string, type: FileType, time: Timespec): Promise<void> {
    this.count('deleteDentry');
    const children = this.children(parent);
    const dentry = children.get(name);
    if (dentry === undefined) throw new MetaError(MetaStatusCode.NOT_FOUND);
    assert(dentry.type === type, 'deleteDentry names the type it found');
    children.delete(name);
    this.touchParent(parent, time, type === FileType.Directory ? -1 : 0);
  }

  async rename(request: RenameRequest): Promise<void> {
    this.count('rename');
    const sourceChildren = this.children(request.srcParent);
    const targetChildren = this.children(request.dstParent);
    const source = sourceChildren.get(request.srcName);
    if (source === undefined || source.inodeId !== request.srcInodeId) throw new MetaError(MetaStatusCode.NOT_FOUND);
    const replaced = targetChildren.get(request.dstName);
    if ((replaced?.inodeId ?? 0) !== request.expectedDstInodeId) throw new MetaError(MetaStatusCode.EXIST);
    const isDirectory = source.type === FileType.Directory;
    // All checks passed: from here the change is applied whole (one "Raft entry").
    sourceChildren.delete(request.srcName);
    this.touchParent(request.srcParent, request.time, isDirectory ? -1 : 0);
    if (replaced !== undefined) {
      const isReplacedDirectory = replaced.type === FileType.Directory;
      this.touchParent(request.dstParent, request.time, isReplacedDirectory ? -1 : 0);
      const victim = this.stored(replaced.inodeId);
      victim.attr.parents = victim.attr.parents.filter((p) => p !== request.dstParent);
      victim.attr.ctime = request.time;
      this.changeNlink(replaced.inodeId, isReplacedDirectory ? -victim.attr.nlink : -1);
    }
    targetChildren.set(request.dstName, { ...source, parentInodeId: request.dstParent, name: request.dstName });
    this.touchParent(request.dstParent, request.time, isDirectory ? 1 : 0);
    const moved = this.stored(source.inodeId);
    moved.attr.parents = [...moved.attr.parents.filter((p) => p !== request.srcParent), request.dstParent];
    moved.attr.ctime = request.time;
    this.touch(moved);
  }

  async createInode(request: CreateInodeRequest): Promise<InodeAttr> {
    this.count('createInode');
    const inodeId = this.nextId++;
    const isDirectory = request.type === FileType.Directory;
    const attr: MutableInode = {
      inodeId, type: request.type, mode: request.mode, uid: request.uid, gid: request.gid, nlink: isDirectory ? 2 : 1,
      length: isDirectory ? 4096 : 0, rdev: request.rdev, atime: request.time, mtime: request.time, ctime: request.time,
      symlink: request.symlink, parents: [request.parent], version: 1,
    };
    this.inodes.set(inodeId, { attr, xattrs: new Map(request.xattrs ?? []) });
    if (isDirectory) this.dentries.set(inodeId, new Map());
    return { ...attr };
  }

  async getInodeAttr(inodeId: InodeId): Promise<InodeAttr> {
    this.count('getInodeAttr');
    return { ...this.stored(inodeId).attr };
  }

  async batchGetInodeAttr(inodeIds: readonly InodeId[]): Promise<InodeAttr[]> {
    this.count('batchGetInodeAttr');
    return inodeIds.flatMap((id) => {
      const inode = this.inodes.get(id);
      return inode === undefined ? [] : [{ ...inode.attr }];
    });
  }

  async updateInode(inodeId: InodeId, update: InodeUpdate): Promise<number> {
    this.count('updateInode');
    const inode = this.stored(inodeId);
    if (update.expectedVersion !== undefined && update.expectedVersion !== inode.attr.version) {
      throw new MetaError(MetaStatusCode.VERSION_MISMATCH);
    }
    const attr = inode.attr;
    if (update.mode !== undefined) attr.mode = update.mode;
    if (update.uid !== undefined) attr.uid = update.uid;
    if (update.gid !== undefined) attr.gid = update.gid;
    if (update.length !== undefined) attr.length = update.length;
    if (update.atime !== undefined) attr.atime = update.atime;
    if (update.mtime !== undefined) attr.mtime = update.mtime;
    if (update.ctime !== undefined) attr.ctime = update.ctime;
    for (const [name, value] of update.setXattrs ?? []) inode.xattrs.set(name, Uint8Array.from(value));
    for (const name of update.removeXattrs ?? []) inode.xattrs.delete(name);
    for (const parent of update.addParents ?? []) attr.parents = [...attr.parents, parent];
    for (const parent of update.removeParents ?? []) {
      const index = attr.parents.indexOf(parent);
      if (index >= 0) attr.parents = attr.parents.filter((_, i) => i !== index);
    }
    // One change, one version step (as the metaserver's apply), the link count included.
    if (update.nlinkDelta !== undefined && update.nlinkDelta !== 0) {
      attr.nlink += update.nlinkDelta;
      assert(attr.nlink >= 0, `nlink of ${inodeId} went negative`);
    }
    this.touch(inode);
    const version = attr.version;
    if (update.nlinkDelta !== undefined && update.nlinkDelta !== 0) this.collect(inodeId);
    return version;
  }

  async getXattrs(inodeId: InodeId): Promise<XattrSnapshot> {
    this.count('getXattrs');
    const inode = this.stored(inodeId);
    return { xattrs: new Map(inode.xattrs), version: inode.attr.version };
  }

  async batchGetXattrs(inodeIds: readonly InodeId[]): Promise<Array<{ inodeId: InodeId; snapshot: XattrSnapshot }>> {
    this.count('batchGetXattrs');
    return inodeIds.flatMap((inodeId) => {
      const inode = this.inodes.get(inodeId);
      return inode === undefined ? [] : [{ inodeId, snapshot: { xattrs: new Map(inode.xattrs), version: inode.attr.version } }];
    });
  }

  async registerOpen(inodeId: InodeId): Promise<void> {
    this.openCounts.set(inodeId, (this.openCounts.get(inodeId) ?? 0) + 1);
  }

  async unregisterOpen(inodeId: InodeId): Promise<void> {
    const count = this.openCounts.get(inodeId) ?? 0;
    assert(count > 0, `unregisterOpen of ${inodeId} without an open`);
    if (count === 1) this.openCounts.delete(inodeId);
    else this.openCounts.set(inodeId, count - 1);
    this.collect(inodeId);
  }

  async statFs(): Promise<FsStats> {
    let usedBytes = 0;
    for (const inode of this.inodes.values()) if (inode.attr.type === FileType.File) usedBytes += inode.attr.length;
    return { capacityBytes: 0, usedBytes, inodeCount: this.inodes.size, inodeLimit: 0, blockSizeBytes: 4 * 1024 * 1024 };
  }
}
