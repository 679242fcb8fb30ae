/**
 * Snapshot of a whole copyset: a sequence of frames `[u32 LE length][record]`
 * cut into chunks of about CHUNK_BYTES. Records: a header (magic, format
 * version, applied index), then per partition its meta record followed by
 * batches of inodes, dentries (directory by directory, in name order), the
 * to-delete set, pending transactions and transaction records, and an end
 * record with totals that restore verifies. Restore rebuilds exactly the
 * same state, including the iteration order of every map.
 *
 * The encoding is taken synchronously when `encodeSnapshot` is called, so
 * entries applied while the chunks are being sent cannot tear it.
 */
import { assert } from '../../src/common/assert.js';
import { CorruptionError } from '../../src/common/errors.js';
import { ByteReader, ByteWriter } from './binary-codec.js';
import { CopysetStateMachine } from './copyset-state-machine.js';
import type { DentryKey, TxInodeChange, TxWrite } from './ops.js';
import { Partition } from './partition.js';
import type { PendingTx } from './tx-table.js';
import { Dentry, FileType, Inode, PartitionStatus, isFileType, type ChunkInfo } from './types.js';

const MAGIC = 'curvefs-copyset-snapshot';
const FORMAT_VERSION = 1;
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
const BATCH = 512;
const FRAME_BYTES_MAX = 64 * 1024 * 1024;

enum Kind {
  Header = 1,
  Partition = 2,
  Inodes = 3,
  Dentries = 4,
  ToDelete = 5,
  Pending = 6,
  Records = 7,
  End = 8,
}

/** Encodes the copyset now; returns the chunks. */
export function encodeSnapshot(sm: CopysetStateMachine): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const out = new ByteWriter(SNAPSHOT_CHUNK_BYTES + 64 * 1024);
  const frame = new ByteWriter();
  const emit = (): void => {
    const payload = frame.take();
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, payload.byteLength, true);
    out.raw(header);
    out.raw(payload);
    if (out.byteLength >= SNAPSHOT_CHUNK_BYTES) chunks.push(out.take());
  };
  frame.uint(Kind.Header);
  frame.string(MAGIC);
  frame.uint(FORMAT_VERSION);
  frame.uint(sm.appliedIndex);
  emit();
  let inodeTotal = 0;
  let dentryTotal = 0;
  const partitions = sm.allPartitions();
  for (const p of partitions) {
    frame.uint(Kind.Partition);
    for (const n of [p.fsId, p.partitionId, p.start, p.end, p.nextId, p.status, p.appliedIndex]) frame.uint(n);
    emit();
    let batch: Inode[] = [];
    const flushInodes = (): void => {
      frame.uint(Kind.Inodes);
      frame.uint(batch.length);
      for (const inode of batch) writeInode(frame, inode);
      emit();
      batch = [];
    };
    for (const inode of p.inodes.values()) {
      batch.push(inode);
      if (batch.length === BATCH) flushInodes();
    }
    if (batch.length > 0) flushInodes();
    inodeTotal += p.inodes.size;
    let dentries: Dentry[] = [];
    const flushDentries = (): void => {
      frame.uint(Kind.Dentries);
      frame.uint(dentries.length);
      for (const d of dentries) {
        frame.uint(d.parentId);
        frame.string(d.name);
        frame.uint(d.inodeId);
        frame.uint(d.type);
        frame.uint(d.commitTs);
      }
      emit();
      dentries = [];
    };
    for (const dir of p.dirs.values()) {
      for (const d of dir.entries()) {
        dentries.push(d);
        if (dentries.length === BATCH) flushDentries();
      }
    }
    if (dentries.length > 0) flushDentries();
    dentryTotal += p.dentryCount;
    frame.uint(Kind.ToDelete);
    frame.uint(p.toDelete.size);
    for (const [id, dtime] of p.toDelete) {
      frame.uint(id);
      frame.int(dtime);
    }
    emit();
    for (const tx of p.tx.pending.values()) {
      frame.uint(Kind.Pending);
      writePending(frame, tx);
      emit();
    }
    frame.uint(Kind.Records);
    frame.uint(p.tx.records.size);
    for (const [startTs, rec] of p.tx.records) {
      frame.uint(startTs);
      frame.uint(rec.commitTs);
      frame.uint(rec.atMs);
      frame.uint(rec.secondaries.length);
      for (const s of rec.secondaries) frame.uint(s);
    }
    emit();
  }
  frame.uint(Kind.End);
  frame.uint(partitions.length);
  frame.uint(inodeTotal);
  frame.uint(dentryTotal);
  emit();
  if (out.byteLength > 0) chunks.push(out.take());
  return chunks;
}

/** Rebuilds a copyset from snapshot chunks (any chunking). Throws CorruptionError on bad input. */
export async function decodeSnapshot(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<CopysetStateMachine> {
  const decoder = new SnapshotDecoder();
  for await (const chunk of chunks) decoder.push(chunk);
  return decoder.finish();
}

class SnapshotDecoder {
  private pendingBytes: Uint8Array = new Uint8Array(0);
  private sm: CopysetStateMachine | undefined;
  private current: Partition | undefined;
  private pendingTxs: PendingTx[] = [];
  private ended = false;
  private counts = { partitions: 0, inodes: 0, dentries: 0 };

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.pendingBytes.byteLength > 0) {
      bytes = new Uint8Array(this.pendingBytes.byteLength + chunk.byteLength);
      bytes.set(this.pendingBytes, 0);
      bytes.set(chunk, this.pendingBytes.byteLength);
    }
    let offset = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (bytes.byteLength - offset >= 4) {
      const length = view.getUint32(offset, true);
      if (length > FRAME_BYTES_MAX) throw new CorruptionError(`snapshot: frame of ${length} bytes`);
      if (bytes.byteLength - offset - 4 < length) break;
      this.record(new ByteReader(bytes.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    this.pendingBytes = bytes.slice(offset);
  }

  finish(): CopysetStateMachine {
    if (!this.ended || this.pendingBytes.byteLength > 0) throw new CorruptionError('snapshot: truncated');
    assert(this.sm !== undefined, 'a finished snapshot has a header');
    return this.sm;
  }

  private record(r: ByteReader): void {
    if (this.ended) throw new CorruptionError('snapshot: data after the end record');
    const kind = r.uint();
    if (kind !== Kind.Header && this.sm === undefined) throw new CorruptionError('snapshot: missing header');
    switch (kind) {
      case Kind.Header: {
        if (this.sm !== undefined) throw new CorruptionError('snapshot: two headers');
        if (r.string() !== MAGIC) throw new CorruptionError('snapshot: bad magic');
        const version = r.uint();
        if (version !== FORMAT_VERSION) throw new CorruptionError(`snapshot: unknown format version ${version}`);
        this.sm = new CopysetStateMachine();
        this.sm.appliedIndex = r.uint();
        break;
      }
      case Kind.Partition: {
        this.closePartition();
        const [fsId, partitionId, start, end, nextId, status, appliedIndex] = Array.from({ length: 7 }, () => r.uint());
        if (start! > end! || this.sm!.partition(partitionId!) !== undefined) throw new CorruptionError('snapshot: bad partition');
        if (status! < PartitionStatus.ReadWrite || status! > PartitionStatus.Deleting) throw new CorruptionError('snapshot: bad status');
        const p = new Partition(fsId!, partitionId!, start!, end!);
        p.nextId = nextId!;
        p.status = status!;
        p.appliedIndex = appliedIndex!;
        this.sm!.addPartition(p);
        this.current = p;
        this.counts.partitions += 1;
        break;
      }
      case Kind.Inodes: {
        const p = this.partitionOrThrow();
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const inode = readInode(r, p.fsId);
          if (p.inodes.has(inode.inodeId)) throw new CorruptionError('snapshot: duplicate inode');
          p.inodes.set(inode.inodeId, inode);
        }
        this.counts.inodes += n;
        break;
      }
      case Kind.Dentries: {
        const p = this.partitionOrThrow();
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const parentId = r.uint();
          const name = r.string();
          const inodeId = r.uint();
          const type = fileTypeOf(r.uint());
          const d = new Dentry(parentId, name, inodeId, type, r.uint());
          if (p.putDentry(d) !== undefined) throw new CorruptionError('snapshot: duplicate dentry');
        }
        this.counts.dentries += n;
        break;
      }
      case Kind.ToDelete: {
        const p = this.partitionOrThrow();
        const n = r.count();
        for (let i = 0; i < n; i++) p.toDelete.set(r.uint(), r.int());
        break;
      }
      case Kind.Pending:
        this.partitionOrThrow();
        this.pendingTxs.push(readPending(r));
        break;
      case Kind.Records: {
        const p = this.partitionOrThrow();
        const n = r.count();
        for (let i = 0; i < n; i++) {
          const startTs = r.uint();
          const commitTs = r.uint();
          const atMs = r.uint();
          p.tx.records.set(startTs, { commitTs, atMs, secondaries: Array.from({ length: r.count() }, () => r.uint()) });
        }
        break;
      }
      case Kind.End: {
        this.closePartition();
        const expected = { partitions: r.uint(), inodes: r.uint(), dentries: r.uint() };
        if (JSON.stringify(expected) !== JSON.stringify(this.counts)) throw new CorruptionError('snapshot: totals differ');
        this.ended = true;
        break;
      }
      default:
        throw new CorruptionError(`snapshot: unknown record kind ${kind}`);
    }
    if (r.remaining !== 0) throw new CorruptionError('snapshot: trailing bytes in a record');
  }

  private partitionOrThrow(): Partition {
    if (this.current === undefined) throw new CorruptionError('snapshot: record outside a partition');
    return this.current;
  }

  private closePartition(): void {
    if (this.current === undefined) return;
    this.current.tx.restorePending(this.pendingTxs);
    this.pendingTxs = [];
    this.current = undefined;
  }
}

function fileTypeOf(n: number): FileType {
  if (!isFileType(n)) throw new CorruptionError(`snapshot: bad file type ${n}`);
  return n;
}

function writeInode(w: ByteWriter, inode: Inode): void {
  w.uint(inode.inodeId);
  w.uint(inode.type);
  for (const n of [inode.mode, inode.uid, inode.gid, inode.nlink, inode.length, inode.rdev]) w.uint(n);
  for (const [sec, nsec] of [
    [inode.atimeSec, inode.atimeNsec],
    [inode.mtimeSec, inode.mtimeNsec],
    [inode.ctimeSec, inode.ctimeNsec],
  ] as const) {
    w.int(sec);
    w.uint(nsec);
  }
  w.int(inode.dtimeSec);
  w.uint(inode.openCount);
  w.uint(inode.version);
  w.string(inode.symlink);
  w.uint(inode.parents.length);
  for (const p of inode.parents) w.uint(p);
  w.uint(inode.xattrs?.size ?? 0);
  for (const [k, v] of inode.xattrs ?? []) {
    w.string(k);
    w.bytes(v);
  }
  w.uint(inode.chunks?.size ?? 0);
  for (const [index, list] of inode.chunks ?? []) {
    w.uint(index);
    w.uint(list.length);
    for (const c of list) writeChunkInfo(w, c);
  }
}

function readInode(r: ByteReader, fsId: number): Inode {
  const inodeId = r.uint();
  const type = fileTypeOf(r.uint());
  const [mode, uid, gid, nlink, length, rdev] = Array.from({ length: 6 }, () => r.uint());
  const times = Array.from({ length: 3 }, () => ({ sec: r.int(), nsec: r.uint() }));
  const inode = new Inode(fsId, inodeId, type, mode!, uid!, gid!, times[0]!, []);
  inode.nlink = nlink!;
  inode.length = length!;
  inode.rdev = rdev!;
  inode.mtimeSec = times[1]!.sec;
  inode.mtimeNsec = times[1]!.nsec;
  inode.ctimeSec = times[2]!.sec;
  inode.ctimeNsec = times[2]!.nsec;
  inode.dtimeSec = r.int();
  inode.openCount = r.uint();
  inode.version = r.uint();
  inode.symlink = r.string();
  const parentCount = r.count();
  for (let i = 0; i < parentCount; i++) inode.parents.push(r.uint());
  const xattrCount = r.count();
  if (xattrCount > 0) {
    inode.xattrs = new Map();
    for (let i = 0; i < xattrCount; i++) inode.xattrs.set(r.string(), r.bytes());
  }
  const chunkCount = r.count();
  if (chunkCount > 0) {
    inode.chunks = new Map();
    for (let i = 0; i < chunkCount; i++) {
      const index = r.uint();
      const n = r.count();
      const list: ChunkInfo[] = [];
      for (let j = 0; j < n; j++) list.push(readChunkInfo(r));
      inode.chunks.set(index, list);
    }
  }
  return inode;
}

export function writeChunkInfo(w: ByteWriter, c: ChunkInfo): void {
  w.uint(c.chunkId);
  w.uint(c.compaction);
  w.uint(c.offset);
  w.uint(c.length);
  w.bool(c.zero);
}

export function readChunkInfo(r: ByteReader): ChunkInfo {
  return { chunkId: r.uint(), compaction: r.uint(), offset: r.uint(), length: r.uint(), zero: r.bool() };
}

function writeKey(w: ByteWriter, k: DentryKey): void {
  w.uint(k.fsId);
  w.uint(k.parentId);
  w.string(k.name);
}

function writePending(w: ByteWriter, tx: PendingTx): void {
  w.uint(tx.startTs);
  writeKey(w, tx.primary);
  w.uint(tx.ttlMs);
  w.uint(tx.lockTimeMs);
  w.int(tx.time.sec);
  w.uint(tx.time.nsec);
  w.uint(tx.writes.length);
  for (const x of tx.writes) {
    w.uint(x.parentId);
    w.string(x.name);
    w.bool(x.isDelete);
    w.uint(x.inodeId);
    w.uint(x.fileType);
    w.uint(x.expectedInodeId);
  }
  w.uint(tx.inodeChanges.length);
  for (const c of tx.inodeChanges) {
    w.uint(c.inodeId);
    w.int(c.nlinkDelta);
    w.uint(c.addParents.length);
    for (const p of c.addParents) w.uint(p);
    w.uint(c.removeParents.length);
    for (const p of c.removeParents) w.uint(p);
  }
  w.uint(tx.emptyDirs.length);
  for (const d of tx.emptyDirs) w.uint(d);
  w.uint(tx.secondaries.length);
  for (const s of tx.secondaries) w.uint(s);
}

function readPending(r: ByteReader): PendingTx {
  const startTs = r.uint();
  const primary: DentryKey = { fsId: r.uint(), parentId: r.uint(), name: r.string() };
  const ttlMs = r.uint();
  const lockTimeMs = r.uint();
  const time = { sec: r.int(), nsec: r.uint() };
  const writes: TxWrite[] = Array.from({ length: r.count() }, () => ({
    parentId: r.uint(),
    name: r.string(),
    isDelete: r.bool(),
    inodeId: r.uint(),
    fileType: fileTypeOf(r.uint()),
    expectedInodeId: r.uint(),
  }));
  const inodeChanges: TxInodeChange[] = Array.from({ length: r.count() }, () => ({
    inodeId: r.uint(),
    nlinkDelta: r.int(),
    addParents: Array.from({ length: r.count() }, () => r.uint()),
    removeParents: Array.from({ length: r.count() }, () => r.uint()),
  }));
  const emptyDirs = Array.from({ length: r.count() }, () => r.uint());
  const secondaries = Array.from({ length: r.count() }, () => r.uint());
  return { startTs, primary, ttlMs, lockTimeMs, time, writes, inodeChanges, emptyDirs, secondaries };
}

/**
 * The copyset's snapshot as the chunked async iterable the Raft driver
 * streams. Encoded here, synchronously, not when iteration starts (a
 * generator body would run only at the first next(), after more applies):
 * the image is the state at the moment of the call.
 */
export function snapshotChunks(sm: CopysetStateMachine): AsyncIterable<Uint8Array> {
  const chunks = encodeSnapshot(sm);
  return (async function* () {
    yield* chunks;
  })();
}
