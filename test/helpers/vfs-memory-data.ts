/**
 * TEST DOUBLE. An in-memory FileDataApi (client/vfs/data-api.ts) that keeps
 * the contract's visible behaviour: each FileData works on its own copy of
 * the file's bytes (writes buffered locally), and flush/fsync/close publish
 * them and commit the length and mtime in metadata, so a second client
 * (another FileData) sees them only after close (close-to-open). Never used
 * by product code.
 */
import { assert } from '../../src/common/assert.js';
import type { FileData, FileDataApi } from '../../client/vfs/data-api.js';
import type { InodeId, InodeOps, Timespec } from '../../client/vfs/meta-api.js';

export class MemoryFileStore implements FileDataApi {
  /** Published bytes per inode. */
  readonly published = new Map<InodeId, Buffer>();
  openCount = 0;

  constructor(
    private readonly meta: Pick<InodeOps, 'updateInode'>,
    private readonly now: () => Timespec,
  ) {}

  async open(inodeId: InodeId, lengthBytes: number): Promise<FileData> {
    this.openCount++;
    const published = this.published.get(inodeId) ?? Buffer.alloc(0);
    // `bytes` has spare capacity (grown by doubling); `size` is the file length.
    let bytes = Buffer.alloc(Math.max(lengthBytes, 4096));
    let size = lengthBytes;
    published.copy(bytes, 0, 0, Math.min(lengthBytes, published.length));
    let isDirty = false;
    let isClosed = false;
    const store = this;
    const resize = (newSize: number): void => {
      if (newSize > bytes.length) {
        const grown = Buffer.alloc(Math.max(newSize, bytes.length * 2));
        bytes.copy(grown, 0, 0, size);
        bytes = grown;
      } else if (newSize < size) {
        bytes.fill(0, newSize, size);
      }
      size = newSize;
    };
    // Like the data path: a given mtime (and ctime) goes in the same update as the data, and says so.
    const commit = async (mtime?: Timespec): Promise<boolean> => {
      if (!isDirty) return false;
      store.published.set(inodeId, Buffer.from(bytes.subarray(0, size)));
      await store.meta.updateInode(inodeId, mtime === undefined ? { length: size, mtime: store.now() } : { length: size, mtime, ctime: mtime });
      isDirty = false;
      return mtime !== undefined;
    };
    return {
      inodeId,
      async read(offset, length, into) {
        assert(!isClosed, 'read after close');
        if (offset >= size) return 0;
        return bytes.copy(into, 0, offset, Math.min(size, offset + length));
      },
      async write(offset, data) {
        assert(!isClosed, 'write after close');
        if (offset + data.length > size) resize(offset + data.length);
        data.copy(bytes, offset);
        isDirty = true;
      },
      flush: commit,
      fsync: commit,
      async truncate(length) {
        resize(length);
        isDirty = true;
        await commit();
      },
      length: () => size,
      async close() {
        await commit();
        isClosed = true;
        store.openCount--;
      },
    };
  }
}
