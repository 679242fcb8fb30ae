/**
 * The VFS: POSIX semantics over the metadata seam (MetaApi) and the file-data
 * seam (FileDataApi). Path-based because fuse-native is; every call names its
 * caller, whose credentials the permission rules (posix-permission.ts) judge.
 *
 * Each public method returns `Result<T>`: a value or an errno (positive,
 * from src/common/errno.ts). Refusals found here unwind as VfsFailure and
 * metadata/storage failures are mapped by `toErrno`; both become values at
 * the boundary in `run()`, the only try/catch of the class.
 *
 * Ordering rules that keep a crash harmless (never a dentry naming a
 * missing inode, at worst an orphan the fsck collects):
 * - create/mkdir/symlink/mknod: inode first, then the dentry (or both in
 *   one change, MetaApi.createLinked, for everything but directories);
 * - link: nlink+1 first, then the dentry;
 * - unlink/rmdir: the dentry first, then nlink-1 (or both in one change,
 *   MetaApi.deleteDentryAndLink).
 *
 * Known races we accept, as CurveFS does: rmdir and rename-over-a-directory
 * check emptiness before the metadata change, so an entry created in that
 * directory by another client in between is orphaned.
 */
import { Errno, toErrno } from '../../src/common/errno.js';
import { fail, MetaError, ok, type Result } from '../../src/common/errors.js';
import { assert } from '../../src/common/assert.js';
import { MetaStatusCode } from '../../src/common/meta-status.js';
import type { Clock } from '../../src/common/clock.js';
import type { Logger } from '../../src/common/log.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import type { FileData, FileDataApi } from './data-api.js';
import { FileType, ROOT_INODE_ID, type CreateInodeRequest, type Dentry, type InodeAttr, type InodeId, type InodeUpdate, type InodeWithChunks, type LookupResult, type MetaApi, type Timespec } from './meta-api.js';
import { attrAfterUpdate, isOnlyChangeSince } from './attr-after-update.js';
import { KNOWN_NAMES_DEFAULTS, KnownNames, type ListingKind } from './known-names.js';
import { META_CACHE_DEFAULTS, MetaCache } from './meta-cache.js';
import { OpenFiles, type FileHandle, type Handle, type OpenInode } from './open-files.js';
import { checkMknodType, fileTypeOfMode, newInodeOwnership, typeBits } from './posix-mode.js';
import { checkName, splitParent, splitPath, SYMLINK_BYTES_MAX, NAME_BYTES_MAX } from './posix-name.js';
import {
  accessMaskForOpen,
  checkAccess,
  checkDeleteFromDirectory,
  checkSetTimes,
  chmodResult,
  chownResult,
  isRoot,
  modeAfterWrite,
  R_OK,
  W_OK,
  X_OK,
  type Caller,
} from './posix-permission.js';
import { checkXattrAccess } from './posix-xattr.js';
import { resolveTimeSetting, shouldUpdateAtime, timespecFromMs, utimensPermission, type AtimeMode, type TimeSetting } from './posix-time.js';
import { check, failWith, VfsFailure } from './vfs-failure.js';
import {
  OpenFlags,
  XATTR_CREATE,
  XATTR_REPLACE,
  XATTR_VALUE_BYTES_MAX,
  type VfsStat,
  type VfsStatFs,
} from './vfs-types.js';

export interface VfsOptions {
  readonly meta: MetaApi;
  readonly data: FileDataApi;
  /** Wall clock for file timestamps. */
  readonly wallClock: Clock;
  /** Monotonic clock for cache ages. */
  readonly cacheClock: Clock;
  readonly attrTtlMs?: number;
  readonly entryTtlMs?: number;
  readonly negativeEntryTtlMs?: number;
  /**
   * When reads write atime (default relatime). Each such write is a Raft
   * commit, so mounts choose noatime by default, as JuiceFS does.
   */
  readonly atimeMode?: AtimeMode;
  readonly logger?: Logger;
}

/** Entries per ListDentry page. */
export const READDIR_PAGE_ENTRIES = 1_000;
/** A directory listing stops here (bounds memory of one readdir). */
export const READDIR_ENTRIES_MAX = 10_000_000;
/** Depth bound of the rename loop check (a deeper tree is refused). */
export const DIRECTORY_DEPTH_MAX = 4_096;
/** Retries of a conditional xattr update that lost a race. */
const XATTR_UPDATE_ATTEMPTS = 8;
/** An open brings the chunk lists along only for files this small (as last seen) ... */
const OPEN_CHUNKS_FILE_BYTES_MAX = 4 * 1024 * 1024;
/** ... and only when they hold this few records in all (the reply stays small). */
const OPEN_CHUNK_RECORDS_MAX = 1_000;
/** Attempts of a rename whose cached lookups another client made stale. */
const RENAME_ATTEMPTS = 4;
/** What the metaserver answers when src / dst no longer name what the lookups saw. */
const STALE_RENAME_STATUSES: ReadonlySet<MetaStatusCode> = new Set([MetaStatusCode.NOT_FOUND, MetaStatusCode.EXIST, MetaStatusCode.TX_CONFLICT]);
export const STAT_BLOCK_SIZE_BYTES = 1024 * 1024;

export class Vfs {
  readonly cache: MetaCache;
  /** Complete name lists of hot directories: negative lookups without a GetDentry. */
  readonly names: KnownNames;
  readonly files: OpenFiles;
  private readonly meta: MetaApi;
  private readonly data: FileDataApi;
  private readonly wallClock: Clock;
  private readonly logger: Logger | undefined;
  private readonly atimeMode: AtimeMode;

  constructor(options: VfsOptions) {
    this.meta = options.meta;
    this.data = options.data;
    this.wallClock = options.wallClock;
    this.logger = options.logger;
    this.atimeMode = options.atimeMode ?? 'relatime';
    this.cache = new MetaCache({
      clock: options.cacheClock,
      attrTtlMs: options.attrTtlMs ?? META_CACHE_DEFAULTS.attrTtlMs,
      entryTtlMs: options.entryTtlMs ?? META_CACHE_DEFAULTS.entryTtlMs,
      negativeEntryTtlMs: options.negativeEntryTtlMs ?? META_CACHE_DEFAULTS.negativeEntryTtlMs,
      attrEntriesMax: META_CACHE_DEFAULTS.attrEntriesMax,
      dentryEntriesMax: META_CACHE_DEFAULTS.dentryEntriesMax,
    });
    this.names = new KnownNames({
      clock: options.cacheClock,
      ttlMs: options.negativeEntryTtlMs ?? META_CACHE_DEFAULTS.negativeEntryTtlMs,
      // A statahead only pays when its attributes can be cached.
      withAttrs: (options.attrTtlMs ?? META_CACHE_DEFAULTS.attrTtlMs) > 0,
      ...KNOWN_NAMES_DEFAULTS,
    });
    this.files = new OpenFiles(options.data, options.meta);
  }

  // ---- boundary ----

  private async run<T>(op: string, fn: () => Promise<T>): Promise<Result<T>> {
    try {
      return ok(await fn());
    } catch (error) {
      if (error instanceof VfsFailure) return fail(error.errno);
      const errno = toErrno(error);
      if (errno === Errno.EIO) this.logger?.error({ op, err: error }, 'vfs operation failed');
      else this.logger?.debug({ op, errno, err: error }, 'vfs operation refused');
      return fail(errno);
    }
  }

  private now(): Timespec {
    return timespecFromMs(this.wallClock.nowMs());
  }

  // ---- lookups ----

  private async attrOf(inodeId: InodeId): Promise<InodeAttr> {
    const cached = this.cache.getAttr(inodeId);
    if (cached !== undefined) return cached;
    const attr = await this.meta.getInodeAttr(inodeId);
    assert(attr.inodeId === inodeId, 'metadata returned the inode asked for');
    this.cache.setAttr(attr);
    return attr;
  }

  private async freshAttrOf(inodeId: InodeId): Promise<InodeAttr> {
    this.cache.dropAttr(inodeId);
    return this.attrOf(inodeId);
  }

  /** The child's inode id and type, or null; checks the parent is a searchable directory. */
  private async lookupChild(caller: Caller, parent: InodeAttr, name: string): Promise<{ inodeId: InodeId; type: FileType } | null> {
    if (parent.type !== FileType.Directory) failWith(Errno.ENOTDIR);
    check(checkAccess(parent, caller, X_OK));
    const cached = this.cache.getDentry(parent.inodeId, name);
    if (cached !== undefined) return cached.inodeId === 0 ? null : { inodeId: cached.inodeId, type: cached.type as FileType };
    if (this.names.isAbsent(parent.inodeId, name)) {
      this.names.noteMiss(parent.inodeId, false);
      return null;
    }
    const listingKind = this.names.shouldList(parent.inodeId);
    if (listingKind !== null) {
      const listed = await this.listDirectory(parent.inodeId, listingKind);
      if (listed !== null) {
        // The listing filled the dentry cache unless an own change overlapped it: then it only answers this lookup.
        const dentry = listed.get(name);
        this.names.noteMiss(parent.inodeId, dentry !== undefined);
        return dentry === undefined ? null : { inodeId: dentry.inodeId, type: dentry.type };
      }
    }
    const found = this.meta.lookup !== undefined ? await this.meta.lookup(parent.inodeId, name) : await this.getDentryOnly(parent.inodeId, name);
    this.names.noteMiss(parent.inodeId, found !== null);
    if (found === null) {
      this.cache.setNegative(parent.inodeId, name);
      return null;
    }
    const dentry = found.dentry;
    assert(dentry.inodeId > 0 && dentry.name === name, 'dentry matches its lookup');
    this.cache.setDentry(parent.inodeId, name, dentry.inodeId, dentry.type);
    // Attributes that came with the dentry: the attrOf that usually follows costs no RPC.
    if (found.attr !== undefined) {
      assert(found.attr.inodeId === dentry.inodeId, 'attributes of the named inode');
      this.cache.setAttr(found.attr);
    }
    return { inodeId: dentry.inodeId, type: dentry.type };
  }

  /**
   * All names of a hot directory in one ListDentry, and for a statahead
   * their attributes and xattrs in one BatchGetInodeAttr and one
   * BatchGetXAttr (KnownNames explains when).
   * Names and attributes fill the caches as a readdir's do, unless a change
   * of this client overlapped. null when the directory holds more than the
   * bound, or the listing failed (the caller then looks the name up as
   * usual and meets the failure there).
   */
  private async listDirectory(dir: InodeId, kind: ListingKind): Promise<Map<string, Dentry> | null> {
    const bound = this.names.dirNamesMax;
    const ticket = this.names.beginListing(dir, kind);
    const fence = this.cache.openFence();
    try {
      const entries = await this.meta.listDentry(dir, '', bound + 1);
      if (entries.length > bound) {
        this.names.finishListing(ticket, null);
        return null;
      }
      // Extended attributes too, as readdir reads them: the kernel asks for security.capability
      // before a chown or an unprivileged write, `ls -l` for security.selinux.
      const ids = entries.map((d) => d.inodeId);
      const [attrs, xattrs] =
        kind === 'names-and-attrs' && ids.length > 0 ? await Promise.all([this.meta.batchGetInodeAttr(ids), this.meta.batchGetXattrs?.(ids)]) : [[], undefined];
      const byName = new Map(entries.map((d) => [d.name, d]));
      if (this.names.finishListing(ticket, byName.keys())) {
        for (const d of entries) this.cache.setDentry(dir, d.name, d.inodeId, d.type);
        for (const attr of attrs) this.cache.setAttrUnlessChanged(fence, attr);
        for (const { inodeId, snapshot } of xattrs ?? []) this.cache.setXattrsUnlessChanged(fence, inodeId, snapshot);
      }
      return byName;
    } catch (error) {
      this.names.abandonListing(ticket);
      this.logger?.debug({ dir, err: error }, 'listing a hot directory failed');
      return null;
    } finally {
      this.cache.closeFence(fence);
    }
  }

  private async getDentryOnly(parent: InodeId, name: string): Promise<LookupResult | null> {
    const dentry = await this.meta.getDentry(parent, name);
    return dentry === null ? null : { dentry };
  }

  /** Attributes of the named child, or null when absent. A dentry whose inode vanished is absent too. */
  private async childAttr(caller: Caller, parent: InodeAttr, name: string): Promise<InodeAttr | null> {
    const child = await this.lookupChild(caller, parent, name);
    if (child === null) return null;
    if (this.cache.getAttr(child.inodeId) === undefined) {
      // A name known without its attributes (a cached dentry outlived them, or a names-only listing): a miss as well.
      this.names.noteMiss(parent.inodeId, true);
      if (this.names.shouldList(parent.inodeId) === 'names-and-attrs') await this.listDirectory(parent.inodeId, 'names-and-attrs');
    }
    try {
      return await this.attrOf(child.inodeId);
    } catch (error) {
      if (error instanceof MetaError && error.status === MetaStatusCode.NOT_FOUND) {
        this.cache.dropDentry(parent.inodeId, name);
        return null;
      }
      throw error;
    }
  }

  private async walk(caller: Caller, names: readonly string[]): Promise<InodeAttr> {
    let current = await this.attrOf(ROOT_INODE_ID);
    for (const name of names) {
      const next = await this.childAttr(caller, current, name);
      if (next === null) failWith(Errno.ENOENT);
      current = next;
    }
    return current;
  }

  private async resolve(caller: Caller, path: string): Promise<InodeAttr> {
    const names = splitPath(path);
    if (typeof names === 'number') failWith(names);
    return this.walk(caller, names);
  }

  /** The parent directory of a path's last name, and the name (checked as storable). */
  private async resolveParent(caller: Caller, path: string): Promise<{ parent: InodeAttr; name: string }> {
    const split = splitParent(path);
    if (typeof split === 'number') failWith(split);
    check(checkName(split.name));
    const parent = await this.walk(caller, split.parent);
    if (parent.type !== FileType.Directory) failWith(Errno.ENOTDIR);
    return { parent, name: split.name };
  }

  private fileHandle(fh: number): FileHandle {
    const handle = this.files.get(fh);
    if (handle === undefined || handle.kind !== 'file') failWith(Errno.EBADF);
    return handle;
  }

  // ---- attributes ----

  private statOf(attr: InodeAttr): VfsStat {
    const open = this.files.openInode(attr.inodeId);
    let size = attr.length;
    if (attr.type === FileType.Symlink) size = Buffer.byteLength(attr.symlink, 'utf8');
    else if (open !== undefined) size = open.data.length();
    const mtime = open?.localMtime ?? attr.mtime;
    const ctime = open?.localMtime ?? attr.ctime;
    return {
      ino: attr.inodeId,
      mode: typeBits(attr.type) | (attr.mode & 0o7777),
      nlink: attr.nlink,
      uid: attr.uid,
      gid: attr.gid,
      rdev: attr.rdev,
      size,
      blksize: STAT_BLOCK_SIZE_BYTES,
      blocks: Math.ceil(size / 512),
      atime: attr.atime,
      mtime,
      ctime,
    };
  }

  getattr(caller: Caller, path: string): Promise<Result<VfsStat>> {
    return this.run('getattr', async () => this.statOf(await this.resolve(caller, path)));
  }

  /** fstat: by handle, so it works on unlinked-but-open files. */
  fgetattr(_caller: Caller, fh: number): Promise<Result<VfsStat>> {
    return this.run('fgetattr', async () => {
      const handle = this.files.get(fh);
      if (handle === undefined) failWith(Errno.EBADF);
      return this.statOf(await this.attrOf(handle.inodeId));
    });
  }

  access(caller: Caller, path: string, mask: number): Promise<Result<void>> {
    return this.run('access', async () => {
      if (mask < 0 || mask > 7) failWith(Errno.EINVAL);
      check(checkAccess(await this.resolve(caller, path), caller, mask));
    });
  }

  statfs(_caller: Caller): Promise<Result<VfsStatFs>> {
    return this.run('statfs', async () => {
      const stats = await this.meta.statFs();
      // An unlimited fs shows 1 PiB and 2^32 inodes so df and installers see room.
      const totalBytes = stats.capacityBytes > 0 ? stats.capacityBytes : 2 ** 50;
      const totalInodes = stats.inodeLimit > 0 ? stats.inodeLimit : 2 ** 32 - 1;
      return {
        totalBytes: Math.max(totalBytes, stats.usedBytes),
        freeBytes: Math.max(0, totalBytes - stats.usedBytes),
        totalInodes: Math.max(totalInodes, stats.inodeCount),
        freeInodes: Math.max(0, totalInodes - stats.inodeCount),
        nameBytesMax: NAME_BYTES_MAX,
        blockSizeBytes: stats.blockSizeBytes,
      };
    });
  }

  /**
   * Applies an attribute update. The cached copy is patched to what the
   * metaserver made of it when the returned version shows this update was
   * the only change since the copy was read, and dropped otherwise (the
   * data path's commits and other clients' changes also move the version).
   * So the getattr libfuse sends after every chmod/chown/utimens/link, and
   * the path walk of the next setattr (tar, cp -p), need no GetInode.
   */
  private async update(inodeId: InodeId, update: InodeUpdate): Promise<void> {
    let version: number;
    try {
      version = await this.meta.updateInode(inodeId, update);
    } catch (error) {
      this.cache.dropAttr(inodeId);
      throw error;
    }
    this.cache.patchAttr(inodeId, (attr) => (isOnlyChangeSince(attr, version) ? attrAfterUpdate(attr, update, version) : null));
  }

  chmod(caller: Caller, path: string, mode: number): Promise<Result<void>> {
    return this.run('chmod', async () => {
      const attr = await this.resolve(caller, path);
      const result = chmodResult({ mode: typeBits(attr.type) | attr.mode, uid: attr.uid, gid: attr.gid }, caller, mode);
      check(result.errno);
      await this.update(attr.inodeId, { mode: result.mode, ctime: this.now() });
    });
  }

  chown(caller: Caller, path: string, uid: number, gid: number): Promise<Result<void>> {
    return this.run('chown', async () => {
      const attr = await this.resolve(caller, path);
      const result = chownResult({ mode: typeBits(attr.type) | attr.mode, uid: attr.uid, gid: attr.gid }, caller, uid, gid);
      check(result.errno);
      await this.update(attr.inodeId, { uid: result.uid, gid: result.gid, mode: result.mode, ctime: this.now() });
    });
  }

  utimens(caller: Caller, path: string, atime: TimeSetting, mtime: TimeSetting): Promise<Result<void>> {
    return this.run('utimens', async () => {
      const attr = await this.resolve(caller, path);
      const needs = utimensPermission(atime, mtime);
      // Both omitted: nothing changes, not even ctime (as Linux utimensat).
      if (needs === 'none') return;
      check(checkSetTimes(attr, caller, needs === 'owner-or-write'));
      const now = this.now();
      const newAtime = resolveTimeSetting(atime, now);
      const newMtime = resolveTimeSetting(mtime, now);
      const open = this.files.openInode(attr.inodeId);
      // An explicit mtime wins over the time of buffered writes (tar, cp -p set it after writing).
      if (open !== undefined && newMtime !== undefined) {
        await open.data.flush();
        open.localMtime = null;
      }
      const update: { atime?: Timespec; mtime?: Timespec; ctime: Timespec } = { ctime: now };
      if (newAtime !== undefined) update.atime = newAtime;
      if (newMtime !== undefined) update.mtime = newMtime;
      await this.update(attr.inodeId, update);
    });
  }

  // ---- truncate ----

  private async truncateInode(caller: Caller, attr: InodeAttr, length: number): Promise<void> {
    if (!Number.isSafeInteger(length) || length < 0) failWith(Errno.EINVAL);
    if (attr.type === FileType.Directory) failWith(Errno.EISDIR);
    if (attr.type !== FileType.File) failWith(Errno.EINVAL);
    const open = this.files.openInode(attr.inodeId);
    if (open !== undefined) {
      await open.data.truncate(length);
      open.localMtime = null;
    } else {
      const data = await this.openDataBriefly(attr);
      try {
        await data.truncate(length);
      } finally {
        await data.close();
      }
    }
    const now = this.now();
    const mode = modeAfterWrite(attr.mode, caller);
    const update: { mtime: Timespec; ctime: Timespec; mode?: number } = { mtime: now, ctime: now };
    if (mode !== attr.mode) update.mode = mode;
    await this.update(attr.inodeId, update);
  }

  /** A FileData for one truncate of a file no handle has open. */
  private openDataBriefly(attr: InodeAttr): Promise<FileData> {
    return this.data.open(attr.inodeId, attr.length);
  }

  truncate(caller: Caller, path: string, length: number): Promise<Result<void>> {
    return this.run('truncate', async () => {
      const attr = await this.resolve(caller, path);
      if (attr.type === FileType.Directory) failWith(Errno.EISDIR);
      check(checkAccess(attr, caller, W_OK));
      await this.truncateInode(caller, await this.freshAttrOf(attr.inodeId), length);
    });
  }

  ftruncate(caller: Caller, fh: number, length: number): Promise<Result<void>> {
    return this.run('ftruncate', async () => {
      const handle = this.fileHandle(fh);
      if (!handle.isWritable) failWith(Errno.EINVAL);
      await this.truncateInode(caller, await this.freshAttrOf(handle.inodeId), length);
    });
  }

  // ---- creating names ----

  /**
   * Creates an inode and its dentry (inode first). If the name got taken
   * meanwhile, the inode is released again (nlink to 0) and EEXIST raised.
   */
  private async createNode(
    caller: Caller,
    parent: InodeAttr,
    name: string,
    type: FileType,
    mode: number,
    rdev: number,
    symlink: string,
    whileLinking?: (created: InodeAttr) => Promise<void>,
  ): Promise<InodeAttr> {
    check(checkAccess(parent, caller, W_OK | X_OK));
    if ((await this.lookupChild(caller, parent, name)) !== null) failWith(Errno.EEXIST);
    const owner = newInodeOwnership({ mode: typeBits(FileType.Directory) | parent.mode, uid: parent.uid, gid: parent.gid }, caller, type, mode);
    const time = this.now();
    const request = { type, mode: owner.mode, uid: owner.uid, gid: owner.gid, rdev, symlink, parent: parent.inodeId, time };
    // Not directories: placed near their parent, every directory would end up where the root is.
    if (type !== FileType.Directory && this.meta.createLinked !== undefined) {
      const linked = await this.createLinked(parent.inodeId, name, request);
      if (linked !== null) {
        this.names.added(parent.inodeId, name);
        this.parentChanged(parent.inodeId, time, 0);
        this.cacheCreated(linked);
        this.cache.setDentry(parent.inodeId, name, linked.inodeId, type);
        await whileLinking?.(linked);
        return linked;
      }
    }
    const attr = await this.meta.createInode(request);
    assert(attr.type === type && attr.inodeId > 0, 'created inode has the type asked for');
    // Work that needs only the inode runs beside CreateDentry; on failure the caller undoes it.
    const beside = whileLinking?.(attr) ?? Promise.resolve();
    beside.catch(() => undefined);
    try {
      await this.meta.createDentry({ parentInodeId: parent.inodeId, name, inodeId: attr.inodeId, type }, time);
    } catch (error) {
      this.names.forget(parent.inodeId);
      await beside.catch(() => undefined);
      // Give the orphan back: nlink 0 queues it for deletion (DESIGN §8).
      const nlinkDelta = type === FileType.Directory ? -2 : -1;
      await this.meta.updateInode(attr.inodeId, { nlinkDelta, ctime: time }).catch((rollbackError: unknown) => {
        this.logger?.warn({ inodeId: attr.inodeId, err: rollbackError }, 'orphan inode left for fsck');
      });
      this.cache.dropAttr(parent.inodeId);
      throw error;
    } finally {
      this.cache.dropDentry(parent.inodeId, name);
    }
    this.names.added(parent.inodeId, name);
    this.parentChanged(parent.inodeId, time, type === FileType.Directory ? 1 : 0);
    this.cacheCreated(attr);
    this.cache.setDentry(parent.inodeId, name, attr.inodeId, type);
    await beside;
    return attr;
  }

  /**
   * A new inode as created: its attributes, and no extended attributes (it
   * was created with none), so the kernel's security.capability check on
   * the first write is answered without an RPC.
   */
  private cacheCreated(attr: InodeAttr): void {
    this.cache.setAttr(attr);
    this.cache.setXattrs(attr.inodeId, { xattrs: new Map(), version: attr.version });
  }

  /** meta.createLinked (inode and name in one change); null = use the two calls. */
  private async createLinked(parentId: InodeId, name: string, request: CreateInodeRequest): Promise<InodeAttr | null> {
    assert(this.meta.createLinked !== undefined, 'offered by the metadata layer');
    try {
      const attr = await this.meta.createLinked(request, name);
      assert(attr === null || (attr.type === request.type && attr.inodeId > 0), 'created inode has the type asked for');
      return attr;
    } catch (error) {
      this.names.forget(parentId);
      this.cache.dropAttr(parentId);
      throw error;
    } finally {
      this.cache.dropDentry(parentId, name);
    }
  }

  /**
   * A dentry change in `parent` succeeded: the metaserver set the parent's
   * mtime/ctime to `time` and moved its nlink by `nlinkDelta` in the same
   * apply (MetaApi contract), so a cached copy is patched rather than
   * dropped; the next path walk through the directory needs no RPC.
   */
  private parentChanged(parentId: InodeId, time: Timespec, nlinkDelta: number): void {
    this.cache.patchAttr(parentId, (attr) => ({ ...attr, mtime: time, ctime: time, nlink: attr.nlink + nlinkDelta }));
  }

  mknod(caller: Caller, path: string, mode: number, rdev: number): Promise<Result<void>> {
    return this.run('mknod', async () => {
      const type = fileTypeOfMode(mode) ?? ((mode & 0o170000) === 0 ? FileType.File : null);
      check(checkMknodType(type, caller));
      assert(type !== null, 'checked above');
      const { parent, name } = await this.resolveParent(caller, path);
      const isDevice = type === FileType.Char || type === FileType.Block;
      await this.createNode(caller, parent, name, type, mode, isDevice ? rdev : 0, '');
    });
  }

  mkdir(caller: Caller, path: string, mode: number): Promise<Result<void>> {
    return this.run('mkdir', async () => {
      const { parent, name } = await this.resolveParent(caller, path);
      await this.createNode(caller, parent, name, FileType.Directory, mode & 0o7777, 0, '');
    });
  }

  symlink(caller: Caller, target: string, path: string): Promise<Result<void>> {
    return this.run('symlink', async () => {
      if (target.length === 0) failWith(Errno.ENOENT);
      if (Buffer.byteLength(target, 'utf8') > SYMLINK_BYTES_MAX) failWith(Errno.ENAMETOOLONG);
      const { parent, name } = await this.resolveParent(caller, path);
      await this.createNode(caller, parent, name, FileType.Symlink, 0o777, 0, target);
    });
  }

  readlink(caller: Caller, path: string): Promise<Result<string>> {
    return this.run('readlink', async () => {
      const attr = await this.resolve(caller, path);
      if (attr.type !== FileType.Symlink) failWith(Errno.EINVAL);
      return attr.symlink;
    });
  }

  link(caller: Caller, existingPath: string, newPath: string): Promise<Result<void>> {
    return this.run('link', async () => {
      const source = await this.resolve(caller, existingPath);
      if (source.type === FileType.Directory) failWith(Errno.EPERM);
      const { parent, name } = await this.resolveParent(caller, newPath);
      check(checkAccess(parent, caller, W_OK | X_OK));
      if ((await this.lookupChild(caller, parent, name)) !== null) failWith(Errno.EEXIST);
      const time = this.now();
      // nlink first: a crash before the dentry leaves a count too high (a leak), never too low.
      await this.update(source.inodeId, { nlinkDelta: 1, addParents: [parent.inodeId], ctime: time });
      try {
        await this.meta.createDentry({ parentInodeId: parent.inodeId, name, inodeId: source.inodeId, type: source.type }, time);
      } catch (error) {
        this.names.forget(parent.inodeId);
        this.cache.dropAttr(parent.inodeId);
        await this.update(source.inodeId, { nlinkDelta: -1, removeParents: [parent.inodeId], ctime: time });
        throw error;
      } finally {
        this.cache.dropDentry(parent.inodeId, name);
      }
      this.names.added(parent.inodeId, name);
      this.parentChanged(parent.inodeId, time, 0);
      this.cache.setDentry(parent.inodeId, name, source.inodeId, source.type);
    });
  }

  // ---- removing names ----

  /** Removes a name after the permission checks; the dentry goes first, then the link count. */
  private async removeName(caller: Caller, path: string, isRmdir: boolean): Promise<void> {
    const { parent, name } = await this.resolveParent(caller, path);
    const victim = await this.childAttr(caller, parent, name);
    if (victim === null) failWith(Errno.ENOENT);
    const isDirectory = victim.type === FileType.Directory;
    if (isRmdir && !isDirectory) failWith(Errno.ENOTDIR);
    if (!isRmdir && isDirectory) failWith(Errno.EISDIR);
    check(checkDeleteFromDirectory(parent, victim, caller));
    if (isDirectory) {
      if (victim.inodeId === ROOT_INODE_ID) failWith(Errno.EBUSY);
      const entries = await this.meta.listDentry(victim.inodeId, '', 1);
      if (entries.length > 0) failWith(Errno.ENOTEMPTY);
    }
    const time = this.now();
    let isLinkDropped = false;
    try {
      // One change where the metaserver holds both (the link count follows the name), else two.
      if (this.meta.deleteDentryAndLink !== undefined) isLinkDropped = await this.meta.deleteDentryAndLink(parent.inodeId, name, victim.type, time);
      else await this.meta.deleteDentry(parent.inodeId, name, victim.type, time);
    } catch (error) {
      this.names.forget(parent.inodeId);
      this.cache.dropAttr(parent.inodeId);
      throw error;
    } finally {
      this.cache.dropDentry(parent.inodeId, name);
    }
    this.names.removed(parent.inodeId, name);
    this.parentChanged(parent.inodeId, time, isDirectory ? -1 : 0);
    this.cache.setNegative(parent.inodeId, name);
    if (isLinkDropped) this.cache.dropAttr(victim.inodeId);
    else await this.update(victim.inodeId, { nlinkDelta: isDirectory ? -2 : -1, removeParents: [parent.inodeId], ctime: time });
  }

  unlink(caller: Caller, path: string): Promise<Result<void>> {
    return this.run('unlink', () => this.removeName(caller, path, false));
  }

  rmdir(caller: Caller, path: string): Promise<Result<void>> {
    return this.run('rmdir', () => this.removeName(caller, path, true));
  }

  // ---- rename ----

  /** EINVAL if `directory` is `ancestor` or lies below it (moving a directory into itself). */
  private async checkNotInside(ancestor: InodeId, directory: InodeAttr): Promise<void> {
    let current = directory;
    for (let depth = 0; depth < DIRECTORY_DEPTH_MAX; depth++) {
      if (current.inodeId === ancestor) failWith(Errno.EINVAL);
      if (current.inodeId === ROOT_INODE_ID) return;
      const parentId = current.parents[0];
      assert(parentId !== undefined && parentId > 0, 'a directory other than the root has a parent');
      current = await this.freshAttrOf(parentId);
    }
    failWith(Errno.ELOOP);
  }

  rename(caller: Caller, sourcePath: string, targetPath: string): Promise<Result<void>> {
    return this.run('rename', async () => {
      // The server checks what our lookups saw (src inode, dst inode or absence). A cached
      // lookup another client made stale fails that check (NOT_FOUND / EXIST / TX_CONFLICT)
      // having changed nothing, and its entries were dropped: look again and retry, as
      // rename(2) acts on whatever the names are now.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.renameOnce(caller, sourcePath, targetPath);
        } catch (error) {
          const isStaleView = error instanceof MetaError && STALE_RENAME_STATUSES.has(error.status);
          if (!isStaleView || attempt >= RENAME_ATTEMPTS) throw error;
        }
      }
    });
  }

  private async renameOnce(caller: Caller, sourcePath: string, targetPath: string): Promise<void> {
    {
      const source = await this.resolveParent(caller, sourcePath);
      const target = await this.resolveParent(caller, targetPath);
      const moved = await this.childAttr(caller, source.parent, source.name);
      if (moved === null) failWith(Errno.ENOENT);
      const replaced = await this.childAttr(caller, target.parent, target.name);
      // Two names of one inode: POSIX says do nothing and succeed.
      if (replaced !== null && replaced.inodeId === moved.inodeId) return;
      check(checkDeleteFromDirectory(source.parent, moved, caller));
      check(checkAccess(target.parent, caller, W_OK | X_OK));
      if (replaced !== null) check(checkDeleteFromDirectory(target.parent, replaced, caller));
      const isDirectory = moved.type === FileType.Directory;
      if (isDirectory) {
        if (replaced !== null && replaced.type !== FileType.Directory) failWith(Errno.ENOTDIR);
        await this.checkNotInside(moved.inodeId, target.parent);
        // Its ".." changes: that needs write permission on the directory itself.
        if (source.parent.inodeId !== target.parent.inodeId) check(checkAccess(moved, caller, W_OK));
      } else if (replaced !== null && replaced.type === FileType.Directory) {
        failWith(Errno.EISDIR);
      }
      if (replaced !== null && replaced.type === FileType.Directory) {
        const entries = await this.meta.listDentry(replaced.inodeId, '', 1);
        if (entries.length > 0) failWith(Errno.ENOTEMPTY);
      }
      try {
        await this.meta.rename({
          srcParent: source.parent.inodeId,
          srcName: source.name,
          srcInodeId: moved.inodeId,
          srcType: moved.type,
          dstParent: target.parent.inodeId,
          dstName: target.name,
          expectedDstInodeId: replaced?.inodeId ?? 0,
          ...(replaced !== null ? { expectedDstType: replaced.type } : {}),
          time: this.now(),
        });
      } catch (error) {
        this.names.forget(source.parent.inodeId);
        this.names.forget(target.parent.inodeId);
        throw error;
      } finally {
        this.cache.dropDentry(source.parent.inodeId, source.name);
        this.cache.dropDentry(target.parent.inodeId, target.name);
        this.cache.dropAttr(source.parent.inodeId);
        this.cache.dropAttr(target.parent.inodeId);
        this.cache.dropAttr(moved.inodeId);
        if (replaced !== null) this.cache.dropAttr(replaced.inodeId);
      }
      this.names.removed(source.parent.inodeId, source.name);
      this.names.added(target.parent.inodeId, target.name);
      this.cache.setNegative(source.parent.inodeId, source.name);
      this.cache.setDentry(target.parent.inodeId, target.name, moved.inodeId, moved.type);
    }
  }

  // ---- directories ----

  opendir(caller: Caller, path: string, flags: number): Promise<Result<number>> {
    return this.run('opendir', async () => {
      const attr = await this.resolve(caller, path);
      if (attr.type !== FileType.Directory) failWith(Errno.ENOTDIR);
      check(checkAccess(attr, caller, accessMaskForOpen(flags, OpenFlags.O_ACCMODE, OpenFlags.O_WRONLY, OpenFlags.O_RDWR, OpenFlags.O_TRUNC)));
      return this.files.addDirectory(attr.inodeId).fh;
    });
  }

  /**
   * All names of a directory (without "." and ".."), with their stats when
   * they could be fetched in the same pass: pages of ListDentry, then one
   * BatchGetInodeAttr (and BatchGetXAttr when offered) per page, which also
   * fill the caches so the `stat` and `getxattr` that follow (ls -l) are
   * answered locally.
   */
  readdir(caller: Caller, path: string): Promise<Result<{ names: string[]; stats: VfsStat[] }>> {
    return this.run('readdir', async () => {
      const directory = await this.resolve(caller, path);
      if (directory.type !== FileType.Directory) failWith(Errno.ENOTDIR);
      check(checkAccess(directory, caller, R_OK));
      const names: string[] = [];
      const stats: VfsStat[] = [];
      let last = '';
      for (let pages = 0; names.length < READDIR_ENTRIES_MAX; pages++) {
        assert(pages <= READDIR_ENTRIES_MAX / READDIR_PAGE_ENTRIES, 'readdir pages are bounded');
        const page = await this.meta.listDentry(directory.inodeId, last, READDIR_PAGE_ENTRIES);
        if (page.length === 0) break;
        const ids = page.map((d) => d.inodeId);
        const [attrList, xattrList] = await Promise.all([this.meta.batchGetInodeAttr(ids), this.meta.batchGetXattrs?.(ids)]);
        const attrs = new Map(attrList.map((a) => [a.inodeId, a]));
        for (const { inodeId, snapshot } of xattrList ?? []) this.cache.setXattrs(inodeId, snapshot);
        // Progress guard: a page must move past `last`, or the loop would never end.
        assert(page[page.length - 1]!.name !== last, 'ListDentry resumes after `last`');
        for (const dentry of page) {
          last = dentry.name;
          const attr = attrs.get(dentry.inodeId);
          // Unlinked between the two calls: leave it out, as a later readdir would.
          if (attr === undefined) continue;
          this.cache.setDentry(directory.inodeId, dentry.name, dentry.inodeId, dentry.type);
          this.cache.setAttr(attr);
          names.push(dentry.name);
          stats.push(this.statOf(attr));
        }
        if (page.length < READDIR_PAGE_ENTRIES) break;
      }
      return { names, stats };
    });
  }

  releasedir(_caller: Caller, fh: number): Promise<Result<void>> {
    return this.run('releasedir', async () => {
      const handle = this.files.get(fh);
      if (handle === undefined || handle.kind !== 'directory') failWith(Errno.EBADF);
      await this.files.release(fh);
    });
  }

  /** Directory entries are committed by the metaserver before each call returns: nothing to sync. */
  fsyncdir(_caller: Caller, fh: number): Promise<Result<void>> {
    return this.run('fsyncdir', async () => {
      const handle = this.files.get(fh);
      if (handle === undefined) failWith(Errno.EBADF);
    });
  }

  // ---- files ----

  private async openAttr(caller: Caller, attr: InodeAttr, flags: number, isNew: boolean, chunks?: ReadonlyMap<number, readonly ChunkInfo[]>): Promise<FileHandle> {
    if (attr.type === FileType.Directory) {
      if ((flags & OpenFlags.O_ACCMODE) !== OpenFlags.O_RDONLY) failWith(Errno.EISDIR);
    }
    if ((flags & OpenFlags.O_DIRECTORY) !== 0 && attr.type !== FileType.Directory) failWith(Errno.ENOTDIR);
    if (!isNew) check(checkAccess(attr, caller, accessMaskForOpen(flags, OpenFlags.O_ACCMODE, OpenFlags.O_WRONLY, OpenFlags.O_RDWR, OpenFlags.O_TRUNC)));
    const accessMode = flags & OpenFlags.O_ACCMODE;
    const handle = await this.files.addFile(attr.inodeId, attr.length, {
      flags,
      isReadable: accessMode === OpenFlags.O_RDONLY || accessMode === OpenFlags.O_RDWR,
      isWritable: accessMode === OpenFlags.O_WRONLY || accessMode === OpenFlags.O_RDWR,
      isAppend: (flags & OpenFlags.O_APPEND) !== 0,
    }, chunks);
    if ((flags & OpenFlags.O_TRUNC) !== 0 && handle.isWritable && attr.type === FileType.File && !isNew) {
      try {
        await this.truncateInode(caller, attr, 0);
      } catch (error) {
        await this.files.release(handle.fh);
        throw error;
      }
    }
    return handle;
  }

  /** open(2) of an existing file. Attributes are re-read (close-to-open, DESIGN §6). */
  open(caller: Caller, path: string, flags: number): Promise<Result<number>> {
    return this.run('open', async () => {
      const target = await this.openTarget(caller, path);
      return (await this.openAttr(caller, target.attr, flags, false, target.chunks ?? undefined)).fh;
    });
  }

  /**
   * Fresh attributes of what `path` names now. A cached name whose inode is
   * gone or has no links left was replaced or removed by another client
   * (the atomic-save pattern: write a temporary file, rename it over): the
   * name is looked up again once, so the open sees the new file at no extra
   * cost in the common case.
   */
  private async openTarget(caller: Caller, path: string): Promise<InodeWithChunks> {
    const { parent, name } = await this.resolveParentOrRoot(caller, path);
    if (parent === null) return { attr: await this.freshAttrOf(ROOT_INODE_ID), chunks: null };
    for (let attempt = 0; attempt < 2; attempt++) {
      const child = await this.lookupChild(caller, parent, name);
      if (child === null) failWith(Errno.ENOENT);
      const fresh = await this.freshAttrForOpen(child.inodeId).catch((error: unknown) => {
        if (error instanceof MetaError && error.status === MetaStatusCode.NOT_FOUND) return null;
        throw error;
      });
      if (fresh !== null && (fresh.attr.nlink > 0 || attempt === 1)) return fresh;
      this.cache.dropDentry(parent.inodeId, name);
    }
    return failWith(Errno.ENOENT);
  }

  /**
   * freshAttrOf for an open: when the attributes this client last saw show a
   * small regular file, the same GetInode brings its chunk lists (bounded by
   * OPEN_CHUNK_RECORDS_MAX), so the first read needs no GetChunkInfo. They
   * are the lists current at this open (close-to-open). Anything else (no
   * cached attributes, a large file, a directory) reads attributes only and
   * the data path loads lists lazily, as before.
   */
  private async freshAttrForOpen(inodeId: InodeId): Promise<InodeWithChunks> {
    const seen = this.cache.getAttr(inodeId);
    const withChunks = this.meta.getInodeAttrWithChunks;
    if (withChunks === undefined || seen === undefined || seen.type !== FileType.File || seen.length > OPEN_CHUNKS_FILE_BYTES_MAX) {
      return { attr: await this.freshAttrOf(inodeId), chunks: null };
    }
    this.cache.dropAttr(inodeId);
    const fresh = await withChunks.call(this.meta, inodeId, OPEN_CHUNK_RECORDS_MAX);
    assert(fresh.attr.inodeId === inodeId, 'metadata returned the inode asked for');
    this.cache.setAttr(fresh.attr);
    return fresh.attr.type === FileType.File ? fresh : { attr: fresh.attr, chunks: null };
  }

  /** Like resolveParent, but "/" has no parent (null). */
  private async resolveParentOrRoot(caller: Caller, path: string): Promise<{ parent: InodeAttr | null; name: string }> {
    const names = splitPath(path);
    if (typeof names === 'number') failWith(names);
    const name = names.pop();
    if (name === undefined) return { parent: null, name: '' };
    const parent = await this.walk(caller, names);
    if (parent.type !== FileType.Directory) failWith(Errno.ENOTDIR);
    return { parent, name };
  }

  /** open(2) with O_CREAT: creates the file unless it exists (EEXIST with O_EXCL). */
  create(caller: Caller, path: string, mode: number, flags: number): Promise<Result<number>> {
    return this.run('create', async () => {
      const { parent, name } = await this.resolveParent(caller, path);
      for (let attempt = 0; attempt < 2; attempt++) {
        const existing = await this.childAttr(caller, parent, name);
        if (existing !== null) {
          if ((flags & OpenFlags.O_EXCL) !== 0) failWith(Errno.EEXIST);
          return (await this.openAttr(caller, await this.freshAttrOf(existing.inodeId), flags, false)).fh;
        }
        let handle: FileHandle | null = null;
        try {
          // The open (its session registration is an MDS round trip) runs beside CreateDentry.
          const openBeside = async (created: InodeAttr): Promise<void> => {
            handle = await this.openAttr(caller, created, flags, true);
          };
          await this.createNode(caller, parent, name, FileType.File, mode & 0o7777, 0, '', openBeside);
          assert(handle !== null, 'the new file was opened');
          return (handle as FileHandle).fh;
        } catch (error) {
          if (handle !== null) await this.files.release((handle as FileHandle).fh).catch(() => undefined);
          // Lost a race with another creator: open theirs (without O_EXCL).
          const isTaken = (error instanceof VfsFailure && error.errno === Errno.EEXIST) || (error instanceof MetaError && error.status === MetaStatusCode.EXIST);
          if (!isTaken || (flags & OpenFlags.O_EXCL) !== 0) throw isTaken ? new VfsFailure(Errno.EEXIST) : error;
          this.cache.dropDentry(parent.inodeId, name);
        }
      }
      return failWith(Errno.EEXIST);
    });
  }

  read(_caller: Caller, fh: number, offset: number, length: number, into: Buffer): Promise<Result<number>> {
    return this.run('read', async () => {
      const handle = this.fileHandle(fh);
      if (!handle.isReadable) failWith(Errno.EBADF);
      if (!Number.isSafeInteger(offset) || offset < 0) failWith(Errno.EINVAL);
      assert(length >= 0 && length <= into.length, 'read fits its buffer');
      const count = await handle.open.data.read(offset, length, into);
      assert(count >= 0 && count <= length, 'FileData.read returns at most what was asked');
      this.touchAtime(handle.open);
      return count;
    });
  }

  /**
   * Under the atime mode's rule, at most once per open inode, and off the
   * read's path: the atime write (a Raft entry) never delays data. Best
   * effort: a failure is logged, as a lost atime update harms no one.
   */
  private touchAtime(open: OpenInode): void {
    if (open.hasUpdatedAtime || this.atimeMode === 'noatime') return;
    open.hasUpdatedAtime = true;
    const now = this.now();
    this.attrOf(open.inodeId)
      .then((attr) => (shouldUpdateAtime(this.atimeMode, attr, now) ? this.update(open.inodeId, { atime: now }) : undefined))
      .catch((error: unknown) => this.logger?.debug({ inodeId: open.inodeId, err: error }, 'atime update failed'));
  }

  write(caller: Caller, fh: number, offset: number, data: Buffer): Promise<Result<number>> {
    return this.run('write', async () => {
      const handle = this.fileHandle(fh);
      if (!handle.isWritable) failWith(Errno.EBADF);
      if (!Number.isSafeInteger(offset) || offset < 0) failWith(Errno.EINVAL);
      const open = handle.open;
      // No await between reading the length and handing the write over: appends stay ordered.
      const position = handle.isAppend ? open.data.length() : offset;
      const isFirstLocalWrite = open.localMtime === null;
      open.localMtime = this.now();
      await open.data.write(position, data);
      if (isFirstLocalWrite && !isRoot(caller)) await this.dropPrivilegeBits(open.inodeId, caller);
      return data.length;
    });
  }

  private async dropPrivilegeBits(inodeId: InodeId, caller: Caller): Promise<void> {
    const attr = await this.attrOf(inodeId);
    const mode = modeAfterWrite(attr.mode, caller);
    if (mode !== attr.mode) await this.update(inodeId, { mode, ctime: this.now() });
  }

  /** close(2) of one descriptor: flush so another client's open sees the data (close-to-open). */
  flush(_caller: Caller, fh: number): Promise<Result<void>> {
    return this.run('flush', async () => {
      const handle = this.fileHandle(fh);
      if (handle.isWritable) await this.flushOpen(handle.open);
    });
  }

  private async flushOpen(open: OpenInode): Promise<void> {
    const mtime = open.localMtime;
    const isMtimeCommitted = await open.data.flush(mtime ?? undefined);
    await this.commitLocalMtime(open, mtime, isMtimeCommitted);
  }

  /**
   * Records the time of the writes (read before the flush: `mtime`) after
   * the data it describes is committed, never beside it (another client
   * must not see the new time with the old data). The data path usually
   * commits it with the data's last AppendChunkInfo (`isCommitted`); an
   * UpdateInode sets it otherwise (nothing left to commit, write-back).
   */
  private async commitLocalMtime(open: OpenInode, mtime: Timespec | null, isCommitted: boolean): Promise<void> {
    if (mtime === null || isCommitted) {
      // The data path changed the length, and maybe the times, behind the cached copy.
      this.cache.dropAttr(open.inodeId);
    } else {
      await this.update(open.inodeId, { mtime, ctime: mtime });
    }
    // A write that came in meanwhile keeps its own, newer time.
    if (mtime !== null && open.localMtime === mtime) open.localMtime = null;
  }

  fsync(_caller: Caller, fh: number, _isDataOnly: boolean): Promise<Result<void>> {
    return this.run('fsync', async () => {
      const open = this.fileHandle(fh).open;
      const mtime = open.localMtime;
      const isMtimeCommitted = await open.data.fsync(mtime ?? undefined);
      await this.commitLocalMtime(open, mtime, isMtimeCommitted);
    });
  }

  release(_caller: Caller, fh: number): Promise<Result<void>> {
    return this.run('release', async () => {
      const handle: Handle | undefined = this.files.get(fh);
      if (handle === undefined || handle.kind !== 'file') failWith(Errno.EBADF);
      // The kernel flushes before release; a handle released without (closeAll) is flushed here.
      if (handle.isWritable && handle.open.localMtime !== null) await this.flushOpen(handle.open);
      await this.files.release(fh);
      // The data path may have committed a new length behind the cached copy; a reader changed nothing.
      if (handle.isWritable) this.cache.dropAttr(handle.inodeId);
    });
  }

  /** Flushes every open file (before unmount). Returns the first errno met, or 0. */
  async flushAll(): Promise<number> {
    let firstErrno = 0;
    for (const open of this.files.openInodes()) {
      const result = await this.run('flushAll', () => this.flushOpen(open));
      if (!result.ok && firstErrno === 0) firstErrno = result.errno;
    }
    return firstErrno;
  }

  /** Releases every handle (flushing files); after unmount, when no more requests come. */
  async closeAll(): Promise<number> {
    let firstErrno = 0;
    for (let fh = this.files.anyHandle(); fh !== undefined; fh = this.files.anyHandle()) {
      const handle = fh;
      const result = await this.run('closeAll', async () => {
        await this.files.release(handle);
      });
      if (!result.ok && firstErrno === 0) firstErrno = result.errno;
    }
    return firstErrno;
  }

  // ---- extended attributes ----

  setxattr(caller: Caller, path: string, name: string, value: Buffer, flags: number): Promise<Result<void>> {
    return this.run('setxattr', async () => {
      if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0 || flags === (XATTR_CREATE | XATTR_REPLACE)) failWith(Errno.EINVAL);
      if (value.length > XATTR_VALUE_BYTES_MAX) failWith(Errno.E2BIG);
      const attr = await this.resolve(caller, path);
      check(checkXattrAccess(attr, caller, name, true));
      await this.updateXattrs(attr.inodeId, (xattrs) => {
        if ((flags & XATTR_CREATE) !== 0 && xattrs.has(name)) failWith(Errno.EEXIST);
        if ((flags & XATTR_REPLACE) !== 0 && !xattrs.has(name)) failWith(Errno.ENODATA);
        return { setXattrs: new Map([[name, Uint8Array.from(value)]]) };
      });
    });
  }

  /**
   * Read (fresh, never from the cache), decide, write conditionally on the
   * version read; retried (bounded) when another writer won.
   */
  private async updateXattrs(inodeId: InodeId, decide: (xattrs: ReadonlyMap<string, Uint8Array>) => InodeUpdate): Promise<void> {
    this.cache.dropXattrs(inodeId);
    for (let attempt = 0; attempt < XATTR_UPDATE_ATTEMPTS; attempt++) {
      const snapshot = await this.meta.getXattrs(inodeId);
      const update = { ...decide(snapshot.xattrs), ctime: this.now(), expectedVersion: snapshot.version };
      try {
        await this.update(inodeId, update);
        return;
      } catch (error) {
        if (!(error instanceof MetaError && error.status === MetaStatusCode.VERSION_MISMATCH)) throw error;
      } finally {
        this.cache.dropXattrs(inodeId);
      }
    }
    failWith(Errno.EAGAIN);
  }

  private async xattrsOf(inodeId: InodeId): Promise<ReadonlyMap<string, Uint8Array>> {
    const cached = this.cache.getXattrs(inodeId);
    if (cached !== undefined) return cached.xattrs;
    const snapshot = await this.meta.getXattrs(inodeId);
    this.cache.setXattrs(inodeId, snapshot);
    return snapshot.xattrs;
  }

  getxattr(caller: Caller, path: string, name: string): Promise<Result<Buffer>> {
    return this.run('getxattr', async () => {
      const attr = await this.resolve(caller, path);
      check(checkXattrAccess(attr, caller, name, false));
      const value = (await this.xattrsOf(attr.inodeId)).get(name);
      if (value === undefined) failWith(Errno.ENODATA);
      return Buffer.from(value);
    });
  }

  listxattr(caller: Caller, path: string): Promise<Result<string[]>> {
    return this.run('listxattr', async () => {
      const attr = await this.resolve(caller, path);
      const names = [...(await this.xattrsOf(attr.inodeId)).keys()];
      // trusted.* is invisible to everyone but root, as on Linux.
      return names.filter((name) => isRoot(caller) || !name.startsWith('trusted.')).sort();
    });
  }

  removexattr(caller: Caller, path: string, name: string): Promise<Result<void>> {
    return this.run('removexattr', async () => {
      const attr = await this.resolve(caller, path);
      check(checkXattrAccess(attr, caller, name, true));
      await this.updateXattrs(attr.inodeId, (xattrs) => {
        if (!xattrs.has(name)) failWith(Errno.ENODATA);
        return { removeXattrs: [name] };
      });
    });
  }
}
