/**
 * Adapts the data path (client/data DataClient and its FileHandle) to the
 * VFS's FileDataApi seam. Only shapes differ: the data path shares buffered
 * data per inode itself and copies written bytes before its write resolves,
 * which is what the seam asks for.
 */
import { assert } from '../../src/common/assert.js';
import type { ChunkInfo } from '../../src/layout/chunk-info.js';
import type { DataClient } from '../data/data-client.js';
import type { FileData, FileDataApi } from './data-api.js';
import type { InodeId } from './meta-api.js';

export function fileDataFromDataClient(dataClient: DataClient): FileDataApi {
  return {
    async open(inodeId: InodeId, lengthBytes: number, chunks?: ReadonlyMap<number, readonly ChunkInfo[]>): Promise<FileData> {
      const handle = dataClient.open(inodeId, lengthBytes, chunks);
      return {
        inodeId,
        async read(offset, length, into) {
          assert(length <= into.length, 'read stays within what was asked');
          return handle.readInto(offset, length, into);
        },
        write: (offset, data) => handle.write(offset, data),
        flush: (mtime) => handle.flush(mtime),
        fsync: (mtime) => handle.fsync(mtime),
        truncate: (length) => handle.truncate(length),
        length: () => handle.lengthBytes,
        close: () => handle.close(),
      };
    },
  };
}
