/**
 * Open handles and open inodes.
 *
 * A handle (what FUSE calls fh) is one open(2) or opendir(2). All handles of
 * one inode share one `FileData` (so every handle of this client sees the
 * others' writes) and one registration with the session (DESIGN §8: an
 * unlinked inode lives on while any session holds it open). The first handle
 * opens both; the last release closes the FileData (flushing it) and
 * unregisters. Opening is asynchronous, so concurrent first opens of one
 * inode wait for the same promise instead of opening twice.
 *
 * Invariants: `handleCount` of an entry equals the number of live file
 * handles naming its inode; an entry exists only while that count > 0 or an
 * open is in flight.
 */
import { assert } from '../../src/common/assert.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import type { FileData, FileDataApi } from './data-api.js';
import type { InodeId, SessionOps, Timespec } from './meta-api.js';

export interface OpenInode {
  readonly inodeId: InodeId;
  readonly data: FileData;
  handleCount: number;
  /** Time of the last local write not yet reflected in metadata attrs; shown by getattr. */
  localMtime: Timespec | null;
  /** Whether a handle has read since open (atime is updated once per open, relatime). */
  hasUpdatedAtime: boolean;
}

export interface FileHandle {
  readonly kind: 'file';
  readonly fh: number;
  readonly inodeId: InodeId;
  readonly flags: number;
  readonly isReadable: boolean;
  readonly isWritable: boolean;
  readonly isAppend: boolean;
  readonly open: OpenInode;
}

export interface DirectoryHandle {
  readonly kind: 'directory';
  readonly fh: number;
  readonly inodeId: InodeId;
}

export type Handle = FileHandle | DirectoryHandle;

/** fuse-native treats fh 0 as "none", and fh travels as uint32. */
const FH_FIRST = 1;
const FH_LIMIT = 0xffff_fff0;
export const OPEN_HANDLES_MAX = 1_000_000;

export class OpenFiles {
  private readonly handles = new Map<number, Handle>();
  private readonly inodes = new Map<InodeId, OpenInode>();
  private readonly opening = new Map<InodeId, Promise<OpenInode>>();
  private nextFh = FH_FIRST;

  constructor(
    private readonly data: FileDataApi,
    private readonly session: SessionOps,
  ) {}

  get handleCount(): number {
    return this.handles.size;
  }

  get(fh: number): Handle | undefined {
    return this.handles.get(fh);
  }

  /** Some live handle number, or undefined when none is left. */
  anyHandle(): number | undefined {
    for (const fh of this.handles.keys()) return fh;
    return undefined;
  }

  /** The open state of an inode if any handle holds it. */
  openInode(inodeId: InodeId): OpenInode | undefined {
    return this.inodes.get(inodeId);
  }

  /** All inodes open now (for flushing at unmount). */
  openInodes(): OpenInode[] {
    return [...this.inodes.values()];
  }

  private allocateFh(): number {
    assert(this.handles.size < OPEN_HANDLES_MAX, 'too many open handles');
    // Bounded: at most OPEN_HANDLES_MAX numbers are taken, so a free one is near.
    for (let attempts = 0; attempts <= OPEN_HANDLES_MAX; attempts++) {
      const fh = this.nextFh;
      this.nextFh = fh + 1 >= FH_LIMIT ? FH_FIRST : fh + 1;
      if (!this.handles.has(fh)) return fh;
    }
    return assert(false, 'no free file handle') as never;
  }

  addDirectory(inodeId: InodeId): DirectoryHandle {
    const handle: DirectoryHandle = { kind: 'directory', fh: this.allocateFh(), inodeId };
    this.handles.set(handle.fh, handle);
    return handle;
  }

  /** Opens (or joins) the inode's shared state and returns a new file handle on it. */
  async addFile(
    inodeId: InodeId,
    lengthBytes: number,
    flags: { flags: number; isReadable: boolean; isWritable: boolean; isAppend: boolean },
    chunks?: ReadonlyMap<number, readonly ChunkInfo[]>,
  ): Promise<FileHandle> {
    const open = await this.acquire(inodeId, lengthBytes, chunks);
    const handle: FileHandle = { kind: 'file', fh: this.allocateFh(), inodeId, open, ...flags };
    this.handles.set(handle.fh, handle);
    return handle;
  }

  private async acquire(inodeId: InodeId, lengthBytes: number, chunks?: ReadonlyMap<number, readonly ChunkInfo[]>): Promise<OpenInode> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const existing = this.inodes.get(inodeId);
      if (existing !== undefined) {
        existing.handleCount++;
        return existing;
      }
      const pending = this.opening.get(inodeId);
      if (pending === undefined) break;
      // Someone else is opening it: wait, then join (or retry if it failed).
      await pending.catch(() => undefined);
    }
    const promise = this.openFresh(inodeId, lengthBytes, chunks);
    this.opening.set(inodeId, promise);
    try {
      return await promise;
    } finally {
      this.opening.delete(inodeId);
    }
  }

  private async openFresh(inodeId: InodeId, lengthBytes: number, chunks?: ReadonlyMap<number, readonly ChunkInfo[]>): Promise<OpenInode> {
    await this.session.registerOpen(inodeId);
    let data: FileData;
    try {
      data = await this.data.open(inodeId, lengthBytes, chunks);
    } catch (error) {
      await this.session.unregisterOpen(inodeId);
      throw error;
    }
    assert(data.inodeId === inodeId, 'FileData is for the inode asked for');
    assert(!this.inodes.has(inodeId), 'one OpenInode per inode');
    const open: OpenInode = { inodeId, data, handleCount: 1, localMtime: null, hasUpdatedAtime: false };
    this.inodes.set(inodeId, open);
    return open;
  }

  /**
   * Removes a handle. For the last file handle of an inode the FileData is
   * closed (which flushes) and the open registration dropped, even if the
   * close failed; its error is rethrown after.
   */
  async release(fh: number): Promise<Handle | undefined> {
    const handle = this.handles.get(fh);
    if (handle === undefined) return undefined;
    this.handles.delete(fh);
    if (handle.kind === 'directory') return handle;
    const open = handle.open;
    assert(open.handleCount > 0, 'releasing a handle of an open inode');
    open.handleCount--;
    if (open.handleCount > 0) return handle;
    assert(this.inodes.get(open.inodeId) === open, 'the released inode is the registered one');
    this.inodes.delete(open.inodeId);
    try {
      await open.data.close();
    } finally {
      await this.session.unregisterOpen(open.inodeId);
    }
    return handle;
  }
}
