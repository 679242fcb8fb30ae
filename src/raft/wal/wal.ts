/**
 * The write-ahead log of one Raft group: segment files of CRC-framed records
 * (see record-codec.ts), fsync'd before anything is acknowledged, with group
 * commit, torn-tail recovery and compaction behind snapshots.
 *
 * Durable side (LogWriter): `append(entries, hardState)` and
 * `saveSnapshot(meta)` queue records and return a promise that resolves once
 * they are written and fdatasync'd. Calls that arrive while an fsync is in
 * flight are written together by the next write+fsync (group commit): one
 * fsync for many proposals. Records reach the file in call order.
 *
 * Read side (RaftStorage): answered synchronously from MemoryLog, which is
 * updated at call time, before durability. That is safe because the node
 * driver sends nothing that depends on an append until its promise resolves
 * (persist → send), and the leader may send its own not-yet-durable entries
 * to followers as etcd raft does.
 *
 * Recovery (`Wal.open`): every segment is replayed in order. A bad record in
 * the LAST segment is a torn or corrupt tail (a crash mid-write): the file is
 * truncated there and everything before it is kept. A bad record in any other
 * segment cannot come from a crash (a segment is sealed only after its last
 * fsync) and is reported as a CorruptionError naming the file and offset.
 *
 * Synced writes: the active segment is opened O_DSYNC where the platform has
 * it, so one pwrite both writes and flushes the batch (what write +
 * fdatasync did, in one thread-pool round trip instead of two: on a fast
 * disk those hops, not the flush, were most of an append's latency).
 * Without O_DSYNC the WAL writes, then fdatasyncs.
 *
 * Preallocation: each segment grows in zero-filled steps ahead of its data
 * (WAL_PREALLOCATE_BYTES), so most fdatasyncs flush data only; a scan stops
 * cleanly at the zero tail, and appends after a reopen overwrite it.
 *
 * Compaction: a new segment starts with the current hard state and snapshot
 * marker, so a prefix of segments can be deleted once the snapshot covers
 * every entry they hold: segment k goes when segment k+1 exists and was
 * created at lastIndex <= snapshot index.
 *
 * Failure: if a write or fsync fails the WAL is poisoned (every pending and
 * later call rejects): after a failed fsync the page cache state is unknown,
 * and the only safe move is to crash and recover from the files.
 */
import { constants } from 'node:fs';
import { open, readFile, unlink, mkdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { assert } from '../../common/assert.js';
import { CorruptionError } from '../../common/errors.js';
import type { ConfState, Entry, HardState, RaftStorage, SnapshotMeta } from '../core/types.js';
import { MemoryLog } from './memory-log.js';
import { encodeRecords, RecordType, scanRecords } from './record-codec.js';
import type { WalRecord } from './record-codec.js';
import { fsyncDir, listSegments, segmentFileName, segmentPath } from './segment-files.js';
import type { SegmentName } from './segment-files.js';

export interface WalOptions {
  /** Roll to a new segment once the current one reaches this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Called once per torn tail cut at open (for logging). */
  readonly onTailTruncated?: (info: TailTruncation) => void;
}

export interface TailTruncation {
  readonly file: string;
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

export interface WalStats {
  /** fdatasync calls made by appends (group commit: fewer than appends). */
  readonly fsyncs: number;
  readonly appends: number;
  readonly bytesWritten: number;
  readonly segments: number;
}

/** The async, durable side of the log. */
export interface LogWriter {
  append(entries: readonly Entry[], hardState?: HardState): Promise<void>;
  saveSnapshot(meta: SnapshotMeta): Promise<void>;
}

export const WAL_SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/**
 * Segments grow in zero-filled steps of this size ahead of the data, so an
 * fdatasync after an append rarely has to commit a file-size change to the
 * filesystem journal (about half the latency on ext4, and much less
 * contention between many WALs). Bounded per group: at most one step ahead.
 */
export const WAL_PREALLOCATE_BYTES = 1024 * 1024;

/** O_DSYNC: every write to the active segment is durable when it returns (0 where the platform lacks it). */
const O_DSYNC: number = constants.O_DSYNC ?? 0;
/** Opens the active segment for writing: `create` a new one (must not exist) or reopen the last one. */
function openActive(path: string, create: boolean): Promise<FileHandle> {
  const flags = constants.O_RDWR | O_DSYNC | (create ? constants.O_CREAT | constants.O_EXCL : 0);
  return open(path, flags, 0o644);
}

interface Pending {
  readonly bytes: Uint8Array;
  /** Stream position after this item, for the header of a segment rolled after it. */
  readonly after: StreamState;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface StreamState {
  readonly lastIndex: number;
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
}

export class Wal implements RaftStorage, LogWriter {
  private readonly memory: MemoryLog;
  private readonly segmentBytesMax: number;
  private segments: SegmentName[];
  private fh: FileHandle;
  /** End of the records in the current segment (where the next write goes). */
  private fileBytes: number;
  /** Size of the current segment file, including preallocated zeros. */
  private allocatedBytes: number;
  private pending: Pending[] = [];
  /** Records that need no fsync of their own; they ride the next write (see appendUnsynced). */
  private unsynced: Pending[] = [];
  private isFlushing = false;
  private failure: unknown = undefined;
  private isClosed = false;
  /** State after the last record handed to the file (not necessarily synced yet). */
  private written: StreamState;
  private durableSnapshotIndex: number;
  private counters = { fsyncs: 0, appends: 0, bytesWritten: 0 };

  private constructor(
    readonly dir: string,
    memory: MemoryLog,
    segments: SegmentName[],
    fh: FileHandle,
    fileBytes: number,
    allocatedBytes: number,
    segmentBytesMax: number,
  ) {
    this.memory = memory;
    this.segments = segments;
    this.fh = fh;
    this.fileBytes = fileBytes;
    this.allocatedBytes = allocatedBytes;
    this.segmentBytesMax = segmentBytesMax;
    this.written = { lastIndex: memory.lastIndex(), hardState: memory.hardState(), snapshot: memory.snapshotMeta() };
    this.durableSnapshotIndex = memory.snapshotMeta().index;
  }

  /** Opens (or creates) the WAL in `dir`, replaying and repairing it. */
  static async open(dir: string, options: WalOptions = {}): Promise<Wal> {
    const segmentBytesMax = options.segmentBytes ?? WAL_SEGMENT_BYTES_DEFAULT;
    assert(segmentBytesMax >= 4096, `wal segment size too small: ${segmentBytesMax}`);
    await mkdir(dir, { recursive: true });
    const segments = await listSegments(dir);
    const memory = new MemoryLog();
    memory.beginReplay();
    let lastBytes = 0;
    let lastAllocated = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const path = segmentPath(dir, seg);
      const bytes = await readFile(path);
      const scan = scanRecords(bytes);
      const isLast = i === segments.length - 1;
      if (scan.stop.kind !== 'clean') {
        if (!isLast) {
          throw new CorruptionError(
            `wal: ${scan.stop.kind} record in sealed segment ${path} at offset ${scan.stop.offset}: ${scan.stop.reason}`,
          );
        }
        await truncateFile(path, scan.validBytes);
        options.onTailTruncated?.({
          file: path,
          offset: scan.validBytes,
          droppedBytes: bytes.length - scan.validBytes,
          reason: `${scan.stop.kind}: ${scan.stop.reason}`,
        });
      }
      for (const r of scan.records) applyRecord(memory, r);
      if (isLast) {
        lastBytes = scan.validBytes;
        lastAllocated = scan.stop.kind === 'clean' ? bytes.length : scan.validBytes;
      }
    }
    memory.checkAnchored();
    if (segments.length === 0) {
      const first = { seq: 0, firstIndex: 1, file: segmentFileName(0, 1) };
      const header = encodeRecords(headerRecords(memory.hardState(), memory.snapshotMeta()));
      const fh = await openActive(segmentPath(dir, first), true);
      const allocated = await writeWithPreallocation(fh, header, 0, 0, segmentBytesMax);
      await fh.sync();
      await fsyncDir(dir);
      return new Wal(dir, memory, [first], fh, header.length, allocated, segmentBytesMax);
    }
    const last = segments[segments.length - 1]!;
    const fh = await openActive(segmentPath(dir, last), false);
    return new Wal(dir, memory, segments, fh, lastBytes, lastAllocated, segmentBytesMax);
  }

  // LogWriter

  append(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    const records: WalRecord[] = [];
    for (const entry of entries) {
      this.memory.appendEntry(entry);
      records.push({ type: RecordType.Entry, entry });
    }
    if (hardState !== undefined) {
      this.memory.setHardState(hardState);
      records.push({ type: RecordType.HardState, hardState });
    }
    this.counters.appends++;
    return this.enqueue(records);
  }

  /**
   * Like append, but does not ask for an fsync: the records are written with
   * the next synced write (or at close). For hard states whose only change is
   * the commit index (Ready.mustSync false): losing it in a crash is
   * harmless, and an fsync of its own would delay the next real append.
   */
  appendUnsynced(entries: readonly Entry[], hardState?: HardState): void {
    if (this.failure !== undefined || this.isClosed) return;
    const records: WalRecord[] = [];
    for (const entry of entries) {
      this.memory.appendEntry(entry);
      records.push({ type: RecordType.Entry, entry });
    }
    if (hardState !== undefined) {
      this.memory.setHardState(hardState);
      records.push({ type: RecordType.HardState, hardState });
    }
    this.counters.appends++;
    this.unsynced.push({ bytes: encodeRecords(records), after: this.streamState(), resolve: () => undefined, reject: () => undefined });
  }

  private streamState(): StreamState {
    return { lastIndex: this.memory.lastIndex(), hardState: this.memory.hardState(), snapshot: this.memory.snapshotMeta() };
  }

  /**
   * Records that the log is compacted up to `meta` (a snapshot was taken or
   * installed), then deletes segments the snapshot makes obsolete.
   */
  async saveSnapshot(meta: SnapshotMeta): Promise<void> {
    assert(meta.index >= this.memory.snapshotMeta().index, `snapshot ${meta.index} goes backwards`);
    this.memory.applySnapshot(meta);
    await this.enqueue([{ type: RecordType.Snapshot, snapshot: meta }]);
    this.durableSnapshotIndex = Math.max(this.durableSnapshotIndex, meta.index);
    await this.deleteObsoleteSegments();
  }

  /** Waits for everything queued so far to be durable. */
  sync(): Promise<void> {
    return this.enqueue([]);
  }

  private enqueue(records: WalRecord[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.isClosed) return Promise.reject(new Error('wal: closed'));
    const bytes = encodeRecords(records);
    const after = this.streamState();
    return new Promise<void>((resolve, reject) => {
      if (this.unsynced.length > 0) {
        // Earlier unsynced records go first, keeping call order in the file.
        for (const u of this.unsynced) this.pending.push(u);
        this.unsynced = [];
      }
      this.pending.push({ bytes, after, resolve, reject });
      if (!this.isFlushing) void this.flushLoop();
    });
  }

  /** One synced write (O_DSYNC, else write + fdatasync) per round, for everything queued meanwhile. */
  private async flushLoop(): Promise<void> {
    assert(!this.isFlushing, 'flushLoop re-entered');
    this.isFlushing = true;
    let batch: Pending[] = [];
    try {
      while (this.pending.length > 0) {
        batch = this.pending;
        this.pending = [];
        if (this.fileBytes >= this.segmentBytesMax) await this.roll();
        const buffer = concat(batch.map((p) => p.bytes));
        if (buffer.length > 0) {
          this.allocatedBytes = await writeWithPreallocation(this.fh, buffer, this.fileBytes, this.allocatedBytes, this.segmentBytesMax);
          this.fileBytes += buffer.length;
          this.counters.bytesWritten += buffer.length;
        }
        this.written = batch[batch.length - 1]!.after;
        // With O_DSYNC the write above was the flush; an empty batch (sync()) has nothing unflushed.
        if (O_DSYNC === 0) await this.fh.datasync();
        if (O_DSYNC === 0 || buffer.length > 0) this.counters.fsyncs++;
        for (const p of batch) p.resolve();
        batch = [];
      }
    } catch (e) {
      this.failure = e;
      for (const p of batch) p.reject(e);
      for (const p of this.pending) p.reject(e);
      this.pending = [];
    } finally {
      this.isFlushing = false;
    }
  }

  /** Seals the current segment (already synced) and starts the next one with a header. */
  private async roll(): Promise<void> {
    const prev = this.segments[this.segments.length - 1]!;
    const next: SegmentName = {
      seq: prev.seq + 1,
      firstIndex: this.written.lastIndex + 1,
      file: segmentFileName(prev.seq + 1, this.written.lastIndex + 1),
    };
    const header = encodeRecords(headerRecords(this.written.hardState, this.written.snapshot));
    const fh = await openActive(segmentPath(this.dir, next), true);
    const allocated = await writeWithPreallocation(fh, header, 0, 0, this.segmentBytesMax);
    await fh.sync();
    await fsyncDir(this.dir);
    // Sealed segments keep no preallocated tail: nothing unused to rot there.
    await this.fh.truncate(this.fileBytes);
    await this.fh.sync();
    await this.fh.close();
    this.fh = fh;
    this.fileBytes = header.length;
    this.allocatedBytes = allocated;
    this.segments.push(next);
  }

  private async deleteObsoleteSegments(): Promise<void> {
    let removed = 0;
    // Oldest first, so a crash midway leaves a valid suffix.
    while (this.segments.length >= 2 && this.segments[1]!.firstIndex <= this.durableSnapshotIndex + 1) {
      const victim = this.segments[0]!;
      await unlink(segmentPath(this.dir, victim));
      this.segments.shift();
      removed++;
    }
    if (removed > 0) await fsyncDir(this.dir);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    if (this.failure === undefined) await this.sync();
    this.isClosed = true;
    await this.fh.close();
  }

  /** Fails every later call; for tests that model a dead disk. */
  poison(e: unknown): void {
    this.failure = e;
  }

  // Read side

  hardState(): HardState {
    return this.memory.hardState();
  }
  confState(): ConfState {
    return this.memory.confState();
  }
  /** Bytes of entry payload held in memory since the snapshot. */
  logDataBytes(): number {
    return this.memory.dataBytes();
  }
  logEntryCount(): number {
    return this.memory.entryCount();
  }
  stats(): WalStats {
    return { ...this.counters, segments: this.segments.length };
  }
  segmentFiles(): string[] {
    return this.segments.map((s) => s.file);
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.memory.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.memory.term(index);
  }
  firstIndex(): number {
    return this.memory.firstIndex();
  }
  lastIndex(): number {
    return this.memory.lastIndex();
  }
  snapshotMeta(): SnapshotMeta {
    return this.memory.snapshotMeta();
  }
}

function applyRecord(memory: MemoryLog, r: WalRecord): void {
  switch (r.type) {
    case RecordType.Entry:
      memory.appendEntry(r.entry);
      return;
    case RecordType.HardState:
      memory.setHardState(r.hardState);
      return;
    case RecordType.Snapshot:
      memory.applySnapshot(r.snapshot);
      return;
  }
}

function headerRecords(hardState: HardState, snapshot: SnapshotMeta): WalRecord[] {
  return [
    { type: RecordType.Snapshot, snapshot },
    { type: RecordType.HardState, hardState },
  ];
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let zeros: Uint8Array = new Uint8Array(0);

/**
 * Writes `bytes` at `position`; if they reach past the allocated size, also
 * zero-fills one preallocation step beyond them. Returns the new allocated size.
 */
async function writeWithPreallocation(
  fh: FileHandle,
  bytes: Uint8Array,
  position: number,
  allocatedBytes: number,
  segmentBytesMax: number,
): Promise<number> {
  await writeAll(fh, bytes, position);
  const end = position + bytes.length;
  if (end <= allocatedBytes) return allocatedBytes;
  const step = Math.min(WAL_PREALLOCATE_BYTES, segmentBytesMax);
  if (zeros.length < step) zeros = new Uint8Array(step);
  await writeAll(fh, zeros.subarray(0, step), end);
  return end + step;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  // Bounded: each write makes progress or throws.
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    assert(bytesWritten > 0, 'wal: write made no progress');
    done += bytesWritten;
  }
}

async function truncateFile(path: string, length: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(length);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
