/**
 * One open file's data, as the VFS sees it. Handles of the same inode in one
 * client share its buffered data (InodeData); each handle has its own
 * read-ahead state. Errors are StorageError (errno.ts maps them to EIO).
 */
import { assert, assertSafeUint } from '../../src/common/assert.js';
import type { Timespec } from '../../src/common/file-type.js';
import type { DataClient } from './data-client.js';
import type { InodeData } from './inode-data.js';
import { ReadAheadPolicy } from './read-ahead-policy.js';

export class FileHandle {
  private readonly readAhead: ReadAheadPolicy;
  private isClosed = false;

  constructor(
    private readonly client: DataClient,
    private readonly inode: InodeData,
    blockSizeBytes: number,
    readAheadMaxBytes: number,
  ) {
    this.readAhead = new ReadAheadPolicy(Math.min(blockSizeBytes, readAheadMaxBytes), Math.max(blockSizeBytes, readAheadMaxBytes), 0);
  }

  get inodeId(): number {
    return this.inode.inodeId;
  }

  /** This client's view of the length (includes its buffered writes). */
  get lengthBytes(): number {
    return this.inode.lengthBytes;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    assert(!this.isClosed, 'write on a closed handle');
    if (data.length === 0) return;
    await this.client.write(this.inode, offset, data);
  }

  /** Up to `length` bytes from offset, in a new buffer; shorter at end of file, empty past it. */
  async read(offset: number, length: number): Promise<Buffer> {
    return this.readRange(offset, length, undefined);
  }

  /**
   * Up to `length` bytes from offset copied into `into` (which holds at
   * least `length`); returns how many (short at end of file, 0 past it).
   * The bytes are copied once, from the cache or the store straight into `into`.
   */
  async readInto(offset: number, length: number, into: Buffer): Promise<number> {
    assert(into.length >= length, 'the read target holds the length asked for');
    return (await this.readRange(offset, length, into)).length;
  }

  private async readRange(offset: number, length: number, into: Buffer | undefined): Promise<Buffer> {
    assert(!this.isClosed, 'read on a closed handle');
    assertSafeUint(offset, 'offset');
    assertSafeUint(length, 'length');
    const end = Math.min(offset + length, this.inode.lengthBytes);
    if (end <= offset) return Buffer.alloc(0);
    const decision = this.readAhead.onRead(offset, end - offset, this.inode.lengthBytes);
    const data = await this.client.readRange(this.inode, offset, end - offset, decision.isSequential, into);
    if (decision.prefetchLength > 0) this.client.prefetch(this.inode, decision.prefetchOffset, decision.prefetchLength);
    this.client.metrics.bytesRead.inc(data.length);
    return data;
  }

  async truncate(lengthBytes: number): Promise<void> {
    assert(!this.isClosed, 'truncate on a closed handle');
    await this.client.truncate(this.inode, lengthBytes);
  }

  /**
   * Durable (uploaded and committed, or staged with a write-back cache) when
   * it resolves. `mtime`, when given, is committed with the last append of
   * the writes it covers (DataClient.sync); resolves to whether it was.
   */
  async fsync(mtime?: Timespec): Promise<boolean> {
    assert(!this.isClosed, 'fsync on a closed handle');
    return this.client.sync(this.inode, 'durable', mtime);
  }

  /** FUSE flush (every close of a descriptor): same guarantee as fsync, for close-to-open. */
  async flush(mtime?: Timespec): Promise<boolean> {
    return this.fsync(mtime);
  }

  /** Flushes, then releases the handle. If the flush fails the handle stays open and the error is thrown. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    await this.client.sync(this.inode, 'durable');
    this.isClosed = true;
    this.client.release(this.inode);
  }
}
