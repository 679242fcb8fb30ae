/**
 * Snapshot files of one Raft group: written from the state machine's chunk
 * stream (temp file → fsync → rename → fsync dir), read back as a verified
 * chunk stream (for restore and for InstallSnapshot), received from a leader
 * chunk by chunk with resume, and pruned to the latest `retain`.
 *
 * Crash safety: only complete, fsync'd files ever carry the `.snap` name;
 * temp files (`*.tmp`) from a crashed save are deleted at open. Incoming
 * snapshots stay as `recv-<index>-<term>.part` until complete, so a retried
 * InstallSnapshot resumes from the bytes already received (the leader asks
 * with `receivedBytes`). A `.part` whose (index, term) is older than the
 * latest snapshot is removed when the receiver for a newer one is created.
 */
import { open, readdir, rename, unlink, mkdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../common/assert.js';
import { CorruptionError } from '../../common/errors.js';
import type { SnapshotMeta } from '../core/types.js';
import { crc32c } from '../wal/crc32c.js';
import { fsyncDir } from '../wal/segment-files.js';
import {
  decodeSnapshotHeader,
  decodeSnapshotTrailer,
  encodeSnapshotHeader,
  encodeSnapshotTrailer,
  parseSnapshotFileName,
  snapshotFileName,
  SNAPSHOT_TRAILER_BYTES,
} from './snapshot-file.js';

export interface SnapshotInfo {
  readonly meta: SnapshotMeta;
  readonly path: string;
  readonly dataBytes: number;
  readonly dataCrc: number;
}

export interface SnapshotStoreOptions {
  /** How many complete snapshots to keep (latest first). Default 2. */
  readonly retain?: number;
  /** Chunk size when streaming a snapshot out. Default 1 MiB. */
  readonly chunkBytes?: number;
}

export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;
const HEADER_READ_BYTES = 64 * 1024;

export class SnapshotStore {
  private snapshots: SnapshotInfo[];
  private tempSeq = 0;
  readonly chunkBytes: number;
  private readonly retain: number;

  private constructor(
    readonly dir: string,
    snapshots: SnapshotInfo[],
    options: SnapshotStoreOptions,
  ) {
    this.snapshots = snapshots;
    this.retain = options.retain ?? 2;
    this.chunkBytes = options.chunkBytes ?? SNAPSHOT_CHUNK_BYTES_DEFAULT;
    assert(this.retain >= 1, 'snapshot retain must be >= 1');
    assert(this.chunkBytes >= 1, 'snapshot chunk size must be >= 1');
  }

  static async open(dir: string, options: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    await mkdir(dir, { recursive: true });
    const found: SnapshotInfo[] = [];
    for (const file of await readdir(dir)) {
      if (file.endsWith('.tmp')) {
        await unlink(join(dir, file));
        continue;
      }
      const named = parseSnapshotFileName(file);
      if (named === undefined) continue;
      found.push(await readInfo(join(dir, file)));
    }
    found.sort((a, b) => b.meta.index - a.meta.index);
    return new SnapshotStore(dir, found, options);
  }

  /** The newest complete snapshot, if any. */
  latest(): SnapshotInfo | undefined {
    return this.snapshots[0];
  }

  list(): readonly SnapshotInfo[] {
    return this.snapshots;
  }

  /** Writes a snapshot from the state machine's chunks; durable when this resolves. */
  async save(meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<SnapshotInfo> {
    const temp = join(this.dir, `save-${process.pid}-${this.tempSeq++}.tmp`);
    const fh = await open(temp, 'wx');
    let position = 0;
    let dataBytes = 0;
    let dataCrc = 0;
    try {
      const header = encodeSnapshotHeader(meta);
      await writeAll(fh, header, position);
      position += header.length;
      for await (const chunk of chunks) {
        await writeAll(fh, chunk, position);
        position += chunk.length;
        dataBytes += chunk.length;
        dataCrc = crc32c(chunk, dataCrc);
      }
      await writeAll(fh, encodeSnapshotTrailer(dataBytes, dataCrc), position);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    await fh.close();
    return this.publish(temp, meta, dataBytes, dataCrc);
  }

  private async publish(temp: string, meta: SnapshotMeta, dataBytes: number, dataCrc: number): Promise<SnapshotInfo> {
    const path = join(this.dir, snapshotFileName(meta));
    await rename(temp, path);
    await fsyncDir(this.dir);
    const info: SnapshotInfo = { meta, path, dataBytes, dataCrc };
    this.snapshots = [info, ...this.snapshots.filter((s) => s.path !== path)];
    this.snapshots.sort((a, b) => b.meta.index - a.meta.index);
    await this.prune();
    return info;
  }

  private async prune(): Promise<void> {
    const victims = this.snapshots.slice(this.retain);
    this.snapshots = this.snapshots.slice(0, this.retain);
    for (const v of victims) await unlink(v.path).catch(() => undefined);
    if (victims.length > 0) await fsyncDir(this.dir);
  }

  /**
   * Streams a snapshot's data in chunks. The CRC and length are checked as
   * the stream goes; a mismatch throws CorruptionError at the end, before
   * the consumer treats the data as complete.
   */
  async *read(info: SnapshotInfo, chunkBytes = this.chunkBytes): AsyncGenerator<Uint8Array> {
    const fh = await open(info.path, 'r');
    try {
      const head = new Uint8Array(HEADER_READ_BYTES);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      const { headerBytes } = decodeSnapshotHeader(head.subarray(0, bytesRead), info.path);
      let position = headerBytes;
      const end = headerBytes + info.dataBytes;
      let crc = 0;
      // Bounded: each round advances `position` or throws.
      while (position < end) {
        const want = Math.min(chunkBytes, end - position);
        const chunk = new Uint8Array(want);
        const got = await readFully(fh, chunk, position);
        if (got !== want) throw new CorruptionError(`snapshot ${info.path}: short read at ${position}`);
        crc = crc32c(chunk, crc);
        position += want;
        if (position === end && crc !== info.dataCrc) {
          throw new CorruptionError(`snapshot ${info.path}: data crc mismatch`);
        }
        yield chunk;
      }
      if (info.dataBytes === 0) assert(info.dataCrc === 0, 'empty snapshot with nonzero crc');
    } finally {
      await fh.close();
    }
  }

  /**
   * A receiver for a snapshot arriving in chunks. If a partial file for the
   * same (index, term) exists, it continues from there: `receivedBytes()`
   * tells the sender where to resume.
   */
  async receive(meta: SnapshotMeta): Promise<SnapshotReceiver> {
    const partName = `recv-${snapshotFileName(meta).replace('.snap', '')}.part`;
    const path = join(this.dir, partName);
    for (const file of await readdir(this.dir)) {
      if (file.startsWith('recv-') && file.endsWith('.part') && file !== partName) await unlink(join(this.dir, file));
    }
    const header = encodeSnapshotHeader(meta);
    let existing = -1;
    try {
      existing = (await stat(path)).size;
    } catch {
      existing = -1;
    }
    const fh = await open(path, existing >= header.length ? 'r+' : 'w+');
    let received = 0;
    let crc = 0;
    if (existing >= header.length) {
      // Resume: recompute the running CRC over what is already there.
      received = existing - header.length;
      const buf = new Uint8Array(Math.min(received, 1024 * 1024));
      for (let at = 0; at < received; ) {
        const n = Math.min(buf.length, received - at);
        const got = await readFully(fh, buf.subarray(0, n), header.length + at);
        assert(got === n, 'short read of partial snapshot');
        crc = crc32c(buf.subarray(0, n), crc);
        at += n;
      }
    } else {
      await fh.truncate(0);
      await writeAll(fh, header, 0);
    }
    return new SnapshotReceiver(this, meta, path, fh, header.length, received, crc);
  }

  /** Called by SnapshotReceiver.finish(). */
  async adoptReceived(part: string, meta: SnapshotMeta, dataBytes: number, dataCrc: number): Promise<SnapshotInfo> {
    const temp = join(this.dir, `adopt-${process.pid}-${this.tempSeq++}.tmp`);
    await rename(part, temp);
    return this.publish(temp, meta, dataBytes, dataCrc);
  }
}

export class SnapshotReceiver {
  private isDone = false;

  constructor(
    private readonly store: SnapshotStore,
    readonly meta: SnapshotMeta,
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly headerBytes: number,
    private received: number,
    private crc: number,
  ) {}

  receivedBytes(): number {
    return this.received;
  }

  /**
   * Accepts the chunk at byte `offset` of the data. A chunk wholly before
   * `receivedBytes()` is a duplicate and ignored; one that overlaps is
   * trimmed; one that leaves a gap is refused (the sender must resume).
   */
  async write(offset: number, data: Uint8Array): Promise<void> {
    assert(!this.isDone, 'snapshot receiver already finished');
    if (offset > this.received) {
      throw new CorruptionError(`snapshot receive: chunk at ${offset} leaves a gap after ${this.received}`);
    }
    const skip = this.received - offset;
    if (skip >= data.length) return;
    const fresh = data.subarray(skip);
    await writeAll(this.fh, fresh, this.headerBytes + this.received);
    this.crc = crc32c(fresh, this.crc);
    this.received += fresh.length;
  }

  /** Makes the snapshot durable and visible; `expectedCrc` (if given) must match. */
  async finish(expectedBytes?: number, expectedCrc?: number): Promise<SnapshotInfo> {
    assert(!this.isDone, 'snapshot receiver already finished');
    this.isDone = true;
    try {
      if (expectedBytes !== undefined && expectedBytes !== this.received) {
        throw new CorruptionError(`snapshot receive: got ${this.received} bytes, expected ${expectedBytes}`);
      }
      if (expectedCrc !== undefined && expectedCrc !== this.crc) {
        throw new CorruptionError('snapshot receive: data crc mismatch');
      }
      await writeAll(this.fh, encodeSnapshotTrailer(this.received, this.crc), this.headerBytes + this.received);
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    return this.store.adoptReceived(this.path, this.meta, this.received, this.crc);
  }

  /** Stops receiving but keeps the partial file for a resume. */
  async pause(): Promise<void> {
    if (this.isDone) return;
    this.isDone = true;
    await this.fh.sync();
    await this.fh.close();
  }

  /** Running CRC of the data so far (to compare with the sender's). */
  dataCrc(): number {
    return this.crc;
  }
}

async function readInfo(path: string): Promise<SnapshotInfo> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(Math.min(HEADER_READ_BYTES, size));
    await readFully(fh, head, 0);
    const { meta, headerBytes } = decodeSnapshotHeader(head, path);
    if (size < headerBytes + SNAPSHOT_TRAILER_BYTES) throw new CorruptionError(`snapshot ${path}: too short`);
    const tail = new Uint8Array(SNAPSHOT_TRAILER_BYTES);
    await readFully(fh, tail, size - SNAPSHOT_TRAILER_BYTES);
    const { dataBytes, dataCrc } = decodeSnapshotTrailer(tail, path);
    if (headerBytes + dataBytes + SNAPSHOT_TRAILER_BYTES !== size) {
      throw new CorruptionError(`snapshot ${path}: size ${size} does not match data length ${dataBytes}`);
    }
    return { meta, path, dataBytes, dataCrc };
  } finally {
    await fh.close();
  }
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    assert(bytesWritten > 0, 'snapshot: write made no progress');
    done += bytesWritten;
  }
}
