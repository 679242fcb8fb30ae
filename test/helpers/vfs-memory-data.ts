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
    let bytes = Buffer.alloc(lengthBytes);
    published.copy(bytes, 0, 0, Math.min(lengthBytes, published.length));
    let isDirty = false;
    let isClosed = false;
    const store = this;
    const commit = async (): Promise<void> => {
      if (!isDirty) return;
      store.published.set(inodeId, Buffer.from(bytes));
      await store.meta.updateInode(inodeId, { length: bytes.length, mtime: store.now() });
      isDirty = false;
    };
    return {
      inodeId,
      async read(offset, length, into) {
        assert(!isClosed, 'read after close');
        if (offset >= bytes.length) return 0;
        return bytes.copy(into, 0, offset, Math.min(bytes.length, offset + length));
      },
      async write(offset, data) {
        assert(!isClosed, 'write after close');
        if (offset + data.length > bytes.length) {
          const grown = Buffer.alloc(offset + data.length);
          bytes.copy(grown);
          bytes = grown;
        }
        data.copy(bytes, offset);
        isDirty = true;
      },
      flush: commit,
      fsync: commit,
      async truncate(length) {
        const resized = Buffer.alloc(length);
        bytes.copy(resized, 0, 0, Math.min(length, bytes.length));
        bytes = resized;
        isDirty = true;
        await commit();
      },
      length: () => bytes.length,
      async close() {
        await commit();
        isClosed = true;
        store.openCount--;
      },
    };
  }
}
